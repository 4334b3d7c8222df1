// `sentinel daemon start|status|reload|stop|restart` as a user runs them (DESIGN §8): the built CLI against a real
// daemon in a throwaway HOME. start is idempotent and reports the daemon's own start-up error; status exits 0 when the
// daemon answers and 4 when not; reload applies a changed policy; stop waits until the daemon is gone; restart hands a
// daemon that systemd runs to systemd (a stand-in systemctl and a stand-in daemon here).
import t, { type Test } from 'tap';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseDaemonRun } from '../cli/daemon.js';
import { BASE_ACCESS_KEY, BASE_ARN, CLI_MAIN, prepareHome, removeHome, runProcess } from './support/daemon.js';
import { cleanEnv, errorBody, run, startStubDaemon, tempDir } from './support/cli.js';
import { startSts } from './support/sts-emulator.js';

/** An STS emulator and a throwaway HOME for the built CLI's daemon; `sentinel` runs the CLI in that HOME (or in
 * `env`). Whatever a test does, no daemon outlives it. */
async function cliHome(t: Test) {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const home = prepareHome({}, sts.url);
  t.teardown(() => removeHome(home));
  const inEnv = (env: Record<string, string>, ...args: string[]) =>
    runProcess(process.execPath, [CLI_MAIN, ...args], { env, timeoutMs: 60_000 });
  return { home, inEnv, sentinel: (...args: string[]) => inEnv(home.env, ...args) };
}

t.test('start, status, reload, stop', async (t) => {
  const { home, sentinel } = await cliHome(t);

  const [down, downJson] = await Promise.all([sentinel('daemon', 'status'), sentinel('daemon', 'status', '--json')]);
  t.equal(down.code, 4, 'status exits 4 when no daemon answers');
  t.match(down.stderr, /^Error: the Sentinel daemon is not running/m);
  t.match(down.stderr, /^Hint: .*sentinel daemon start/m);
  t.equal(downJson.code, 4);
  t.equal(JSON.parse(downJson.stderr).error.code, 'DaemonNotRunning');

  const started = await sentinel('daemon', 'start');
  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, /sentinel daemon started \(pid \d+\); log: .*daemon\.log/);
  t.match(
    started.stdout,
    /^policy: 3 rules loaded from file:.*policy\.yaml \(version [0-9a-f]+\)$/m,
    'start: policy state',
  );
  const pid = JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')).pid as number;
  const again = await sentinel('daemon', 'start');
  t.equal(again.code, 0, 'start is idempotent');
  t.match(again.stdout, new RegExp(`already running \\(pid ${pid}\\)`));

  const [status, statusJsonRun] = await Promise.all([
    sentinel('daemon', 'status'),
    sentinel('daemon', 'status', '--json'),
  ]);
  t.equal(status.code, 0);
  t.match(status.stdout, new RegExp(`running \\(pid ${pid}`));
  t.match(status.stdout, /endpoint: http:\/\/127\.0\.0\.1:\d+\/v1\/credentials/);
  t.match(status.stdout, /policy: +file:.*policy\.yaml \(version [0-9a-f]+, 3 rules\)/);
  const statusJson = JSON.parse(statusJsonRun.stdout);
  t.match(statusJson, { pid, store: 'memory', policy: { rules: 3 } });

  writeFileSync(
    home.policyFile,
    'version: "1"\nrules:\n  - name: only\n    effect: allow\n    conditions: { profiles: [dev] }\n',
  );
  const reloaded = await sentinel('daemon', 'reload');
  t.equal(reloaded.code, 0, reloaded.stderr);
  t.match(reloaded.stdout, /^reloaded .*config\.yaml; policy: 1 rule loaded from file:.*policy\.yaml/m);
  // The home's config.yaml is empty: without it the same defaults apply, and reload says so.
  const configText = readFileSync(home.configFile, 'utf8');
  rmSync(home.configFile);
  const defaults = await sentinel('daemon', 'reload');
  t.equal(defaults.code, 0, defaults.stderr);
  t.match(defaults.stdout, /^reloaded the defaults \(.*config\.yaml does not exist\); policy: 1 rule loaded/m);
  writeFileSync(home.configFile, configText);
  writeFileSync(home.policyFile, 'version: "1"\nrules:\n  - name: broken\n    effect: sometimes\n');
  const badReload = await sentinel('daemon', 'reload');
  t.equal(badReload.code, 1, 'a policy that does not load is an error');
  t.match(
    badReload.stderr,
    /^Error: the policy did not reload from file:.*policy\.yaml: .*\d+:\d+.*; the last good policy \(version [0-9a-f]+\) is kept$/m,
    'names the file, the line:column and what stays in force',
  );
  t.match(badReload.stderr, /^Hint: Check it with `sentinel policy validate .*policy\.yaml`/m);
  const goodConfig = readFileSync(home.configFile, 'utf8');
  writeFileSync(home.configFile, `${goodConfig}\nno_such_key: 1\n`);
  const badConfig = await sentinel('daemon', 'reload');
  t.equal(badConfig.code, 1, 'a config.yaml that does not load is an error, not "reloaded"');
  t.match(
    badConfig.stderr,
    /^Error: .*config\.yaml did not reload: .*no_such_key.*; the running config stays in force$/m,
  );
  t.notMatch(badConfig.stdout, /reloaded/);
  writeFileSync(home.configFile, goodConfig);
  t.equal(
    JSON.parse((await sentinel('daemon', 'status', '--json')).stdout).policy.rules,
    1,
    'the last good policy is still in force',
  );

  const stopped = await sentinel('daemon', 'stop');
  t.equal(stopped.code, 0, stopped.stderr);
  t.match(stopped.stdout, new RegExp(`stopped \\(pid ${pid}\\)`));
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the process is gone when stop returns');
  t.notOk(existsSync(home.socketPath));
  const [stopAgain, statusAfter] = await Promise.all([sentinel('daemon', 'stop'), sentinel('daemon', 'status')]);
  t.equal(stopAgain.code, 0, 'stopping a stopped daemon is fine');
  t.equal(statusAfter.code, 4);
});

