// The forwarder reads the decision log and writes its cursor only where nobody but the user can have put things
// (DESIGN §5.4, §14). An attack as a second local user found it opening the log path and writing `<cursor>.tmp`
// through symlinks: with the state directory named through an entry she controlled, she had it send the user's
// ~/.aws/credentials to CloudWatch line by line, send lines she forged to the anchor stream, and overwrite a private
// file of the user's with the cursor. These run the forwarder itself (in this thread) against the logs emulator.
import t, { type Test } from 'tap';
import {
  closeSync,
  constants,
  openSync,
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { createLogger, silentLogger, type OpLogger } from '../core/log.js';
import { createForwarder, type Forwarder } from '../core/audit/forwarder.js';
import { createLogsClient } from '../core/audit/cloudwatch-client.js';
import { awsEnv, withEnv } from './support/aws-env.js';
import { tempDir } from './support/temp-dir.js';
import { startLogs, type LogsEmulator } from './support/logs-emulator.js';
import { until } from './support/wait.js';

const GROUP = 'sentinel-decisions';
const STREAM = 'host-alice';
const NOBODY = 65534;
const SECRET_LINE = 'aws_secret_access_key = forwarding-paths-test-not-a-real-key';
const LINE = JSON.stringify({ timestamp: new Date().toISOString(), event: 'credentials', outcome: 'allow' });

async function emulator(t: Test): Promise<LogsEmulator> {
  const logs = await startLogs();
  t.teardown(() => logs.close());
  withEnv(t, {
    ...awsEnv(),
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.url,
    AWS_ACCESS_KEY_ID: 'AKIAFORWARDPATHS0001',
    AWS_SECRET_ACCESS_KEY: 'forwarding-paths-secret',
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  });
  return logs;
}

function forwarder(t: Test, file: string, cursorFile: string, log: OpLogger = silentLogger()): Forwarder {
  const f = createForwarder({
    file,
    cursorFile,
    logGroup: GROUP,
    logStream: STREAM,
    client: () => createLogsClient({ region: 'us-east-1', maxAttempts: 1 }),
    log,
    required: false,
    pollMs: 50,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
  });
  t.teardown(() => f.close());
  f.start();
  return f;
}

const sent = (logs: LogsEmulator): string[] => {
  try {
    return logs.events(GROUP, STREAM).map((e) => e.message);
  } catch {
    return []; // no stream: nothing was ever sent
  }
};

/** Waits for the forwarder to report a refusal, then checks that nothing at all reached CloudWatch. */
async function refused(t: Test, f: Forwarder, logs: LogsEmulator, why: RegExp): Promise<void> {
  const error = await until(
    () => f.status().last_error,
    (e) => e !== null,
    10_000,
    20,
  );
  t.match(error, why, 'the status says why');
  // Give it several more rounds: it must keep refusing, not give in.
  await new Promise((r) => setTimeout(r, 300));
  t.same(sent(logs), [], 'nothing was sent to CloudWatch');
  t.equal(f.status().forwarded_lines, 0);
}

t.test('a decision log that is a symlink is not read, whatever it points at', async (t) => {
  const logs = await emulator(t);
  const dir = tempDir(t, 'sentinel-fwd-paths-');
  const secret = join(dir, 'credentials');
  writeFileSync(secret, `[base]\n${SECRET_LINE}\n`, { mode: 0o600 });
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  symlinkSync(secret, join(state, 'decisions.log'));
  const f = forwarder(t, join(state, 'decisions.log'), join(state, 'cloudwatch-cursor.json'));
  await refused(t, f, logs, /^UnsafePath: the decision log .*decisions\.log is a symlink$/);
});

t.test("another user's file in the log's place is not read", async (t) => {
  const logs = await emulator(t);
  const state = join(tempDir(t, 'sentinel-fwd-paths-'), 'state');
  mkdirSync(state, { mode: 0o700 });
  const file = join(state, 'decisions.log');
  writeFileSync(file, `${JSON.stringify({ user: 'FORGED' })}\n`, { mode: 0o644 });
  chownSync(file, NOBODY, NOBODY);
  const f = forwarder(t, file, join(state, 'cloudwatch-cursor.json'));
  await refused(
    t,
    f,
    logs,
    new RegExp(`^UnsafePath: the decision log .* is not a regular file of uid ${process.getuid!()}$`),
  );
});

t.test('a log directory named through a directory another user owns, or her symlink, is not read', async (t) => {
  const logs = await emulator(t);
  // A stand-in for /tmp: root's (the suite runs as root), sticky, writable by all.
  const shared = join(tempDir(t, 'sentinel-fwd-paths-'), 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);

  // Set-up 1: XDG_STATE_HOME names a directory she created first; ours inside it is private, but she can rename it.
  const hers = join(shared, 'alice-state');
  mkdirSync(hers);
  chmodSync(hers, 0o777);
  chownSync(hers, NOBODY, NOBODY);
  const ours = join(hers, 'sentinel');
  mkdirSync(ours, { mode: 0o700 });
  writeFileSync(join(ours, 'decisions.log'), `${LINE}\n`, { mode: 0o600 });
  const first = forwarder(t, join(ours, 'decisions.log'), join(ours, 'cloudwatch-cursor.json'));
  await refused(t, first, logs, new RegExp(`^UnsafePath: ${hers} is owned by uid ${NOBODY}`));

  // Set-up 2: `sentinel` in the shared directory is her symlink, to a directory that would pass on its own.
  const target = join(shared, 'elsewhere');
  mkdirSync(target, { mode: 0o700 });
  writeFileSync(join(target, 'decisions.log'), `${LINE}\n`, { mode: 0o600 });
  const link = join(shared, 'sentinel');
  symlinkSync(target, link);
  lchownSync(link, NOBODY, NOBODY);
  const second = forwarder(t, join(link, 'decisions.log'), join(link, 'cloudwatch-cursor.json'));
  await refused(t, second, logs, new RegExp(`^UnsafePath: ${link} is a symlink owned by uid ${NOBODY}`));
  t.notOk(existsSync(join(target, 'cloudwatch-cursor.json')), 'no cursor written through her link');
});

t.test("the cursor is never written through a planted '<cursor>.tmp' symlink", async (t) => {
  const logs = await emulator(t);
  const dir = tempDir(t, 'sentinel-fwd-paths-');
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  const canary = join(dir, 'private.txt');
  writeFileSync(canary, "the user's own data\n", { mode: 0o600 });
  const file = join(state, 'decisions.log');
  const cursorFile = join(state, 'cloudwatch-cursor.json');
  // The name the forwarder used to write before every rename.
  symlinkSync(canary, `${cursorFile}.tmp`);
  writeFileSync(file, `${LINE}\n`, { mode: 0o600 });
  const f = forwarder(t, file, cursorFile);
  await until(
    () => sent(logs),
    (m) => m.length === 1,
    10_000,
    20,
  );
  await until(
    () => existsSync(cursorFile),
    (e) => e,
    5_000,
    20,
  );
  await f.close();
  t.same(sent(logs), [LINE], 'the line was forwarded');
  t.equal(readFileSync(canary, 'utf8'), "the user's own data\n", 'the file behind the planted link is untouched');
  t.ok(lstatSync(cursorFile).isFile(), 'the cursor is a regular file');
  t.equal(JSON.parse(readFileSync(cursorFile, 'utf8')).offset, LINE.length + 1, 'and stands after the line');
  t.same(
    readdirSync(state)
      .filter((n) => n.endsWith('.tmp'))
      .sort(),
    ['cloudwatch-cursor.json.tmp'],
    'no temporary file of its own is left behind (only the planted link)',
  );
});

function capturedLog(): { log: OpLogger; lines: () => Record<string, unknown>[] } {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return {
    log: createLogger({ destination: sink, level: 'debug' }),
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

t.test('a damaged cursor is reported, naming the file and why, and forwarding starts over', async (t) => {
  // A negative or fractional offset had been retried forever as "CloudWatch Logs unavailable" (and written back); a
  // FIFO had blocked the worker in open() (and the daemon's stop); a link to /dev/zero had run it out of memory.
  const cases: [string, (cursorFile: string, file: string) => void, RegExp][] = [
    [
      'negative offset',
      (c, file) => writeFileSync(c, cursorJson(file, { offset: -5 })),
      /offset \(-5\) is not a whole number/,
    ],
    ['fractional offset', (c, file) => writeFileSync(c, cursorJson(file, { offset: 10.5 })), /offset \(10\.5\)/],
    ['a FIFO', (c) => execFileSync('mkfifo', ['-m', '600', c]), /not a regular file/],
    ['a symlink to /dev/zero', (c) => symlinkSync('/dev/zero', c), /is a symlink/],
    ['a huge file', (c) => writeFileSync(c, ' '.repeat(100_000)), /100000 bytes long/],
  ];
  for (const [name, damage, why] of cases) {
    await t.test(name, async (t) => {
      const logs = await emulator(t);
      const state = join(tempDir(t, 'sentinel-fwd-cursor-'), 'state');
      mkdirSync(state, { mode: 0o700 });
      const file = join(state, 'decisions.log');
      const cursorFile = join(state, 'cloudwatch-cursor.json');
      writeFileSync(file, `${LINE}\n${LINE}\n`, { mode: 0o600 });
      damage(cursorFile, file);
      t.teardown(() => {
        // Releases a reader the fix no longer lets block (so the run ends even without it).
        try {
          closeSync(openSync(cursorFile, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // no reader waiting, or not a FIFO
        }
      });
      const captured = capturedLog();
      const f = forwarder(t, file, cursorFile, captured.log);
      await until(
        () => sent(logs),
        (m) => m.length === 2,
        5_000,
        20,
      );
      t.pass('both lines were forwarded from the beginning');
      const warned = captured.lines().filter((l) => l.event === 'forwarding_cursor_damaged');
      t.equal(warned.length, 1, 'one line in the operational log');
      t.equal(warned[0]?.level, 40, 'at warn level');
      t.equal(warned[0]?.file, cursorFile, 'naming the cursor file');
      t.match(warned[0]?.problem, why, `and why: ${String(warned[0]?.problem)}`);
      t.notOk(
        captured.lines().some((l) => /CloudWatch Logs unavailable/.test(String(l.msg))),
        'nothing blamed on CloudWatch',
      );
      t.equal(f.status().last_error, null);
      await f.close();
      const saved = JSON.parse(readFileSync(cursorFile, 'utf8')) as { offset: number };
      t.equal(saved.offset, 2 * (LINE.length + 1), 'a good cursor replaces the damaged one');
    });
  }
});

t.test("a cursor's last_timestamp in the future is brought back to now, and forwarding goes on", async (t) => {
  // Every event used to be stamped at max(now, last_timestamp): with a cursor from a clock once more than 2 hours
  // fast (or edited to 2100), each was rejected as too new, "sent again stamped now" at that same time, and given up.
  const logs = await emulator(t);
  const state = join(tempDir(t, 'sentinel-fwd-cursor-'), 'state');
  mkdirSync(state, { mode: 0o700 });
  const file = join(state, 'decisions.log');
  const cursorFile = join(state, 'cloudwatch-cursor.json');
  writeFileSync(file, `${LINE}\n`, { mode: 0o600 });
  writeFileSync(cursorFile, cursorJson(file, { last_timestamp: Date.UTC(2100, 0, 1) }), { mode: 0o600 });
  const captured = capturedLog();
  const f = forwarder(t, file, cursorFile, captured.log);
  writeFileSync(file, `${LINE}\n${LINE}\n`, { mode: 0o600 });
  f.kick();
  const events = await until(
    () => {
      try {
        return logs.events(GROUP, STREAM);
      } catch {
        return [];
      }
    },
    (e) => e.length === 2,
    5_000,
    20,
  );
  t.ok(
    events.every((e) => e.timestamp <= Date.now()),
    'stamped no later than now',
  );
  t.equal(f.status().rejected_events, 0, 'none rejected');
  const warned = captured.lines().filter((l) => l.event === 'forwarding_cursor_damaged');
  t.equal(warned.length, 1, 'the clamp is logged');
  t.match(warned[0]?.msg, /in the future/);
  await f.close();
  const saved = JSON.parse(readFileSync(cursorFile, 'utf8')) as { last_timestamp: number };
  t.ok(saved.last_timestamp <= Date.now(), 'and the saved cursor no longer holds the future time');
});

t.test('a cursor that cannot be saved is a local problem: forwarding goes on, status says so', async (t) => {
  // A directory in the cursor's place had made every batch a "CloudWatch Logs unavailable" failure (rename EISDIR),
  // with a backoff growing to 30 s, and everything sent again at each restart.
  const logs = await emulator(t);
  const state = join(tempDir(t, 'sentinel-fwd-cursor-'), 'state');
  mkdirSync(state, { mode: 0o700 });
  const file = join(state, 'decisions.log');
  const cursorFile = join(state, 'cloudwatch-cursor.json');
  mkdirSync(cursorFile);
  writeFileSync(file, `${LINE}\n`, { mode: 0o600 });
  const captured = capturedLog();
  const f = forwarder(t, file, cursorFile, captured.log);
  await until(
    () => sent(logs),
    (m) => m.length === 1,
    5_000,
    20,
  );
  for (let i = 2; i <= 5; i++) {
    writeFileSync(file, `${LINE}\n`.repeat(i), { mode: 0o600 });
    f.kick();
    await until(
      () => sent(logs),
      (m) => m.length === i,
      1_000,
      10,
    );
  }
  t.pass('each line went out at once: no backoff');
  const status = f.status();
  t.equal(status.last_error, null, 'CloudWatch is not blamed');
  t.ok(status.last_success_at, 'and forwarding succeeds');
  t.match(status.cursor_error, `the forwarding cursor ${cursorFile} cannot be saved (EISDIR)`);
  const unsaved = captured.lines().filter((l) => l.event === 'forwarding_cursor_unsaved');
  t.equal(unsaved.length, 1, 'logged once, not at every batch');
  t.equal(unsaved[0]?.level, 50);
  t.notOk(
    captured.lines().some((l) => /CloudWatch Logs unavailable/.test(String(l.msg))),
    'nothing blamed on CloudWatch in the log',
  );
});

/** A cursor for `file` as the forwarder writes it, with `fields` changed. */
const cursorJson = (file: string, fields: Record<string, unknown>) => {
  const { dev, ino } = statSync(file);
  return JSON.stringify({ log_group: GROUP, log_stream: STREAM, dev, ino, offset: 0, last_timestamp: 0, ...fields });
};
