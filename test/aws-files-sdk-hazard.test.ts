// Sentinel's own AWS clients never let the AWS SDK read an AWS config or credentials file with a section the SDK writes
// onto JavaScript's built-in objects (`[constructor]`, `[toString]`, ...: sdkHazard). The SDK keeps sections in plain
// objects, so reading such a file sets `Object.region`, `Object.foo`, ... in the reading process. Every factory of an
// SDK client checks the files first (assertSdkCanReadAwsFiles): `whoami` (the default credential chain), an admin
// command on a table (`requests --table`), and a daemon whose session store is a DynamoDB table are refused with the
// file and section named, nothing is written onto Object, and no call reaches the emulators. Clean files still work.
// Everything runs in this process (the CLI in process, the daemon in process), so a polluted Object would show here.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REQUEST_TABLE } from '../core/approvals/record.js';
import { ensureTable } from '../core/records/table.js';
import { writeAwsConfig } from './support/aws-env.js';
import { cleanEnv, sentinelInProcess, tempDir } from './support/cli.js';
import { DEFAULT_AWS_CONFIG, DEFAULT_AWS_CREDENTIALS, startDaemon } from './support/daemon.js';
import { startSsm } from './support/ssm-emulator.js';
import { startSts } from './support/sts-emulator.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';
import { until } from './support/wait.js';

const HAZARD = '[constructor]\nregion = x\nfoo = bar\n';

/** What a polluting read would have set; removed again so one failing run does not spoil the next cases. */
function polluted(): { foo: unknown; region: unknown } {
  const o = Object as unknown as Record<string, unknown>;
  const seen = { foo: o.foo, region: o.region };
  delete o.foo;
  delete o.region;
  return seen;
}

function notPolluted(t: Test) {
  t.same(polluted(), { foo: undefined, region: undefined }, 'nothing was written onto the built-in Object');
}

t.afterEach(() => {
  polluted();
});

const STS_KEY = 'AKIAHAZARDWHOAMI0001';

t.test('whoami (default credential chain): refused before the SDK reads the files', async (t) => {
  const sts = await startSts({ identities: { [STS_KEY]: 'arn:aws:iam::123456789012:user/alice' } });
  t.teardown(() => sts.close());
  const keys = `[default]\naws_access_key_id = ${STS_KEY}\naws_secret_access_key = s\n`;
  const run = (config: string, credentials: string) => {
    const dir = tempDir(t);
    const files = writeAwsConfig(dir, { config, credentials });
    return sentinelInProcess(['whoami'], {
      env: cleanEnv({
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'cfg'),
        AWS_CONFIG_FILE: files.configFile,
        AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
        AWS_ENDPOINT_URL_STS: sts.url,
        AWS_EC2_METADATA_DISABLED: 'true',
      }),
    }).then((r) => ({ ...r, files }));
  };

  const inConfig = await run(`[default]\nregion = us-east-1\n\n${HAZARD}`, keys);
  t.equal(inConfig.code, 1, inConfig.stderr);
  t.match(
    inConfig.stderr,
    `the AWS config file ${inConfig.files.configFile} has a section [constructor], which the AWS SDK for JavaScript writes onto JavaScript's built-in objects`,
  );
  t.match(inConfig.stderr, /Hint: Rename or remove \[constructor\]/);
  notPolluted(t);

  const inCredentials = await run('[default]\nregion = us-east-1\n', `${keys}\n${HAZARD}`);
  t.equal(inCredentials.code, 1, inCredentials.stderr);
  t.match(
    inCredentials.stderr,
    `the AWS config file ${inCredentials.files.credentialsFile} has a section [constructor]`,
  );
  notPolluted(t);
  t.equal(sts.calls.GetCallerIdentity, 0, 'no call reached STS');

  const clean = await run('[default]\nregion = us-east-1\n', keys);
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, /arn:aws:iam::123456789012:user\/alice/);
  t.equal(sts.calls.GetCallerIdentity, 1, 'a clean file: whoami asks STS');
});

