// The daemon's life as a service manager sees it (DESIGN §2, §3): sd_notify, a graceful SIGTERM with requests in
// flight, one daemon per runtime dir, recovery from a daemon killed with SIGKILL, and systemd socket activation. These
// run the built CLI (`node dist/cli/main.js daemon run`) as a real process.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNotifyReceiver } from './support/notify-receiver.js';
import { CLI_MAIN, daemonState, fetchFrom, prepareHome, startDaemon, waitForSocket } from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import { BASE_ACCESS_KEY, BASE_ARN } from './support/daemon.js';

t.test('READY=1, STATUS, WATCHDOG=1 and STOPPING=1 reach NOTIFY_SOCKET (abstract address)', async (t) => {
  const receiver = await startNotifyReceiver({ abstract: true });
  t.teardown(() => receiver.close());
  const d = await startDaemon(t, {
    mode: 'subprocess',
    env: { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '400000' },
  });
  const ready = await receiver.waitFor((m) => m.data.includes('READY=1'));
  t.equal(ready.pid, d.child!.pid, 'sent by the daemon process itself');
  t.match(ready.data, /STATUS=serving on .*sentinel\.sock and 127\.0\.0\.1:\d+/);
  t.equal(
    (await fetchFrom({ socketPath: d.socketPath }, { transport: 'unix', path: '/v1/status' })).status,
    200,
    'READY=1 means the socket answers',
  );
  const watchdog = await receiver.waitFor((m) => m.data === 'WATCHDOG=1');
  t.equal(watchdog.pid, d.child!.pid, 'watchdog pings at half of WATCHDOG_USEC');
  await d.stop();
  t.ok(
    receiver.messages.some((m) => m.data.startsWith('STOPPING=1')),
    'STOPPING=1 on SIGTERM',
  );
  t.same(await d.exited(), { code: 0, signal: null }, 'a clean exit');
});

t.test('READY=1 reaches a path NOTIFY_SOCKET from an in-process daemon too', async (t) => {
  const receiver = await startNotifyReceiver();
  t.teardown(() => receiver.close());
  await startDaemon(t, { env: { NOTIFY_SOCKET: receiver.address } });
  const ready = await receiver.waitFor((m) => m.data.startsWith('READY=1'));
  t.equal(ready.pid, process.pid);
});

t.test('SIGTERM with a request in flight: it completes, then the socket and daemon.json are gone', async (t) => {
  const d = await startDaemon(t, { mode: 'subprocess' });
  const stateFile = join(d.runtimeDir, 'daemon.json');
  const state = JSON.parse(readFileSync(stateFile, 'utf8'));
  t.match(state, {
    pid: d.child!.pid,
    port: d.port,
    version: /^\d+\.\d+\.\d+/,
    socket: d.socketPath,
    started_at: /Z$/,
  });
  t.equal(statSync(stateFile).mode & 0o777, 0o600, 'daemon.json is 0600');
  t.equal(statSync(d.socketPath).mode & 0o777, 0o600, 'the socket is 0600');
  t.equal(statSync(d.runtimeDir).mode & 0o777, 0o700, 'the runtime dir is 0700');

  d.sts.setDelay(2500);
  const before = d.sts.calls.AssumeRole;
  const inFlight = d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } });
  while (d.sts.calls.AssumeRole === before) await new Promise((r) => setTimeout(r, 20));
  d.child!.kill('SIGTERM');
  const answer = await inFlight;
  t.equal(answer.status, 201, 'the request in flight was answered');
  t.match(answer.json, { id: /^[0-9a-f]{16}$/, token: /^[A-Za-z0-9_-]{43}$/ });
  t.same(await d.exited(), { code: 0, signal: null });
  t.notOk(existsSync(d.socketPath), 'the socket is removed');
  t.notOk(existsSync(stateFile), 'daemon.json is removed');
  t.notOk(existsSync(join(d.runtimeDir, 'sentinel.lock')), 'the lock is released');
  t.match(d.logs(), /"event":"stopping","reason":"received SIGTERM"/);
});

