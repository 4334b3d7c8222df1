import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SentinelError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import {
  MAX_AWS_CONFIG_BYTES,
  awsConfigFiles,
  checkProfileName,
  createAwsConfig,
  mergeProfiles,
  parseIni,
} from '../daemon/vending/aws-config.js';
import { closeMatches, editDistance } from '../core/text/close-matches.js';
import { tempDir } from './support/temp-dir.js';

const CONFIG = `
# a comment
[default]
region = eu-west-1

[profile base]
region = eu-central-1 ; inline comment after whitespace
s3 =
  max_concurrent_requests = 10
  region = not-the-profile-region
output = json

[profile prod]
role_arn = arn:aws:iam::111122223333:role/prod-admin
source_profile = base
external_id = ext-123
region = us-west-2

[profile staging]
role_arn = arn:aws:iam::111122223333:role/staging
credential_source = Environment

[profile broken-role]
role_arn = arn:aws:iam::111122223333:role/x

[profile both]
role_arn = arn:aws:iam::111122223333:role/x
source_profile = base
credential_source = Environment

[profile web]
role_arn = arn:aws:iam::111122223333:role/web
web_identity_token_file = /tmp/token

[profile "quoted"]
region = ap-south-1

[sso-session corp]
sso_region = us-east-1

[notaprofile]
region = us-east-2

[profile ../../etc/passwd]
region = us-east-1

[profile has space]
region = us-east-1

[profile __proto__]
region = us-east-1
`;

const CREDENTIALS = `
[base]
aws_access_key_id = AKIAEXAMPLEBASE00001
aws_secret_access_key = base-secret-do-not-leak

[prod]
region = us-east-1

[creds-only]
aws_access_key_id = AKIAEXAMPLECREDS0001
aws_secret_access_key = creds-only-secret
`;

t.test('file locations follow the AWS CLI', async (t) => {
  t.same(awsConfigFiles({ HOME: '/home/u' }), {
    configFile: '/home/u/.aws/config',
    credentialsFile: '/home/u/.aws/credentials',
  });
  t.same(awsConfigFiles({ HOME: '/home/u', AWS_CONFIG_FILE: '/x/cfg', AWS_SHARED_CREDENTIALS_FILE: '~/creds' }), {
    configFile: '/x/cfg',
    credentialsFile: '/home/u/creds',
  });
  t.same(
    awsConfigFiles({ HOME: '/home/u', AWS_CONFIG_FILE: '' }).configFile,
    '/home/u/.aws/config',
    'empty means unset',
  );
});

t.test('parsing matches the SDK: comments, sub-sections, section kinds, merge order', async (t) => {
  const sections = parseIni(CONFIG);
  t.equal(sections.get('profile base')?.get('region'), 'eu-central-1');
  t.equal(sections.get('profile base')?.get('s3.region'), 'not-the-profile-region', 'sub-section keys are prefixed');
  t.equal(sections.get('profile base')?.get('output'), 'json', 'an unindented key ends the sub-section');
  t.equal(sections.get('profile quoted')?.get('region'), 'ap-south-1');
  const profiles = mergeProfiles(CONFIG, CREDENTIALS);
  t.ok(profiles.has('default') && profiles.has('base') && profiles.has('creds-only'));
  t.notOk(profiles.has('notaprofile'), 'config sections without the profile prefix are not profiles');
  t.notOk(profiles.has('corp') || profiles.has('sso-session corp'), 'sso-session sections are not profiles');
  t.equal(profiles.get('prod')?.get('region'), 'us-east-1', 'the credentials file wins key by key');
  t.equal(profiles.get('prod')?.get('source_profile'), 'base', 'and the rest of the config section stays');
  t.equal(({} as Record<string, unknown>).region, undefined, 'no prototype pollution');

  // The SDK's getConfigData: [profile default] takes the place of [default] whole, wherever each stands; nothing of
  // [default] is left for the SDK to resolve, so Sentinel must not assume its role either.
  for (const text of [
    `[default]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = base\n[profile default]\nregion = eu-west-1\n`,
    `[profile default]\nregion = eu-west-1\n[default]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = base\n`,
  ]) {
    t.same(
      Object.fromEntries(mergeProfiles(text, '').get('default')!),
      { region: 'eu-west-1' },
      '[profile default] wins',
    );
  }
});

