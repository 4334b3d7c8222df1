// Vending end to end: the real SDK clients and credential providers, the user's AWS config in temp files, the strict
// STS emulator on loopback.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { newRequestId } from '../core/identity/source-identity.js';
import fc from 'fast-check';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { createVendor, type VendorDeps } from '../daemon/vending/vendor.js';
import type { Vendor, VendRequest } from '../core/issuer/types.js';
import { awsEnv, withEnv, writeAwsConfig } from './support/aws-env.js';
import { ownProcessGroup } from './support/processes.js';
import { startSts, type StsEmulator } from './support/sts-emulator.js';

const ACCOUNT = '111122223333';
const BASE_KEY = 'AKIAEXAMPLEBASE00001';
const BASE_SECRET = 'baseSecretKeyDoNotLeak0000000000000000001';
const PROCESS_KEY = 'AKIAEXAMPLEPROCESS01';
const PROCESS_SECRET = 'processSecretDoNotLeak000000000000000001';
const ENV_KEY = 'AKIAEXAMPLEENVIRON01';
const ENV_SECRET = 'environmentSecretDoNotLeak00000000000001';
const SESSION_KEY_STATIC = 'ASIAEXAMPLESTATIC001';
const PROD_ROLE = `arn:aws:iam::${ACCOUNT}:role/prod-admin`;
const STDERR_SECRET = 'hunter2';
const COMMAND_LINE_SECRET = 'opensesame';

interface Harness {
  sts: StsEmulator;
  dir: string;
  logLines: string[];
  vendor(options?: { allowUnstamped?: boolean; env?: NodeJS.ProcessEnv; deps?: Partial<VendorDeps> }): Vendor;
  processRuns(): number;
  /** The process group each run of the credential_process was in. */
  processGroups(): number[];
}

