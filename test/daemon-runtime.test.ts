// The runtime dir and what keeps one daemon per dir (DESIGN §2): a private directory, a lock that survives a crash,
// a socket path cleared only when nothing answers there, daemon.json, and the systemd activation variables.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SentinelError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { readDaemonState, removeDaemonState, writeDaemonState } from '../daemon/runtime/daemon-state.js';
import { acquireLock, clearStaleSocket } from '../daemon/runtime/lock.js';
import { pidAlive, processStartTime } from '../daemon/runtime/pid.js';
import { ensurePrivateDir, ensureSocketDir } from '../daemon/runtime/runtime-dir.js';
import { activatedFd, clearActivationEnv } from '../daemon/runtime/socket-activation.js';
import { NOBODY } from './support/as-user.js';
import { startDaemon } from './support/daemon.js';

const log = silentLogger();

function temp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-runtime-t-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SentinelError ? e.code : `not a SentinelError: ${(e as Error).message}`;
  }
  return undefined;
}

async function asyncCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof SentinelError ? e.code : `not a SentinelError: ${(e as Error).message}`;
  }
  return undefined;
}

t.test('the runtime dir is created 0700 and refused when it is not private', async (t) => {
  const root = temp(t);
  const dir = join(root, 'a', 'sentinel');
  ensurePrivateDir(dir);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  ensurePrivateDir(dir);
  t.pass('an existing private dir is fine');

  chmodSync(dir, 0o750);
  // A group of others (nogroup); the user's private group is hers alone (test/path-trust-private-group.test.ts).
  chownSync(dir, process.getuid!(), NOBODY);
  t.equal(
    code(() => ensurePrivateDir(dir)),
    'UnsafePath',
    'group-readable',
  );
  chmodSync(dir, 0o701);
  t.equal(
    code(() => ensurePrivateDir(dir)),
    'UnsafePath',
    'world-searchable',
  );
  chmodSync(dir, 0o700);
  chownSync(dir, NOBODY, NOBODY);
  t.equal(
    code(() => ensurePrivateDir(dir)),
    'UnsafePath',
    'owned by another uid',
  );
  // In a directory everyone can create entries in (/tmp, where the runtime dir falls back to), another user's
  // directory is one she may have made first: the advice is not to use it, never to chown it (found by attacking as
  // a second local user: `daemon run` and `exec` said "Fix with: chown").
  const shared = join(root, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const squatted = join(shared, `sentinel-${process.getuid!()}`);
  mkdirSync(squatted, { mode: 0o700 });
  chownSync(squatted, NOBODY, NOBODY);
  let squat: SentinelError | undefined;
  try {
    ensurePrivateDir(squatted);
  } catch (e) {
    squat = e as SentinelError;
  }
  t.match(
    squat?.hint,
    /may have created .* first, in a directory everyone can write to: do not use it or take it over/,
  );
  t.notMatch(squat?.hint ?? '', /chown/);
  const link = join(root, 'link');
  symlinkSync(join(root, 'a'), link);
  t.equal(
    code(() => ensurePrivateDir(link)),
    'UnsafePath',
    'a symlink',
  );
  const file = join(root, 'file');
  writeFileSync(file, '');
  t.equal(
    code(() => ensurePrivateDir(file)),
    'UnsafePath',
    'a file',
  );

  const sockDir = join(root, 'sock');
  mkdirSync(sockDir, { mode: 0o755 });
  chmodSync(sockDir, 0o755);
  ensureSocketDir(sockDir);
  t.pass('a socket dir others can read but not write is fine');
  chmodSync(sockDir, 0o775);
  chownSync(sockDir, process.getuid!(), NOBODY);
  t.equal(
    code(() => ensureSocketDir(sockDir)),
    'UnsafePath',
    'a group-writable socket dir',
  );
});

t.test('an in-process daemon refuses a runtime dir others can read', async (t) => {
  const d = await startDaemon(t);
  await d.stop();
  chmodSync(d.runtimeDir, 0o755);
  const { runDaemon } = await import('../daemon/run.js');
  t.equal(await asyncCode(runDaemon({ env: d.env, log })), 'UnsafePath');
});

t.test('one lock per runtime dir; a dead holder is taken over', async (t) => {
  const dir = temp(t);
  const lock = acquireLock(dir, log);
  t.match(JSON.parse(readFileSync(lock.path, 'utf8')), { pid: process.pid });
  t.equal(statSync(lock.path).mode & 0o777, 0o600);
  t.equal(
    code(() => acquireLock(dir, log)),
    'DaemonAlreadyRunning',
    'a live holder keeps it',
  );
  lock.release();
  t.notOk(existsSync(lock.path));

  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.once('exit', r));
  writeFileSync(join(dir, 'sentinel.lock'), JSON.stringify({ pid: dead.pid, start: null }));
  const taken = acquireLock(dir, log);
  t.match(JSON.parse(readFileSync(taken.path, 'utf8')), { pid: process.pid }, 'the lock of a dead pid is taken over');
  taken.release();

  writeFileSync(join(dir, 'sentinel.lock'), JSON.stringify({ pid: process.pid, start: '1' }));
  t.not(processStartTime(process.pid), '1');
  const reused = acquireLock(dir, log);
  t.pass('a live pid with another start time is a reused pid, not the holder');
  reused.release();

  writeFileSync(join(dir, 'sentinel.lock'), 'garbage');
  acquireLock(dir, log).release();
  t.pass('an unreadable lock is taken over');

  const mine = acquireLock(dir, log);
  writeFileSync(mine.path, JSON.stringify({ pid: 1, start: processStartTime(1) }));
  mine.release();
  t.ok(existsSync(mine.path), 'release never removes a lock someone else holds');
});

