// The code `sentinel use` / `use --off` emits, evaluated in real bash, zsh and fish: hostile values arrive intact and
// execute nothing, every replaced variable comes back exactly (value, exported or not, unset), saved secrets never
// reach a child process, and nested sessions unwind level by level.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { offCode, quote, useCode, SHELLS, type Shell } from '../cli/shell-emit.js';
import { sessionChanges, type OpenedSession } from '../cli/session-env.js';
import { cleanEnv, readEnvDump, run, tempDir } from './support/cli.js';

const SHELL_BIN: Record<Shell, string> = { bash: '/usr/bin/bash', zsh: '/usr/bin/zsh', fish: '/usr/bin/fish' };

// Everything a shell might interpret: quotes of both kinds, substitutions, globbing, escapes, newlines, fish's \' .
const HOSTILE = [
  `it's`,
  `"double" and 'single'`,
  '$(touch PWNED1)',
  '`touch PWNED2`',
  '${HOME} $HOME %s %% %',
  '\\',
  "back\\slash\\'quote\\\\",
  "trailing '",
  "''",
  'line1\nline2\n',
  '; touch PWNED3 & | > < * ? [a] {b,c} ~ ! # ^',
  '  leading and trailing spaces  ',
  'ünïcødé €',
  '-n',
  '',
];

function hostileSession(variant: string): OpenedSession {
  return {
    id: variant === 'outer' ? '00000000000000aa' : '00000000000000bb',
    token: `tok'en$(touch PWNED4)\`x\`\\${variant}`,
    url: `http://127.0.0.1:1/v1/credentials?x='$(touch PWNED5)'&${variant}`,
    region: `eu-west-1'; touch PWNED6; echo '${variant}`,
    expires_at: '2030-01-01T00:00:00Z',
    profile: `dev'"\`$(touch PWNED7)\\\n${variant}`,
  };
}

function script(shell: Shell): string {
  const dump = (n: number) => `env -0 > s${n}.env`;
  const steps = ['use1.sh', 'use2.sh', 'off2.sh', 'off1.sh'];
  const body = [dump(0), ...steps.flatMap((file, i) => [`__run ${file}`, dump(i + 1)])];
  switch (shell) {
    case 'bash':
      return (
        [
          'set -u',
          'export -n AWS_ACCESS_KEY_ID',
          'function __run { eval "$(cat "$1")"; }',
          ...body,
          `printf '%s' "$AWS_ACCESS_KEY_ID" > shellvar.txt`,
          `declare -p AWS_ACCESS_KEY_ID | cut -d' ' -f2 > flags.txt`,
        ].join('\n') + '\n'
      );
    case 'zsh':
      return (
        [
          'setopt nounset rcquotes',
          'typeset +x AWS_ACCESS_KEY_ID',
          'function __run { eval "$(cat "$1")" }',
          ...body,
          `printf '%s' "$AWS_ACCESS_KEY_ID" > shellvar.txt`,
          `print -r -- \${(t)AWS_ACCESS_KEY_ID} > flags.txt`,
        ].join('\n') + '\n'
      );
    case 'fish':
      return (
        [
          'set -gu AWS_ACCESS_KEY_ID $AWS_ACCESS_KEY_ID',
          'function __run; string join \\n -- (cat $argv[1]) | source; end',
          ...body,
          `printf '%s' "$AWS_ACCESS_KEY_ID" > shellvar.txt`,
          `set -qx AWS_ACCESS_KEY_ID; and echo exported > flags.txt; or echo shell > flags.txt`,
        ].join('\n') + '\n'
      );
  }
}

const ORIGINAL = {
  AWS_PROFILE: `prof'ile $(touch PWNED8)\n`,
  AWS_SESSION_TOKEN: '', // set but empty: must come back set and empty, not unset
  AWS_CONFIG_FILE: '/home/someone/.aws/config',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
  AWS_ACCESS_KEY_ID: 'AKIA-unexported-secret', // a plain shell variable: never exported, before or after
};

