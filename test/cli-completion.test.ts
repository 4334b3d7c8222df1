// Completion candidates come from the real command tree (buildProgram), so they cannot drift from the commands.
import t from 'tap';
import { buildProgram } from '../cli/program.js';
import { candidates, formatCandidates, locate } from '../cli/completion.js';
import { sentinel } from './support/cli.js';

const PROFILES = ['dev', 'prod', 'team:shared'];

async function values(words: string[]): Promise<{ values: string[]; asked: number }> {
  let asked = 0;
  const list = await candidates(buildProgram(), words, async () => {
    asked++;
    return PROFILES;
  });
  return { values: list.map((c) => c.value), asked };
}

t.test('commands, subcommands and flags', async (t) => {
  const top = await values(['']);
  for (const name of ['use', 'exec', 'credentials', 'whoami', 'service', 'shell'])
    t.ok(top.values.includes(name), name);
  t.notOk(top.values.includes('__complete'), 'hidden commands stay hidden');
  t.equal(top.asked, 0, 'no profile lookup where no profile fits');
  t.same((await values(['ex'])).values, ['exec']);
  t.same((await values(['service', ''])).values.filter((v) => v !== 'help').sort(), ['install', 'status', 'uninstall']);
  t.same(
    (await values(['service', 'install', '--s'])).values,
    ['--socket-activation', '--socket'],
    'own flags first, then the global ones',
  );
  const useFlags = (await values(['use', '--'])).values;
  t.ok(useFlags.includes('--nest') && useFlags.includes('--off'), 'use flags');
  t.notOk(useFlags.includes('--shell') || useFlags.includes('--shell-pid'), 'hidden flags are not offered');
  t.notOk(useFlags.includes('--version'), '--version only at the top');
});

t.test('profile names where a profile fits, from the provider', async (t) => {
  const use = await values(['use', '']);
  t.same(use.values, PROFILES);
  t.equal(use.asked, 1);
  t.same((await values(['use', 'p'])).values, ['prod']);
  t.same((await values(['exec', '--env', ''])).values, PROFILES, 'after an exec flag');
  t.same((await values(['credentials', '--profile', ''])).values, PROFILES, 'the value of --profile');
  t.same((await values(['whoami', '--profile', 'd'])).values, ['dev']);
  const afterProfile = await values(['exec', 'dev', '']);
  t.same(afterProfile.values, [], 'the command after the profile is not a profile');
  t.same((await values(['exec', 'dev', '--', ''])).values, [], 'nothing after --');
  t.same((await values(['--socket', '/tmp/x', 'use', 'd'])).values, ['dev'], 'a global option value is skipped');
});

t.test('locate walks options with values', async (t) => {
  const program = buildProgram();
  const p = locate(program, ['--config', 'use', 'use']);
  t.equal(p.kind, 'command');
  if (p.kind === 'command')
    t.equal(p.command.name(), 'use', '`use` after --config <file> was the value, the second one the command');
  const v = locate(program, ['exec', '--ttl']);
  t.equal(v.kind, 'option-value');
});

t.test('formats: bash plain, zsh name:description with colons escaped, fish tab-separated', async (t) => {
  const list = [{ value: 'team:shared', description: 'AWS profile' }, { value: 'dev' }, { value: 'bad\nname' }];
  t.equal(formatCandidates('bash', list), 'team:shared\ndev\n');
  t.equal(formatCandidates('zsh', list), 'team\\:shared:AWS profile\ndev\n');
  t.equal(formatCandidates('fish', list), 'team:shared\tAWS profile\ndev\n');
});

t.test('__complete never fails loudly: no daemon means no profile names, and still exit 0', async (t) => {
  const r = await sentinel(t, ['__complete', 'bash', '--', 'use', ''], {
    env: { PATH: '/usr/bin:/bin', SENTINEL_SOCKET: '/nonexistent.sock', HOME: '/nonexistent' },
  });
  t.equal(r.code, 0);
  t.equal(r.stdout, '');
  t.equal(r.stderr, '');
  const cmds = await sentinel(t, ['__complete', 'fish', '--', 'wh']);
  t.match(cmds.stdout, /^whoami\tshow the caller ARN/);
  const unknown = await sentinel(t, ['__complete', 'tcsh', '--', '']);
  t.equal(unknown.code, 0);
  t.equal(unknown.stdout, '');
});
