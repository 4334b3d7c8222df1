// `sentinel daemon restart` as a user runs it (DESIGN §8): the built CLI against a real daemon in a throwaway HOME —
// stopped and started again on its port, a port taken meanwhile, concurrent restarts and starts, a wedged daemon — and
// a daemon that systemd runs handed to systemd (a stand-in systemctl and a stand-in daemon here). Apart from
// daemon-cli.test.ts so that neither file nears tap's per-file time limit on a loaded machine.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CLI_MAIN, cliHome, daemonState } from './support/daemon.js';
import { cleanEnv, errorBody, run, startStubDaemon, tempDir } from './support/cli.js';
import { until } from './support/wait.js';

t.test(
  'restart: a daemon started by hand is stopped and started again on its port; none running, one is started',
  async (t) => {
    const { home, sentinel, inEnv } = await cliHome(t);
    const none = await sentinel('daemon', 'restart');
    t.equal(none.code, 0, none.stderr);
    t.match(none.stdout, /^sentinel daemon is not running\nsentinel daemon started \(pid \d+\)/);
    const state = () => daemonState(home.runtimeDir);
    const before = state();

    // Inside a session it is refused before anything is stopped: the start that follows would be refused.
    const inSession = await inEnv({ ...home.env, SENTINEL_SESSION: '0123456789abcdef' }, 'daemon', 'restart');
    t.equal(inSession.code, 2, 'refused in a session');
    t.match(inSession.stderr, /sentinel use --off/);
    t.equal(state().pid, before.pid, 'and the daemon still runs');

    const restarted = await sentinel('daemon', 'restart');
    t.equal(restarted.code, 0, restarted.stderr);
    const after = state();
    t.not(after.pid, before.pid, 'a new daemon');
    t.match(
      restarted.stdout,
      new RegExp(`^sentinel daemon stopped \\(pid ${before.pid}\\)\\nsentinel daemon started \\(pid ${after.pid}\\)`),
    );
    t.match(restarted.stdout, /^policy: 3 rules loaded/m);
    t.equal(after.port, before.port, 'on the port of the one before');
    const status = await sentinel('daemon', 'status');
    t.match(status.stdout, new RegExp(`running \\(pid ${after.pid}, up [^)]*\\)\\n`), 'not started by a manager');
    t.equal((await sentinel('daemon', 'stop')).code, 0);
  },
);

t.test('restart whose old port another process took meanwhile: it says so, not only in the daemon log', async (t) => {
  const { home, sentinel } = await cliHome(t);
  t.equal((await sentinel('daemon', 'start')).code, 0);
  const state = () => daemonState(home.runtimeDir);
  const before = state();
  const stopped = await sentinel('daemon', 'stop');
  t.equal(stopped.code, 0, stopped.stderr);
  // Another local user's listener on the port the shells from before still point at.
  const squatter = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(before.port, '127.0.0.1', resolve);
  });
  t.teardown(() => new Promise<void>((r) => squatter.close(() => r())));
  const restarted = await sentinel('daemon', 'restart');
  t.equal(restarted.code, 0, restarted.stderr);
  const after = state();
  t.not(after.port, before.port, 'it listens elsewhere');
  t.match(
    restarted.stderr,
    new RegExp(
      `^Warning: the credential endpoint's last port ${before.port} was taken, so it listens on ${after.port}: ` +
        `shells and exec commands started before this daemon still send their requests to ${before.port}, to ` +
        'whoever holds it\\. Run `sentinel use <profile>` again in each',
    ),
  );
  const plain = await sentinel('daemon', 'restart');
  t.equal(plain.code, 0, plain.stderr);
  t.equal(plain.stderr, '', 'a restart that keeps its port warns of nothing');
  t.equal((await sentinel('daemon', 'stop')).code, 0);
});

t.test(
  'restarts and a start at once: each ends with one daemon running, none reports a bug or a false time-out',
  async (t) => {
    const { home, sentinel } = await cliHome(t);
    t.equal((await sentinel('daemon', 'start')).code, 0);
    for (let round = 1; round <= 5; round++) {
      const runs = await Promise.all([
        sentinel('daemon', 'restart'),
        sentinel('daemon', 'start'),
        sentinel('daemon', 'restart'),
      ]);
      for (const r of runs) {
        t.equal(r.code, 0, `round ${round}: ${r.stdout}${r.stderr}`);
        t.notMatch(r.stderr, /This is a bug|did not stop within|already runs for/, `round ${round}`);
      }
      const status = await sentinel('daemon', 'status', '--json');
      t.equal(status.code, 0, 'a daemon answers');
    }
    t.equal((await sentinel('daemon', 'stop')).code, 0);
  },
);

t.test('--timeout that is no number of seconds is a usage error, before restart stops anything', async (t) => {
  const { home, sentinel } = await cliHome(t);
  t.equal((await sentinel('daemon', 'start')).code, 0);
  const pid = () => daemonState(home.runtimeDir).pid;
  const before = pid();
  for (const command of ['restart', 'stop', 'start'])
    for (const value of ['abc', '0', '-5', '']) {
      const r = await sentinel('daemon', command, '--timeout', value);
      t.equal(r.code, 2, `${command} --timeout ${JSON.stringify(value)}: ${r.stderr}`);
      t.match(r.stderr, /^Error: --timeout must be a number of seconds above 0/);
      t.equal(r.stdout, '', 'nothing was stopped or started');
    }
  t.equal(pid(), before, 'the daemon still runs');
  t.equal((await sentinel('daemon', 'stop')).code, 0);
});

