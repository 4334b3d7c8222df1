// The client asks the kernel who listens on the daemon's socket before it sends anything (DESIGN §3.1, "the other
// direction"). The path checks (cli-socket-trust.test.ts) look at the socket before the connect; what they see can be
// changed before it (a directory swapped above, a socket file handed over with chown), and `--socket` /
// SENTINEL_SOCKET name any path. Here every path check passes — the directory and the socket file are the user's — and
// walker2's process listens behind them, ready to answer with her own AWS keys: the client must refuse, and she must
// receive not one byte (no request line, no token). The same set-up with a listener of the user's own is served.
import t, { type Test } from 'tap';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NEEDS_ROOT, accountIds, isRoot, listenAs, type ForeignListener } from './support/as-user.js';
import { ROOT, cleanEnv, run, sentinel, type Run } from './support/cli.js';
import { until } from './support/wait.js';
import { assertOwnDaemon } from '../cli/socket-trust.js';
import { DaemonClient, transportFailure } from '../cli/client.js';
import { SentinelError } from '../core/errors.js';

const HER_KEY = 'AKIAWALKER2KEY000000';
const HER_ANSWER = {
  AccessKeyId: HER_KEY,
  SecretAccessKey: 'walker2-secret',
  Token: 'walker2-token',
  Expiration: new Date(Date.now() + 3_600_000).toISOString(),
};

/**
 * `<outer>/sock/sentinel.sock`, listened on by `account`, then handed to the user running the tests (root): the
 * directory root's and 0700, the socket root's and 0600, every directory above root's and closed to others' writes.
 */
async function socketListenedBy(t: Test, account: { uid: number; gid: number }) {
  const outer = mkdtempSync(join(tmpdir(), 'sentinel-peer-'));
  t.teardown(() => rmSync(outer, { recursive: true, force: true }));
  chmodSync(outer, 0o755);
  const dir = join(outer, 'sock');
  mkdirSync(dir);
  chownSync(dir, account.uid, account.gid);
  chmodSync(dir, 0o700);
  const socket = join(dir, 'sentinel.sock');
  const listener = await listenAs(t, account, socket, { answer: HER_ANSWER });
  chownSync(dir, 0, 0);
  chownSync(socket, 0, 0);
  return { socket, listener };
}

/** Waits until the listener has reported `n` connections (its reports come through a pipe, after the client exits). */
async function connected(listener: ForeignListener, n: number): Promise<void> {
  await until(
    () => listener.connections(),
    (c) => c >= n,
  );
  // A byte sent on the last connection is reported right after it; give such a report the time to arrive.
  await new Promise((r) => setTimeout(r, 200));
}

t.test(
  "a socket that passes every path check but walker2's process listens on: refused, she receives 0 bytes",
  async (t) => {
    if (!isRoot()) return t.fail(NEEDS_ROOT);
    const walker2 = accountIds('walker2');
    const { socket, listener } = await socketListenedBy(t, walker2);
    const refusal = new RegExp(
      `^Error: ${socket} is served by a process of uid ${walker2.uid} \\(pid ${listener.pid}\\), not by your uid 0; nothing was sent to it$`,
      'm',
    );
    const runs: Array<[string, Promise<Run>]> = [];
    const named = cleanEnv({ SENTINEL_SOCKET: socket });
    const plain = cleanEnv();
    runs.push(['credentials (SENTINEL_SOCKET)', sentinel(t, ['credentials', '--profile', 'dev'], { env: named })]);
    runs.push([
      'credentials --socket',
      sentinel(t, ['credentials', '--profile', 'dev', '--socket', socket], { env: plain }),
    ]);
    runs.push(['daemon status --socket', sentinel(t, ['--socket', socket, 'daemon', 'status'], { env: plain })]);
    runs.push(['server sessions', sentinel(t, ['server', 'sessions'], { env: named })]);
    for (const [what, running] of runs) {
      const r = await running;
      t.equal(r.code, 1, `${what}: exit 1`);
      t.match(r.stderr, refusal, `${what}: names the socket, her uid and pid, and the uid expected`);
      t.match(r.stderr, /^Hint: Another user's process listens there .* do not use it/m, `${what}: says what to do`);
      t.notMatch(r.stdout + r.stderr, HER_KEY, `${what}: her keys are not handed on`);
    }
    const json = await sentinel(t, ['server', 'sessions', '--json'], { env: named });
    t.equal(json.code, 1);
    t.equal(JSON.parse(json.stderr).error.code, 'PeerNotAllowed', '--json: the catalogue code');

    await connected(listener, runs.length + 1);
    t.equal(listener.connections(), runs.length + 1, 'each command connected once (the check is after the connect)');
    t.equal(listener.bytes(), 0, 'she received not one byte: no request line, no token, no body');
  },
);

t.test('the same socket and paths with a listener of the user: served', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const { socket, listener } = await socketListenedBy(t, { uid: 0, gid: 0 });
  const r = await sentinel(t, ['credentials', '--profile', 'dev'], { env: cleanEnv({ SENTINEL_SOCKET: socket }) });
  t.equal(r.code, 0, `served (${r.stderr.trim()})`);
  t.equal(JSON.parse(r.stdout).AccessKeyId, HER_KEY, 'the answer of the listener the kernel vouched for');
  await connected(listener, 1);
  t.ok(listener.bytes() > 0, 'the request was sent');
});