async function setup(t: Test): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-vend-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sts = await startSts({
    identities: {
      [BASE_KEY]: `arn:aws:iam::${ACCOUNT}:user/alice`,
      [PROCESS_KEY]: `arn:aws:iam::${ACCOUNT}:user/engineering/bob.smith`,
      [ENV_KEY]: `arn:aws:iam::${ACCOUNT}:user/carol`,
    },
  });
  t.teardown(() => sts.close());

  // credential_process as aws-vault provides it: a command printing Version 1 JSON. It counts its runs, noting the
  // process group each ran in.
  const script = join(dir, 'fake-aws-vault.sh');
  writeFileSync(
    script,
    `#!/bin/sh\necho "run $(cut -d' ' -f5 /proc/$$/stat)" >> '${join(dir, 'runs')}'\n` +
      `printf '%s' '{"Version":1,"AccessKeyId":"${PROCESS_KEY}","SecretAccessKey":"${PROCESS_SECRET}"}'\n`,
  );
  chmodSync(script, 0o700);
  const failing = join(dir, 'failing-process.sh');
  // Its stderr and its command line hold secrets no pattern recognises (a short passphrase, a lowercase token).
  writeFileSync(
    failing,
    `#!/bin/sh\necho "unlock failed for ${BASE_SECRET}: keychain password ${STDERR_SECRET}" >&2\nexit 1\n`,
  );
  chmodSync(failing, 0o700);

  const files = writeAwsConfig(dir, {
    config: `
[default]
region = us-east-1

[profile base]
region = us-east-1

[profile prod]
role_arn = ${PROD_ROLE}
source_profile = base
external_id = sentinel-ext-42
region = eu-west-1

[profile mid]
role_arn = arn:aws:iam::${ACCOUNT}:role/mid-role
source_profile = base
role_session_name = dave

[profile app]
role_arn = arn:aws:iam::${ACCOUNT}:role/app-role
source_profile = mid

[profile vault]
credential_process = ${script} base

[profile vaulted]
role_arn = arn:aws:iam::${ACCOUNT}:role/vaulted
source_profile = vault

[profile locked]
credential_process = ${failing} --passphrase=${COMMAND_LINE_SECRET}

[profile locked-role]
role_arn = arn:aws:iam::${ACCOUNT}:role/locked
source_profile = locked

[profile envrole]
role_arn = arn:aws:iam::${ACCOUNT}:role/from-env
credential_source = Environment

[profile self]
role_arn = arn:aws:iam::${ACCOUNT}:role/self-role
source_profile = self

[profile nokeys]
region = us-east-1

[profile orphan-role]
role_arn = arn:aws:iam::${ACCOUNT}:role/orphan
source_profile = nokeys

[profile dangling]
role_arn = arn:aws:iam::${ACCOUNT}:role/dangling
source_profile = does-not-exist

[profile stranger]
role_arn = arn:aws:iam::${ACCOUNT}:role/stranger
source_profile = unknown-keys

[profile sourceless]
role_arn = arn:aws:iam::${ACCOUNT}:role/sourceless

[profile webid]
role_arn = arn:aws:iam::${ACCOUNT}:role/web
web_identity_token_file = ${join(dir, 'token')}

[profile denied]
role_arn = arn:aws:iam::${ACCOUNT}:role/untrusting
source_profile = base

[profile sessionkeys]
region = us-east-1

[profile chain-mid]
role_arn = arn:aws:iam::${ACCOUNT}:role/chain-mid
source_profile = vault
external_id = chain-ext-7
role_session_name = chain-session
duration_seconds = 1800
region = eu-west-1

${[
  role('chain-app', 'chain-mid'),
  role('chain-inner', 'chain-mid'),
  role('chain-deep', 'chain-inner'),
  role('locked-mid', 'locked'),
  role('locked-app', 'locked-mid'),
  ...['loop-a', 'loop-b', 'loop-c'].map((name, i, all) => role(name, all[(i + 1) % 3]!)),
  role('loop-app', 'loop-a'),
  role('lost-mid', 'nowhere'),
  role('lost-app', 'lost-mid'),
  role('selfless-mid', 'selfless-mid'),
  role('selfless-app', 'selfless-mid'),
  role('mfa-mid', 'base', `mfa_serial = arn:aws:iam::${ACCOUNT}:mfa/alice\n`),
  role('mfa-app', 'mfa-mid'),
  ...Array.from({ length: 12 }, (_, i) => role(`long-${i}`, i === 11 ? 'base' : `long-${i + 1}`)),
].join('\n')}
`,
    credentials: `
[base]
aws_access_key_id = ${BASE_KEY}
aws_secret_access_key = ${BASE_SECRET}

[self]
aws_access_key_id = ${BASE_KEY}
aws_secret_access_key = ${BASE_SECRET}

[unknown-keys]
aws_access_key_id = AKIAEXAMPLEUNKNOWN01
aws_secret_access_key = unknownSecretDoNotLeak0000000000000000001

[sessionkeys]
aws_access_key_id = ${SESSION_KEY_STATIC}
aws_secret_access_key = staticSessionSecretDoNotLeak000000000001
aws_session_token = staticSessionTokenDoNotLeak
`,
  });
  withEnv(t, {
    ...awsEnv({ sts: sts.url }),
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
  });
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });
  const processGroups = () => {
    try {
      return readFileSync(join(dir, 'runs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => Number(line.split(' ')[1]));
    } catch {
      return [];
    }
  };
  return {
    sts,
    dir,
    logLines,
    vendor(options = {}) {
      const config = resolveConfig({ credentials: { allow_unstamped: options.allowUnstamped ?? false } }, 'test.yaml', {
        HOME: dir,
      });
      const v = createVendor(config, { log, env: options.env ?? process.env, ...options.deps });
      t.teardown(() => v.close());
      return v;
    },
    processRuns: () => processGroups().length,
    processGroups,
  };
}

/** A role profile of the test config: role/<name>, assumed from `source`. */
function role(name: string, source: string, more = ''): string {
  return `[profile ${name}]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/${name}\nsource_profile = ${source}\n${more}`;
}

/** A session id (16 hex) named by a label, so a test reads which session it means. */
const sid = (label: string) => createHash('sha256').update(label).digest('hex').slice(0, 16);

const request = (over: Partial<VendRequest> = {}): VendRequest => ({
  sessionId: sid('session-1'),
  requestId: newRequestId(),
  profile: 'prod',
  user: 'alice',
  marker: 'direct',
  durationSeconds: 1200,
  ...over,
});

async function failure(p: Promise<unknown>): Promise<SentinelError> {
  const e = await p.then(
    () => undefined,
    (x) => x,
  );
  if (!(e instanceof SentinelError)) throw new Error(`expected a SentinelError, got ${String(e)}`);
  return e;
}

/** Everything a caller or a log could show of an error. */
const visible = (e: SentinelError) => JSON.stringify({ ...e.toBody(), message: e.message, hint: e.hint });

t.test('static-key source + role profile: AssumeRole stamped as DESIGN §4 says', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const vended = await vendor.credentials(request());
  t.equal(h.sts.calls.AssumeRole, 1);
  const sent = h.sts.assumeRoleRequests[0]!;
  t.equal(sent.outcome, 'ok');
  t.equal(sent.RoleArn, PROD_ROLE);
  t.equal(sent.accessKeyId, BASE_KEY, "signed with the source profile's keys");
  t.match(vended.issueRequestId, /^[0-9a-f]{16}$/);
  t.equal(sent.SourceIdentity, `sentinel-alice-direct-${sid('session-1')}`, 'the session id in SourceIdentity');
  t.equal(sent.RoleSessionName, `sentinel-alice-${vended.issueRequestId}`, 'the request id in RoleSessionName');
  t.equal(sent.DurationSeconds, 1200);
  t.equal(sent.ExternalId, 'sentinel-ext-42');
  t.equal(vended.sourceIdentity, sent.SourceIdentity);
  t.equal(vended.roleArn, PROD_ROLE);
  t.equal(vended.fromCache, false);
  const issued = h.sts.issued[0]!;
  t.same(vended.credentials, {
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    Token: issued.sessionToken,
    Expiration: issued.expiration,
    AccountId: ACCOUNT,
  });

  const again = await vendor.credentials(request());
  t.equal(again.fromCache, true);
  t.same(again.credentials, vended.credentials);
  t.equal(h.sts.calls.AssumeRole, 1, 'served from cache');

  await vendor.credentials(
    request({ sessionId: sid('session-2'), user: 'alice', marker: 'breakglass', durationSeconds: 60 }),
  );
  const second = h.sts.assumeRoleRequests[1]!;
  t.equal(second.SourceIdentity, `sentinel-alice-breakglass-${sid('session-2')}`);
  t.equal(second.DurationSeconds, 900, 'a cap below 15 minutes is raised to what STS accepts');
  await vendor.credentials(request({ sessionId: sid('session-3'), durationSeconds: 10 ** 9 }));
  t.equal(h.sts.assumeRoleRequests[2]!.DurationSeconds, 43200);
  t.equal(h.sts.calls.GetCallerIdentity, 0, 'vending does not need the identity call');
});

