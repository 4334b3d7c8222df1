// Found by attacking as a second local user (walker2) who prepares the ground first: without XDG_RUNTIME_DIR the
// runtime dir is `${TMPDIR:-/tmp}/sentinel-$UID`, which she can create before the user does. With the socket named
// elsewhere (SENTINEL_SOCKET) and no daemon answering there, `daemon status`, `start` and `stop` went on to read the
// lock in that directory, and `daemon stop` sent SIGTERM to the pid it named: any process of the user's, whose pid and
// start time anyone can read in /proc. Now the lock (and daemon.json) are read only in a runtime dir of the user's.
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../daemon/runtime/pid.js';
import { NEEDS_ROOT, accountIds, isRoot, runScriptAs, sharedTmp } from './support/as-user.js';
import { CLI_MAIN, prepareHome, runProcess } from './support/daemon.js';

t.test(
  "a lock walker2 put in the /tmp fallback is not believed: `daemon stop` signals none of the user's processes",
  async (t) => {
    if (!isRoot()) return t.fail(NEEDS_ROOT);
    const walker2 = accountIds('walker2');
    const uid = process.getuid!();
    const shared = sharedTmp(t, 'sentinel-squat-'); // a stand-in for /tmp that walker2 can reach
    const hers = join(shared, `sentinel-${uid}`);

    const home = prepareHome({}, 'http://127.0.0.1:9');
    t.teardown(() => rmSync(home.home, { recursive: true, force: true }));
    const socketDir = join(home.home, 'sock');
    mkdirSync(socketDir, { mode: 0o700 });
    const env: Record<string, string> = {
      ...home.env,
      TMPDIR: shared,
      SENTINEL_SOCKET: join(socketDir, 'sentinel.sock'),
    };
    delete env.XDG_RUNTIME_DIR;

    // Some process of the user's: an editor, a build, another daemon.
    const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    t.teardown(() => victim.kill('SIGKILL'));
    await new Promise((r) => victim.once('spawn', r));
    const pid = victim.pid!;
    const start = processStartTime(pid);
    t.ok(start, "the victim's start time is readable in /proc, by anyone");

    await runScriptAs(
      t,
      'walker2',
      `import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
     mkdirSync(${JSON.stringify(hers)}, { mode: 0o755 });
     chmodSync(${JSON.stringify(hers)}, 0o755);
     writeFileSync(${JSON.stringify(join(hers, 'sentinel.lock'))}, JSON.stringify({ pid: ${pid}, start: ${JSON.stringify(start)} }), { mode: 0o644 });
     writeFileSync(${JSON.stringify(join(hers, 'daemon.json'))}, JSON.stringify({ pid: ${pid}, port: 1, version: 'x', socket: ${JSON.stringify(env.SENTINEL_SOCKET)}, started_at: 'x' }), { mode: 0o644 });`,
    );

    const unsafe = new RegExp(`^Error: ${hers} is owned by uid ${walker2.uid}, not by uid ${uid}$`, 'm');
    const stop = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'stop', '--timeout', '2'], { env });
    t.equal(stop.code, 1, `stop refuses: ${stop.stderr}`);
    t.match(stop.stderr, unsafe, 'and names her directory');
    t.match(stop.stderr, /^Hint: Another user may have created .* do not use it/m);
    t.notMatch(stop.stdout, /stopped/);
    await new Promise((r) => setTimeout(r, 200));
    t.equal(victim.exitCode, null, "the user's process was not signalled");
    t.equal(victim.signalCode, null);

    const status = await runProcess(process.execPath, [CLI_MAIN, 'daemon', 'status'], { env });
    t.equal(status.code, 1, status.stderr);
    t.match(status.stderr, unsafe, 'status does not report her lock as a daemon');
    t.notMatch(status.stderr, new RegExp(`pid ${pid}`));
  },
);
