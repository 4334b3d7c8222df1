// `sentinel shell init` evaluated in real, non-interactive bash, zsh and fish, and the `sentinel` function it defines
// driven end to end against a control-API stand-in: use / nested use / --off, denial, nesting, no daemon, help,
// completions. (The same against the real daemon, with the AWS CLI and botocore, is in cli-e2e-shell.test.ts.)
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quote, SHELLS, type Shell } from '../cli/shell-emit.js';
import {
  cleanEnv,
  ENTRY,
  readEnvDump,
  errorBody,
  run,
  sentinel,
  sentinelInProcess,
  sessionAnswer,
  startStubDaemon,
  tempDir,
  type StubDaemon,
} from './support/cli.js';

const SHELL_BIN: Record<Shell, string> = { bash: '/usr/bin/bash', zsh: '/usr/bin/zsh', fish: '/usr/bin/fish' };

/** The line a user puts in their rc file, with this checkout's binary. */
function loadLine(shell: Shell): string {
  const bin = `${quote(shell, process.execPath)} ${quote(shell, ENTRY)}`;
  return shell === 'fish' ? `${bin} shell init fish | source` : `eval "$(${bin} shell init ${shell})"`;
}

const initCache = new Map<Shell, Promise<string>>();

/** The init code, generated once per shell by the real binary (each test still evaluates exactly that output). */
async function initFile(t: Test, shell: Shell, dir: string): Promise<string> {
  if (!initCache.has(shell)) {
    initCache.set(
      shell,
      sentinel(t, ['shell', 'init', shell]).then((r) => {
        if (r.code !== 0) throw new Error(`shell init ${shell} failed: ${r.stderr}`);
        return r.stdout;
      }),
    );
  }
  const file = join(dir, `init.${shell}`);
  writeFileSync(file, await initCache.get(shell)!);
  return file;
}

/**
 * Runs `body` in a fresh non-interactive shell that has loaded the integration — with the user's literal line
 * (`eval "$(sentinel shell init)"`) when `literal`, else from the same output saved to a file (one Node start less);
 * `dump N` writes the environment a program would see to s<N>.env.
 */
async function inShell(t: Test, shell: Shell, body: string, env: NodeJS.ProcessEnv = {}, literal = false) {
  const dir = tempDir(t);
  const init = await initFile(t, shell, dir);
  const load = literal
    ? loadLine(shell)
    : shell === 'fish'
      ? `source ${quote(shell, init)}`
      : `eval "$(cat ${quote(shell, init)})"`;
  const dumpFn = shell === 'fish' ? 'function dump; env -0 > s$argv[1].env; end' : 'dump() { env -0 > "s$1.env"; }';
  const status = shell === 'fish' ? 'echo "init=$status" > init.txt' : 'echo "init=$?" > init.txt';
  writeFileSync(join(dir, 'main'), [load, status, dumpFn, body].join('\n') + '\n');
  const r = await run(t, SHELL_BIN[shell], [join(dir, 'main')], {
    env: cleanEnv({ HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), ...env }),
    cwd: dir,
  });
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { ...r, dir, read, state: (n: number) => readEnvDump(join(dir, `s${n}.env`)) };
}

const PROFILES = [
  { name: 'dev', stampable: true },
  { name: 'prod', region: 'eu-west-1', stampable: true },
];

function stub(t: Test, deny?: string, profiles: unknown[] = PROFILES): Promise<StubDaemon> {
  let n = 0;
  return startStubDaemon(t, (req) => {
    if (req.method === 'POST' && req.url === '/v1/sessions') {
      if (deny) return { status: 403, body: errorBody('PolicyDenied', deny, 'Ask an approver.') };
      n++;
      return {
        status: 200,
        body: sessionAnswer({
          id: `00000000000000${n.toString(16).padStart(2, '0')}`,
          token: `${'A'.repeat(42)}${n}`,
          profile: (req.body as { profile: string }).profile,
        }),
      };
    }
    if (req.method === 'DELETE') return { status: 200, body: { status: 'ended' } };
    if (req.method === 'GET' && req.url === '/v1/profiles') return { status: 200, body: { profiles } };
    // `use` asks whether the shell's current session is still active before refusing to nest (DESIGN §8).
    const one = req.method === 'GET' ? /^\/v1\/sessions\/([0-9a-f]{16})$/.exec(req.url ?? '') : null;
    if (one && Number.parseInt(one[1]!, 16) <= n) return { status: 200, body: { id: one[1], status: 'active' } };
    return { status: 404, body: errorBody('NotFound', 'no such endpoint') };
  });
}

