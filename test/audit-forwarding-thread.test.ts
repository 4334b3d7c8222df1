// The CloudWatch Logs forwarder runs in a worker thread, off the event loop that serves credentials (issue 15,
// "Measure"): a batch goes out while the daemon's thread is blocked; a worker that crashes is reported in the log and
// in status, refuses credentials under `required` until it runs again, and is started again to resume at its
// cursor; close() lets a batch in flight finish and persists the cursor, so a restart sends no line twice.
import t, { type Test } from 'tap';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { resolveConfig } from '../core/config.js';
import { createLogger, silentLogger, type OpLogger } from '../core/log.js';
import { createAuditTrail, cursorFileFor, type AuditTrail } from '../core/audit/trail.js';
import { awsEnv, withEnv } from './support/aws-env.js';
import { tempDir } from './support/cli.js';
import { numberedEntry } from './support/decision-log-fixture.js';
import { startLogs } from './support/logs-emulator.js';
import { spawnLogsProcess } from './support/logs-process.js';
import { until } from './support/wait.js';

const GROUP = 'sentinel-decisions';
const STREAM = 'host-alice';
const SECRET = 'forwarder-thread-test-secret';
/** Entry `i`, decided now (the lag of a line is its age). */
const entry = (i: number) => ({ ...numberedEntry(i), timestamp: new Date().toISOString() });
const CRASHING_WORKER = new URL('./support/forwarder-worker-crash.ts', import.meta.url);

function setup(t: Test, logsUrl: string) {
  withEnv(t, {
    ...awsEnv(),
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logsUrl,
    AWS_ACCESS_KEY_ID: 'AKIAFORWARDERTHREAD1',
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  });
  const dir = tempDir(t, 'sentinel-forward-thread-');
  const file = join(dir, 'state', 'decisions.log');
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  const open = (options: { required?: boolean; log?: OpLogger; worker?: URL } = {}): AuditTrail => {
    const config = resolveConfig(
      { audit: { file, cloudwatch: { log_group: GROUP, log_stream: STREAM, required: options.required ?? false } } },
      'config.yaml',
      { HOME: '/nonexistent' },
    );
    const trail = createAuditTrail(config, {
      log: options.log ?? silentLogger(),
      forwarder: { pollMs: 50, backoffBaseMs: 20, backoffMaxMs: 200 },
      ...(options.worker ? { forwarderWorker: options.worker } : {}),
    });
    t.teardown(() => trail.close());
    return trail;
  };
  const lines = () =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim());
  return { dir, file, open, lines };
}

function forwarded(logs: { events(group: string, stream: string): { message: string }[] }): string[] {
  try {
    return logs.events(GROUP, STREAM).map((e) => e.message);
  } catch {
    return []; // the stream does not exist yet
  }
}

/** The emulator in this process, and a set-up that forwards to it. */
async function emulated(t: Test) {
  const logs = await startLogs();
  t.teardown(() => logs.close());
  return { logs, s: setup(t, logs.url) };
}

/** The emulator and a set-up whose next forwarder worker crashes 300 ms after it starts (the one after it does not). */
async function crashingOnce(t: Test) {
  const { logs, s } = await emulated(t);
  const marker = join(s.dir, 'crash-once');
  writeFileSync(marker, '');
  withEnv(t, { FORWARDER_CRASH_MARKER: marker });
  return { logs, s };
}

function capturedLog(): { log: OpLogger; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { log: createLogger({ destination: sink, level: 'debug' }), text: () => text };
}

