// A daemon that took the connection and went quiet — stopped with SIGSTOP, or a `sentinel daemon run` suspended with
// Ctrl-Z in its terminal — is a state of the daemon, not a bug: a client says so (DaemonNotRunning, exit 4, what to do
// next), `daemon status` says it is stopped and how to resume it, and `daemon stop` and `restart` end it (SIGTERM, then
// SIGCONT so the stopped process acts on it) instead of waiting out their bound; a daemon slow to drain is reported at
// the bound with the `kill -KILL` that ends it.
import t from 'tap';
import { DaemonClient } from '../cli/client.js';
import { SentinelError } from '../core/errors.js';
import { pidAlive } from '../daemon/runtime/pid.js';
import { cliHome, daemonState, startDaemon } from './support/daemon.js';
import { sentinel } from './support/cli.js';
import { until } from './support/wait.js';

t.test('a stopped daemon: the client and daemon stop', async (t) => {
  const h = await startDaemon(t, { mode: 'subprocess' });
  await h.openSession('dev');
  const pid = daemonState(h.runtimeDir).pid;
  process.kill(pid, 'SIGSTOP');
  t.teardown(() => {
    if (pidAlive(pid)) process.kill(pid, 'SIGCONT');
  });

  const client = new DaemonClient({ socketPath: h.socketPath, timeoutMs: 500 });
  const error = await client.get('/v1/status').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof SentinelError, 'the client fails with a Sentinel error');
  const e = error as SentinelError;
  t.equal(e.code, 'DaemonNotRunning', 'a quiet daemon is not an internal error');
  t.equal(e.exit, 4, 'and exits as "daemon not running" does');
  t.match(e.message, h.socketPath, 'the message names the socket');
  t.match(e.message, /did not answer within 0\.5s/);
  t.match(e.hint, /sentinel daemon status/, 'the hint says what to run next');
  t.notMatch(e.hint, /bug/i, 'and does not call it a bug');

  // `daemon status` on a stopped daemon: the next test.
  const stop = await sentinel(t, ['daemon', 'stop', '--timeout', '15'], { env: h.env });
  t.equal(stop.code, 0, `daemon stop ends a stopped daemon (stderr: ${stop.stderr.trim()})`);
  t.match(stop.stdout, `sentinel daemon stopped (pid ${pid})`);
  t.ok(
    await until(
      () => !pidAlive(pid),
      (gone) => gone,
      5000,
    ),
    'the process is gone',
  );
  t.equal((await h.exited()).signal, null, 'it exited by itself, as SIGTERM asks, not killed');
});

t.test('a stopped daemon (SIGSTOP): status says so and how to resume it; restart replaces it', async (t) => {
  const { home, sentinel } = await cliHome(t);
  t.equal((await sentinel('daemon', 'start')).code, 0);
  const { pid } = daemonState(home.runtimeDir);
  process.kill(pid, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  const status = await sentinel('daemon', 'status');
  t.equal(status.code, 4, status.stderr);
  t.match(status.stderr, new RegExp(`a Sentinel daemon \\(pid ${pid}\\) holds the runtime directory but is stopped`));
  t.match(status.stderr, `kill -CONT ${pid}`, 'and says how to resume it');
  // stop sends SIGCONT after SIGTERM, so the stopped daemon acts on the SIGTERM at once rather than at the bound.
  const restarted = await sentinel('daemon', 'restart', '--timeout', '20');
  t.equal(restarted.code, 0, restarted.stderr);
  t.notMatch(restarted.stderr, /This is a bug/);
  t.notOk(pidAlive(pid), 'the stopped daemon is gone');
  t.not(daemonState(home.runtimeDir).pid, pid, 'a new daemon holds the runtime directory');
  t.equal((await sentinel('daemon', 'stop')).code, 0);
});

t.test('a daemon slow to drain: --timeout bounds the stop, and the error says how to end it now', async (t) => {
  const { home, sts, sentinel } = await cliHome(t);
  t.equal((await sentinel('daemon', 'start')).code, 0);
  const { pid } = daemonState(home.runtimeDir);
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  // A session being opened waits on a silent STS, and a stopping daemon lets it finish (up to its drain bound).
  sts.setDelay(30_000);
  const opening = sentinel('exec', 'dev', '--', 'true');
  const client = new DaemonClient({ socketPath: home.socketPath, timeoutMs: 5_000 });
  t.ok(
    await until(
      () => client.get<{ waiting?: unknown[] }>('/v1/status'),
      (s) => (s.waiting?.length ?? 0) > 0,
      15_000,
    ),
    'the daemon is waiting on STS',
  );
  const stopped = await sentinel('daemon', 'stop', '--timeout', '1');
  t.equal(stopped.code, 1, stopped.stderr);
  t.match(
    stopped.stderr,
    new RegExp(`did not stop within 1s\\nHint: .*kill -KILL ${pid}`),
    '--timeout bounds the stop',
  );
  t.notMatch(stopped.stderr, /This is a bug/);
  sts.setDelay(0);
  await opening;
  t.ok(
    await until(
      () => !pidAlive(pid),
      (gone) => gone,
      30_000,
    ),
    'it stops once the request in flight ends',
  );
});