/**
 * One scenario in every shell: the three shells run at once (each run is several Node starts), then each one is checked
 * in a subtest of its own.
 */
async function inEveryShell<R>(
  t: Test,
  run: (shell: Shell) => Promise<R>,
  check: (t: Test, shell: Shell, result: R) => void,
): Promise<void> {
  const results = await Promise.all(SHELLS.map(run));
  for (const [i, shell] of SHELLS.entries()) await t.test(shell, async (t) => check(t, shell, results[i]!));
}

t.test(
  'init evaluates with status 0 non-interactively and defines the function, the prompt and completions',
  async (t) => {
    await inEveryShell(
      t,
      (shell) => {
        const check = {
          bash: 'type -t sentinel > fn.txt; type -t sentinel_prompt >> fn.txt; complete -p sentinel > comp.txt',
          // No compinit here, so no compdef: the init must not call it.
          zsh: 'whence -w sentinel > fn.txt; whence -w sentinel_prompt >> fn.txt; print -r -- "${+functions[compdef]}" > comp.txt',
          fish: 'functions -q sentinel; and echo function > fn.txt; functions -q sentinel_prompt; and echo function >> fn.txt; complete -c sentinel > comp.txt',
        }[shell];
        return inShell(t, shell, check, {}, true);
      },
      (t, shell, r) => {
        t.equal(r.code, 0, r.stderr);
        t.equal(r.stderr, '', 'nothing on stderr');
        t.equal(r.read('init.txt').trim(), 'init=0');
        t.match(
          r.read('fn.txt'),
          shell === 'zsh' ? /sentinel: function\nsentinel_prompt: function/ : /function\nfunction/,
        );
        t.match(
          r.read('comp.txt'),
          { bash: /-F __sentinel_complete sentinel/, zsh: /^0\n$/, fish: /__sentinel_complete/ }[shell],
        );
      },
    );
  },
);

t.test('zsh: after compinit the completion function is registered with compdef', async (t) => {
  const dir = tempDir(t);
  const init = await initFile(t, 'zsh', dir);
  const r = await run(
    t,
    SHELL_BIN.zsh,
    [
      '-c',
      `autoload -Uz compinit && compinit -u -D && eval "$(cat ${quote('zsh', init)})" && print -r -- "$_comps[sentinel]" > ${quote('zsh', join(dir, 'c.txt'))}`,
    ],
    {
      env: cleanEnv({ HOME: dir }),
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dir, 'c.txt'), 'utf8').trim(), '__sentinel_complete');
});

t.test('the function calls the binary by absolute path: it works with an empty PATH', async (t) => {
  const runs = await Promise.all(
    SHELLS.map((shell) =>
      inShell(
        t,
        shell,
        `${shell === 'fish' ? 'set PATH /nonexistent' : 'PATH=/nonexistent'}\nsentinel --version > v.txt`,
      ),
    ),
  );
  SHELLS.forEach((shell, i) => t.equal(runs[i]!.read('v.txt').trim(), '0.1.0', shell));
});

t.test('shell init picks the shell from $SHELL; an unknown shell is a usage error with a hint', async (t) => {
  // The binary's exit path once each way; the other cases in-process.
  const [zsh, tcsh] = await Promise.all([
    sentinel(t, ['shell', 'init'], { env: cleanEnv({ SHELL: '/usr/bin/zsh' }) }),
    sentinel(t, ['shell', 'init'], { env: cleanEnv({ SHELL: '/bin/tcsh' }) }),
  ]);
  t.equal(zsh.code, 0);
  t.match(zsh.stdout, /integration for zsh/);
  const fish = await sentinelInProcess(['shell', 'init'], { env: cleanEnv({ SHELL: '/usr/local/bin/fish' }) });
  t.match(fish.stdout, /integration for fish/);
  t.equal(tcsh.code, 2);
  t.equal(tcsh.stdout, '');
  t.match(tcsh.stderr, /^Error: Sentinel has no integration for the shell "tcsh"\nHint: Name one of bash, zsh, fish/);
  const none = await sentinelInProcess(['shell', 'init'], { env: cleanEnv({ SHELL: undefined }) });
  t.equal(none.code, 2);
  t.match(none.stderr, /\$SHELL is not set/);
  const named = await sentinelInProcess(['shell', 'init', 'powershell'], { env: cleanEnv() });
  t.equal(named.code, 2);
});

