// CloudWatch Logs forwarding (DESIGN §14) against the emulator and the real SDK client: every line arrives, in order,
// in batches within the service's limits; an outage and a restart lose nothing; a partly rejected batch is sent again,
// not dropped; with `required`, a lag past the bound refuses; and --against-cloudwatch catches a cut tail and a
// rewritten chain that the chain alone calls intact.
import t, { type Test } from 'tap';
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { Writable } from 'node:stream';
import { createLogger, silentLogger, type OpLogger } from '../core/log.js';
import { createAuditTrail, cursorFileFor, type AuditTrail } from '../core/audit/trail.js';
import { canonicalJson } from '../core/audit/entry.js';
import { GENESIS, chainSigner, loadHmacKey } from '../core/audit/hmac-chain.js';
import type { DecisionEntry } from '../core/audit/types.js';
import { awsEnv, withEnv } from './support/aws-env.js';
import { sentinelInProcess, tempDir } from './support/cli.js';
import { startLogs, type LogsEmulator, MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from './support/logs-emulator.js';
import { until } from './support/wait.js';
import { credentialEntry } from './support/decision-log-fixture.js';

const GROUP = 'sentinel-decisions';
const STREAM = 'host-alice';

const entry = credentialEntry;

interface Setup {
  dir: string;
  file: string;
  key: string;
  logs: LogsEmulator;
  open(options?: { required?: boolean; pollMs?: number; log?: OpLogger; backoffBaseMs?: number }): AuditTrail;
  lines(): string[];
  forwarded(): string[];
}

async function setup(t: Test): Promise<Setup> {
  const logs = await startLogs();
  t.teardown(() => logs.close());
  withEnv(t, {
    ...awsEnv(),
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.url,
    AWS_ACCESS_KEY_ID: 'AKIAFORWARDERTEST001',
    AWS_SECRET_ACCESS_KEY: 'forwarder-test-secret',
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  });
  const dir = tempDir(t, 'sentinel-forward-');
  const file = join(dir, 'state', 'decisions.log');
  const key = join(dir, 'audit.key');
  writeFileSync(key, randomBytes(32).toString('hex'), { mode: 0o600 });
  chmodSync(key, 0o600);
  const open = (options: { required?: boolean; pollMs?: number; log?: OpLogger; backoffBaseMs?: number } = {}) => {
    const config = resolveConfig(
      {
        audit: {
          file,
          hmac_key_file: key,
          cloudwatch: { log_group: GROUP, log_stream: STREAM, required: options.required ?? false },
        },
      },
      'config.yaml',
      { HOME: '/nonexistent' },
    );
    // The forwarder's rules on this thread (the worker that runs it in a daemon: audit-forwarding-thread.test.ts).
    const trail = createAuditTrail(config, {
      log: options.log ?? silentLogger(),
      forwarder: {
        pollMs: options.pollMs ?? 50,
        backoffBaseMs: options.backoffBaseMs ?? 20,
        backoffMaxMs: Math.max(200, options.backoffBaseMs ?? 0),
      },
      forwarderInThread: true,
    });
    t.teardown(() => trail.close());
    return trail;
  };
  const lines = () =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.trim())
      : [];
  const forwarded = () => {
    try {
      return logs.events(GROUP, STREAM).map((e) => e.message);
    } catch {
      return [];
    }
  };
  return { dir, file, key, logs, open, lines, forwarded };
}