t.test('the socket path is cleared only when nothing answers there', async (t) => {
  const dir = temp(t);
  const path = join(dir, 'sentinel.sock');
  await clearStaleSocket(path, log);
  t.pass('nothing there');

  writeFileSync(path, 'precious');
  t.equal(await asyncCode(clearStaleSocket(path, log)), 'UnsafePath', 'a regular file is not removed');
  t.equal(readFileSync(path, 'utf8'), 'precious');
  rmSync(path);

  const live = createServer();
  await new Promise<void>((r) => live.listen(path, r));
  t.equal(await asyncCode(clearStaleSocket(path, log)), 'DaemonAlreadyRunning', 'a socket that answers stays');
  t.ok(existsSync(path));
  await new Promise((r) => live.close(r));

  // A socket file nobody listens on, as a killed daemon leaves it.
  await new Promise<void>((resolve, reject) => {
    const p = spawn('/usr/bin/python3', [
      '-I',
      '-c',
      'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])',
      path,
    ]);
    p.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`python exited ${c}`))));
  });
  t.ok(statSync(path).isSocket());
  chownSync(path, NOBODY, NOBODY);
  t.equal(await asyncCode(clearStaleSocket(path, log)), 'UnsafePath', "another uid's socket is not touched");
  chownSync(path, process.getuid!(), process.getgid!());
  await clearStaleSocket(path, log);
  t.notOk(existsSync(path), 'a dead socket of ours is removed');
});

t.test('daemon.json: 0600, atomic, removed only by its writer', async (t) => {
  const dir = temp(t);
  const state = {
    pid: process.pid,
    port: 4321,
    version: '0.1.0',
    socket: '/x.sock',
    started_at: new Date().toISOString(),
  };
  const file = writeDaemonState(dir, state);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.same(readDaemonState(dir), state);
  removeDaemonState(dir, process.pid + 1);
  t.ok(existsSync(file), 'another pid does not remove it');
  removeDaemonState(dir);
  t.notOk(existsSync(file));
  writeFileSync(file, '{"pid": "nope"}');
  t.equal(readDaemonState(dir), undefined, 'a malformed file reads as absent');
});

t.test('socket activation variables', async (t) => {
  t.equal(activatedFd({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1' }), 3);
  t.equal(activatedFd({ LISTEN_PID: String(process.pid), LISTEN_FDS: '2' }), 3);
  t.equal(
    activatedFd({ LISTEN_PID: String(process.pid + 1), LISTEN_FDS: '1' }),
    undefined,
    'meant for another process',
  );
  t.equal(activatedFd({ LISTEN_PID: String(process.pid), LISTEN_FDS: '0' }), undefined);
  t.equal(activatedFd({ LISTEN_PID: String(process.pid), LISTEN_FDS: 'x' }), undefined);
  t.equal(activatedFd({ LISTEN_FDS: '1' }), undefined);
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '1', LISTEN_FDS: '1', LISTEN_FDNAMES: 'sentinel', KEEP: 'y' };
  clearActivationEnv(env);
  t.same(env, { KEEP: 'y' });
});

t.test('pidAlive: this process yes, a process that has exited no', async (t) => {
  t.equal(pidAlive(process.pid), true);
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => gone.once('exit', r));
  t.equal(pidAlive(gone.pid!), false);
});

t.test('a path of the wrong kind is named for what it is, and the hint never says to remove it', async (t) => {
  const root = temp(t);
  const refusal = (fn: () => unknown): SentinelError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof SentinelError) return e;
      throw e;
    }
    throw new Error('not refused');
  };
  const device = refusal(() => ensureSocketDir('/dev/null'));
  t.equal(device.code, 'UnsafePath');
  t.match(device.message, /\/dev\/null is not a directory \(it is a device\)/);
  t.notMatch(device.hint ?? '', /remove/i, 'nobody is told to remove /dev/null');
  t.match(device.hint ?? '', /another path/);
  const file = join(root, 'file');
  writeFileSync(file, 'data');
  t.match(refusal(() => ensurePrivateDir(file)).message, /is not a directory \(it is a regular file\)/);
  const link = join(root, 'link');
  symlinkSync(root, link);
  const symlink = refusal(() => ensurePrivateDir(link));
  t.match(symlink.message, /is not a directory \(a symlink\)/);
  t.match(symlink.hint ?? '', /remove the link \(its target stays\)/);
});