t.test('use outside the shell function explains how to set it up and prints nothing to eval', async (t) => {
  const r = await sentinel(t, ['use', 'dev']);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, /must run through the sentinel shell function/);
  t.match(r.stderr, /Hint: Add `eval "\$\(sentinel shell init\)"`/);
  // The binary's exit path is proven above; the malformed function arguments in-process.
  const bad = await sentinelInProcess(['use', 'dev', '--shell', 'tcsh', '--shell-pid', '1'], { env: cleanEnv() });
  t.equal(bad.code, 2);
  t.equal(bad.stdout, '');
  const pid = await sentinelInProcess(['use', 'dev', '--shell', 'bash', '--shell-pid', '-5'], { env: cleanEnv() });
  t.equal(pid.code, 2);
  const depth = await sentinelInProcess(
    ['use', 'dev', '--shell', 'bash', '--shell-pid', '10', '--shell-depth', '1e3'],
    { env: cleanEnv() },
  );
  t.equal(depth.code, 2);
});

t.test('sentinel use / --nest / --off through the function, against a control-API stand-in', async (t) => {
  await inEveryShell(
    t,
    async (shell) => {
      const daemon = await stub(t);
      const pidVar = shell === 'fish' ? '$fish_pid' : '$$';
      const st = shell === 'fish' ? '$status' : '$?';
      const r = await inShell(
        t,
        shell,
        [
          'dump 0',
          `echo ${pidVar} > pid.txt`,
          `sentinel use dev; echo "use=${st}" >> rc.txt; dump 1`,
          `sentinel use prod; echo "again=${st}" >> rc.txt; dump 2`,
          `sentinel use --nest prod; echo "nest=${st}" >> rc.txt; dump 3`,
          `sentinel use --off; echo "off=${st}" >> rc.txt; dump 4`,
          `sentinel use --off; echo "off=${st}" >> rc.txt; dump 5`,
          `sentinel use --off; echo "off=${st}" >> rc.txt; dump 6`,
        ].join('\n'),
        { SENTINEL_SOCKET: daemon.socket, AWS_PROFILE: 'mine', AWS_REGION: 'ap-south-1' },
      );
      return { daemon, r };
    },
    (t, _shell, { daemon, r }) => {
      t.equal(r.code, 0, r.stderr);
      t.equal(r.read('rc.txt'), 'use=0\nagain=2\nnest=0\noff=0\noff=0\noff=0\n', 'statuses');
      const before = r.state(0);
      const one = r.state(1);
      t.equal(one.SENTINEL_SESSION, '0000000000000001');
      t.equal(one.SENTINEL_PROFILE, 'dev');
      t.equal(one.AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:45678/v1/credentials');
      t.equal(one.AWS_CONTAINER_AUTHORIZATION_TOKEN, `${'A'.repeat(42)}1`);
      t.equal(one.AWS_REGION, 'eu-west-1', 'region from the daemon answer');
      t.equal(one.AWS_DEFAULT_REGION, 'eu-west-1');
      t.notOk('AWS_PROFILE' in one, 'AWS_PROFILE unset');
      t.same(r.state(2), one, 'nesting without --nest changed nothing');
      t.equal(r.state(3).SENTINEL_SESSION, '0000000000000002', 'nested session');
      t.same(r.state(4), one, 'the first --off returns to the outer session');
      t.same(r.state(5), before, 'the second --off restores the shell');
      t.same(r.state(6), before, 'a third --off has nothing to do');
      t.match(r.stderr, /already uses Sentinel session 0000000000000001 \(profile dev\)/);
      t.match(r.stderr, /no Sentinel session is in use in this shell/);

      const posts = daemon.requests.filter((q) => q.method === 'POST');
      t.equal(posts.length, 2, 'two sessions opened (the refused nesting never reached the daemon)');
      t.same(
        posts[0]!.body,
        { profile: 'dev', mode: 'server', pid: Number(r.read('pid.txt').trim()) },
        'mode server, pid = the shell',
      );
      t.same(
        daemon.requests.filter((q) => q.method === 'DELETE').map((q) => q.url),
        ['/v1/sessions/0000000000000002', '/v1/sessions/0000000000000001'],
        'each --off ended its own session',
      );
    },
  );
});

t.test('a denied profile prints the reason, changes nothing and returns 3', async (t) => {
  await inEveryShell(
    t,
    async (shell) => {
      const daemon = await stub(t, 'rule "prod-oncall": prod only in office hours');
      const st = shell === 'fish' ? '$status' : '$?';
      return inShell(t, shell, `dump 0\nsentinel use prod > out.txt; echo "rc=${st}" > rc.txt\ndump 1`, {
        SENTINEL_SOCKET: daemon.socket,
        AWS_PROFILE: 'mine',
      });
    },
    (t, _shell, r) => {
      t.equal(r.read('rc.txt').trim(), 'rc=3');
      t.match(r.stderr, /Error: rule "prod-oncall": prod only in office hours\nHint: Ask an approver\./);
      t.equal(r.read('out.txt'), '', 'nothing on stdout');
      t.same(r.state(1), r.state(0), 'the environment is unchanged');
    },
  );
});

t.test('no daemon → status 4, a hint, nothing changed; use --help goes to stderr', async (t) => {
  await inEveryShell(
    t,
    async (shell) => {
      const dir = tempDir(t);
      const st = shell === 'fish' ? '$status' : '$?';
      return inShell(
        t,
        shell,
        `dump 0\nsentinel use dev; echo "rc=${st}" > rc.txt\ndump 1\nsentinel use --help; echo "help=${st}" >> rc.txt\ndump 2`,
        { SENTINEL_SOCKET: join(dir, 'none.sock') },
      );
    },
    (t, _shell, r) => {
      t.equal(r.read('rc.txt'), 'rc=4\nhelp=0\n');
      t.match(r.stderr, /Error: the Sentinel daemon is not running[^\n]*\nHint: Start it with `sentinel daemon start`/);
      t.match(r.stderr, /Usage: sentinel use/, 'help shown');
      t.same(r.state(1), r.state(0));
      t.same(r.state(2), r.state(0));
    },
  );
});

t.test('bash: use --off in a shell that only inherited the session is refused', async (t) => {
  const daemon = await stub(t);
  const r = await inShell(
    t,
    'bash',
    `sentinel use dev\n/usr/bin/bash -c ${quote('bash', 'eval "$(cat init.bash)"; sentinel use --off; echo "child=$?" > child.txt')}\ndump 1`,
    { SENTINEL_SOCKET: daemon.socket },
  );
  t.equal(r.read('child.txt').trim(), 'child=2');
  t.match(r.stderr, /inherited Sentinel session 0000000000000001/);
  t.equal(r.state(1).SENTINEL_SESSION, '0000000000000001', 'the parent still has its session');
  t.equal(daemon.requests.filter((q) => q.method === 'DELETE').length, 0, 'nothing was ended');
});

t.test('fish: a universal variable that would win over the session is refused before any session opens', async (t) => {
  const daemon = await stub(t);
  const r = await inShell(
    t,
    'fish',
    'set -Ux AWS_ACCESS_KEY_ID AKIAUNIVERSAL\nsentinel use dev; echo "rc=$status" > rc.txt\nset -eU AWS_ACCESS_KEY_ID\ndump 1',
    { SENTINEL_SOCKET: daemon.socket },
  );
  t.equal(r.read('rc.txt').trim(), 'rc=1');
  t.match(
    r.stderr,
    /Error: the universal variable AWS_ACCESS_KEY_ID would override the session[^\n]*\nHint: erase it with `set -eU AWS_ACCESS_KEY_ID`/,
  );
  t.equal(daemon.requests.length, 0, 'the daemon was never asked');
  t.notOk('SENTINEL_SESSION' in r.state(1));
});

t.test('completions in real shells: commands, flags, and profile names from the daemon', async (t) => {
  const daemon = await stub(t);
  const env = { SENTINEL_SOCKET: daemon.socket };
  // Names with a COMP_WORDBREAKS character (`@`, which profile names may hold; `:` and `=` they may not), from a second
  // stand-in.
  const odd = await stub(t, undefined, [
    { name: 'dev' },
    { name: 'team@dev' },
    { name: 'team@prod' },
    { name: 'me@corp' },
  ]);
  // What bash sets before calling a completion function: the line up to the cursor, and the words it split it into at
  // COMP_WORDBREAKS (so `team@` arrives as `team` and `@`); COMPREPLY replaces the text after the last such character.
  const comp =
    'comp() { COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; eval "COMP_WORDS=($2)"; COMP_CWORD=$3; __sentinel_complete; printf "%s\\n" "${COMPREPLY[@]}" > "$4"; }';
  const [bash, fish] = await Promise.all([
    inShell(
      t,
      'bash',
      [
        comp,
        `comp 'sentinel us' 'sentinel us' 1 c1.txt`,
        `comp 'sentinel use ' "sentinel use ''" 2 c2.txt`,
        `comp 'sentinel exec --n' 'sentinel exec --n' 2 c3.txt`,
        `SENTINEL_SOCKET=${quote('bash', odd.socket)} comp 'sentinel use team@' 'sentinel use team @' 3 c4.txt`,
        `SENTINEL_SOCKET=${quote('bash', odd.socket)} comp 'sentinel use team@p' 'sentinel use team @ p' 4 c5.txt`,
        `SENTINEL_SOCKET=${quote('bash', odd.socket)} comp 'sentinel exec me@' 'sentinel exec me @' 3 c6.txt`,
        `SENTINEL_SOCKET=${quote('bash', odd.socket)} comp 'sentinel use te' 'sentinel use te' 2 c7.txt`,
      ].join('\n'),
      env,
    ),
    inShell(
      t,
      'fish',
      "complete -C 'sentinel credentials --profile p' > c1.txt\ncomplete -C 'sentinel servi' > c2.txt",
      env,
    ),
  ]);
  t.equal(bash.read('c1.txt'), 'use\n');
  t.equal(bash.read('c2.txt'), 'dev\nprod\n');
  t.equal(bash.read('c3.txt'), '--nest\n');
  t.equal(bash.read('c4.txt'), 'dev\nprod\n', 'after `team@` bash completes only what follows the @');
  t.equal(bash.read('c5.txt'), 'prod\n');
  t.equal(bash.read('c6.txt'), 'corp\n', 'the same for another name');
  t.equal(bash.read('c7.txt'), 'team@dev\nteam@prod\n', 'before the @, whole names');
  t.equal(fish.read('c1.txt'), 'prod\tAWS profile\n');
  t.match(fish.read('c2.txt'), /^service\trun the daemon under systemd/);
});

t.test(
  'profile names that are shell syntax or terminal escapes never reach the command line or the shell',
  async (t) => {
    // A daemon serving through a vendor (§17) passes on the vendor's profile list: bash inserts a completion candidate
    // into the command line unquoted, so `x;touch pwned` would be a second command the user runs with Enter.
    const hostile = ['dev', 'x;touch pwned', '$(touch pwned)', 'a b', 'e\u001b]0;owned\u0007', '`id`', "q'uote"];
    const daemon = await stub(
      t,
      undefined,
      hostile.map((name) => ({ name })),
    );
    const comp =
      'comp() { COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; eval "COMP_WORDS=($2)"; COMP_CWORD=$3; __sentinel_complete; printf "%s\\n" "${COMPREPLY[@]}" > "$4"; }';
    const env = { SENTINEL_SOCKET: daemon.socket };
    const [bash, fish, zsh] = await Promise.all([
      inShell(t, 'bash', [comp, `comp 'sentinel use ' "sentinel use ''" 2 c1.txt`].join('\n'), env),
      inShell(t, 'fish', "complete -C 'sentinel use ' > c1.txt", env),
      sentinel(t, ['__complete', 'zsh', '--', 'use', ''], { env: cleanEnv(env) }),
    ]);
    t.equal(bash.read('c1.txt'), 'dev\n', 'bash: only the valid name');
    t.equal(fish.read('c1.txt'), 'dev\tAWS profile\n', 'fish: only the valid name');
    t.equal(zsh.stdout, 'dev:AWS profile\n', 'zsh: only the valid name');

    // The session answer's profile is exported and printed by sentinel_prompt at every prompt.
    await inEveryShell(
      t,
      async (shell) => {
        const liar = await startStubDaemon(t, (req) =>
          req.method === 'POST' && req.url === '/v1/sessions'
            ? { status: 200, body: sessionAnswer({ profile: "dev'$(touch pwned)'\u001b[2J" }) }
            : { status: 200, body: { status: 'ended' } },
        );
        const st = shell === 'fish' ? '$status' : '$?';
        return inShell(t, shell, `dump 0\nsentinel use dev; echo "rc=${st}" > rc.txt\ndump 1`, {
          SENTINEL_SOCKET: liar.socket,
        });
      },
      (t, _shell, r) => {
        t.equal(r.read('rc.txt').trim(), 'rc=1');
        t.match(r.stderr, /Error: the daemon answered a session with a malformed profile name/);
        t.same(r.state(1), r.state(0), 'the environment is unchanged');
        t.notOk(existsSync(join(r.dir, 'pwned')));
      },
    );
  },
);