/** A /v1/status body of a daemon that `manager` started, as pid `pid`. */
function managedStatus(pid: number, manager: string | null, port = 1) {
  return {
    version: '0.0.0',
    pid,
    started_at: new Date(Date.UTC(2026, 11, 7) + pid * 1000).toISOString(),
    uptime_seconds: 1,
    service_manager: manager,
    listeners: {
      unix: '/x',
      socket_activated: false,
      tcp: { host: '127.0.0.1', port },
      url: `http://127.0.0.1:${port}`,
    },
    policy: { source: 'file', location: '/p.yaml', version: 'abc', rules: 2, lastError: null, loadedAt: null },
    store: 'memory',
    sessions: { active: 0 },
    counters: {
      sessions_opened: 0,
      credential_requests: 0,
      credential_process_requests: 0,
      allowed: 0,
      denied: 0,
      reloads: 0,
    },
  };
}

/** A stand-in `systemctl` first on PATH: it logs its arguments, and `restart` does what `action` says. */
function fakeSystemctl(dir: string, action: 'restart' | 'fail' | 'nothing') {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const calls = join(dir, 'systemctl.calls');
  const restarted = join(dir, 'restarted');
  writeFileSync(
    join(bin, 'systemctl'),
    [
      '#!/bin/sh',
      `echo "$*" >> '${calls}'`,
      action === 'fail'
        ? 'echo "Failed to restart sentinel.service: Unit sentinel.service not found." >&2; exit 5'
        : action === 'restart'
          ? `touch '${restarted}'`
          : 'true',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { path: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, calls, restarted };
}

t.test('restart of a daemon systemd runs asks systemd, even from a session, and waits for the new one', async (t) => {
  const dir = tempDir(t, 'sentinel-restart-');
  for (const action of ['restart', 'fail', 'nothing'] as const) {
    const fake = fakeSystemctl(join(dir, action), action);
    // Pid 100 on port 1 until the stand-in systemctl has "restarted" it, 200 on port 2 after.
    const stub = await startStubDaemon(t, (req) =>
      req.url === '/v1/status'
        ? {
            status: 200,
            body: existsSync(fake.restarted) ? managedStatus(200, 'systemd', 2) : managedStatus(100, 'systemd', 1),
          }
        : { status: 404, body: errorBody('NotFound', 'no such endpoint') },
    );
    const r = await run(
      t,
      process.execPath,
      [CLI_MAIN, '--socket', stub.socket, 'daemon', 'restart', '--timeout', '2'],
      { env: { ...cleanEnv(), PATH: fake.path, SENTINEL_SESSION: '0123456789abcdef' } },
    );
    t.same(readFileSync(fake.calls, 'utf8').trim().split('\n'), ['--user restart sentinel.service'], action);
    t.notOk(
      stub.requests.some((q) => q.url === '/v1/shutdown'),
      `${action}: not stopped by hand, and the session environment does not matter`,
    );
    if (action === 'restart') {
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, /^sentinel daemon restarted by systemd \(pid 100, now 200\)\npolicy: 2 rules loaded/);
      t.match(
        r.stderr,
        /^Warning: the credential endpoint's last port 1 was taken, so it listens on 2: .*sentinel use <profile>/m,
        'a port that moved is said: the shells from before point at the old one',
      );
      const status = await run(t, process.execPath, [CLI_MAIN, '--socket', stub.socket, 'daemon', 'status'], {
        env: cleanEnv(),
      });
      t.match(status.stdout, /running \(pid 200, up [^)]*, started by systemd\)/, 'status says who started it');
    } else if (action === 'fail') {
      t.equal(r.code, 1);
      t.match(
        r.stderr,
        /^Error: `systemctl --user restart sentinel\.service` failed: Failed to restart sentinel\.service: Unit sentinel\.service not found\.\nHint: Check `systemctl --user status sentinel`/m,
      );
    } else {
      t.equal(r.code, 1);
      t.match(
        r.stderr,
        /^Error: `systemctl --user restart sentinel\.service` succeeded, but no new daemon answered within 2s/m,
      );
    }
  }
});

t.test('a status whose service_manager is not one Sentinel knows is not taken for a daemon', async (t) => {
  const stub = await startStubDaemon(t, () => ({ status: 200, body: managedStatus(100, 'upstart; rm -rf ~') }));
  const r = await run(t, process.execPath, [CLI_MAIN, '--socket', stub.socket, 'daemon', 'restart'], {
    env: cleanEnv(),
  });
  t.equal(r.code, 1);
  t.match(r.stderr, /is not a Sentinel daemon/);
  t.notOk(
    stub.requests.some((q) => q.url !== '/v1/status'),
    'nothing but the status was asked',
  );
});
