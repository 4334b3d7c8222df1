// `sentinel daemon start|status|reload|stop|restart` as a user runs them (DESIGN §8): the built CLI against a real
// daemon in a throwaway HOME. start is idempotent and reports the daemon's own start-up error; status exits 0 when the
// daemon answers and 4 when not; reload applies a changed policy; stop waits until the daemon is gone. restart is in
// daemon-cli-restart.test.ts.
import t from 'tap';
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
import { join } from 'node:path';
import { parseDaemonRun } from '../cli/daemon.js';
import { CLI_MAIN, cliHome, daemonState, prepareHome, runProcess } from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';

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
  const pid = daemonState(home.runtimeDir).pid;
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
  // allowed/refused count every decision, session opens included, so they are not read as a split of the requests.
  t.match(
    status.stdout,
    /^requests: \d+ credential, \d+ credential_process; decisions \(session opens too\): \d+ allowed, \d+ refused$/m,
  );
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