t.test('the emulator accepts every SourceIdentity and RoleSessionName built from hostile user names', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const names = fc.sample(
    fc
      .tuple(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.constantFrom('a', 'Z', '9'),
        fc.string({ maxLength: 60 }),
      )
      .map(([a, b, c]) => `${a}${b}:${c}`),
    { numRuns: 25, seed: 42 },
  );
  for (const [i, user] of names.entries()) {
    await vendor.credentials(
      request({ sessionId: sid(`s-${i}`), user, marker: (['direct', 'approved', 'breakglass'] as const)[i % 3]! }),
    );
  }
  t.equal(h.sts.assumeRoleRequests.length, names.length);
  t.ok(
    h.sts.assumeRoleRequests.every((r) => r.outcome === 'ok'),
    'STS validation passed for every call',
  );
  t.ok(h.sts.assumeRoleRequests.every((r) => !r.SourceIdentity!.includes(':')));
});

t.test("identify: GetCallerIdentity on the source's base credentials, cached per access key", async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  t.same(await vendor.identify('prod'), {
    arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
    account: ACCOUNT,
    type: 'user',
    rawName: 'alice',
    policyName: 'alice',
  });
  await vendor.identify('prod');
  await vendor.identify('denied');
  t.equal(h.sts.calls.GetCallerIdentity, 1, 'one call for the one base key');
  const bob = await vendor.identify('vaulted');
  t.same([bob.rawName, bob.policyName], ['bob.smith', 'bobsmith']);
  const id = await vendor.identify('self');
  t.equal(id.policyName, 'alice', 'a role profile that is its own source uses its own keys');
  const e = await failure(vendor.identify('stranger'));
  t.equal(e.code, 'BaseCredentialsUnavailable', 'keys STS does not know');
  t.match(e.message, /rejected the base credentials of profile "stranger" \(InvalidClientTokenId\)/);
});

