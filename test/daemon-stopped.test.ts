// A daemon that took the connection and went quiet — stopped with SIGSTOP, or a `sentinel daemon run` suspended with
// Ctrl-Z in its terminal — is a state of the daemon, not a bug: a client says so (DaemonNotRunning, exit 4, what to do
// next), and `daemon stop` ends it (SIGTERM, then SIGCONT so
// the stopped process acts on it) instead of waiting out its bound.
import t from 'tap';
import { DaemonClient } from '../cli/client.js';
import { SentinelError } from '../core/errors.js';
import { pidAlive } from '../daemon/runtime/pid.js';
import { daemonState, startDaemon } from './support/daemon.js';
import { sentinel } from './support/cli.js';
import { until } from './support/wait.js';

t.test('a stopped daemon: the client, daemon status and daemon stop', async (t) => {
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

  // `daemon status` on a stopped daemon: test/daemon-cli-restart.test.ts.
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
