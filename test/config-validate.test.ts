// `sentinel config validate [file]` (DESIGN §16): every problem with file:line:column and a fix, the policy the config
// names checked too, exit 1 on errors and 0 with warnings only; hostile files refused cleanly.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, sentinelInProcess, tempDir } from './support/cli.js';

const GOOD_POLICY = 'version: "1"\nrules:\n  - { name: dev, effect: allow, conditions: { profiles: [dev] } }\n';

function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t, 'sentinel-config-');
  const env = cleanEnv({ HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') });
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  return { dir, write, cli: (args: string[]) => sentinelInProcess(args, { env }) };
}

t.test('every problem, each with its line, column and a fix; exit 1', async (t) => {
  const { dir, write, cli } = setup(t);
  const policy = write(
    'policy.yaml',
    'version: "1"\nrules:\n  - name: x\n    effect: alow\n    conditions: { profiles: [dev] }\n',
  );
  const file = write(
    'config.yaml',
    [
      'region: eu-west-1',
      'polcy: {}',
      'policy:',
      `  file: ${policy}`,
      '  source: sms',
      '  refresh: 5 minutes',
      'sessions: { store: dynamodb, tll: 12h }',
      'credentials: { duration: 5m }',
      '',
    ].join('\n'),
  );
  const r = await cli(['config', 'validate', file]);
  t.equal(r.code, 1);
  t.match(r.stdout, `${file}:2:1: error: unknown key "polcy" at the top level\n  fix: did you mean "policy"?`);
  t.match(r.stdout, new RegExp(`${file}:5:11: error: policy.source: .*\\n  fix: one of: file, ssm`));
  t.match(r.stdout, new RegExp(`${file}:6:12: error: policy.refresh: expected a duration`));
  t.match(r.stdout, new RegExp(`${file}:7:30: error: unknown key "tll" in sessions\\n  fix: did you mean "ttl"\\?`));
  t.match(r.stderr, /^Error: .*config\.yaml: 4 problems \(listed above\)\nHint: /);

  // Schema-valid, but STS would refuse the duration, and the policy it names is not valid.
  const second = write('second.yaml', `policy: { file: ${policy} }\ncredentials: { duration: 5m }\n`);
  const r2 = await cli(['config', 'validate', second, '--json']);
  t.equal(r2.code, 1);
  const body = JSON.parse(r2.stdout);
  t.equal(body.valid, false);
  t.match(body.problems, [
    { severity: 'error', file: second, line: 2, column: 26, message: /outside what STS issues/ },
    { severity: 'error', file: policy, line: 4, column: 13, message: /unknown effect "alow"/, hint: /allow/ },
  ]);
  t.ok(dir);
});

t.test('warnings only: exit 0; a signing key without the signature file: error', async (t) => {
  const { write, cli } = setup(t);
  const policy = write('policy.yaml', GOOD_POLICY);
  const warned = write(
    'warned.yaml',
    `policy: { file: ${policy}, source: ssm, refresh: 10s }\nsessions: { ttl: 5m }\n`,
  );
  const r = await cli(['config', 'validate', warned]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /warned\.yaml:1:\d+: warning: policy.refresh 10s is under a minute/);
  t.match(r.stdout, /warning: sessions.ttl is shorter than credentials.duration/);
  t.match(r.stdout, /warned\.yaml: valid \(3 warnings\)/);

  const signed = write('signed.yaml', `policy: { file: ${policy}, signing_key: alias/sentinel-policy }\n`);
  const s = await cli(['config', 'validate', signed]);
  t.equal(s.code, 1);
  t.match(
    s.stdout,
    /policy\.yaml\.sig does not exist: the daemon would refuse the policy\n  fix: sentinel policy sign '\*'/,
  );
  writeFileSync(`${policy}.sig`, '{}');
  t.equal((await cli(['config', 'validate', signed])).code, 0);

  const badKey = write('badkey.yaml', `policy: { file: ${policy}, signing_key: "my key" }\n`);
  const k = await cli(['config', 'validate', badKey]);
  t.equal(k.code, 1);
  t.match(k.stdout, /badkey\.yaml:1:\d+: error: policy.signing_key "my key" is not a KMS key/);
});

t.test('the decision log key file is checked as the daemon checks it, without waiting on a FIFO', async (t) => {
  const { dir, write, cli } = setup(t);
  const policy = write('policy.yaml', GOOD_POLICY);
  const fifo = join(dir, 'fifo.key');
  t.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0, 'mkfifo');
  const loose = write('loose.key', `${'k'.repeat(64)}\n`);
  chmodSync(loose, 0o644);
  const good = write('good.key', `${'k'.repeat(64)}\n`);
  chmodSync(good, 0o600);
  const cases: Array<[string, string, number, RegExp]> = [
    ['a FIFO', fifo, 1, /error: audit\.hmac_key_file: .*is a named pipe, not a regular file/],
    ['a key others can read', loose, 1, /error: audit\.hmac_key_file: .*mode 0600, not 0644/],
    ['a good key', good, 0, /valid/],
  ];
  for (const [what, key, code, why] of cases) {
    const file = write('config.yaml', `policy: { file: ${policy} }\naudit: { hmac_key_file: ${key} }\n`);
    const r = await cli(['config', 'validate', file]);
    t.equal(r.code, code, `${what}: ${r.stdout}${r.stderr}`);
    t.match(r.stdout, why, what);
  }
});

t.test('hostile and missing files: clear errors, no crash', async (t) => {
  const { dir, write, cli } = setup(t);
  const cases: Array<[string, string | null, number, RegExp]> = [
    ['not YAML', 'region: [eu-west-1\n', 1, /:\d+:\d+: error: YAML: /],
    ['control characters', 'region: eu-west-1\u001b[31m\n', 1, /:1:18: error: the file contains control characters/],
    ['a list at the top', '- a\n- b\n', 1, /expected a mapping of settings at the top level/],
    ['duplicate keys', 'region: eu-west-1\nregion: us-east-1\n', 1, /error: YAML: .*[Dd]uplicate|unique/],
    [
      'an alias bomb',
      'a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
      1,
      /error/,
    ],
  ];
  for (const [name, text, code, why] of cases) {
    const file = write(`${name.replace(/\W/g, '-')}.yaml`, text!);
    const r = await cli(['config', 'validate', file]);
    t.equal(r.code, code, name);
    t.match(r.stdout + r.stderr, why, name);
  }
  const big = write('big.yaml', `# ${'x'.repeat(1024 * 1024 + 10)}\n`);
  const rb = await cli(['config', 'validate', big]);
  t.equal(rb.code, 1);
  t.match(rb.stderr, /larger than 1 MiB/);
  const missing = await cli(['config', 'validate', '/nonexistent/config.yaml']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /does not exist/);
  const none = await cli(['config', 'validate']);
  t.equal(none.code, 1, 'no config.yaml: defaults, and the default policy file does not exist');
  t.match(none.stdout, /policy\.yaml does not exist/);
  t.match(
    none.stderr,
    /^Error: \S+\/policy\.yaml: 1 problem \(listed above\)/m,
    'the summary names the policy, not config.yaml',
  );
  t.notMatch(none.stderr, /config\.yaml/);
  mkdirSync(join(dir, '.config', 'sentinel'), { recursive: true });
  write('.config/sentinel/policy.yaml', GOOD_POLICY);
  const defaults = await cli(['config', 'validate']);
  t.equal(defaults.code, 0, defaults.stderr);
  t.match(
    defaults.stdout,
    /config\.yaml: not present; the defaults apply and are valid$/m,
    'not "valid" for a file that is not there',
  );
});
