// The client trusts only its own user's socket (DESIGN §3.1, issue 9 item 1). With XDG_RUNTIME_DIR unset the runtime
// dir is `${TMPDIR:-/tmp}/sentinel-$UID/`; another user who creates it first and listens there must get nothing —
// no request, no token — and hand out nothing. Here the victim is uid 65534 running the real `sentinel` binary, and the
// other user is this test (root). And `daemon status` against something that is not a daemon says so.
import t, { type Test } from 'tap';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NEEDS_ROOT, NOBODY, SETPRIV, isRoot, listenAs } from './support/as-user.js';
import { until } from './support/wait.js';
import { ENTRY, cleanEnv, requireBuild, run, sentinel, startStubDaemon, tempDir, type Run } from './support/cli.js';

const ATTACKER_KEY = 'AKIAATTACKERKEY00000';

/** What a listener there answers every request with: credentials, the other user's keys in the attacks. */
function trapAnswer() {
  return {
    Version: 1,
    AccessKeyId: ATTACKER_KEY,
    SecretAccessKey: 'attacker-secret',
    SessionToken: 'attacker-token',
    Token: 'attacker-token',
    Expiration: new Date(Date.now() + 3_600_000).toISOString(),
  };
}

interface Trap {
  base: string;
  dir: string;
  socket: string;
  requests: string[];
  server: Server;
}

/** What the other user prepares: `<base>/sentinel-65534/sentinel.sock`, answering every request with her keys. */
async function setTrap(t: Test): Promise<Trap> {
  const base = mkdtempSync(join(tmpdir(), 'sentinel-trust-'));
  chmodSync(base, 0o1777);
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, `sentinel-${NOBODY}`);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const socket = join(dir, 'sentinel.sock');
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(trapAnswer()));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  chmodSync(socket, 0o666);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base, dir, socket, requests, server };
}

/** `sentinel <args>` as uid 65534, with the runtime dir rule falling back to TMPDIR. */
function asVictim(t: Test, base: string, args: string[]): Promise<Run> {
  requireBuild();
  const home = join(base, 'victim-home');
  return run(
    t,
    SETPRIV,
    // tap's spawn hook adds NODE_OPTIONS for its process records, which uid 65534 cannot write; env drops it.
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      '--',
      '/usr/bin/env',
      '-u',
      'NODE_OPTIONS',
      process.execPath,
      ENTRY,
      ...args,
    ],
    { env: cleanEnv({ HOME: home, TMPDIR: base, XDG_RUNTIME_DIR: undefined }) },
  );
}

function refused(t: Test, r: Run, trap: Trap, pattern: RegExp, what: string) {
  t.equal(r.code, 1, `${what}: exit 1`);
  t.match(r.stderr, pattern, `${what}: says what is wrong`);
  t.match(r.stderr, /Hint: /, `${what}: with a hint`);
  t.notMatch(r.stdout + r.stderr, ATTACKER_KEY, `${what}: the other user's keys are not handed on`);
  t.same(trap.requests, [], `${what}: the other user's socket received nothing`);
}

t.test('a runtime dir created by another user is refused before anything is sent', async (t) => {
  if (!isRoot()) throw new Error(NEEDS_ROOT);
  const trap = await setTrap(t);
  const creds = await asVictim(t, trap.base, ['credentials', '--profile', 'dev']);
  refused(t, creds, trap, /owned by uid 0, not by uid 65534/, 'credentials');
  t.match(creds.stderr, /intercept/, 'the hint says what this may be');
  const status = await asVictim(t, trap.base, ['daemon', 'status']);
  refused(t, status, trap, /owned by uid 0/, 'daemon status');
  const json = await asVictim(t, trap.base, ['server', 'sessions', '--json']);
  t.equal(json.code, 1);
  t.equal(JSON.parse(json.stderr).error.code, 'UnsafePath', '--json: the catalogue code');
  t.same(trap.requests, []);
});

t.test('a runtime dir of the user that others can enter, or a socket of another user, is refused', async (t) => {
  if (!isRoot()) throw new Error(NEEDS_ROOT);
  const trap = await setTrap(t);
  chownSync(trap.dir, NOBODY, NOBODY);
  const open = await asVictim(t, trap.base, ['credentials', '--profile', 'dev']);
  refused(t, open, trap, /accessible to other users \(mode 0755\)/, 'mode 0755');
  t.match(open.stderr, new RegExp(`chmod 0700 '${trap.dir}'`), 'the hint is the exact chmod');

  chmodSync(trap.dir, 0o700);
  const foreignSocket = await asVictim(t, trap.base, ['credentials', '--profile', 'dev']);
  refused(t, foreignSocket, trap, /sentinel\.sock is owned by uid 0, not by uid 65534/, 'socket of uid 0');
});

