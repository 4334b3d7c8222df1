// `sentinel service install|uninstall|status` in a temporary HOME: what --dry-run prints, units that systemd itself
// accepts (systemd-analyze verify), a launchd plist that parses with the expected keys, and install/uninstall that are
// idempotent. The environment points systemctl at an empty runtime dir, so no real user manager is ever reached (and
// nothing on the machine running the tests is enabled); the "unreachable" path is the one under test.
import t, { type Test } from 'tap';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cleanEnv, ENTRY, ROOT, run, sentinel, tempDir } from './support/cli.js';

function serviceEnv(t: Test, extra: Record<string, string> = {}) {
  const home = tempDir(t, 'sentinel-home-');
  const runtime = join(home, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  // An empty runtime dir and no session bus: `systemctl --user` cannot reach any manager.
  return {
    home,
    env: cleanEnv({
      HOME: home,
      XDG_RUNTIME_DIR: runtime,
      DBUS_SESSION_BUS_ADDRESS: undefined,
      TMPDIR: '/tmp',
      ...extra,
    }),
  };
}

interface PlanStep {
  action: string;
  path?: string;
  content?: string;
  argv?: string[];
  optional?: boolean;
}

async function plan(t: Test, args: string[], env: NodeJS.ProcessEnv): Promise<PlanStep[]> {
  const r = await sentinel(t, ['service', 'install', '--dry-run', '--json', ...args], { env });
  t.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { steps: PlanStep[] }).steps;
}

const unitText = (steps: PlanStep[], name: string) =>
  steps.find((s) => s.action === 'write' && s.path!.endsWith(name))?.content ?? '';