t.test(
  'a source_profile chain: Sentinel assumes the intermediate role unstamped, and stamps the last hop',
  async (t) => {
    const h = await setup(t);
    const vendor = h.vendor();
    const who = await vendor.identify('app');
    t.same(
      [who.type, who.rawName, who.policyName],
      ['assumed-role', 'mid-role', 'midrole'],
      'the intermediate role is the caller; its session name (dave) is not trusted, since mid-role is no SSO role (DESIGN §5.3)',
    );
    const vended = await vendor.credentials(request({ profile: 'app', user: who.policyName, durationSeconds: 900 }));
    const [first, last] = [h.sts.assumeRoleRequests[0]!, h.sts.assumeRoleRequests.at(-1)!];
    t.equal(first.RoleArn, `arn:aws:iam::${ACCOUNT}:role/mid-role`);
    t.equal(first.accessKeyId, BASE_KEY);
    t.equal(first.SourceIdentity, undefined, 'the intermediate hop is not stamped');
    t.equal(last.RoleArn, `arn:aws:iam::${ACCOUNT}:role/app-role`);
    t.equal(last.accessKeyId, h.sts.issued[0]!.accessKeyId, "signed with the intermediate role's credentials");
    t.equal(last.SourceIdentity, vended.sourceIdentity);
    t.equal(h.sts.calls.AssumeRole, 2, 'the intermediate credentials were reused between identify and vend');
  },
);

t.test(
  'chains rooted in a credential_process: each role assumed with the right caller, the command run here',
  async (t) => {
    const h = await setup(t);
    const vendor = h.vendor();
    const calls = () => h.sts.assumeRoleRequests.map((r) => ({ role: r.RoleArn.split('/')[1], by: r.accessKeyId }));

    // Two hops: chain-app's base is chain-mid's role, assumed with what chain-mid's source (vault) printed.
    const app = await vendor.identify('chain-app');
    t.equal(app.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/chain-mid/chain-session`, 'the caller is the middle role');
    const mid = h.sts.assumeRoleRequests[0]!;
    t.same(calls(), [{ role: 'chain-mid', by: PROCESS_KEY }], 'chain-mid assumed with the credential_process keys');
    t.equal(mid.ExternalId, 'chain-ext-7', "the hop's external_id reaches STS");
    t.equal(mid.RoleSessionName, 'chain-session', 'and its role_session_name');
    t.equal(mid.DurationSeconds, 1800, 'and its duration_seconds');
    t.equal(mid.SourceIdentity, undefined, 'the hop is not stamped');
    const midKey = h.sts.issued[0]!.accessKeyId;
    const vended = await vendor.credentials(request({ profile: 'chain-app', user: app.policyName }));
    t.same(calls().at(-1), { role: 'chain-app', by: midKey }, "Sentinel's stamped call signed by the middle role");
    t.equal(h.sts.assumeRoleRequests.at(-1)!.SourceIdentity, vended.sourceIdentity);

    // Three hops: chain-deep → chain-inner → chain-mid → vault. chain-mid's credentials are reused.
    const deep = await vendor.identify('chain-deep');
    t.match(deep.arn, new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/chain-inner/sentinel-source-\\d+$`));
    t.same(calls().at(-1), { role: 'chain-inner', by: midKey }, 'chain-inner assumed with the middle role');
    const innerKey = h.sts.issued.at(-1)!.accessKeyId;
    await vendor.credentials(request({ sessionId: sid('deep'), profile: 'chain-deep', user: deep.policyName }));
    t.same(calls().at(-1), { role: 'chain-deep', by: innerKey });
    t.equal(h.sts.calls.AssumeRole, 4, 'one call per role: mid, app, inner, deep');

    t.equal(h.processRuns(), 1, 'the credential_process ran once for both chains');
    t.not(
      h.processGroups()[0],
      ownProcessGroup(),
      "in a process group of its own: Sentinel ran it, not the SDK's exec",
    );
  },
);