t.test(
  "the user's own private runtime dir and socket are used when the kernel says the user listens there",
  async (t) => {
    if (!isRoot()) throw new Error(NEEDS_ROOT);
    const trap = await setTrap(t);
    chownSync(trap.dir, NOBODY, NOBODY);
    chmodSync(trap.dir, 0o700);
    chownSync(trap.socket, NOBODY, NOBODY);
    // Every path the checks look at is the victim's now, but the process listening is still the other user's: the
    // check after the connect (cli-socket-peer.test.ts) is what refuses it.
    const handedOver = await asVictim(t, trap.base, ['credentials', '--profile', 'dev']);
    refused(
      t,
      handedOver,
      trap,
      new RegExp(`sentinel\\.sock is served by a process of uid 0 \\(pid ${process.pid}\\), not by your uid ${NOBODY}`),
      'a socket handed over, listened on by uid 0',
    );

    await new Promise<void>((resolve) => trap.server.close(() => resolve()));
    rmSync(trap.socket, { force: true });
    const own = await listenAs(t, { uid: NOBODY, gid: NOBODY }, trap.socket, { answer: trapAnswer() });
    const r = await asVictim(t, trap.base, ['credentials', '--profile', 'dev']);
    t.equal(r.code, 0, `served (${r.stderr.trim()})`);
    t.equal(JSON.parse(r.stdout).AccessKeyId, ATTACKER_KEY, "the answer of the user's own listener");
    await until(own.bytes, (n) => n > 0);
    t.equal(own.connections(), 1, 'one connection');
  },
);

t.test('daemon status against something that is not a daemon: an error, never a crash', async (t) => {
  for (const body of [{}, { version: '1.0.0' }, [], 'text', null, { version: '1', pid: 1, policy: null }]) {
    const stub = await startStubDaemon(t, () => ({ status: 200, body }));
    const r = await sentinel(t, ['daemon', 'status'], { env: cleanEnv({ SENTINEL_SOCKET: stub.socket }) });
    t.equal(r.code, 1, `${JSON.stringify(body)}: exit 1`);
    t.match(r.stderr, /^Error: what answers on .* is not a Sentinel daemon/m, `${JSON.stringify(body)}: says so`);
    t.notMatch(r.stderr, /Cannot read properties|TypeError|    at /, `${JSON.stringify(body)}: no crash`);
  }
  // Not HTTP at all.
  const dir = tempDir(t);
  const socket = join(dir, 'garbage.sock');
  const connections = new Set<Socket>();
  const garbage = createNetServer((s) => {
    connections.add(s);
    s.on('error', () => undefined);
    s.end('\u0000\u0001garbage\r\n\r\n');
  });
  await new Promise<void>((resolve) => garbage.listen(socket, resolve));
  t.teardown(() => {
    for (const c of connections) c.destroy();
    garbage.close();
  });
  const r = await sentinel(t, ['daemon', 'status'], { env: cleanEnv({ SENTINEL_SOCKET: socket }) });
  t.equal(r.code, 1, 'garbage: exit 1');
  t.match(r.stderr, /^Error: /m);
  t.notMatch(r.stderr, /Cannot read properties|TypeError|    at /, 'garbage: no crash');

  // HTTP, but not JSON: a web page, on the credential and control paths alike.
  const html = join(dir, 'html.sock');
  const page = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>it works</body></html>');
  });
  await new Promise<void>((resolve) => page.listen(html, resolve));
  t.teardown(() => new Promise<void>((resolve) => page.close(() => resolve())));
  for (const args of [
    ['daemon', 'status'],
    ['credentials', '--profile', 'dev'],
    ['server', 'sessions'],
  ]) {
    const r = await sentinel(t, args, { env: cleanEnv({ SENTINEL_SOCKET: html }) });
    t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
    t.match(r.stderr, /^Error: the daemon answered 200 with a body that is not JSON$/m, `${args.join(' ')}: says so`);
    t.notMatch(r.stdout + r.stderr, /it works|TypeError|    at /, `${args.join(' ')}: nothing echoed, no crash`);
  }
});
