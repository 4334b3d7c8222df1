// `sentinel credentials` as a real credential_process in a temporary ~/.aws/config, used by the JS SDK's default chain,
// botocore and the AWS CLI, against the real daemon (STS emulator behind it). A policy refusal reaches each SDK as an
// error (and the helper exits 3); a stopped daemon is exit 4.
import t from 'tap';
import { appendFileSync } from 'node:fs';
import { startDaemon, runProcess } from './support/daemon.js';
import { ENTRY, requireBuild, sentinel, userEnv } from './support/cli.js';

const JS_SDK = `import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
const c = await fromNodeProviderChain({ profile: process.argv[1] })();
process.stdout.write(JSON.stringify({ AccessKeyId: c.accessKeyId, Token: c.sessionToken, Expiration: c.expiration?.toISOString() }));`;

const BOTOCORE = `import json, sys, botocore.session
f = botocore.session.Session(profile=sys.argv[1]).get_credentials().get_frozen_credentials()
print(json.dumps({"AccessKeyId": f.access_key, "Token": f.token}))`;

t.test('credential_process through the real daemon', async (t) => {
  requireBuild();
  const d = await startDaemon(t);
  // The profiles the SDKs use: each asks Sentinel for a role profile the daemon reads from the same config.
  appendFileSync(
    d.awsConfigFile,
    `
[profile dev-sentinel]
credential_process = ${process.execPath} ${ENTRY} credentials --profile dev

[profile prod-sentinel]
credential_process = ${process.execPath} ${ENTRY} credentials --profile prod
`,
  );
  const env = userEnv(d, { AWS_PROFILE: undefined, AWS_REGION: 'us-east-1' }) as Record<string, string>;
  const issued = () => d.sts.issued;
  const cwd = process.cwd(); // node_modules for the JS SDK

  // The three clients are independent: they run at once (each is a process start plus a credential_process one).
  const [js, boto, cli] = await Promise.all([
    runProcess(process.execPath, ['--input-type=module', '-e', JS_SDK, 'dev-sentinel'], { env, cwd }),
    runProcess('/usr/bin/python3', ['-I', '-c', BOTOCORE, 'dev-sentinel'], { env }),
    runProcess(
      '/usr/bin/aws',
      ['configure', 'export-credentials', '--profile', 'dev-sentinel', '--format', 'process'],
      { env },
    ),
  ]);
  t.equal(js.code, 0, js.stderr);
  const jsCreds = JSON.parse(js.stdout);
  t.ok(
    issued().some((c) => c.accessKeyId === jsCreds.AccessKeyId && c.sessionToken === jsCreds.Token),
    'JS SDK: credentials the emulator issued',
  );
  t.ok(!Number.isNaN(Date.parse(jsCreds.Expiration)), 'JS SDK read the Expiration');

  t.equal(boto.code, 0, boto.stderr);
  const botoCreds = JSON.parse(boto.stdout);
  t.ok(
    issued().some((c) => c.accessKeyId === botoCreds.AccessKeyId && c.sessionToken === botoCreds.Token),
    'botocore: credentials the emulator issued',
  );

  t.equal(cli.code, 0, cli.stderr);
  t.ok(
    issued().some((c) => c.accessKeyId === JSON.parse(cli.stdout).AccessKeyId),
    'AWS CLI: credentials the emulator issued',
  );

  const decisions = await d.decisions();
  t.ok(
    decisions.some((e) => e.mode === 'credential_process' && e.profile === 'dev' && e.outcome === 'allow'),
    'decided in mode credential_process',
  );

  // prod is require_server: credential_process is refused, and each SDK surfaces the daemon's message.
  const [direct, jsDenied, botoDenied, unknown] = await Promise.all([
    sentinel(t, ['credentials', '--profile', 'prod'], { env }),
    runProcess(process.execPath, ['--input-type=module', '-e', JS_SDK, 'prod-sentinel'], { env, cwd }),
    runProcess('/usr/bin/python3', ['-I', '-c', BOTOCORE, 'prod-sentinel'], { env }),
    sentinel(t, ['credentials', '--profile', 'dve'], { env }),
  ]);
  t.equal(direct.code, 3);
  t.equal(direct.stdout, '');
  t.match(direct.stderr, /^Error: .+\nHint: /);
  t.not(jsDenied.code, 0, 'JS SDK got no credentials');
  t.not(botoDenied.code, 0, 'botocore got no credentials');
  t.match(botoDenied.stderr, /Error: /, "botocore shows the helper's stderr");

  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no profile "dve" in the AWS config \(did you mean "dev"\?\)/, 'close matches');

  await d.stop();
  const stopped = await sentinel(t, ['credentials', '--profile', 'dev'], { env });
  t.equal(stopped.code, 4);
  t.equal(stopped.stdout, '');
  t.match(stopped.stderr, /Hint: Start it with `sentinel daemon start`/);
});
