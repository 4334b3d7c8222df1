// Item 13 of issue 9 (DESIGN §8): inside a session AWS_CONFIG_FILE is a private, allowlisted copy of the user's config.
// Proven with the real AWS CLI and botocore: no profile resolves credentials ahead of the daemon's (static keys,
// credential_process, source_profile, sso_*), while output = text, per-profile regions and list-profiles still work.
import t from 'tap';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { filterAwsConfig } from '../cli/session-aws-config.js';
import { DEFAULT_AWS_CONFIG, startDaemon } from './support/daemon.js';
import { requireBuild, sentinel, userEnv } from './support/cli.js';

const LEAKED_KEY = 'AKIALEAKEDLEAKED0000';

t.test('filterAwsConfig keeps only allowlisted settings', async (t) => {
  const out = filterAwsConfig(`[default]
output = text
cli_pager =
aws_access_key_id = ${LEAKED_KEY}
aws_secret_access_key = secret
aws_future_credential_key = whatever
s3 =
  max_concurrent_requests = 4
  addressing_style = path
[profile a]
region = ap-southeast-2
credential_process = /bin/false
source_profile = default
role_arn = arn:aws:iam::123456789012:role/x
sso_session = corp
web_identity_token_file = /tmp/token
endpoint_url = http://127.0.0.1:1
[sso-session corp]
sso_start_url = https://example.awsapps.com/start
[services local]
sts =
  endpoint_url = http://127.0.0.1:2
  credential_process = /bin/false
[weird]
region = x
`);
  t.match(out, /\[default\]\noutput = text\n/);
  t.match(out, /s3 =\n {2}max_concurrent_requests = 4\n {2}addressing_style = path/);
  t.match(out, /\[profile a\]\nregion = ap-southeast-2\nendpoint_url = http:\/\/127\.0\.0\.1:1\n/);
  t.match(out, /\[services local\]\nsts =\n {2}endpoint_url = http:\/\/127\.0\.0\.1:2\n/);
  for (const gone of [
    LEAKED_KEY,
    'secret',
    'aws_future',
    'credential_process',
    'source_profile',
    'role_arn',
    'sso',
    'web_identity',
    '[weird]',
  ]) {
    t.notOk(out.includes(gone), `${gone} is dropped`);
  }
});

t.test('hostile input: control characters and oversized values are dropped, nothing crashes', async (t) => {
  const out = filterAwsConfig(
    `[default]\nregion = eu\u0007west-1\noutput = ${'x'.repeat(5000)}\ncli_pager = less\n[profile \u0000]\nregion = a\n`,
  );
  t.notOk(out.includes('\u0007'));
  t.notOk(out.includes('xxxxx'));
  t.match(out, /cli_pager = less/);
  t.notOk(out.includes('\u0000'));
  t.equal(
    filterAwsConfig('\u0000\u0001garbage ]]] [[[ = ='),
    '# Written by Sentinel for its sessions; edit your AWS config, not this copy.\n',
  );
});

t.test('the real AWS CLI and botocore inside `sentinel exec`', async (t) => {
  requireBuild();
  const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp('/tmp/sentinel-awscfg-'));
  t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true, force: true })));
  const marker = join(dir, 'credential-process-ran');
  const awsConfig = `${DEFAULT_AWS_CONFIG}
[default]
output = text
credential_process = /bin/sh -c 'touch ${marker}; exit 1'

[profile keys]
region = ap-southeast-2
aws_access_key_id = ${LEAKED_KEY}
aws_secret_access_key = leakedsecretleakedsecretleakedsecret00

[profile proc]
region = sa-east-1
credential_process = /bin/sh -c 'touch ${marker}; exit 1'

[profile chained]
role_arn = arn:aws:iam::123456789012:role/chained
source_profile = keys

[profile sso]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Admin
`;
  const d = await startDaemon(t, { awsConfig });
  const env = userEnv(d, { AWS_ENDPOINT_URL_STS: d.env.AWS_ENDPOINT_URL_STS });
  const issued = (key: string) => d.sts.issued.some((c) => c.accessKeyId === key);

  const script = `set -e
for p in keys proc chained sso default; do
  printf '%s ' "$p"; /usr/bin/aws configure export-credentials --profile "$p" --format process | tr -d '\\n'; echo
done
echo "REGION $(/usr/bin/aws configure get region --profile keys)"
echo "PROFILES $(/usr/bin/aws configure list-profiles | sort | tr '\\n' ' ')"
echo "CALLER $(/usr/bin/aws sts get-caller-identity --endpoint-url "$AWS_ENDPOINT_URL_STS" --query Arn)"
echo "CONFIG $AWS_CONFIG_FILE"
/usr/bin/python3 -c '
import botocore.session
for p in ["keys", "proc", "chained", "default"]:
    s = botocore.session.Session(profile=p)
    print("BOTO", p, s.get_credentials().get_frozen_credentials().access_key, s.get_scoped_config().get("region"))
'`;
  const r = await sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', script], { env, timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  for (const p of ['keys', 'proc', 'chained', 'sso', 'default']) {
    const line = lines.find((l) => l.startsWith(`${p} `));
    t.ok(line, `export-credentials ran for ${p}`);
    const creds = JSON.parse(line!.slice(p.length + 1));
    t.ok(issued(creds.AccessKeyId), `profile ${p} resolves the daemon's credentials in the AWS CLI`);
  }
  for (const p of ['keys', 'proc', 'chained', 'default']) {
    const m = new RegExp(`^BOTO ${p} (\\S+) (\\S+)$`, 'm').exec(r.stdout);
    t.ok(m && issued(m[1]!), `botocore: profile ${p} resolves the daemon's credentials`);
  }
  t.match(r.stdout, /^BOTO keys \S+ ap-southeast-2$/m, "botocore sees the profile's region");
  t.match(r.stdout, /^BOTO proc \S+ sa-east-1$/m);
  t.match(r.stdout, /^REGION ap-southeast-2$/m, "the AWS CLI sees the profile's region");
  t.match(r.stdout, /^PROFILES .*\bchained\b.*\bdev\b.*\bkeys\b.*\bproc\b.*\bsso\b/m, 'list-profiles lists them');
  t.match(r.stdout, /^CALLER arn:aws:sts::\d+:assumed-role\/\S+$/m, 'output = text applies (no JSON quotes)');
  t.notOk(existsSync(marker), 'no credential_process ran');
  t.notOk(r.stdout.includes(LEAKED_KEY));

  const copy = /^CONFIG (\S+)$/m.exec(r.stdout)![1]!;
  t.equal(dirname(copy), d.runtimeDir, 'the copy lives in the runtime directory');
  t.equal(statSync(copy).mode & 0o777, 0o600);
  t.equal(statSync(d.runtimeDir).mode & 0o777, 0o700);
  const text = readFileSync(copy, 'utf8');
  for (const gone of [LEAKED_KEY, 'credential_process', 'source_profile', 'role_arn', 'sso_'])
    t.notOk(text.includes(gone));

  await t.test('rebuilt when the original changes', async (t) => {
    writeFileSync(d.awsConfigFile, `${awsConfig}\n[profile later]\nregion = ca-central-1\n`);
    const r2 = await sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'echo "CONFIG $AWS_CONFIG_FILE"'], { env });
    t.equal(r2.code, 0, r2.stderr);
    t.equal(/^CONFIG (\S+)$/m.exec(r2.stdout)?.[1], copy, 'same copy');
    t.match(readFileSync(copy, 'utf8'), /\[profile later\]\nregion = ca-central-1/);
  });
});