t.test('without the native addon nothing is sent, and the error says how to build it', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const { socket, listener } = await socketListenedBy(t, { uid: 0, gid: 0 });
  // An installed package whose addon was never built: dist/ and binding.gyp, no build/.
  const pkg = mkdtempSync(join(tmpdir(), 'sentinel-no-addon-'));
  t.teardown(() => rmSync(pkg, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  writeFileSync(join(pkg, 'binding.gyp'), '{}');
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  const entry = join(pkg, 'dist', 'cli', 'main.js');
  const env = cleanEnv({ SENTINEL_SOCKET: socket });

  const r = await run(t, process.execPath, [entry, 'credentials', '--profile', 'dev'], { env });
  t.equal(r.code, 1, 'exit 1');
  t.equal(r.stdout, '', 'no credentials');
  t.match(
    r.stderr,
    new RegExp(
      `^Error: nothing was sent to ${socket}: Sentinel's native addon is not built \\(.*sentinel_native\\.node is missing\\): run \`npm rebuild\` \\(or \`npm run build:native\`\\) in ${pkg}$`,
      'm',
    ),
    'says that nothing was sent, and how to build the addon where it is missing',
  );
  t.match(r.stderr, /^Hint: Build it .*C\+\+ compiler/m);
  const json = await run(t, process.execPath, [entry, 'server', 'sessions', '--json'], { env });
  t.equal(JSON.parse(json.stderr).error.code, 'NativeAddonMissing', '--json: the catalogue code');

  await connected(listener, 2);
  t.equal(listener.bytes(), 0, 'the listener received nothing');
});

t.test('credentials the kernel does not give refuse too (fail closed)', async (t) => {
  const noHandle = { destroyed: false, _handle: null } as unknown as Socket;
  t.throws(() => assertOwnDaemon(noHandle, '/x/sentinel.sock', 1000), {
    code: 'PeerNotAllowed',
    message: 'the kernel holds no credentials for the process listening on /x/sentinel.sock; nothing was sent to it',
  });

  // A Pipe handle over a file: the syscall fails (ENOTSOCK).
  const file = openSync(join(ROOT, 'package.json'), 'r');
  t.teardown(() => closeSync(file));
  class Pipe {
    fd = file;
  }
  const overFile = { destroyed: false, _handle: new Pipe() } as unknown as Socket;
  let error: unknown;
  try {
    assertOwnDaemon(overFile, '/x/sentinel.sock', 1000);
  } catch (e) {
    error = e;
  }
  t.ok(error instanceof SentinelError && error.code === 'PeerNotAllowed', 'PeerNotAllowed');
  t.match(
    (error as Error).message,
    /^cannot read the credentials of the process listening on \/x\/sentinel\.sock \(ERR_PEERCRED_SYSCALL: .*\); nothing was sent to it$/,
  );
  t.match((error as SentinelError).hint, /runs as you \(uid 1000\)/);
});

t.test("the client's timeout holds on the connection the check hands over: a daemon that never answers", async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-mute-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A listener of the user's that accepts and never answers, like a daemon stopped with SIGSTOP.
  const socket = join(dir, 'sentinel.sock');
  const mute = await listenAs(t, { uid: 0, gid: 0 }, socket);
  // Before the fix this call never settled (the file's own timeout ended it): that it settles is the point.
  const error: unknown = await new DaemonClient({ socketPath: socket, timeoutMs: 300 })
    .get('/v1/status')
    .catch((e) => e);
  t.ok(error instanceof SentinelError, 'refused with a SentinelError');
  t.equal((error as Error).message, `the Sentinel daemon on ${socket} did not answer within 0.3s`);
  t.equal((error as SentinelError).code, 'DaemonNotRunning', 'a quiet daemon is not an internal error');
  t.equal(transportFailure(error), 'ETIMEDOUT', 'what daemon status and stop take for a wedged daemon');
  await until(mute.bytes, (n) => n > 0);
  t.pass('the request was sent: the check let it through');
});
