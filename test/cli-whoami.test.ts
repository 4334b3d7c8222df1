// `sentinel whoami` as a real subprocess calling sts:GetCallerIdentity on the STS emulator: the profile's principal and
// the policy user name; inside `sentinel exec` it reports the role session the daemon vended. Bad input and STS
// failures end with an exit code and a hint, never raw AWS text.
import t from 'tap';
import { join } from 'node:path';
import { writeAwsConfig } from './support/aws-env.js';
import { startSts } from './support/sts-emulator.js';
import { startDaemon } from './support/daemon.js';
import { cleanEnv, ENTRY, requireBuild, sentinel, tempDir, userEnv } from './support/cli.js';

/** A user's environment with only these AWS files and STS at the emulator. */
function whoamiEnv(dir: string, files: { configFile: string; credentialsFile: string }, stsUrl: string) {
  return cleanEnv({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'cfg'),
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
    AWS_ENDPOINT_URL_STS: stsUrl,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
}

const ASSUMED = 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Ops_1a2b/alice.smith@example.com';

t.test('whoami against the STS emulator', async (t) => {
  const sts = await startSts({
    identities: { AKIAWHOAMIALICE: 'arn:aws:iam::123456789012:user/team/alice', AKIAWHOAMIOPS: ASSUMED },
  });
  t.teardown(() => sts.close());
  const dir = tempDir(t);
  const files = writeAwsConfig(dir, {
    config: '[profile alice]\nregion = eu-west-1\n\n[profile ops]\n\n[profile stranger]\n',
    credentials:
      '[alice]\naws_access_key_id = AKIAWHOAMIALICE\naws_secret_access_key = s1\n\n[ops]\naws_access_key_id = AKIAWHOAMIOPS\naws_secret_access_key = s2\n\n[stranger]\naws_access_key_id = AKIAUNKNOWNKEY\naws_secret_access_key = s3\n',
  });
  const env = whoamiEnv(dir, files, sts.url);

  // Independent runs, at once. The first has no AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED in its environment:
  // the binary silences the SDK's Node 20 warning itself, so its stderr stays empty.
  const [json, human, stranger, missing, typo, badRegion] = await Promise.all([
    sentinel(t, ['whoami', '--profile', 'alice', '--json'], {
      env: { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined },
    }),
    sentinel(t, ['whoami'], { env: { ...env, AWS_PROFILE: 'ops' } }),
    sentinel(t, ['whoami', '--profile', 'stranger'], { env }),
    sentinel(t, ['whoami', '--profile', 'nosuch'], { env }),
    sentinel(t, ['whoami', '--profile', 'alcie'], { env }),
    sentinel(t, ['whoami', '--profile', 'alice', '--region', 'not a region'], { env }),
  ]);
  t.equal(json.code, 0, json.stderr);
  t.same(JSON.parse(json.stdout), {
    arn: 'arn:aws:iam::123456789012:user/team/alice',
    account: '123456789012',
    type: 'user',
    rawName: 'alice',
    policyName: 'alice',
    profile: 'alice',
  });
  t.equal(json.stderr, '', 'no NodeVersionSupportWarning (or anything else) on stderr');

  t.equal(human.code, 0, human.stderr);
  t.match(
    human.stdout,
    new RegExp(
      `^ARN +${ASSUMED.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\nAccount +123456789012\nType +assumed-role\nRaw name +alice\\.smith@example\\.com\nPolicy name +alicesmithexamplecom\nProfile +ops\n$`,
    ),
    'AWS_PROFILE is used without --profile; policy name = letters and digits',
  );

  t.equal(stranger.code, 1);
  t.equal(stranger.stdout, '');
  t.match(
    stranger.stderr,
    /^Error: sts:GetCallerIdentity failed for profile stranger \(InvalidClientTokenId\)\nHint: /,
  );

  t.equal(missing.code, 1);
  t.match(missing.stderr, /^Error: no profile "nosuch" in the AWS config$/m);
  t.equal(typo.code, 1);
  t.match(
    typo.stderr,
    /^Error: no profile "alcie" in the AWS config \(did you mean "alice"\?\)$/m,
    'as `use` suggests',
  );

  t.equal(badRegion.code, 2);

  sts.failNext('GetCallerIdentity', { code: 'Throttling', message: 'Rate exceeded: raw AWS text' }, 5);
  const throttled = await sentinel(t, ['whoami', '--profile', 'alice'], { env });
  t.equal(throttled.code, 1);
  t.match(throttled.stderr, /\(Throttling\)/);
  t.notMatch(throttled.stderr, /raw AWS text/, 'no raw AWS error text');

  // (`whoami --help` and its examples: cli-help.test.ts, for every command.)
});

t.test('whoami inside sentinel exec reports the role session the daemon vended', async (t) => {
  requireBuild();
  const d = await startDaemon(t);
  const r = await sentinel(t, ['exec', 'dev', '--', process.execPath, ENTRY, 'whoami', '--json'], {
    env: userEnv(d, { AWS_ENDPOINT_URL_STS: d.sts.url }),
  });
  t.equal(r.code, 0, r.stderr);
  const me = JSON.parse(r.stdout);
  t.equal(me.type, 'assumed-role');
  t.match(me.arn, /^arn:aws:sts::111111111111:assumed-role\/dev\/sentinel-alice-/);
  t.equal(me.profile, null, 'the default chain: the container endpoint');
});

t.test('whoami: no credentials for the profile, and a principal no policy user name can be made from', async (t) => {
  const sts = await startSts({ identities: { AKIAWHOAMISYMBOLS: 'arn:aws:iam::123456789012:user/___' } });
  t.teardown(() => sts.close());
  const dir = tempDir(t);
  const files = writeAwsConfig(dir, {
    config: '[profile nokeys]\nregion = eu-west-1\n\n[profile symbols]\nregion = eu-west-1\n',
    credentials: '[symbols]\naws_access_key_id = AKIAWHOAMISYMBOLS\naws_secret_access_key = s1\n',
  });
  const env = whoamiEnv(dir, files, sts.url);
  const [nokeys, symbols] = await Promise.all([
    sentinel(t, ['whoami', '--profile', 'nokeys', '--json'], { env }),
    sentinel(t, ['whoami', '--profile', 'symbols'], { env }),
  ]);
  t.equal(nokeys.code, 1);
  const error = JSON.parse(nokeys.stdout || nokeys.stderr).error as { code: string; message: string; hint: string };
  t.equal(error.code, 'BaseCredentialsUnavailable');
  t.match(error.message, /^no credentials could be resolved for profile nokeys \(\w+\)$/);
  t.match(error.hint, /aws sts get-caller-identity --profile nokeys/);
  t.equal(sts.calls.GetCallerIdentity, 1, 'STS is not asked without credentials (only symbols asked)');

  t.equal(symbols.code, 1);
  t.match(
    symbols.stderr,
    /^Error: STS answered arn:aws:iam::123456789012:user\/___, which cannot be a Sentinel user: .*no ASCII letters or digits.*\nHint: Sentinel needs base credentials of an IAM user/,
  );
});