t.test("start reports the daemon's own error when it cannot start", async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const home = prepareHome({}, sts.url);
  t.teardown(() => rmSync(home.home, { recursive: true, force: true }));
  chmodSync(join(home.runtimeDir, '..'), 0o700);
  mkdirSync(home.runtimeDir, { recursive: true });
  chmodSync(home.runtimeDir, 0o755);
  const r = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'start'], { env: home.env });
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /^Error: .*sentinel is accessible to other users \(mode 0755\)/m,
    "the daemon's message, not a generic one",
  );
  t.match(r.stderr, /^Hint: Fix with: chmod 0700 '.*sentinel'$/m, 'the hint is the exact chmod');
  t.notOk(existsSync(home.socketPath));
});

// Found by attacking as a second local user: `daemon start` opened daemon.log before any check, through symlinks, so
// with the state directory in a place she controlled it appended the daemon's output to a file of her choosing.
t.test('start writes daemon.log only where nobody else can have put it', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const home = prepareHome({}, sts.url);
  t.teardown(() => rmSync(home.home, { recursive: true, force: true }));
  const NOBODY = 65534;
  const canary = join(home.home, 'private.txt');
  writeFileSync(canary, 'private\n', { mode: 0o600 });
  const shared = join(home.home, 'shared'); // a stand-in for /tmp: root's (the suite runs as root), sticky
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const hers = join(shared, 'sentinel'); // XDG_STATE_HOME=shared: she created sentinel/ first, and a link in it
  mkdirSync(hers);
  chmodSync(hers, 0o777);
  symlinkSync(canary, join(hers, 'daemon.log'));
  lchownSync(join(hers, 'daemon.log'), NOBODY, NOBODY);
  chownSync(hers, NOBODY, NOBODY);
  const env = { ...home.env, XDG_STATE_HOME: shared };
  const r = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'start'], { env });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, new RegExp(`^Error: ${hers} is owned by uid ${NOBODY}, not by uid ${process.getuid!()}$`, 'm'));
  t.match(r.stderr, /^Hint: Another user may have created .* do not use it or take it over/m);
  t.equal(readFileSync(canary, 'utf8'), 'private\n', 'nothing written through her link');
  t.notOk(existsSync(home.socketPath), 'no daemon started');

  // Her link in a directory of the user's own: not followed either.
  const own = join(home.home, 'own-state');
  mkdirSync(join(own, 'sentinel'), { recursive: true, mode: 0o700 });
  symlinkSync(canary, join(own, 'sentinel', 'daemon.log'));
  const linked = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'start'], {
    env: { ...home.env, XDG_STATE_HOME: own },
  });
  t.equal(linked.code, 1);
  t.match(linked.stderr, /^Error: .*daemon\.log is not a file \(a symlink\)$/m);
  t.equal(readFileSync(canary, 'utf8'), 'private\n');
  t.notOk(existsSync(home.socketPath));
});