t.test('an admin command on a table (requests --table): refused, no DynamoDB call', async (t) => {
  const team = await startTeamTable(t, { proxy: true });
  await ensureTable(team.client, REQUEST_TABLE, 'team-requests', { pollMs: 5 });
  const run = (config: string, credentials: string) => {
    const dir = tempDir(t);
    const files = writeAwsConfig(dir, { config, credentials });
    return sentinelInProcess(['requests', '--table', 'team-requests'], {
      env: cleanEnv({
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'cfg'),
        AWS_CONFIG_FILE: files.configFile,
        AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
        AWS_ENDPOINT_URL_DYNAMODB: team.url,
        AWS_ACCESS_KEY_ID: 'AKIDHAZARDADMIN',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      }),
    }).then((r) => ({ ...r, files }));
  };

  const inConfig = await run(HAZARD, '');
  t.not(inConfig.code, 0, inConfig.stderr);
  t.match(inConfig.stderr, `the AWS config file ${inConfig.files.configFile} has a section [constructor]`);
  notPolluted(t);
  const inCredentials = await run('', HAZARD);
  t.not(inCredentials.code, 0, inCredentials.stderr);
  t.match(
    inCredentials.stderr,
    `the AWS config file ${inCredentials.files.credentialsFile} has a section [constructor]`,
  );
  notPolluted(t);
  const misread = await run('[profile __proto__]\nregion = us-east-1\n', '');
  t.not(misread.code, 0, misread.stderr);
  t.match(
    misread.stderr,
    `the AWS config file ${misread.files.configFile} has a section [profile __proto__], which makes the AWS SDK for JavaScript read the whole file as empty`,
  );
  t.equal(team.proxy!.operations.length, 0, 'no call reached DynamoDB');

  const clean = await run('[default]\nregion = us-east-1\n', '');
  t.equal(clean.code, 0, clean.stderr);
  t.ok(team.proxy!.operations.length > 0, 'a clean file: the table is read');
});

t.test('a daemon with a DynamoDB session store does not start', async (t) => {
  const team = await startTeamTable(t, { proxy: true });
  const start = (on: { url: string; table: string }, files: { awsConfig?: string; awsCredentials?: string }) =>
    startDaemon(t, { config: teamConfig(on.table), env: { AWS_ENDPOINT_URL_DYNAMODB: on.url }, ...files });

  await t.rejects(
    start(team, { awsConfig: `${DEFAULT_AWS_CONFIG}\n${HAZARD}` }),
    { code: 'BaseCredentialsUnavailable', message: /\/config has a section \[constructor\]/ },
    'a [constructor] section in the config file',
  );
  await t.rejects(
    start(team, { awsCredentials: `${DEFAULT_AWS_CREDENTIALS}\n${HAZARD}` }),
    { code: 'BaseCredentialsUnavailable', message: /\/credentials has a section \[constructor\]/ },
    'a [constructor] section in the credentials file',
  );

  // A daemon on clean files, on a table of its own, started after them: once its start-up check of the table is done,
  // a daemon that had started on the files above would have checked its table (and read the files) too.
  const other = await startTeamTable(t, { proxy: true, table: 'other-sessions' });
  const d = await start(other, {});
  const status = await until(
    () => d.client.get<{ session_table: string; session_table_check: { code: string | null } | null }>('/v1/status'),
    (s) => s.session_table_check !== null,
    10_000,
  );
  t.equal(status.session_table, 'other-sessions');
  t.equal(status.session_table_check!.code, null, 'clean files: the daemon starts and reaches its table');
  t.ok(other.proxy!.operations.length > 0, 'the clean daemon called DynamoDB');
  t.equal(team.proxy!.operations.length, 0, 'no call reached the table of the refused daemons');
  notPolluted(t);
});

t.test('a daemon with an SSM policy source loads no policy; renaming the section is enough', async (t) => {
  const ssm = await startSsm();
  t.teardown(() => ssm.close());
  const d = await startDaemon(t, {
    policy: null,
    config: 'aws_profile: base\npolicy: { source: ssm, refresh: 1h }\n',
    awsConfig: `${DEFAULT_AWS_CONFIG}\n${HAZARD}`,
    env: { AWS_ENDPOINT_URL_SSM: ssm.url },
  });
  const reload = async () =>
    (await d.client.post<{ policy: { lastError: string | null; version: string | null } }>('/v1/policy/reload', {}))
      .policy;
  const refused = await reload();
  t.match(refused.lastError, /has a section \[constructor\], which the AWS SDK for JavaScript writes onto/);
  t.equal(refused.version, null, 'no policy is loaded: every request is denied');
  t.equal(
    Object.values(ssm.calls).reduce((a, b) => a + b, 0),
    0,
    'no call reached SSM',
  );
  notPolluted(t);

  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  const fixed = await reload();
  t.equal(fixed.lastError === null || !/constructor/.test(fixed.lastError), true, 'the refusal is gone');
  t.ok(Object.values(ssm.calls).reduce((a, b) => a + b, 0) > 0, 'the next fetch asks SSM');
});

t.test('a daemon that makes no AWS client of its own (memory store, policy file) still starts', async (t) => {
  // It serves no profile from the files while the section is there (docs/credentials.md), but it runs and says why.
  const d = await startDaemon(t, { awsConfig: `${DEFAULT_AWS_CONFIG}\n${HAZARD}` });
  const status = await d.client.get<{ session_table: string | null }>('/v1/status');
  t.equal(status.session_table, null);
  await t.rejects(d.openSession('base'), { code: 'BaseCredentialsUnavailable' }, 'no profile is served');
  notPolluted(t);
});