t.test('dry run (systemd): prints files and commands, changes nothing', async (t) => {
  const { home, env } = serviceEnv(t);
  const r = await sentinel(t, ['service', 'install', '--socket-activation', '--dry-run', '--platform', 'linux'], {
    env,
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /dry run: nothing is changed/);
  t.match(r.stdout, new RegExp(`write ${home}/\\.config/systemd/user/sentinel\\.service`));
  t.match(r.stdout, /write .*sentinel\.socket/);
  t.match(r.stdout, /systemctl --user daemon-reload\n/);
  t.match(r.stdout, /systemctl --user enable --now sentinel\.socket/);
  // ~/.cache/sentinel/compile-cache is every run's on Node 22 and later (cli/compile-cache.ts), not the install's.
  t.same(
    readdirSync(home)
      .filter((f) => f !== '.cache')
      .sort(),
    ['run'],
    'nothing written',
  );

  const plain = await plan(t, ['--platform', 'linux'], env);
  t.notOk(
    plain.some((s) => s.path?.endsWith('sentinel.socket')),
    'no socket unit without --socket-activation',
  );
  t.same(
    plain.filter((s) => s.action === 'run').map((s) => s.argv!.join(' ')),
    [
      'systemctl --user daemon-reload',
      'systemctl --user enable sentinel.service',
      'systemctl --user restart sentinel.service',
    ],
  );
});

t.test('the systemd units carry the contract and pass systemd-analyze verify', async (t) => {
  const { home, env } = serviceEnv(t);
  const steps = await plan(t, ['--socket-activation', '--platform', 'linux'], env);
  const service = unitText(steps, 'sentinel.service');
  const socket = unitText(steps, 'sentinel.socket');
  t.match(service, /^Type=notify$/m);
  t.match(
    service,
    new RegExp(`^ExecStart=${process.execPath} --max-semi-space-size=4 ${ENTRY} daemon run$`, 'm'),
    'absolute node, absolute entry, daemon run',
  );
  t.match(service, /^Restart=on-failure$/m);
  t.match(service, /^WatchdogSec=\d+s$/m);
  t.match(service, /^NoNewPrivileges=yes$/m);
  t.match(service, /^UMask=0077$/m);
  t.match(service, /^Environment="PATH=[^"]+"$/m, 'PATH of the installing shell, for credential_process helpers');
  t.match(service, /^WantedBy=default\.target$/m);
  t.match(socket, /^ListenStream=%t\/sentinel\/sentinel\.sock$/m);
  t.match(socket, /^SocketMode=0600$/m);
  t.match(socket, /^DirectoryMode=0700$/m);
  t.notMatch(service + socket, /\{\{[A-Z_]+\}\}/, 'every template field filled');

  const dir = join(home, 'units');
  mkdirSync(dir);
  writeFileSync(join(dir, 'sentinel.service'), service);
  writeFileSync(join(dir, 'sentinel.socket'), socket);
  writeFileSync(
    join(dir, 'broken.service'),
    service.replace('Type=notify', 'Type=bogus').replace('UMask=0077', 'UMask=hello'),
  );
  const verify = (unit: string[]) =>
    run(t, '/usr/bin/systemd-analyze', ['--user', 'verify', ...unit], { env, cwd: dir });
  if (!existsSync('/usr/bin/systemd-analyze')) {
    t.comment('systemd-analyze is not installed: only the structure above was checked');
    return;
  }
  const broken = await verify(['broken.service']);
  if (/Failed to initialize manager|Failed to lookup RuntimeDirectory/.test(broken.stderr)) {
    t.comment(
      `systemd-analyze verify cannot run in this environment (${broken.stderr.trim().split('\n')[0]}): only the structure above was checked`,
    );
    return;
  }
  t.match(
    broken.stderr,
    /Failed to parse service type/,
    'verify does catch a broken unit (so the check below is not vacuous)',
  );
  const good = await verify(['sentinel.service', 'sentinel.socket']);
  t.equal(good.code, 0, good.stderr);
  t.equal(good.stderr + good.stdout, '', 'no warnings at all');
});

t.test('hostile paths are quoted for systemd and escaped for launchd', async (t) => {
  const { home, env } = serviceEnv(t);
  const config = join(home, 'odd dir', `a&b<c>%d$e"f'g.yaml`);
  const r = await sentinel(
    t,
    ['--config', config, 'service', 'install', '--dry-run', '--json', '--platform', 'linux'],
    { env },
  );
  const service = unitText((JSON.parse(r.stdout) as { steps: PlanStep[] }).steps, 'sentinel.service');
  const escaped = config.replace(/%/g, '%%').replace(/\$/g, '$$$$').replace(/"/g, '\\"');
  t.match(service, `--config "${escaped}" daemon run`, 'quoted, % and $ doubled, " escaped');

  const mac = await sentinel(
    t,
    ['--config', config, 'service', 'install', '--dry-run', '--json', '--platform', 'darwin'],
    { env },
  );
  const plist = unitText((JSON.parse(mac.stdout) as { steps: PlanStep[] }).steps, '.plist');
  const parsed = await plistlib(t, plist, home);
  const args = parsed.ProgramArguments as string[];
  t.same(
    args.slice(args.indexOf('--config'), args.indexOf('--config') + 2),
    ['--config', config],
    'the exact path survives XML',
  );
});

async function plistlib(t: Test, xml: string, dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, `p-${Math.random().toString(16).slice(2)}.plist`);
  writeFileSync(file, xml);
  const r = await run(t, '/usr/bin/python3', [
    '-I',
    '-c',
    'import json, plistlib, sys\nwith open(sys.argv[1], "rb") as f:\n    print(json.dumps(plistlib.load(f)))',
    file,
  ]);
  t.equal(r.code, 0, `plistlib parses it: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

t.test('launchd (rendered on any OS with --platform darwin): the plist parses with the expected keys', async (t) => {
  const { home, env } = serviceEnv(t, { TMPDIR: '/private/var/folders/xy/T/' });
  const steps = await plan(t, ['--platform', 'darwin'], env);
  const write = steps.find((s) => s.action === 'write')!;
  t.equal(write.path, join(home, 'Library', 'LaunchAgents', 'dev.sentinel.agent.plist'));
  const p = await plistlib(t, write.content!, home);
  t.equal(p.Label, 'dev.sentinel.agent');
  t.same(p.ProgramArguments, [process.execPath, '--max-semi-space-size=4', ENTRY, 'daemon', 'run']);
  t.equal(p.RunAtLoad, true);
  t.same(p.KeepAlive, { SuccessfulExit: false }, 'restarted after a crash, not after a clean stop');
  t.equal(p.Umask, 0o077);
  t.equal(p.StandardErrorPath, join(home, 'Library', 'Logs', 'Sentinel', 'sentinel.log'));
  t.equal(p.StandardOutPath, p.StandardErrorPath);
  const vars = p.EnvironmentVariables as Record<string, string>;
  t.equal(
    vars.TMPDIR,
    '/private/var/folders/xy/T/',
    'TMPDIR carried over, so daemon and shells agree on the runtime dir',
  );
  t.ok(vars.PATH && vars.PATH.length > 0, 'PATH carried over');
  const uid = process.getuid!();
  t.same(
    steps.filter((s) => s.action === 'run').map((s) => s.argv!.join(' ')),
    [
      `launchctl bootout gui/${uid}/dev.sentinel.agent`,
      `launchctl enable gui/${uid}/dev.sentinel.agent`,
      `launchctl bootstrap gui/${uid} ${write.path}`,
    ],
  );
  const socket = await sentinel(t, ['service', 'install', '--socket-activation', '--dry-run', '--platform', 'darwin'], {
    env,
  });
  t.equal(socket.code, 1);
  t.match(socket.stderr, /socket activation is available with systemd only/);
  const windows = await sentinel(t, ['service', 'status', '--platform', 'win32'], { env });
  t.equal(windows.code, 1);
  t.match(windows.stderr, /not win32/);
});

t.test('install and uninstall are idempotent; without a user manager install says so and exits 1', async (t) => {
  const { home, env } = serviceEnv(t);
  const unitDir = join(home, '.config', 'systemd', 'user');
  const first = await sentinel(t, ['service', 'install', '--socket-activation', '--platform', 'linux'], { env });
  t.equal(first.code, 1);
  t.equal(first.stdout, '');
  t.match(first.stderr, /sentinel: wrote .*sentinel\.service\nsentinel: wrote .*sentinel\.socket/);
  t.match(
    first.stderr,
    /Error: the unit files are written, but no systemd user manager is reachable \([^)]+\), so the service is not enabled\nHint: In a login session of this user, run: systemctl --user daemon-reload && systemctl --user enable --now sentinel\.socket/,
  );
  const written = readFileSync(join(unitDir, 'sentinel.service'), 'utf8');
  const second = await sentinel(t, ['service', 'install', '--socket-activation', '--platform', 'linux'], { env });
  t.equal(second.code, 1);
  t.match(second.stderr, /unchanged .*sentinel\.service\nsentinel: unchanged .*sentinel\.socket/);
  t.equal(readFileSync(join(unitDir, 'sentinel.service'), 'utf8'), written, 'same content');
  t.same(readdirSync(unitDir).sort(), ['sentinel.service', 'sentinel.socket'], 'no stray temp files');

  const status = await sentinel(t, ['service', 'status', '--json', '--platform', 'linux'], { env });
  t.equal(status.code, 0, 'installed');
  const s = JSON.parse(status.stdout);
  t.match(s, { platform: 'linux', manager: 'systemd', installed: true, socketActivation: true, reachable: false });
  t.same(
    s.files.map((f: { current: boolean }) => f.current),
    [true, true],
    'both files are what install writes',
  );

  const plain = await sentinel(t, ['service', 'install', '--platform', 'linux'], { env });
  t.equal(plain.code, 1);
  t.same(readdirSync(unitDir), ['sentinel.service'], 'reinstalling without socket activation removes the socket unit');

  const gone = await sentinel(t, ['service', 'uninstall', '--platform', 'linux'], { env });
  t.equal(gone.code, 0, gone.stderr);
  t.match(gone.stderr, /removed .*sentinel\.service/);
  t.match(gone.stderr, /the service manager is not reachable/);
  t.same(readdirSync(unitDir), []);
  const again = await sentinel(t, ['service', 'uninstall', '--platform', 'linux'], { env });
  t.equal(again.code, 0);
  t.match(again.stderr, /nothing to remove/);
  const after = await sentinel(t, ['service', 'status', '--platform', 'linux'], { env });
  t.equal(after.code, 1, 'not installed');
  t.match(after.stdout, /missing/);
  t.match(after.stderr, /Hint: install it with `sentinel service install`/);
});

t.test('launchd install/uninstall into a temporary HOME (launchctl absent here → exit 1 after writing)', async (t) => {
  const { home, env } = serviceEnv(t);
  const plistPath = join(home, 'Library', 'LaunchAgents', 'dev.sentinel.agent.plist');
  for (let i = 0; i < 2; i++) {
    const r = await sentinel(t, ['service', 'install', '--platform', 'darwin'], {
      env: { ...env, PATH: '/nonexistent' },
    });
    t.equal(r.code, 1);
    t.match(r.stderr, /no launchd user domain is reachable \(launchctl is not installed\)/);
    t.ok(existsSync(plistPath));
  }
  t.ok(existsSync(join(home, 'Library', 'Logs', 'Sentinel')), 'log folder created');
  const out = await sentinel(t, ['service', 'uninstall', '--platform', 'darwin'], {
    env: { ...env, PATH: '/nonexistent' },
  });
  t.equal(out.code, 0);
  t.notOk(existsSync(plistPath));
});

t.test('templates ship in the package', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  t.ok(pkg.files.includes('systemd') && pkg.files.includes('launchd'));
  t.ok(
    existsSync(join(ROOT, 'systemd', 'sentinel.service')) &&
      existsSync(join(ROOT, 'systemd', 'sentinel.socket')) &&
      existsSync(join(ROOT, 'launchd', 'dev.sentinel.agent.plist')),
  );
});

t.test('`npm start` runs the daemon with the same Node flags as the units and `daemon start`', async (t) => {
  const { DAEMON_NODE_FLAGS } = await import('../cli/daemon-node-flags.js');
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts
    .start;
  t.equal(start, ['node', ...DAEMON_NODE_FLAGS, 'dist/cli/main.js', 'daemon', 'run'].join(' '));
});

t.test('a service manager that refuses a command: ServiceManagerFailed with its words and where to look', async (t) => {
  // A stand-in for `systemctl` ahead of the real one on PATH: it answers like a reachable user manager, logs every
  // call, and refuses `enable` as systemd refuses a masked unit.
  const { home, env } = serviceEnv(t);
  const bin = join(home, 'bin');
  mkdirSync(bin);
  const calls = join(home, 'systemctl.calls');
  writeFileSync(
    join(bin, 'systemctl'),
    [
      '#!/bin/sh',
      `echo "$*" >> '${calls}'`,
      'case "$2" in',
      '  enable) echo "Failed to enable unit: Unit file sentinel.socket is masked." >&2; exit 1 ;;',
      '  *) exit 0 ;;',
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const r = await sentinel(t, ['service', 'install', '--socket-activation', '--platform', 'linux'], {
    env: { ...env, PATH: `${bin}:${env.PATH ?? '/usr/bin:/bin'}` },
  });
  t.equal(r.code, 1, 'exit 1');
  t.match(
    r.stderr,
    /^Error: `systemctl --user enable --now sentinel\.socket` failed: Failed to enable unit: Unit file sentinel\.socket is masked\.\nHint: Check `systemctl --user status sentinel` and `journalctl --user -u sentinel`\./m,
  );
  t.same(
    readFileSync(calls, 'utf8').trim().split('\n'),
    [
      '--user show-environment',
      '--user daemon-reload',
      '--user disable --now sentinel.service',
      '--user enable --now sentinel.socket',
    ],
    'asked whether the manager answers, reloaded, handed the service to the socket, then stopped at the refusal',
  );
  t.ok(
    existsSync(join(home, '.config', 'systemd', 'user', 'sentinel.socket')),
    'the unit files it wrote before the refusal stay, for `systemctl --user status` to show',
  );
});

/** A stand-in `systemctl` that answers like a reachable user manager and logs each call to the returned file. */
function standInSystemctl(home: string, env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const bin = join(home, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = join(home, 'systemctl.calls');
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${log}'\nexit 0\n`, { mode: 0o755 });
  return {
    env: { ...env, PATH: `${bin}:${env.PATH ?? '/usr/bin:/bin'}` },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

t.test('a path with a newline cannot add lines to the unit; a relative --config is made absolute', async (t) => {
  const { home, env } = serviceEnv(t);
  // The newline ended ExecStart= and the next line became a directive of the unit: here a command run at every start.
  const config = `${home}/c.yaml\nExecStartPre=/bin/sh -c 'touch ${home}/pwned'\n#`;
  for (const platform of ['linux', 'darwin']) {
    const r = await sentinel(t, ['--config', config, 'service', 'install', '--platform', platform], { env });
    t.equal(r.code, 2, `${platform}: a usage error`);
    t.match(r.stderr, /the path contains control characters/);
    t.equal(r.stdout, '');
  }
  t.notOk(existsSync(join(home, '.config', 'systemd')), 'nothing written');
  t.notOk(existsSync(join(home, 'Library')), 'nothing written');

  // The daemon starts in the home directory (systemd) or / (launchd): `--config team.yaml` named another file there.
  const cwd = join(home, 'work dir');
  mkdirSync(cwd);
  const r = await run(t, process.execPath, [ENTRY, '--config', 'team.yaml', 'service', 'install', '--dry-run'], {
    env,
    cwd,
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `--config "${join(cwd, 'team.yaml')}" daemon run`);
});

t.test('install and uninstall leave alone what install did not write, and stop nothing', async (t) => {
  const cases: Array<[string, (path: string, home: string) => void, RegExp]> = [
    [
      "a unit of the user's own",
      (path) => writeFileSync(path, '[Service]\nExecStart=/usr/local/bin/my-sentinel\n'),
      /sentinel\.service was not written by `sentinel service install`/,
    ],
    [
      'a symlink (to a file of root here)',
      (path, home) => {
        writeFileSync(join(home, 'target'), 'precious\n');
        symlinkSync(join(home, 'target'), path);
      },
      /sentinel\.service is a symlink, not a file `sentinel service install` wrote/,
    ],
    ['a directory', (path) => mkdirSync(path), /sentinel\.service is a directory, not a file/],
  ];
  for (const [what, make, message] of cases) {
    await t.test(what, async (t) => {
      const { home, env: base } = serviceEnv(t);
      const { env, calls } = standInSystemctl(home, base);
      const unitDir = join(home, '.config', 'systemd', 'user');
      mkdirSync(unitDir, { recursive: true });
      const path = join(unitDir, 'sentinel.service');
      make(path, home);
      const before = lstatSync(path);
      for (const args of [['install'], ['install', '--socket-activation'], ['uninstall'], ['install', '--dry-run']]) {
        const r = await sentinel(t, ['service', ...args, '--platform', 'linux'], { env });
        t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
        t.match(r.stderr, message, `${args.join(' ')}: names the file`);
        t.match(r.stderr, /Hint: Sentinel neither replaces nor removes it/);
      }
      t.same(calls(), [], 'systemctl was never asked to disable, stop or reload anything');
      if (what === "a unit of the user's own") {
        // status must not call it Sentinel's service either: it was "installed, differs", exit 0.
        const status = await sentinel(t, ['service', 'status', '--platform', 'linux'], { env });
        t.equal(status.code, 1, 'status: not installed');
        t.match(status.stdout, /sentinel\.service \(not written by `sentinel service install`\)/);
        t.match(status.stderr, /Hint: .*sentinel\.service is not Sentinel's: move it away/);
        const json = JSON.parse(
          (await sentinel(t, ['service', 'status', '--json', '--platform', 'linux'], { env })).stdout,
        );
        t.match(json, { installed: false, files: [{ present: true, ours: false, current: false }] });
      }
      const after = lstatSync(path);
      t.equal(after.ino, before.ino, 'the same file is still there');
      t.same(readdirSync(unitDir), ['sentinel.service'], 'nothing written next to it, no temp file left');
      if (after.isSymbolicLink()) t.equal(readFileSync(join(home, 'target'), 'utf8'), 'precious\n');
    });
  }
});

t.test('a unit install wrote and the user edited is replaced, and install says so', async (t) => {
  const { home, env } = serviceEnv(t);
  await sentinel(t, ['service', 'install', '--platform', 'linux'], { env });
  const path = join(home, '.config', 'systemd', 'user', 'sentinel.service');
  writeFileSync(path, readFileSync(path, 'utf8').replace('RestartSec=2s', 'RestartSec=30s'));
  const r = await sentinel(t, ['service', 'install', '--platform', 'linux'], { env });
  t.match(
    r.stderr,
    /sentinel: replaced .*sentinel\.service: it differed from what install writes now \(keep settings of your own in a drop-in: `systemctl --user edit sentinel`\)/,
  );
  t.match(readFileSync(path, 'utf8'), /^RestartSec=2s$/m);
});

t.test('unit directories another user could write are refused before anything is written', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('this test must run as root: it makes a directory of another uid');
    return;
  }
  const { home, env } = serviceEnv(t);
  // XDG_CONFIG_HOME in a shared place (a sticky, world-writable directory as /tmp is), where another user created
  // systemd/ first: she could swap the unit file for her own, which then runs as this user at every login.
  const shared = join(home, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  mkdirSync(join(shared, 'systemd', 'user'), { recursive: true });
  chownSync(join(shared, 'systemd'), 65534, 65534);
  chownSync(join(shared, 'systemd', 'user'), 65534, 65534);
  const r = await sentinel(t, ['service', 'install', '--platform', 'linux'], {
    env: { ...env, XDG_CONFIG_HOME: shared },
  });
  t.equal(r.code, 1);
  t.match(r.stderr, /Error: .*shared\/systemd is owned by uid 65534, not by uid 0/);
  t.same(readdirSync(join(shared, 'systemd', 'user')), [], 'nothing written there');
});

t.test('a unit directory that cannot be written: the path and what to check, not "a bug"', async (t) => {
  const { home, env } = serviceEnv(t);
  mkdirSync(join(home, '.config', 'systemd'), { recursive: true });
  writeFileSync(join(home, '.config', 'systemd', 'user'), '');
  const file = await sentinel(t, ['service', 'install', '--platform', 'linux'], { env });
  t.equal(file.code, 1);
  t.match(file.stderr, /Error: .*\.config\/systemd\/user is not a directory \(it is a regular file\)\nHint: /);

  if (process.getuid?.() !== 0) {
    t.fail('the rest of this test must run as root: it runs the install as another uid (root writes anywhere)');
    return;
  }
  // A read-only unit directory, for a user the permission bits do stop: EACCES was "This is a bug".
  chmodSync(home, 0o755);
  const other = join(home, 'nobody');
  const unitDir = join(other, '.config', 'systemd', 'user');
  mkdirSync(unitDir, { recursive: true });
  mkdirSync(join(other, 'run'));
  for (const dir of [other, join(other, '.config'), join(other, '.config', 'systemd'), unitDir, join(other, 'run')])
    chownSync(dir, 65534, 65534);
  chmodSync(join(other, 'run'), 0o700);
  chmodSync(unitDir, 0o555);
  const r = await run(
    t,
    '/usr/bin/setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, ENTRY, 'service', 'install'],
    { env: { ...env, HOME: other, XDG_RUNTIME_DIR: join(other, 'run'), SENTINEL_COMPILE_CACHE: '0' } },
  );
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /Error: cannot write .*\/nobody\/\.config\/systemd\/user\/sentinel\.service \(EACCES\)\nHint: Check that .*\/user is a directory you can write/,
  );
  t.notMatch(r.stderr, /This is a bug/);
  t.same(readdirSync(unitDir), [], 'no temp file left');
});

t.test(
  'a package under a path with quotes, $, %, ; and backticks: systemd reads every line of both units',
  async (t) => {
    const { home, env } = serviceEnv(t);
    const { systemdUnits } = await import('../cli/service-units.js');
    const root = join(home, `it's "odd" $(x) \`y\` 50% ; z`);
    const units = systemdUnits(
      { HOME: home },
      {
        node: process.execPath,
        entry: join(root, 'dist', 'cli', 'main.js'),
        config: join(root, 'c.yaml'),
        environment: [['SENTINEL_CONFIG', join(root, 'c.yaml')]],
        documentation: pathToFileURL(join(root, 'docs', 'service.md')).href,
      },
      true,
    );
    const dir = join(home, 'units');
    mkdirSync(dir);
    for (const unit of units) writeFileSync(join(dir, unit.path.split('/').pop()!), unit.content);
    if (!existsSync('/usr/bin/systemd-analyze')) {
      t.comment('systemd-analyze is not installed: not checked');
      return;
    }
    const r = await run(t, '/usr/bin/systemd-analyze', ['--user', 'verify', 'sentinel.service', 'sentinel.socket'], {
      env,
      cwd: dir,
    });
    if (/Failed to initialize manager|Failed to lookup RuntimeDirectory/.test(r.stderr)) {
      t.comment(`systemd-analyze verify cannot run here (${r.stderr.trim().split('\n')[0]})`);
      return;
    }
    // The ' in Documentation= opened a quote systemd never saw closed: "Invalid syntax, ignoring" for the whole line.
    t.equal(r.stderr + r.stdout, '', 'no warnings: no line ignored');
    t.equal(r.code, 0);
  },
);