t.test(
  'parseDaemonRun takes only the form the service managers spawn; anything else goes to the full parser',
  async (t) => {
    t.same(parseDaemonRun(['daemon', 'run']), { globals: {}, json: false });
    t.same(parseDaemonRun(['--config', '/c', '--socket=/s', 'daemon', 'run', '--json']), {
      globals: { config: '/c', socket: '/s' },
      json: true,
    });
    t.equal(parseDaemonRun(['daemon', 'run', '--help']), undefined);
    t.equal(parseDaemonRun(['daemon', 'run', '--json', '--json']), undefined);
    t.equal(parseDaemonRun(['daemon', 'status']), undefined);
    t.equal(parseDaemonRun(['daemon']), undefined);
    t.equal(parseDaemonRun(['--config', 'daemon', 'run']), undefined, 'a missing value does not swallow the command');
    t.equal(parseDaemonRun(['--config']), undefined);
    t.equal(parseDaemonRun(['--config=', 'daemon', 'run']), undefined, 'empty value');
    t.equal(parseDaemonRun(['--config', '-x', 'daemon', 'run']), undefined, 'a flag is not a value');
    t.equal(parseDaemonRun(['--config', 'a', '--config', 'b', 'daemon', 'run']), undefined, 'repeated');
    t.equal(parseDaemonRun(['--verbose', 'daemon', 'run']), undefined, 'unknown global');
    t.equal(parseDaemonRun(['credentials', 'daemon', 'run']), undefined);
  },
);

t.test('daemon run: the fast path and the full parser agree on help and usage errors', async (t) => {
  const help = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'run', '--help'], { env: cleanHomeEnv() });
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: sentinel daemon run/);
  const bad = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'run', '--jsn'], { env: cleanHomeEnv() });
  t.equal(bad.code, 2, 'a usage error, not a start');
  t.match(bad.stderr, /unknown option '--jsn'/);
  t.match(bad.stderr, /--json/, "commander's suggestion");
});

function cleanHomeEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-sentinel-home' };
}

t.test(
  'start and run inside a session (`sentinel use`, `sentinel exec`) are refused, saying how to get out',
  async (t) => {
    const { home, inEnv: sentinel } = await cliHome(t);
    // What `sentinel use` exports: the session's copy of the AWS config, no credentials file, its endpoint.
    const session = {
      ...home.env,
      SENTINEL_SESSION: '0123456789abcdef',
      SENTINEL_PROFILE: 'dev',
      AWS_CONFIG_FILE: join(home.home, 'aws-config-0123456789abcdef'),
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/v1/credentials',
    };
    for (const args of [
      ['daemon', 'start'],
      ['daemon', 'run'],
      ['--config', home.configFile, 'daemon', 'run', '--json'],
    ]) {
      const r = await sentinel(session, ...args);
      t.equal(r.code, 2, `${args.join(' ')}: refused as a usage error`);
      t.match(r.stderr, /this environment uses Sentinel session 0123456789abcdef: a daemon started in it would take/);
      t.match(r.stderr, /sentinel use --off/, 'the way out');
      t.notOk(existsSync(home.socketPath), `${args.join(' ')}: no daemon started`);
    }
    // Outside the session the same home starts; inside it, one already running is simply reported.
    const started = await sentinel(home.env, 'daemon', 'start');
    t.equal(started.code, 0, started.stderr);
    const again = await sentinel(session, 'daemon', 'start');
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /already running/);
    t.equal((await sentinel(home.env, 'daemon', 'stop')).code, 0);
  },
);