t.test('profiles: public fields only, invalid names skipped, stampability', async (t) => {
  const dir = tempDir(t, 'sentinel-awscfg-');
  writeFileSync(join(dir, 'config'), CONFIG);
  writeFileSync(join(dir, 'credentials'), CREDENTIALS);
  const cfg = createAwsConfig(
    { configFile: join(dir, 'config'), credentialsFile: join(dir, 'credentials') },
    silentLogger(),
  );
  const list = await cfg.profiles();
  t.same(
    list.map((p) => p.name),
    ['base', 'both', 'broken-role', 'creds-only', 'default', 'prod', 'quoted', 'staging', 'web'],
  );
  const json = JSON.stringify(list);
  t.notMatch(json, /secret|AKIA/, 'no secret or key reaches the listing');
  t.same(
    list.find((p) => p.name === 'prod'),
    {
      name: 'prod',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::111122223333:role/prod-admin',
      sourceProfile: 'base',
      externalId: 'ext-123',
      stampable: true,
    },
  );
  const stampable = Object.fromEntries(list.map((p) => [p.name, p.stampable]));
  t.same(stampable, {
    base: false,
    both: false,
    'broken-role': false,
    'creds-only': false,
    default: false,
    prod: true,
    quoted: false,
    staging: true,
    web: false,
  });
  const staging = await cfg.profile('staging');
  t.equal(staging.credentialSource, 'Environment');
  t.equal((await cfg.profile('broken-role')).roleWithoutSource, true);
  t.equal((await cfg.profile('base')).roleWithoutSource, false);
});

t.test('unknown profiles name close matches; hostile names are refused without being echoed', async (t) => {
  const dir = tempDir(t, 'sentinel-awscfg-');
  writeFileSync(join(dir, 'config'), CONFIG);
  const cfg = createAwsConfig({ configFile: join(dir, 'config'), credentialsFile: join(dir, 'nope') }, silentLogger());
  const err = await cfg.profile('prd').catch((e) => e);
  t.type(err, SentinelError);
  t.equal(err.code, 'ProfileUnknown');
  t.match(err.message, /no profile "prd".*did you mean "prod"/);
  t.same(err.details.close_matches, ['prod']);
  const far = await cfg.profile('completely-different').catch((e) => e);
  t.equal(far.code, 'ProfileUnknown');
  t.notMatch(far.message, /did you mean/);

  const hostile: unknown[] = [
    '../../etc/passwd',
    '..',
    '.',
    '/prod',
    'prod/',
    'a//b',
    '-rf',
    'has space',
    'new\nline',
    'nul\u0000',
    'tab\t',
    'semi;colon',
    'colon:x',
    '$(id)',
    '`id`',
    'prød',
    '',
    'x'.repeat(129),
    '__proto__',
    'a/__proto__',
    '__proto__/../x',
    null,
    undefined,
    42,
    ['prod'],
    { name: 'prod' },
  ];
  for (const name of hostile) {
    const e = await cfg.profile(name as string).catch((x) => x);
    t.equal(e?.code, 'BadRequest', `refused: ${JSON.stringify(name)?.slice(0, 40) ?? String(name)}`);
    if (typeof name === 'string' && name.length > 2) t.notOk(e.message.includes(name), 'the name is not echoed');
  }
  for (const ok of ['prod', 'org/prod', 'a.b@c+d-e_f', '_x', 'x'.repeat(128), 'default', '123']) {
    t.equal(checkProfileName(ok), ok);
  }
});