t.test('chains that cannot work are refused before anything runs, with a clear message', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const refused = async (profile: string, message: RegExp, hint: RegExp) => {
    const e = await failure(vendor.credentials(request({ sessionId: sid(profile), profile })));
    t.equal(e.code, 'BaseCredentialsUnavailable', profile);
    t.match(e.message, message, profile);
    t.match(e.hint, hint, profile);
  };
  await refused(
    'loop-app',
    /the source_profile chain of profile "loop-app" is a cycle: loop-a → loop-b → loop-c → loop-a/,
    /Fix source_profile/,
  );
  await refused('loop-b', /is a cycle: loop-c → loop-a → loop-b → loop-c/, /Fix source_profile/);
  await refused(
    'lost-app',
    /profile "lost-mid" names source_profile "nowhere", which is not in the AWS config/,
    /aws configure list-profiles/,
  );
  await refused('selfless-app', /profile "selfless-mid" names itself as source_profile but has no/, /static keys/);
  await refused(
    'mfa-app',
    /profile "mfa-mid" on the source_profile chain of profile "mfa-app" needs an MFA code/,
    /aws-vault/,
  );
  await refused(
    'long-0',
    /the source_profile chain of profile "long-0" is longer than 10 profiles/,
    /Fix source_profile/,
  );
  t.equal(h.sts.calls.AssumeRole + h.sts.calls.GetCallerIdentity, 0, 'nothing reached STS');
  t.equal(h.processRuns(), 0);
  const longest = await vendor.identify('long-2');
  t.equal(longest.rawName, 'long-3', 'a chain of ten profiles, the most there may be, still resolves');
});

t.test('credential_process source (how aws-vault plugs in)', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const vended = await vendor.credentials(request({ profile: 'vaulted', user: 'bobsmith' }));
  const sent = h.sts.assumeRoleRequests[0]!;
  t.equal(sent.accessKeyId, PROCESS_KEY, 'signed with what the process printed');
  t.equal(sent.SourceIdentity, vended.sourceIdentity);
  await vendor.credentials(request({ sessionId: sid('session-2'), profile: 'vaulted', user: 'bobsmith' }));
  await vendor.identify('vaulted');
  t.equal(h.processRuns(), 1, 'the process ran once; its credentials are reused until they near expiry');
  vendor.reload();
  await vendor.identify('vaulted');
  t.equal(h.processRuns(), 2, 'reload resolves base credentials again');

  // The failing command as the source, and two roles further down a source_profile chain.
  for (const [i, profile] of ['locked-role', 'locked-app'].entries()) {
    const e = await failure(vendor.credentials(request({ sessionId: sid(`locked-${i}`), profile })));
    t.equal(e.code, 'BaseCredentialsUnavailable', profile);
    t.match(e.message, /profile "locked"/, `${profile}: names the profile of the command`);
    t.match(e.hint, /credential_process of profile locked/);
    for (const secret of [BASE_SECRET, STDERR_SECRET, COMMAND_LINE_SECRET]) {
      t.notOk(visible(e).includes(secret), `${profile}: ${secret} is not shown`);
      t.notOk(h.logLines.join('').includes(secret), `${secret}: the command line and stderr are not logged at all`);
    }
  }
  t.match(h.logLines.join(''), /credential_process/, 'the debug line still says what failed');
});

t.test('credential_source = Environment', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor({ env: { ...process.env, AWS_ACCESS_KEY_ID: ENV_KEY, AWS_SECRET_ACCESS_KEY: ENV_SECRET } });
  const vended = await vendor.credentials(request({ profile: 'envrole', user: 'carol' }));
  t.equal(h.sts.assumeRoleRequests[0]!.accessKeyId, ENV_KEY);
  t.equal(vended.roleArn, `arn:aws:iam::${ACCOUNT}:role/from-env`);
  const bare = h.vendor({ env: { ...process.env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined } });
  const e = await failure(bare.credentials(request({ profile: 'envrole' })));
  t.equal(e.code, 'BaseCredentialsUnavailable');
  t.match(e.message, /credential_source Environment/);
});

