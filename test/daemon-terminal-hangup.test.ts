// A daemon nobody can stop (issue 9 item 7) and logs for people (item 8), as a user meets them: `sentinel daemon run`
// in a terminal (a real pseudo-terminal from util-linux `script`) whose window is closed. SIGHUP then means the
// terminal is gone: the daemon stops, its stop is not wedged by writes to the dead terminal, and status, start and
// stop agree afterwards. A daemon that holds the runtime dir without answering is reported as such by all three.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fdDestination } from '../core/log.js';
import { processStartTime, pidAlive } from '../daemon/runtime/pid.js';
import { DaemonClient } from '../cli/client.js';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  CLI_MAIN,
  daemonState,
  prepareHome,
  runProcess,
  waitForSocket,
} from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import type { HasTeardown } from './support/aws-env.js';

const SCRIPT = '/usr/bin/script';

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

async function home(t: HasTeardown) {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const h = prepareHome({}, sts.url);
  const sentinel = (...args: string[]) =>
    runProcess(process.execPath, [CLI_MAIN, ...args], { env: h.env, timeoutMs: 60_000 });
  return { ...h, sentinel };
}

t.test('closing the terminal of a foreground daemon stops it; status, start and stop agree afterwards', async (t) => {
  t.ok(existsSync(SCRIPT), 'util-linux script provides the terminal');
  const h = await home(t);
  // `script` gives the daemon a pseudo-terminal as its controlling terminal and stdio, as a terminal window does.
  const terminal = spawn(SCRIPT, ['-qfec', `exec ${process.execPath} ${CLI_MAIN} daemon run`, '/dev/null'], {
    env: h.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  terminal.stdout!.on('data', (c: Buffer) => (screen += c.toString()));
  let daemonPid: number | undefined;
  t.teardown(() => {
    killQuietly(terminal.pid);
    killQuietly(daemonPid);
  });

  const up = await waitForSocket(h.socketPath, 30_000);
  if (!up) t.comment(screen);
  t.ok(up, 'the daemon came up in the terminal');
  daemonPid = daemonState(h.runtimeDir).pid;
  const client = new DaemonClient({ socketPath: h.socketPath });
  const session = await client.post<{ id: string }>('/v1/sessions', { profile: 'dev', mode: 'server' });
  t.ok(await until(() => /sentinel daemon ready/.test(screen), 5000), 'the log reached the terminal');
  const readyLine = screen.split(/\r?\n/).find((l) => l.includes('sentinel daemon ready'))!;
  t.notMatch(readyLine, /^\s*\{"/, 'on a terminal the log is text, not JSON lines');
  t.match(readyLine, /INFO/, 'pino-pretty names the level');
  // The decision line is written a few milliseconds after the answer (core/audit/appender.ts batches): wait for it.
  const logged = () => (existsSync(h.decisionLogFile) ? readFileSync(h.decisionLogFile, 'utf8').trim() : '');
  t.ok(await until(() => logged() !== '', 5000), 'the decision reached the log');
  const decisions = logged().split('\n');
  t.ok(decisions.length > 0 && decisions.every((l) => typeof JSON.parse(l) === 'object'), 'decision log: JSON');
  t.ok(session.id, 'a session was open when the terminal went away');

  // The terminal window closes: the master side of the pty goes away and the kernel sends SIGHUP.
  terminal.kill('SIGKILL');
  const pid = daemonPid;
  t.ok(await until(() => !pidAlive(pid), 15_000), 'the daemon stopped after its terminal went away');
  t.notOk(existsSync(h.socketPath), 'its socket is gone');
  t.notOk(existsSync(join(h.runtimeDir, 'daemon.json')), 'daemon.json is gone');
  t.notOk(existsSync(join(h.runtimeDir, 'sentinel.lock')), 'the lock is released');

  const status = await h.sentinel('daemon', 'status');
  t.equal(status.code, 4, 'status: not running');
  const stop = await h.sentinel('daemon', 'stop');
  t.equal(stop.code, 0);
  t.match(stop.stdout, /not running/, 'stop: not running');
  const started = await h.sentinel('daemon', 'start');
  t.equal(started.code, 0, `start starts a new one: ${started.stderr}`);
  daemonPid = daemonState(h.runtimeDir).pid;
  t.not(daemonPid, pid);
  const stopped = await h.sentinel('daemon', 'stop');
  t.equal(stopped.code, 0, stopped.stderr);
});

t.test('a daemon started in the background still reloads on SIGHUP', async (t) => {
  const h = await home(t);
  const started = await h.sentinel('daemon', 'start');
  t.equal(started.code, 0, started.stderr);
  const pid = daemonState(h.runtimeDir).pid;
  t.teardown(() => killQuietly(pid));
  const client = new DaemonClient({ socketPath: h.socketPath });
  process.kill(pid, 'SIGHUP');
  let reloads = 0;
  const deadline = Date.now() + 10_000;
  while (reloads === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    reloads = (await client.get<{ counters: { reloads: number } }>('/v1/status')).counters.reloads;
  }
  t.equal(reloads, 1, 'SIGHUP reloaded it');
  t.ok(pidAlive(pid), 'and it still runs');
  const log = readFileSync(join(h.stateDir, 'daemon.log'), 'utf8');
  t.ok(
    log
      .trim()
      .split('\n')
      .every((l) => l.startsWith('{')),
    'without a terminal the log is JSON lines',
  );
  t.equal((await h.sentinel('daemon', 'stop')).code, 0);
});

t.test('a daemon that holds the runtime dir but does not answer: status, start and stop say so alike', async (t) => {
  const h = await home(t);
  // A live process named by the lock, with its start time, and no socket: a daemon wedged while stopping.
  const holder = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.teardown(() => killQuietly(holder.pid));
  const pid = holder.pid!;
  mkdirSync(h.runtimeDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(h.runtimeDir, 'sentinel.lock'), JSON.stringify({ pid, start: processStartTime(pid) }), {
    mode: 0o600,
  });

  const status = await h.sentinel('daemon', 'status');
  t.equal(status.code, 4);
  t.match(
    status.stderr,
    new RegExp(`Error: a Sentinel daemon \\(pid ${pid}\\) holds the runtime directory but does not answer`),
  );
  t.match(status.stderr, /Hint: .*sentinel daemon stop/);
  const start = await h.sentinel('daemon', 'start');
  t.equal(start.code, 1, 'start does not claim to start one');
  t.match(start.stderr, new RegExp(`Error: a Sentinel daemon \\(pid ${pid}\\) holds the runtime directory`));
  t.notOk(existsSync(h.socketPath), 'and no second daemon was spawned');
  const stop = await h.sentinel('daemon', 'stop');
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, new RegExp(`stopped \\(pid ${pid}\\)`));
  t.notOk(pidAlive(pid), 'stop ended it');
});

t.test('a log destination whose writes fail drops lines: never a throw, never a retry loop', async (t) => {
  const dir = prepareHome({}, 'http://127.0.0.1:1').home;
  const file = join(dir, 'readonly.log');
  writeFileSync(file, '');
  const fd = openSync(file, 'r'); // every write fails with EBADF, as writes to a closed terminal fail with EIO
  t.teardown(() => closeSync(fd));
  const out = fdDestination(fd);
  const began = Date.now();
  t.doesNotThrow(() => {
    for (let i = 0; i < 1000; i++) out.write('{"msg":"x"}\n');
  });
  t.ok(Date.now() - began < 1000, 'a thousand failed lines cost no waiting');
  t.equal(readFileSync(file, 'utf8'), '');
});