t.test(
  'asked on the wrong socket, a running daemon is named where it listens, and stop does not signal it',
  async (t) => {
    const { home, sentinel } = await cliHome(t);
    const started = await sentinel('daemon', 'start');
    t.equal(started.code, 0, started.stderr);
    const wrong = join(home.home, 'not-the-daemon.sock');
    const listening = new RegExp(
      `nothing answers on ${wrong}; the daemon of this runtime directory \\(pid \\d+\\) listens on ${home.socketPath}`,
    );
    const status = await sentinel('--socket', wrong, 'daemon', 'status');
    t.equal(status.code, 4, 'status: not answering there');
    t.match(status.stderr, listening, 'says where the daemon listens');
    t.match(status.stderr, /pass --socket /);
    t.notMatch(status.stderr, /may be stopping/, 'not taken for a wedged daemon');
    const stop = await sentinel('--socket', wrong, 'daemon', 'stop');
    t.equal(stop.code, 4, 'stop on the wrong socket is refused');
    t.match(stop.stderr, listening);
    const start = await sentinel('--socket', wrong, 'daemon', 'start');
    t.equal(start.code, 1, 'a second daemon for the same runtime directory is refused');
    t.match(start.stderr, listening);
    const still = await sentinel('daemon', 'status');
    t.equal(still.code, 0, 'the daemon was not signalled: it still answers on its own socket');
    t.equal((await sentinel('daemon', 'stop')).code, 0);
  },
);

t.test(
  'restart: a daemon started by hand is stopped and started again on its port; none running, one is started',
  async (t) => {
    const { home, inEnv } = await cliHome(t);
    const sentinel = (...args: string[]) => inEnv(home.env, ...args);
    const none = await sentinel('daemon', 'restart');
    t.equal(none.code, 0, none.stderr);
    t.match(none.stdout, /^sentinel daemon is not running\nsentinel daemon started \(pid \d+\)/);
    const state = () => JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')) as DaemonJson;
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
  const { home, inEnv } = await cliHome(t);
  const sentinel = (...args: string[]) => inEnv(home.env, ...args);
  t.equal((await sentinel('daemon', 'start')).code, 0);
  const state = () => JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')) as DaemonJson;
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
    const { home, inEnv } = await cliHome(t);
    const sentinel = (...args: string[]) => inEnv(home.env, ...args);
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
  const { home, inEnv } = await cliHome(t);
  const sentinel = (...args: string[]) => inEnv(home.env, ...args);
  t.equal((await sentinel('daemon', 'start')).code, 0);
  const pid = () => (JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')) as DaemonJson).pid;
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

t.test(
  'a wedged daemon (SIGSTOP): stop and restart signal it and say how to end it, not "This is a bug"',
  async (t) => {
    const { home, inEnv } = await cliHome(t);
    const sentinel = (...args: string[]) => inEnv(home.env, ...args);
    t.equal((await sentinel('daemon', 'start')).code, 0);
    const { pid } = JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')) as DaemonJson;
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
    t.match(
      status.stderr,
      new RegExp(`a Sentinel daemon \\(pid ${pid}\\) holds the runtime directory but does not answer`),
    );
    const restarted = await sentinel('daemon', 'restart', '--timeout', '1');
    t.equal(restarted.code, 1, restarted.stderr);
    t.match(restarted.stderr, new RegExp(`did not stop within 20s\\nHint: .*kill -KILL ${pid}`));
    t.notMatch(restarted.stderr, /This is a bug/);
    process.kill(pid, 'SIGCONT'); // the SIGTERM that stop sent ends it now
    const stopped = await sentinel('daemon', 'stop');
    t.equal(stopped.code, 0, stopped.stderr);
  },
);

interface DaemonJson {
  pid: number;
  port: number;
}

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