t.test('20,000 decisions arrive complete and in order, in batches within the limits', async (t) => {
  const s = await setup(t);
  const trail = s.open();
  for (let i = 0; i < 20_000; i++) trail.write(entry(i));
  await trail.flush();
  await until(
    () => s.forwarded().length,
    (n) => n >= 20_000,
    60_000,
    100,
  );
  t.same(s.forwarded(), s.lines(), 'every line, exactly as in the file, in file order');
  t.equal(s.forwarded().length, 20_000);
  await until(
    () => trail.status().cloudwatch!.pending_lines,
    (n) => n === 0,
    30_000,
  );
  t.ok(
    s.logs.calls.CreateLogGroup! >= 1 && s.logs.calls.CreateLogStream! >= 1,
    'group and stream created when missing',
  );
  t.ok(
    s.logs.puts.every((p) => p.events <= MAX_BATCH_EVENTS && p.bytes <= MAX_BATCH_BYTES),
    `${s.logs.puts.length} batches, each within 10,000 events and 1,048,576 bytes`,
  );
  const timestamps = s.logs.events(GROUP, STREAM).map((e) => e.timestamp);
  t.ok(
    timestamps.every((ts, i) => i === 0 || ts >= timestamps[i - 1]!),
    'timestamps never decrease',
  );
  const status = trail.status().cloudwatch!;
  t.equal(status.pending_lines, 0);
  t.equal(status.forwarded_lines, 20_000);
  t.equal(status.lag_seconds, 0);
});

