// Break-glass MFA in the daemon's vendor (DESIGN §11): the code goes to AWS (GetSessionToken with the profile's or
// its source profile's mfa_serial, on IAM-user keys), the MFA session stays in this process's memory, and every
// AssumeRole made with `mfa` uses it, asks at most an hour and refreshes without a new code. Another vendor (another
// daemon, a restart) holds nothing: MfaRequired, and the plain base credentials are never used instead. Real SDK
// clients and credential providers, the user's AWS config in temp files, the strict STS emulator with a seeded device.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { newRequestId } from '../core/identity/source-identity.js';
import type { Vendor, VendRequest } from '../core/issuer/types.js';
import { createLogger } from '../core/log.js';
import { createVendor } from '../daemon/vending/vendor.js';
import { MFA_SESSION_SECONDS } from '../daemon/vending/mfa-sessions.js';
import { awsEnv, withEnv, writeAwsConfig } from './support/aws-env.js';
import { startSts, type StsEmulator } from './support/sts-emulator.js';
import { totp } from './support/totp.js';

const ACCOUNT = '111122223333';
const ALICE_KEY = 'AKIAEXAMPLEALICE0001';
const ALICE_SECRET = 'aliceSecretDoNotLeak00000000000000000001';
const ALICE_ARN = `arn:aws:iam::${ACCOUNT}:user/alice`;
const ALICE_MFA = `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`;
const DEVICE_SECRET = Buffer.from('alice-phone-totp-seed-01');
const PROD_ROLE = `arn:aws:iam::${ACCOUNT}:role/prod-admin`;
const PROCESS_KEY = 'ASIAEXAMPLEPROCESS01';

interface Harness {
  sts: StsEmulator;
  clock: { now: number };
  logs: string[];
  vendor(): Vendor;
}

async function setup(t: Test): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-mfa-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sts = await startSts({
    identities: { [ALICE_KEY]: ALICE_ARN },
    mfaDevices: { [ALICE_MFA]: { user: ALICE_ARN, secret: DEVICE_SECRET } },
  });
  t.teardown(() => sts.close());
  // aws-vault's output through credential_process: a session (with a token), as SSO and roles give too.
  const vault = join(dir, 'vault.sh');
  writeFileSync(
    vault,
    `#!/bin/sh\nprintf '%s' '{"Version":1,"AccessKeyId":"${PROCESS_KEY}","SecretAccessKey":"vaultSecret","SessionToken":"vaultToken","Expiration":"2099-01-01T00:00:00Z"}'\n`,
  );
  chmodSync(vault, 0o700);
  const files = writeAwsConfig(dir, {
    config: `
[profile base]
region = us-east-1
mfa_serial = ${ALICE_MFA}

[profile prod]
role_arn = ${PROD_ROLE}
source_profile = base
region = eu-west-1

[profile own-serial]
role_arn = arn:aws:iam::${ACCOUNT}:role/own
source_profile = plainkeys
mfa_serial = ${ALICE_MFA}

[profile no-serial]
role_arn = arn:aws:iam::${ACCOUNT}:role/none
source_profile = plainkeys

[profile bad-serial]
role_arn = arn:aws:iam::${ACCOUNT}:role/bad
source_profile = plainkeys
mfa_serial = not a serial <script>

[profile vault]
credential_process = ${vault}

[profile vaulted]
role_arn = arn:aws:iam::${ACCOUNT}:role/vaulted
source_profile = vault
mfa_serial = ${ALICE_MFA}

[profile sso]
sso_session = corp
sso_account_id = ${ACCOUNT}
sso_role_name = Admin
mfa_serial = ${ALICE_MFA}

[profile unstamped]
region = us-east-1
mfa_serial = ${ALICE_MFA}
`,
    credentials: `
[base]
aws_access_key_id = ${ALICE_KEY}
aws_secret_access_key = ${ALICE_SECRET}

[plainkeys]
aws_access_key_id = ${ALICE_KEY}
aws_secret_access_key = ${ALICE_SECRET}

[unstamped]
aws_access_key_id = ${ALICE_KEY}
aws_secret_access_key = ${ALICE_SECRET}
`,
  });
  withEnv(t, {
    ...awsEnv({ sts: sts.url }),
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
  });
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const clock = { now: Date.now() };
  return {
    sts,
    clock,
    logs,
    vendor() {
      const config = resolveConfig({ credentials: { allow_unstamped: true } }, 'test.yaml', { HOME: dir });
      const v = createVendor(config, { log, env: process.env, now: () => clock.now, random: () => 0 });
      t.teardown(() => v.close());
      return v;
    },
  };
}