for (const shell of SHELLS) {
  t.test(`${shell}: use, nested use, off, off restore the shell exactly`, async (t) => {
    const dir = tempDir(t);
    const outer = sessionChanges(hostileSession('outer'));
    const inner = sessionChanges(hostileSession('inner'));
    writeFileSync(join(dir, 'use1.sh'), useCode(shell, outer, 0));
    writeFileSync(join(dir, 'use2.sh'), useCode(shell, inner, 1));
    writeFileSync(join(dir, 'off2.sh'), offCode(shell, 2));
    writeFileSync(join(dir, 'off1.sh'), offCode(shell, 1));
    writeFileSync(join(dir, 'main'), script(shell));
    const env = cleanEnv({ HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), ...ORIGINAL });
    const r = await run(t, SHELL_BIN[shell], [join(dir, 'main')], { env, cwd: dir });
    t.equal(r.code, 0, `the script ran cleanly: ${r.stderr}`);
    t.equal(r.stderr, '', 'nothing on stderr');
    const state = (n: number) => readEnvDump(join(dir, `s${n}.env`));
    const [s0, s1, s2, s3, s4] = [0, 1, 2, 3, 4].map(state) as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];

    t.same(
      s0,
      {
        AWS_PROFILE: ORIGINAL.AWS_PROFILE,
        AWS_SESSION_TOKEN: '',
        AWS_CONFIG_FILE: ORIGINAL.AWS_CONFIG_FILE,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: ORIGINAL.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      'the starting point (the unexported variable is not in a child environment)',
    );

    const o = hostileSession('outer');
    t.same(
      s1,
      {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: o.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: o.token,
        SENTINEL_SESSION: o.id,
        SENTINEL_PROFILE: o.profile,
        AWS_REGION: o.region,
        AWS_DEFAULT_REGION: o.region,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      'after use: exactly the session variables, hostile values intact, competitors gone, no saved value exported',
    );
    const i = hostileSession('inner');
    t.equal(s2.AWS_CONTAINER_AUTHORIZATION_TOKEN, i.token, 'nested use replaces the token');
    t.equal(s2.SENTINEL_SESSION, i.id);
    t.same(s3, s1, 'closing the inner session brings the outer one back');
    t.same(s4, s0, 'closing the outer session brings the original environment back');
    t.equal(
      readFileSync(join(dir, 'shellvar.txt'), 'utf8'),
      ORIGINAL.AWS_ACCESS_KEY_ID,
      'the unexported shell variable has its value back',
    );
    const flags = readFileSync(join(dir, 'flags.txt'), 'utf8').trim();
    t.notMatch(flags, shell === 'fish' ? /^exported$/ : /x|export/, `...and is still not exported (${flags})`);
    t.same(
      readdirSync(dir).filter((f) => f.startsWith('PWNED')),
      [],
      'no hostile value was executed',
    );
  });

  t.test(`${shell}: quote() round-trips hostile strings`, async (t) => {
    const dir = tempDir(t);
    const lines = HOSTILE.map((value, n) => `printf '%s' ${quote(shell, value)} > out.${n}`);
    writeFileSync(join(dir, 'main'), (shell === 'zsh' ? 'setopt rcquotes\n' : '') + lines.join('\n') + '\n');
    const r = await run(t, SHELL_BIN[shell], [join(dir, 'main')], { env: cleanEnv({ HOME: dir }), cwd: dir });
    t.equal(r.code, 0, r.stderr);
    HOSTILE.forEach((value, n) => t.equal(readFileSync(join(dir, `out.${n}`), 'utf8'), value, JSON.stringify(value)));
    t.notOk(
      existsSync(join(dir, 'PWNED1')) || existsSync(join(dir, 'PWNED2')) || existsSync(join(dir, 'PWNED3')),
      'nothing executed',
    );
  });
}

t.test('emitters refuse what cannot be valid', async (t) => {
  const changes = sessionChanges(hostileSession('outer'));
  t.throws(() => useCode('bash', changes, -1), /depth/);
  t.throws(() => useCode('bash', changes, 65), /depth/);
  t.throws(() => offCode('zsh', 0), /no session level/);
  t.throws(() => useCode('bash', { set: [['BAD NAME', 'x']], unset: [] }, 0), /not a variable name/);
  t.throws(() => useCode('fish', { set: [], unset: ['$(x)'] }, 0), /not a variable name/);
});