t.test('a steady trickle of decisions is sent per poll, not one PutLogEvents per write', async (t) => {
  // The credential path must not notice forwarding (DESIGN §14): a forwarder that sent again as soon as it was done
  // made one signed HTTP call per decision-log write batch on the daemon's event loop.
  const s = await setup(t);
  const trail = s.open({ pollMs: 1000 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  trail.write(entry(9999));
  await trail.flush();
  await until(
    () => s.forwarded().length,
    (n) => n >= 1,
    10_000,
    50,
  ); // the stream exists and the forwarder has caught up
  const before = s.logs.calls.PutLogEvents ?? 0;
  const started = Date.now();
  // Writes every few milliseconds for about 1.5 s, as a busy daemon's decision log sees them.
  for (let i = 0; i < 300; i++) {
    for (let j = 0; j < 3; j++) trail.write(entry(i * 3 + j));
    await trail.flush();
    await sleep(2);
  }
  await until(
    () => s.forwarded().length,
    (n) => n >= 901,
    15_000,
    50,
  );
  t.same(s.forwarded(), s.lines(), 'every line arrives, in order');
  const puts = (s.logs.calls.PutLogEvents ?? 0) - before;
  // One call per 1 s poll, plus the first and a last one: time-based, so a slow machine only raises the bound.
  const bound = Math.ceil((Date.now() - started) / 1000) + 2;
  t.ok(puts <= bound, `900 lines written in 300 flushes went out in ${puts} PutLogEvents calls (bound ${bound})`);
});

t.test('an outage, throttling and a restart meanwhile: nothing lost, nothing twice', async (t) => {
  const s = await setup(t);
  s.logs.setDown(true);
  const first = s.open();
  for (let i = 0; i < 300; i++) first.write(entry(i));
  await first.flush();
  await until(
    () => first.status().cloudwatch!.last_error,
    (e) => e !== null,
    30_000,
  );
  t.equal(first.status().cloudwatch!.pending_lines, 300, 'the lag shows');
  await first.close(); // the daemon restarts during the outage
  const second = s.open();
  for (let i = 300; i < 600; i++) second.write(entry(i));
  await second.flush();
  s.logs.failNext('PutLogEvents', { code: 'ThrottlingException', message: 'Rate exceeded' }, 3);
  s.logs.setDown(false);
  await until(
    () => s.forwarded().length,
    (n) => n >= 600,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 300));
  t.same(s.forwarded(), s.lines(), '600 lines, in order, none twice');
  t.ok(existsSync(cursorFileFor(s.file)), 'the cursor is kept in the state directory');
  const third = s.open(); // a restart after catching up sends nothing again
  await new Promise((r) => setTimeout(r, 300));
  t.equal(s.forwarded().length, 600, 'a restart resumes at the cursor');
  t.equal(third.status().cloudwatch!.pending_lines, 0, 'nothing pending');
});

t.test(
  'a CloudWatch that accepts and never answers: the attempt ends at its budget, then the backlog goes out',
  async (t) => {
    const s = await setup(t);
    // Held for ten minutes: longer than the test, so only a client-side budget ends the attempt.
    s.logs.setDelay(600_000);
    const trail = s.open();
    for (let i = 0; i < 50; i++) trail.write(entry(i));
    await trail.flush();
    await until(
      () => s.logs.arrivals(),
      (n) => n >= 1,
      10_000,
    );
    const inFlight = Date.now();
    const error = await until(
      () => trail.status().cloudwatch!.last_error,
      (e) => e !== null,
      25_000,
    );
    const waited = Date.now() - inFlight;
    t.match(error, /TimeoutError/, `the attempt timed out: ${error}`);
    t.ok(waited < 10_000 + 5_000, `at the 10 s budget, not never (${waited} ms)`);
    t.equal(trail.status().cloudwatch!.pending_lines, 50, 'the lag shows meanwhile');
    s.logs.setDelay(0);
    await until(
      () => s.forwarded().length,
      (n) => n >= 50,
      30_000,
    );
    t.same(s.forwarded(), s.lines(), 'once it answers, every line, in order');
  },
);

t.test('a batch partly rejected is sent again, not dropped', async (t) => {
  const s = await setup(t);
  const trail = s.open();
  s.logs.now = () => Date.now() - 3 * 3_600_000; // the service's clock is three hours behind: "now" is too new
  const earlier = new Date(Date.now() - 10 * 3_600_000);
  for (let i = 0; i < 20; i++) trail.write(entry(i, earlier));
  for (let i = 20; i < 30; i++) trail.write(entry(i));
  await trail.flush();
  await until(
    () => s.logs.puts.find((p) => p.accepted < p.events),
    (p) => p !== undefined,
    30_000,
  );
  t.equal(s.forwarded().length, 20, 'the older part was accepted');
  s.logs.now = () => Date.now();
  await until(
    () => s.forwarded().length,
    (n) => n >= 30,
    30_000,
  );
  t.same(s.forwarded(), s.lines(), 'the rejected part was sent again and arrived, in order');
  t.equal(trail.status().cloudwatch!.resent_events, 10);
  t.equal(trail.status().cloudwatch!.rejected_events, 0);
});

t.test(
  'a line longer than an event can be: a stand-in names it, the lines after it are counted and sent',
  async (t) => {
    // One such line used to stop forwarding for good, silently, with a lag of 0 even under `required`: whoever can
    // append to the log could switch off the anchor.
    const s = await setup(t);
    s.logs.setDown(true);
    const trail = s.open({ required: true });
    const at = new Date().toISOString();
    const huge = `{"timestamp":"${at}","x":"${'a'.repeat(1_500_000)}"}`; // no newline within one read
    const long = `{"timestamp":"${at}","x":"${'b'.repeat(300_000)}"}`; // within a read, over the event limit
    trail.write(entry(0));
    await trail.flush();
    const hugeAt = readFileSync(s.file).length;
    appendFileSync(s.file, `${huge}\n`);
    trail.write(entry(1));
    await trail.flush();
    const longAt = readFileSync(s.file).length;
    appendFileSync(s.file, `${long}\n`);
    trail.write(entry(2));
    await trail.flush();
    await until(
      () => trail.status().cloudwatch!.pending_lines,
      (n) => n === 5,
      10_000,
    );
    t.pass('while CloudWatch is down, every line is pending, those after the long ones too');
    s.logs.setDown(false);
    const events = await until(
      () => s.forwarded(),
      (e) => e.length >= 5,
      20_000,
    );
    const lines = s.lines();
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    t.same(
      [events[0], events[2], events[4]],
      [lines[0], lines[2], lines[4]],
      'the lines around them arrive as they are, in order',
    );
    t.match(JSON.parse(events[1]!), {
      sentinel_forwarder: 'line_not_forwarded',
      offset: hugeAt,
      length: Buffer.byteLength(huge),
      sha256: sha(huge),
    });
    t.match(JSON.parse(events[3]!), {
      sentinel_forwarder: 'line_not_forwarded',
      offset: longAt,
      length: Buffer.byteLength(long),
      sha256: sha(long),
    });
    const status = await until(
      () => trail.status().cloudwatch!,
      (c) => c.pending_lines === 0,
      10_000,
    );
    t.equal(status.oversized_lines, 2, 'counted in status');
    t.equal(status.forwarded_lines, 5);
    t.equal(status.refusing, null);
    t.equal(events.length, 5, 'nothing else was sent');
  },
);

t.test('lines rejected for their timestamps: pending, never passed by the saved cursor, given up loudly', async (t) => {
  // The cursor used to be saved past rejected lines while their resend lived only in memory: a restart lost them.
  const s = await setup(t);
  s.logs.now = () => Date.now() - 3 * 3_600_000; // the service's clock is three hours behind: "now" is too new
  const first = s.open();
  for (let i = 0; i < 5; i++) first.write(entry(i));
  await first.flush();
  await until(
    () => s.logs.puts.some((p) => p.events === 5 && p.accepted === 0),
    (rejected) => rejected,
    10_000,
    5,
  );
  t.equal(first.status().cloudwatch!.pending_lines, 5, 'all five were rejected, and they count as pending meanwhile');
  await first.close(); // restarted while they wait to be sent again
  t.equal(JSON.parse(readFileSync(cursorFileFor(s.file), 'utf8')).offset, 0, 'the saved cursor stays before them');
  s.logs.now = () => Date.now();
  const second = s.open();
  await until(
    () => s.forwarded().length,
    (n) => n >= 5,
    10_000,
  );
  t.same(s.forwarded(), s.lines(), 'after the restart, all five arrive');
  await second.close();

  // Rejected round after round: given up, counted, and logged with where the lines are.
  s.logs.now = () => Date.now() - 3 * 3_600_000;
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const third = s.open({ log: createLogger({ destination: sink, level: 'debug' }) });
  const before = readFileSync(s.file).length;
  third.write(entry(5));
  await third.flush();
  await until(
    () => third.status().cloudwatch!.rejected_events,
    (n) => n === 1,
    20_000,
  );
  const gaveUp = text
    .split('\n')
    .filter((l) => l.includes('"lines_not_forwarded"'))
    .map((l) => JSON.parse(l) as { level: number; lines: { offset: number; length: number }[] });
  t.equal(gaveUp.length, 1, 'one line in the operational log');
  t.equal(gaveUp[0]!.level, 50, 'at error level');
  t.same(gaveUp[0]!.lines, [{ offset: before, length: s.lines()[5]!.length }], 'naming where the line is');
  t.equal(third.status().cloudwatch!.pending_lines, 0, 'nothing pending');
  await third.close();
  t.equal(
    JSON.parse(readFileSync(cursorFileFor(s.file), 'utf8')).offset,
    readFileSync(s.file).length,
    'once given up, the cursor moves past it',
  );
});

t.test('required: a lag past 10,000 lines or 15 minutes refuses; caught up, it serves', async (t) => {
  const s = await setup(t);
  s.logs.setDown(true);
  const backlog = s.open();
  for (let i = 0; i < 10_001; i++) backlog.write(entry(i));
  await backlog.close();
  const trail = s.open({ required: true });
  await until(
    () => trail.unavailable(),
    (u) => u !== null,
    30_000,
  );
  t.match(trail.unavailable(), /10001 line\(s\).*bound: 10000 lines, 15 min/);
  t.equal(trail.status().cloudwatch!.refusing, trail.unavailable());
  s.logs.setDown(false);
  await until(
    () => trail.unavailable(),
    (u) => u === null,
    30_000,
  );
  t.pass('served again once the lag is back within the bound');
  await until(
    () => s.forwarded().length,
    (n) => n === 10_001,
    30_000,
  );

  const aged = await setup(t);
  aged.logs.setDown(true);
  const old = aged.open();
  for (let i = 0; i < 3; i++) old.write(entry(i, new Date(Date.now() - 16 * 60_000)));
  await old.close();
  const required = aged.open({ required: true });
  await until(
    () => required.unavailable(),
    (u) => u !== null,
    30_000,
  );
  t.match(required.unavailable(), /3 line\(s\) and 9\d\d s behind/, 'three lines, but 16 minutes old');
  const notRequired = aged.open({ required: false });
  await new Promise((r) => setTimeout(r, 200));
  t.equal(notRequired.unavailable(), null, 'without required the lag only shows');
});

/** Writes entries from..to-1 through the trail, waits until the stream holds `events` events, and closes it. */
async function forward(s: Setup, trail: AuditTrail, from: number, to: number, events: number): Promise<void> {
  for (let i = from; i < to; i++) trail.write(entry(i));
  await trail.flush();
  await until(
    () => s.forwarded().length,
    (n) => n >= events,
    10_000,
  );
  await trail.close();
}

/** `sentinel audit verify-logs` on the setup's file and key. */
const verifyLogs = (s: Setup, args: string[]) =>
  sentinelInProcess(['audit', 'verify-logs', s.file, '--key-file', s.key, ...args], { env: { ...process.env } });

t.test('--against-cloudwatch catches a cut tail and a rewritten chain that the chain alone calls intact', async (t) => {
  const s = await setup(t);
  await forward(s, s.open(), 0, 12, 12);
  const original = s.lines();
  const verify = (extra: string[] = []) => verifyLogs(s, ['--json', ...extra]);
  const against = ['--against-cloudwatch', '--log-group', GROUP, '--log-stream', STREAM, '--region', 'us-east-1'];

  const intact = await verify(against);
  t.equal(intact.code, 0, intact.stdout + intact.stderr);
  t.equal(JSON.parse(intact.stdout).cloudwatch.events, 12);

  writeFileSync(
    s.file,
    original
      .slice(0, 9)
      .map((l) => `${l}\n`)
      .join(''),
  );
  t.equal((await verify()).code, 0, 'a cut tail: the chain alone says intact');
  const cut = await verify(against);
  t.equal(cut.code, 1, 'against CloudWatch: not intact');
  t.same(
    JSON.parse(cut.stdout).findings.map((f: { line: number; kind: string }) => [f.line, f.kind]),
    [[10, 'extra_in_cloudwatch']],
  );
  t.match(
    JSON.parse(cut.stdout).findings[0].message,
    /3 event\(s\) after the file's last line: the file's tail was cut/,
  );

  // Someone with the key rewrites the chain from line 5 on, dropping a denial.
  const key = loadHmacKey(s.key);
  const kept = original.slice(0, 4);
  const sign = chainSigner(key, JSON.parse(kept.at(-1)!).signature as string);
  const rewritten = [...kept];
  for (const line of original.slice(5)) {
    const parsed = JSON.parse(line) as { entry: DecisionEntry };
    rewritten.push(sign(canonicalJson(parsed.entry), parsed.entry.timestamp));
  }
  writeFileSync(s.file, rewritten.map((l) => `${l}\n`).join(''));
  t.equal((await verify()).code, 0, 'a rewritten chain: intact on its own');
  const r = await verify(against);
  t.equal(r.code, 1);
  const kinds = JSON.parse(r.stdout).findings.map((f: { line: number; kind: string }) => [f.line, f.kind]);
  t.same(
    kinds,
    [
      [5, 'altered'],
      [12, 'extra_in_cloudwatch'],
    ],
    'lines 5 on differ, and CloudWatch has one more',
  );

  const human = await verifyLogs(s, against);
  t.match(human.stdout, /^line 5: altered: lines 5 to 11 differ from CloudWatch events 5 to 11/m);
  t.match(human.stderr, /CloudWatch sentinel-decisions\/host-alice: 12 events: NOT intact/);

  const missing = await verify(['--against-cloudwatch', '--log-group', GROUP, '--log-stream', 'nope']);
  t.equal(missing.code, 2, 'a stream that does not exist: could not check');
  t.match(JSON.parse(missing.stdout).error.message, /does not exist/);
  const unset = await sentinelInProcess(
    ['--config', join(s.dir, 'none.yaml'), 'audit', 'verify-logs', s.file, '--key-file', s.key, '--against-cloudwatch'],
    { env: { ...process.env } },
  );
  t.equal(unset.code, 2);
});

t.test(
  '--against-cloudwatch: lines the forwarder sent twice (a damaged cursor) are re-sent, not tampering',
  async (t) => {
    // Before, the stream was compared position by position, so the repeated part read as `altered`: the documented
    // recovery from a damaged cursor made an intact log fail its check.
    const s = await setup(t);
    await forward(s, s.open(), 0, 12, 12);
    writeFileSync(cursorFileFor(s.file), 'not a cursor');
    await forward(s, s.open(), 12, 15, 27);
    t.equal(s.forwarded().length, 27, 'the first 12 lines are in the stream twice');
    const args = ['--against-cloudwatch', '--log-group', GROUP, '--log-stream', STREAM, '--region', 'us-east-1'];
    const r = await verifyLogs(s, ['--json', ...args]);
    t.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    t.same(report.findings, []);
    t.same(report.cloudwatch, { log_group: GROUP, log_stream: STREAM, events: 27, resent: 12 });
    const human = await verifyLogs(s, args);
    t.match(human.stderr, /CloudWatch sentinel-decisions\/host-alice: 27 events \(12 re-sent\): intact/);

    // Still tampering is found among the repeats: the last line cut.
    writeFileSync(
      s.file,
      s
        .lines()
        .slice(0, 14)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const cut = await verifyLogs(s, ['--json', ...args]);
    t.equal(cut.code, 1);
    t.same(
      JSON.parse(cut.stdout).findings.map((f: { line: number; kind: string }) => [f.line, f.kind]),
      [[15, 'extra_in_cloudwatch']],
    );
  },
);

t.test('the status shows the forwarding lag and the last error', async (t) => {
  const s = await setup(t);
  s.logs.setDown(true);
  const trail = s.open();
  for (let i = 0; i < 5; i++) trail.write(entry(i));
  await trail.flush();
  await until(
    () => trail.status().cloudwatch!.pending_lines,
    (n) => n === 5,
    30_000,
  );
  await until(
    () => trail.status().cloudwatch!.last_error,
    (e) => e !== null,
    30_000,
  );
  const status = trail.status();
  t.equal(status.unavailable, null);
  t.same(
    {
      group: status.cloudwatch!.log_group,
      stream: status.cloudwatch!.log_stream,
      required: status.cloudwatch!.required,
    },
    { group: GROUP, stream: STREAM, required: false },
  );
  t.ok(status.cloudwatch!.last_error, `the last error is shown (${status.cloudwatch!.last_error})`);
});

t.test('a refused connection: last_error names it, and pending_lines stays current during the backoff', async (t) => {
  const s = await setup(t);
  await s.logs.close(); // nothing listens there any more: connections are refused
  const trail = s.open({ backoffBaseMs: 60_000 });
  trail.write(entry(0));
  await trail.flush();
  const error = await until(
    () => trail.status().cloudwatch!.last_error,
    (e) => e !== null,
    10_000,
  );
  t.match(error, /ECONNREFUSED/, `says what failed: ${error}`);
  for (let i = 1; i < 4; i++) trail.write(entry(i));
  await trail.flush();
  await until(
    () => trail.status().cloudwatch!.pending_lines,
    (n) => n === 4,
    5_000,
  );
  t.pass('lines written during a backoff of 30 s or more are counted at the next poll');
});