t.test("a batch goes out while the daemon's event loop is blocked", async (t) => {
  // The emulator runs in a process of its own: one in this process could not answer while the loop is blocked.
  const logs = await spawnLogsProcess();
  t.teardown(() => logs.close());
  const s = setup(t, logs.url);
  const trail = s.open();
  trail.write(entry(0));
  await trail.flush();
  await until(
    () => logs.count(GROUP, STREAM),
    (n) => n === 1,
    30_000,
  ); // the worker is up, the stream exists: from now on it only polls the file
  appendFileSync(s.file, Array.from({ length: 3000 }, (_, i) => `${JSON.stringify(entry(i + 1))}\n`).join(''));
  // Block this thread, synchronously, for 3 s: a forwarder on it could neither poll nor send.
  const blockedFrom = Date.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  const blockedUntil = Date.now();
  const events = await until(
    () => logs.events(GROUP, STREAM),
    (e) => e.length >= 3001,
    30_000,
    100,
  );
  const during = events.filter((e) => e.ingestionTime >= blockedFrom && e.ingestionTime <= blockedUntil).length;
  t.ok(during > 0, `${during} of 3,000 lines appended reached CloudWatch while this thread was blocked`);
  t.same(
    events.map((e) => e.message),
    s.lines(),
    'every line, in order, once',
  );
});