t.test('files are re-read when they change, and on reload; missing and /dev/null are empty', async (t) => {
  const dir = tempDir(t, 'sentinel-awscfg-');
  const configFile = join(dir, 'config');
  const cfg = createAwsConfig({ configFile, credentialsFile: '/dev/null' }, silentLogger());
  t.same(await cfg.profiles(), [], 'missing config file: no profiles');
  writeFileSync(configFile, '[profile a]\nregion = us-east-1\n');
  t.same(
    (await cfg.profiles()).map((p) => p.name),
    ['a'],
    'a new file is seen without reload',
  );
  writeFileSync(configFile, '[profile a]\nregion = us-east-1\n[profile bb]\nregion = us-east-2\n');
  t.same(
    (await cfg.profiles()).map((p) => p.name),
    ['a', 'bb'],
    'an edit is seen',
  );
  cfg.reload();
  t.equal((await cfg.profile('bb')).info.region, 'us-east-2');
  const [x, y] = await Promise.all([cfg.profiles(), cfg.profiles()]);
  t.same(x, y, 'concurrent reads agree');
  const nullCfg = createAwsConfig({ configFile: '/dev/null', credentialsFile: '/dev/null' }, silentLogger());
  t.same(await nullCfg.profiles(), []);
});

t.test('oversized files, FIFOs and directories are refused unread', async (t) => {
  const dir = tempDir(t, 'sentinel-awscfg-');
  const big = join(dir, 'big');
  writeFileSync(big, '#'.repeat(MAX_AWS_CONFIG_BYTES + 1));
  const e1 = await createAwsConfig({ configFile: big, credentialsFile: '/dev/null' }, silentLogger())
    .profiles()
    .catch((e) => e);
  t.equal(e1.code, 'BaseCredentialsUnavailable');
  t.match(e1.message, /larger than 4 MiB/);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const e2 = await createAwsConfig({ configFile: fifo, credentialsFile: '/dev/null' }, silentLogger())
    .profiles()
    .catch((e) => e);
  t.equal(e2.code, 'BaseCredentialsUnavailable', 'a FIFO would block: refused');
  mkdirSync(join(dir, 'adir'));
  const e3 = await createAwsConfig({ configFile: join(dir, 'adir'), credentialsFile: '/dev/null' }, silentLogger())
    .profiles()
    .catch((e) => e);
  t.equal(e3.code, 'BaseCredentialsUnavailable');
});

t.test('nothing is ever written next to the AWS files', async (t) => {
  const dir = tempDir(t, 'sentinel-awscfg-');
  writeFileSync(join(dir, 'config'), CONFIG);
  writeFileSync(join(dir, 'credentials'), CREDENTIALS);
  const before = statSync(join(dir, 'config')).mtimeMs;
  const cfg = createAwsConfig(
    { configFile: join(dir, 'config'), credentialsFile: join(dir, 'credentials') },
    silentLogger(),
  );
  await cfg.profiles();
  await cfg.profile('prod');
  await cfg.profile('nope').catch(() => undefined);
  t.same(readdirSync(dir).sort(), ['config', 'credentials']);
  t.equal(statSync(join(dir, 'config')).mtimeMs, before);
  t.equal(readFileSync(join(dir, 'credentials'), 'utf8'), CREDENTIALS);
});

t.test('close matches', async (t) => {
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('abc', 'abc'), 0);
  t.same(closeMatches('prdo', ['prod', 'dev', 'production', 'prod-eu']), ['prod']);
  t.same(closeMatches('PROD', ['prod', 'prd']), ['prod', 'prd'], 'case-insensitive, closest first');
  t.same(closeMatches('zzzz', ['prod']), []);
  t.equal(
    closeMatches(
      'a',
      Array.from({ length: 10 }, (_, i) => `a${i}`),
    ).length,
    3,
    'at most three',
  );
});