t.test('a second daemon for the same runtime dir refuses to start', async (t) => {
  const first = await startDaemon(t, { mode: 'subprocess' });
  const second = await startDaemon(t, { mode: 'subprocess', home: first.home, sts: first.sts, noWait: true });
  const exit = await second.exited();
  t.equal(exit.code, 1, 'exit status 1');
  t.match(second.logs(), /already runs/, 'it says why');
  t.match(second.logs(), /sentinel daemon status/, 'and what to do');
  t.equal((await first.fetch({ transport: 'unix', path: '/v1/status' })).status, 200, 'the first one is untouched');
  t.ok(existsSync(first.socketPath));
});

t.test('after kill -9 the stale socket and lock are recovered by the next daemon', async (t) => {
  const killed = await startDaemon(t, { mode: 'subprocess' });
  killed.child!.kill('SIGKILL');
  await killed.exited();
  t.ok(existsSync(killed.socketPath), 'the killed daemon left its socket behind');
  t.ok(existsSync(join(killed.runtimeDir, 'sentinel.lock')), 'and its lock');
  const next = await startDaemon(t, { mode: 'subprocess', home: killed.home, sts: killed.sts });
  t.equal(
    (await next.fetch({ transport: 'unix', path: '/v1/status' })).status,
    200,
    'the next daemon serves on the same path',
  );
  t.match(next.logs(), /"event":"stale_lock"/);
  t.match(next.logs(), /"event":"stale_socket"/);
  const s = await next.openSession('dev');
  t.equal((await next.fetch({ transport: 'tcp', token: s.token })).status, 200);
});

t.test('a file that is not a socket at the socket path is never removed', async (t) => {
  const d = await startDaemon(t, { mode: 'subprocess' });
  await d.stop();
  writeFileSync(d.socketPath, 'precious');
  const again = await startDaemon(t, { mode: 'subprocess', home: d.home, sts: d.sts, noWait: true });
  t.equal((await again.exited()).code, 1);
  t.match(again.logs(), /is not a socket/);
  t.equal(readFileSync(d.socketPath, 'utf8'), 'precious');
});

t.test('socket activation: the daemon serves the listening socket passed as fd 3', async (t) => {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const home = prepareHome({}, sts.url);
  t.teardown(() => rmSync(home.home, { recursive: true, force: true }));
  const socketDir = mkdtempSync(join(tmpdir(), 'sentinel-activation-'));
  t.teardown(() => rmSync(socketDir, { recursive: true, force: true }));
  const socketPath = join(socketDir, 'activated.sock');
  // What systemd does: bind and listen, put the socket at fd 3, set LISTEN_PID to the pid that will exec the daemon.
  const launcher = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
os.chmod(sys.argv[1], 0o600)
if s.fileno() != 3: os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_PID"] = str(os.getpid()); os.environ["LISTEN_FDS"] = "1"
os.execv(sys.argv[2], sys.argv[2:])
`;
  const child = spawn(
    '/usr/bin/python3',
    ['-I', '-c', launcher, socketPath, process.execPath, CLI_MAIN, 'daemon', 'run'],
    {
      env: { ...home.env, SENTINEL_SOCKET: socketPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let logs = '';
  child.stdout.on('data', (c: Buffer) => (logs += c.toString()));
  child.stderr.on('data', (c: Buffer) => (logs += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const up = await waitForSocket(socketPath, 20_000);
  t.ok(up, 'the activated socket answers');
  if (!up) t.comment(logs);
  const status = await fetchFrom({ socketPath }, { transport: 'unix', path: '/v1/status' });
  t.equal(status.json.pid, child.pid, 'served by the exec-ed daemon (LISTEN_PID matched)');
  t.equal(status.json.listeners.socket_activated, true);
  t.match(logs, /"socket_activated":true/);
  const opened = await fetchFrom(
    { socketPath },
    { transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } },
  );
  t.equal(opened.status, 201, 'the control API works on the activated socket (peer credentials included)');
  const port = daemonState(home.runtimeDir).port;
  t.equal((await fetchFrom({ port }, { transport: 'tcp', token: opened.json.token })).status, 200);
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.ok(existsSync(socketPath), 'the socket belongs to the service manager and is left in place');
});