/** Each thread of this process and its nice value (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended between the listing and the read
    }
    nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nices;
}

t.test(
  "the forwarder's thread alone runs at nice 19: it gives way to the thread that answers credentials",
  async (t) => {
    const { logs, s } = await emulated(t);
    const before = threadNices();
    t.notOk([...before.values()].includes(19), 'no thread of this process runs at nice 19 before the forwarder starts');
    t.ok(before.get(process.pid)! < 19, 'the test itself does not (it would hide the forwarder among them)');
    const trail = s.open();
    trail.write(entry(0));
    await trail.flush();
    await until(
      () => forwarded(logs).length,
      (n) => n === 1,
      30_000,
    );
    const during = threadNices();
    const lowered = [...during].filter(([, nice]) => nice === 19).map(([tid]) => tid);
    t.equal(lowered.length, 1, `one thread at nice 19 (${JSON.stringify([...during])})`);
    t.notOk(before.has(lowered[0]!), 'and it is a thread the forwarder started');
    // Its own nice value, whatever that is (0, or what `nice` gave the test run): only the forwarder's thread changes.
    t.equal(
      during.get(process.pid),
      before.get(process.pid),
      'the main thread, which serves credentials, keeps its own',
    );
    await trail.close();
    t.notOk(threadNices().has(lowered[0]!), 'the thread ends with the trail');
  },
);

t.test('a worker that crashes: reported, refused under required, started again, nothing lost', async (t) => {
  const { logs, s } = await crashingOnce(t);
  const captured = capturedLog();
  const trail = s.open({ required: true, log: captured.log, worker: CRASHING_WORKER });
  const refusal = await until(
    () => trail.unavailable(),
    (u) => u !== null,
    30_000, // a worker starts through the TypeScript loader: seconds on a loaded machine
    10,
  );
  t.match(
    refusal,
    /the CloudWatch Logs forwarder stopped \(Error: forwarder test crash\); credentials are refused until it runs again/,
    'required: credentials are refused while no forwarder runs',
  );
  t.match(trail.status().cloudwatch!.last_error, /forwarder stopped \(Error: forwarder test crash\)/, 'status');
  const stopped = captured
    .text()
    .split('\n')
    .filter((l) => l.includes('"forwarding_stopped"'))
    .map((l) => JSON.parse(l) as { level: number; cause: { message: string }; restart_in_ms: number });
  t.equal(stopped.length, 1, 'one line in the operational log');
  t.equal(stopped[0]!.level, 50, 'at error level');
  t.equal(stopped[0]!.cause.message, 'forwarder test crash');
  t.equal(stopped[0]!.restart_in_ms, 1000, 'started again after a second');

  for (let i = 0; i < 50; i++) trail.write(entry(i));
  await trail.flush();
  await until(
    () => trail.unavailable(),
    (u) => u === null,
    30_000,
  );
  t.pass('served again once the new worker reports');
  await until(
    () => forwarded(logs).length,
    (n) => n >= 50,
    30_000,
  );
  t.same(forwarded(logs), s.lines(), 'the new worker forwarded every line, once');
  t.equal(trail.status().cloudwatch!.last_error, null);
  t.notMatch(captured.text(), SECRET, 'the secret key is in no log line');
});

t.test('a worker that crashes without required: reported, credentials still served', async (t) => {
  const { logs, s } = await crashingOnce(t);
  const trail = s.open({ worker: CRASHING_WORKER });
  await until(
    () => trail.status().cloudwatch!.last_error,
    (e) => e !== null,
    30_000, // a worker starts through the TypeScript loader: seconds on a loaded machine
    10,
  );
  t.match(trail.status().cloudwatch!.last_error, /forwarder stopped/);
  t.equal(trail.unavailable(), null);
});

t.test('close() lets the batch in flight finish and persists the cursor: a restart sends nothing twice', async (t) => {
  const { logs, s } = await emulated(t);
  const first = s.open();
  for (let i = 0; i < 10; i++) first.write(entry(i));
  await first.flush();
  await until(
    () => logs.puts.reduce((n, p) => n + p.accepted, 0),
    (n) => n >= 10,
    15_000,
  );
  logs.setDelay(800);
  const arrived = logs.arrivals();
  // 4,000 lines: more than one batch (1 MiB), so close() comes while backlog remains.
  for (let i = 10; i < 4010; i++) first.write(entry(i));
  await first.flush();
  // A batch is on its way (the emulator holds each one 800 ms): waited for, not assumed after a fixed sleep, which a
  // loaded machine overran.
  await until(
    () => logs.arrivals(),
    (n) => n > arrived,
    30_000,
    10,
  );
  await first.close();
  const accepted = logs.puts.reduce((n, p) => n + p.accepted, 0);
  t.ok(accepted > 10, `the batch in flight finished before close() returned (${accepted} lines in CloudWatch)`);
  t.ok(accepted < 4010, 'and close() did not wait for the whole backlog');
  const cursor = JSON.parse(readFileSync(cursorFileFor(s.file), 'utf8')) as { offset: number };
  const sent = s
    .lines()
    .slice(0, accepted)
    .reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  t.equal(cursor.offset, sent, 'the cursor stands right after the last line CloudWatch accepted');

  logs.setDelay(0);
  s.open();
  await until(
    () => forwarded(logs).length,
    (n) => n >= 4010,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 300));
  t.same(forwarded(logs), s.lines(), 'after the restart: every line, in order, none twice');
});

t.test(
  'hostile lines in the file (control characters, invalid UTF-8, quotes) are forwarded as text, not stalled',
  async (t) => {
    const { logs, s } = await emulated(t);
    const hostile = [
      Buffer.from(`{"timestamp":"${new Date().toISOString()}","x":"\\"\\\\\u0001\u0007\u001b\u007f é 😀"}`),
      Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]),
      Buffer.from('"'.repeat(10_000)),
      Buffer.from('{"timestamp":"not a time"}\r'),
    ];
    writeFileSync(s.file, Buffer.concat(hostile.flatMap((l) => [l, Buffer.from('\n')])), { mode: 0o600 });
    const trail = s.open();
    trail.write(entry(1));
    await trail.flush();
    const events = await until(
      () => forwarded(logs),
      (e) => e.length >= 5,
      15_000,
    );
    t.same(
      events.slice(0, 4),
      hostile.map((l) => l.toString('utf8').replace(/\r$/, '')),
      'each line as its UTF-8 text (invalid bytes as U+FFFD), CR of CRLF dropped',
    );
    t.equal(events[4], s.lines()[4], 'and the decision after them');
    t.equal(trail.status().cloudwatch!.last_error, null);
  },
);

t.test(
  'a worker that cannot start (its module missing) is a stopped forwarder: reported, refused under required',
  async (t) => {
    const { logs, s } = await emulated(t);
    const trail = s.open({ required: true, worker: new URL('./support/no-such-worker.ts', import.meta.url) });
    const refusal = await until(
      () => trail.unavailable(),
      (u) => u !== null,
      10_000,
      10,
    );
    t.match(refusal, /the CloudWatch Logs forwarder stopped \(.+\); credentials are refused until it runs again/);
    t.match(trail.status().cloudwatch!.last_error, /forwarder stopped/);
  },
);