t.test('profiles: listing, close matches for unknown names, hostile names', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const names = (await vendor.profiles()).map((p) => p.name);
  t.ok(names.includes('prod') && names.includes('vaulted') && names.includes('self'));
  t.same(await vendor.profile('prod'), {
    name: 'prod',
    region: 'eu-west-1',
    roleArn: PROD_ROLE,
    sourceProfile: 'base',
    externalId: 'sentinel-ext-42',
    stampable: true,
  });
  const e = await failure(vendor.credentials(request({ profile: 'prdo' })));
  t.equal(e.code, 'ProfileUnknown');
  t.match(e.message, /did you mean "prod"/);
  const e2 = await failure(vendor.identify('vaultd'));
  t.equal(e2.code, 'ProfileUnknown');
  t.match(e2.message, /"vaulted"|"vault"/);
  for (const bad of ['../../etc/passwd', 'a b', '', 'x'.repeat(200), 'prod\n']) {
    t.equal(
      (await failure(vendor.credentials(request({ profile: bad })))).code,
      'BadRequest',
      JSON.stringify(bad).slice(0, 30),
    );
    t.equal((await failure(vendor.profile(bad))).code, 'BadRequest');
  }
  t.equal(h.sts.calls.AssumeRole + h.sts.calls.GetCallerIdentity, 0, 'nothing reached STS');
});

t.test('malformed vend requests are refused before anything else happens', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const bad: Array<Partial<Record<keyof VendRequest, unknown>>> = [
    { sessionId: '' },
    { sessionId: 'k'.repeat(257) },
    { sessionId: 42 },
    { sessionId: '0123456789ABCDEF' },
    { sessionId: '0123456789abcdef\n' },
    { sessionId: 'session-1' },
    { requestId: undefined },
    { requestId: '0123456789abcde' },
    { requestId: 'sentinel-alice-x' },
    { user: '' },
    { user: ':::' },
    { user: null },
    { marker: 'admin' },
    { marker: undefined },
    { durationSeconds: Number.NaN },
    { durationSeconds: Infinity },
    { durationSeconds: '900' },
    { profile: 7 },
  ];
  for (const over of bad) {
    const e = await failure(vendor.credentials({ ...request(), ...over } as VendRequest));
    t.equal(e.code, 'BadRequest', JSON.stringify(over));
  }
  t.equal((await failure(vendor.credentials(null as unknown as VendRequest))).code, 'BadRequest');
  t.equal(h.sts.calls.AssumeRole, 0);
});

t.test('profiles without a role: NotStampable, or GetSessionToken-backed with allow_unstamped', async (t) => {
  const h = await setup(t);
  const strict = h.vendor();
  for (const profile of ['base', 'vault', 'sessionkeys']) {
    const e = await failure(strict.credentials(request({ profile })));
    t.equal(e.code, 'NotStampable', profile);
    t.equal(e.status, 403);
    t.match(e.message, new RegExp(`profile "${profile}" has no role_arn`));
  }
  const sourceless = await failure(strict.credentials(request({ profile: 'sourceless' })));
  t.match(sourceless.message, /role_arn but no source_profile or credential_source/);
  const web = await failure(strict.credentials(request({ profile: 'webid' })));
  t.match(web.message, /web identity/);
  t.equal(h.sts.calls.AssumeRole + h.sts.calls.GetSessionToken, 0);

  const lenient = h.vendor({ allowUnstamped: true });
  const vended = await lenient.credentials(request({ profile: 'base' }));
  t.equal(h.sts.calls.GetSessionToken, 1, 'long-term keys get a session token from STS');
  t.equal(vended.sourceIdentity, null);
  t.equal(vended.roleArn, null);
  const issued = h.sts.issued[0]!;
  t.same(vended.credentials, {
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    Token: issued.sessionToken,
    Expiration: issued.expiration,
  });
  t.not(vended.credentials.AccessKeyId, BASE_KEY, 'the long-term key itself is never handed out');

  const session = await lenient.credentials(request({ sessionId: sid('session-2'), profile: 'sessionkeys' }));
  t.equal(session.credentials.AccessKeyId, SESSION_KEY_STATIC, 'session credentials are served as they are');
  t.equal(session.credentials.Token, 'staticSessionTokenDoNotLeak');
  t.ok(session.credentials.Expiration instanceof Date, 'with an Expiration, which SDKs require');
  t.equal(h.sts.calls.GetSessionToken, 1);
  for (const profile of ['sourceless', 'webid']) {
    t.equal(
      (await failure(lenient.credentials(request({ sessionId: sid(`s-${profile}`), profile })))).code,
      'NotStampable',
      `${profile} even when unstamped is allowed`,
    );
  }
});