const sid = (label: string) => createHash('sha256').update(label).digest('hex').slice(0, 16);

const request = (over: Partial<VendRequest> = {}): VendRequest => ({
  sessionId: sid('s1'),
  requestId: newRequestId(),
  profile: 'prod',
  user: 'alice',
  marker: 'breakglass',
  durationSeconds: 900, // credentials.duration's default: a refresh every 15 minutes
  mfa: true,
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

const code = (atMs = Date.now()) => totp(DEVICE_SECRET, atMs);

/** Nothing secret reached the operations log: keys, the MFA session, the code. */
function assertNoSecrets(t: Test, h: Harness, extra: string[] = []): void {
  const text = h.logs.join('');
  for (const s of [ALICE_SECRET, 'vaultSecret', 'vaultToken', ...extra]) t.notOk(text.includes(s), 'no secret logged');
  for (const issued of h.sts.issued) {
    t.notOk(text.includes(issued.secretAccessKey), 'no issued secret logged');
    t.notOk(text.includes(issued.sessionToken), 'no issued session token logged');
  }
}

t.test(
  'the right code: AssumeRole made with the MFA session, ≤ 3600 s, refreshed 14 minutes later without a code',
  async (t) => {
    const h = await setup(t);
    const v = h.vendor();
    t.equal(v.mfa.holds('prod', new Date(h.clock.now)), false, 'nothing held before a code');
    const c = code();
    await v.mfa.verify('prod', c, new Date(h.clock.now));
    t.equal(v.mfa.holds('prod', new Date(h.clock.now)), true);
    t.equal(v.mfa.holds('own-serial', new Date(h.clock.now)), false, 'held per profile');
    t.equal(h.sts.calls.GetSessionToken, 1);
    const session = h.sts.issued.at(-1)!;
    t.same([session.action, session.mfa, session.arn], ['GetSessionToken', true, ALICE_ARN]);
    t.ok(
      Math.abs(session.expiration.getTime() - Date.now() - MFA_SESSION_SECONDS * 1000) < 5000,
      'the MFA session lasts GetSessionToken’s 12 hours',
    );

    const first = await v.credentials(request());
    const ar = h.sts.assumeRoleRequests.at(-1)!;
    t.same(
      [ar.RoleArn, ar.mfa, ar.accessKeyId, ar.outcome],
      [PROD_ROLE, true, session.accessKeyId, 'ok'],
      'the AssumeRole was made with the MFA session',
    );
    t.equal(ar.DurationSeconds, 900);
    t.equal(ar.SourceIdentity, `sentinel-alice-breakglass-${sid('s1')}`);
    t.equal(first.fromCache, false);
    t.ok((await v.credentials(request())).fromCache, 'served from cache while fresh');

    // 14 minutes: the 900-second credentials are due for refresh (less than 10 minutes left), while the emulator,
    // which stamps expirations from the real clock in whole seconds, still issues ones that are not already expired
    // at the fake now (at exactly 15 minutes they could be, by the milliseconds the test took).
    h.clock.now += 14 * 60_000;
    t.equal(v.mfa.holds('prod', new Date(h.clock.now)), true, 'still held at the next refresh');
    const refreshed = await v.credentials(request());
    t.equal(refreshed.fromCache, false, 'refreshed');
    t.equal(h.sts.assumeRoleRequests.length, 2);
    t.same(
      [h.sts.assumeRoleRequests[1]!.mfa, h.sts.assumeRoleRequests[1]!.accessKeyId],
      [true, session.accessKeyId],
      'with the same MFA session',
    );
    t.equal(h.sts.calls.GetSessionToken, 1, 'no new code was needed');

    await v.credentials(request({ sessionId: sid('long'), durationSeconds: 4 * 3600 }));
    t.same(
      [h.sts.assumeRoleRequests.at(-1)!.DurationSeconds, h.sts.assumeRoleRequests.at(-1)!.outcome],
      [3600, 'ok'],
      'a longer request asks 3600 s (role chaining), not the 4 h requested',
    );

    t.ok(
      (await v.credentials(request({ sessionId: sid('plain'), mfa: false, marker: 'direct' }))).credentials,
      'a request without mfa uses the plain base credentials',
    );
    t.same([h.sts.assumeRoleRequests.at(-1)!.mfa, h.sts.assumeRoleRequests.at(-1)!.accessKeyId], [false, ALICE_KEY]);
    assertNoSecrets(t, h, [c]);
  },
);

t.test('the serial comes from the profile itself, else from its source profile', async (t) => {
  const h = await setup(t);
  const v = h.vendor();
  await v.mfa.verify('own-serial', code(), new Date());
  t.ok(v.mfa.holds('own-serial', new Date()));
  await v.credentials(request({ profile: 'own-serial' }));
  t.equal(h.sts.assumeRoleRequests.at(-1)!.mfa, true);
});

t.test('a wrong or reused code: MfaInvalid, nothing held, and nothing assumed', async (t) => {
  const h = await setup(t);
  const v = h.vendor();
  const right = code();
  const wrong = right === '000000' ? '000001' : '000000';
  const e = await failure(v.mfa.verify('prod', wrong, new Date()));
  t.same([e.code, e.status, e.exit], ['MfaInvalid', 403, 1]);
  t.notMatch(e.message, /one time pass code/, 'AWS’s own message text is not passed on');
  t.equal(v.mfa.holds('prod', new Date()), false);
  await v.mfa.verify('prod', right, new Date());
  const again = await failure(h.vendor().mfa.verify('prod', right, new Date()));
  t.equal(again.code, 'MfaInvalid', 'AWS accepts a code once, even from another daemon');
  t.equal(h.sts.assumeRoleRequests.length, 0);
  assertNoSecrets(t, h, [right]);
});

t.test(
  'no MFA session here (never verified, another daemon, a restart): MfaRequired, base keys never used',
  async (t) => {
    const h = await setup(t);
    const never = await failure(h.vendor().credentials(request()));
    t.same([never.code, never.status, never.exit], ['MfaRequired', 403, 3]);

    const first = h.vendor();
    await first.mfa.verify('prod', code(), new Date());
    await first.credentials(request());
    const second = h.vendor();
    t.equal(second.mfa.holds('prod', new Date()), false, 'another daemon holds nothing');
    const e = await failure(second.credentials(request()));
    t.equal(e.code, 'MfaRequired');
    t.match(e.message, /holds no MFA session/);
    first.close(); // a restart: the memory is gone
    t.equal(first.mfa.holds('prod', new Date()), false, 'after close (a restart) nothing is held');
    t.equal(h.sts.assumeRoleRequests.length, 1, 'only the verifying daemon assumed the role');
    t.ok(
      h.sts.assumeRoleRequests.every((r) => r.accessKeyId !== ALICE_KEY),
      'the plain base credentials were never used for an MFA request',
    );
  },
);

t.test('an MFA session AWS no longer accepts is dropped: MfaRequired, not a fallback', async (t) => {
  const h = await setup(t);
  const v = h.vendor();
  await v.mfa.verify('prod', code(), new Date());
  h.sts.expire(h.sts.issued.at(-1)!.accessKeyId);
  const e = await failure(v.credentials(request()));
  t.equal(e.code, 'MfaRequired');
  t.equal(v.mfa.holds('prod', new Date()), false);
  t.equal(h.sts.assumeRoleRequests.length, 0, 'the expired session was refused before any AssumeRole was recorded');

  const w = h.vendor();
  await w.mfa.verify('prod', totp(DEVICE_SECRET, Date.now() + 30_000), new Date());
  t.equal(w.mfa.holds('prod', new Date(h.clock.now + 12 * 3600_000)), false, 'past its lifetime it is not held');
  h.clock.now += 12 * 3600_000;
  t.equal((await failure(w.credentials(request()))).code, 'MfaRequired');
});

t.test(
  'base credentials with a session token (SSO, credential_process, roles) are refused with the hint',
  async (t) => {
    const h = await setup(t);
    const v = h.vendor();
    const e = await failure(v.mfa.verify('vaulted', code(), new Date()));
    t.same([e.code, e.status], ['MfaRequired', 403]);
    t.match(e.message, /temporary/);
    t.match(e.hint, /identity provider/);
    t.match(e.hint, /mfa: required/);
    t.equal(h.sts.calls.GetSessionToken, 0, 'AWS was not asked');
    const sso = await failure(v.mfa.verify('sso', code(), new Date()));
    t.same([sso.code, sso.hint], [e.code, e.hint], 'an SSO profile is refused the same way, without an SSO prompt');
    t.equal(h.sts.calls.GetSessionToken, 0);
    assertNoSecrets(t, h);
  },
);

t.test('profiles that cannot do MFA say why; hostile codes and names are refused before AWS is asked', async (t) => {
  const h = await setup(t);
  const v = h.vendor();
  const none = await failure(v.mfa.verify('no-serial', code(), new Date()));
  t.equal(none.code, 'MfaRequired');
  t.match(none.hint, /mfa_serial/);
  const bad = await failure(v.mfa.verify('bad-serial', code(), new Date()));
  t.equal(bad.code, 'MfaRequired');
  t.notMatch(bad.message + bad.hint, /script/, 'the bad value is not echoed');
  t.equal((await failure(v.mfa.verify('nope', code(), new Date()))).code, 'ProfileUnknown');
  // The same answers before any code is asked for (break-glass asks this first: no code hunt in an emergency).
  const early = await failure(v.mfa.assertVerifiable!('no-serial'));
  t.equal(early.code, 'MfaRequired');
  t.match(early.hint, /mfa_serial/);
  t.equal((await failure(v.mfa.assertVerifiable!('bad-serial'))).code, 'MfaRequired');
  await v.mfa.assertVerifiable!('prod');
  t.pass('a profile that can take a code passes');
  t.equal((await failure(v.mfa.verify('../etc\u0000', code(), new Date()))).code, 'BadRequest');

  const hostile: unknown[] = [
    '12345',
    '1234567',
    'abcdef',
    '123456\n',
    '12\u00003456',
    '１２３４５６',
    'x'.repeat(100_000),
  ];
  hostile.push(123456, null, undefined, { code: '123456' });
  for (const c of hostile) {
    const e = await failure(v.mfa.verify('prod', c as string, new Date()));
    t.equal(e.code, 'BadRequest', `refused: ${JSON.stringify(c)?.slice(0, 20)}`);
    t.ok(e.message.length < 100 && !e.message.includes('12345'), 'the code is not echoed');
  }
  t.equal(h.sts.calls.GetSessionToken, 0, 'AWS was never asked');
  t.equal(v.mfa.holds('prod', new Date()), false);

  const odd = await failure(v.credentials({ ...request(), mfa: 'yes' as unknown as boolean }));
  t.equal(odd.code, 'BadRequest', 'a malformed mfa flag on a vend request');
});

t.test('a profile without role_arn cannot be served under MFA (the session itself is never handed out)', async (t) => {
  const h = await setup(t);
  const v = h.vendor();
  await v.mfa.verify('unstamped', code(), new Date());
  const e = await failure(v.credentials(request({ profile: 'unstamped' })));
  t.equal(e.code, 'NotStampable');
  t.equal(h.sts.issued.length, 1, 'only the MFA session was issued; nothing was served from it');
});