t.test('base credentials missing → BaseCredentialsUnavailable, naming the profile', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  const noKeys = await failure(vendor.credentials(request({ profile: 'orphan-role' })));
  t.equal(noKeys.code, 'BaseCredentialsUnavailable');
  t.equal(noKeys.status, 502);
  t.match(noKeys.message, /profile "nokeys"/);
  const dangling = await failure(vendor.credentials(request({ sessionId: sid('s2'), profile: 'dangling' })));
  t.equal(dangling.code, 'BaseCredentialsUnavailable');
  t.match(dangling.message, /source_profile "does-not-exist", which is not in the AWS config/);
  t.equal(h.sts.calls.AssumeRole, 0);
  const stranger = await failure(vendor.credentials(request({ sessionId: sid('s3'), profile: 'stranger' })));
  t.equal(stranger.code, 'BaseCredentialsUnavailable', 'STS refusing the base key is a base-credential problem');
});

t.test('a role that does not trust the caller: StsUnavailable with the trust-policy hint, no AWS text', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor();
  h.sts.denyRole(`arn:aws:iam::${ACCOUNT}:role/untrusting`);
  const e = await failure(vendor.credentials(request({ profile: 'denied' })));
  t.equal(e.code, 'StsUnavailable');
  t.match(
    e.message,
    /STS refused AssumeRole on arn:aws:iam::111122223333:role\/untrusting for profile "denied" \(AccessDenied\)/,
  );
  t.match(e.hint, /sts:SetSourceIdentity/);
  t.match(e.hint, /sentinel-\*/);
  t.notMatch(visible(e), /not authorized to perform/, "AWS's message is not passed on");
  h.sts.failNext('AssumeRole', { code: 'ValidationError', message: `secret-ish ${BASE_SECRET}` });
  const v = await failure(vendor.credentials(request({ sessionId: sid('s2') })));
  t.match(v.message, /as invalid \(ValidationError\)/);
  t.match(v.hint, /MaxSessionDuration/);
  t.notOk(visible(v).includes(BASE_SECRET));
});

t.test('no error message and no log line carries a secret', async (t) => {
  const h = await setup(t);
  const vendor = h.vendor({ allowUnstamped: true });
  const errors: SentinelError[] = [];
  const collect = (p: Promise<unknown>) => p.catch((e) => void errors.push(e));
  await vendor.credentials(request());
  await vendor.credentials(request({ sessionId: sid('u'), profile: 'base' }));
  await vendor.credentials(request({ sessionId: sid('st'), profile: 'sessionkeys' }));
  await vendor.identify('vaulted');
  for (const code of [
    'Throttling',
    'InternalFailure',
    'AccessDenied',
    'ExpiredToken',
    'RegionDisabledException',
    'Weird',
  ]) {
    h.sts.failNext('AssumeRole', { code, message: `leak ${BASE_SECRET} ${h.sts.issued[0]!.sessionToken}` }, 2);
    await collect(vendor.credentials(request({ sessionId: sid(`e-${code}`) })));
  }
  h.sts.failNext('GetCallerIdentity', { code: 'Throttling', message: `leak ${BASE_SECRET}` }, 2);
  await collect(vendor.identify('self'));
  await collect(vendor.credentials(request({ sessionId: sid('x'), profile: 'locked-role' })));
  await collect(vendor.credentials(request({ sessionId: sid('y'), profile: 'stranger' })));
  t.equal(errors.length, 9);
  t.ok(
    errors.every(
      (e) => e instanceof SentinelError && ['StsUnavailable', 'BaseCredentialsUnavailable'].includes(e.code),
    ),
  );
  const secrets = [
    BASE_SECRET,
    PROCESS_SECRET,
    'staticSessionSecretDoNotLeak000000000001',
    'staticSessionTokenDoNotLeak',
    'unknownSecretDoNotLeak',
    ...h.sts.issued.flatMap((c) => [c.secretAccessKey, c.sessionToken]),
  ];
  const shown = errors.map(visible).join('\n');
  const logged = h.logLines.join('');
  t.ok(logged.includes('credentials issued'), 'the log did record the vending');
  for (const s of secrets) {
    t.notOk(shown.includes(s), `no error shows ${s.slice(0, 10)}…`);
    t.notOk(logged.includes(s), `no log line holds ${s.slice(0, 10)}…`);
  }
  t.notMatch(shown, /leak/, 'AWS error text never reaches a message');
  t.notMatch(logged, /leak/);
});
