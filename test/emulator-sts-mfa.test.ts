// The STS emulator's MFA: GetSessionToken with SerialNumber and TokenCode verified as RFC 6238 TOTP against a seeded
// device secret, single use, ±1 step; the MFA session it issues is recognised by AssumeRole, which records that its
// caller held one and refuses more than an hour (role chaining). Proven with the real @aws-sdk/client-sts.
import t from 'tap';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
  type Credentials,
} from '@aws-sdk/client-sts';
import { startSts, type StsEmulator } from './support/sts-emulator.js';
import { hotp, totp } from './support/totp.js';
import { rejection } from './support/sdk-client.js';
import type { HasTeardown } from './support/aws-env.js';

const ALICE_KEY = 'AKIAALICE00000000001';
const ALICE_ARN = 'arn:aws:iam::123456789012:user/alice';
const BOB_KEY = 'AKIABOB0000000000001';
const BOB_ARN = 'arn:aws:iam::123456789012:user/bob';
const ALICE_MFA = 'arn:aws:iam::123456789012:mfa/alice';
const BOB_MFA = 'arn:aws:iam::123456789012:mfa/bob';
const ROLE = 'arn:aws:iam::123456789012:role/prod-admin';
const SECRET = Buffer.from('alice-device-secret-0123');
const BOB_SECRET = Buffer.from('bob-device-secret-456789');

t.test('RFC 6238 test vectors (SHA-1): the TOTP the emulator checks is the standard one', async (t) => {
  const seed = Buffer.from('12345678901234567890');
  // Appendix B: T, 8-digit TOTP.
  const vectors: Array<[number, string]> = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [seconds, code] of vectors) {
    t.equal(hotp(seed, Math.floor(seconds / 30), 8), code, `T=${seconds}`);
    t.equal(totp(seed, seconds * 1000), code.slice(2), `T=${seconds}, 6 digits`);
  }
});

interface Setup {
  sts: StsEmulator;
  clock: { now: number };
  alice: STSClient;
  bob: STSClient;
}

async function setup(t: HasTeardown): Promise<Setup> {
  // Mid-step, so ±1 step is exact whatever the wall clock says.
  const clock = { now: 1_800_000_000_000 + 15_000 };
  const sts = await startSts({
    identities: { [ALICE_KEY]: ALICE_ARN, [BOB_KEY]: BOB_ARN },
    mfaDevices: { [ALICE_MFA]: { user: ALICE_ARN, secret: SECRET } },
    totpClock: () => clock.now,
  });
  sts.addMfaDevice(BOB_MFA, { user: BOB_ARN, secret: BOB_SECRET });
  t.teardown(() => sts.close());
  return {
    sts,
    clock,
    alice: client(t, sts.url, { accessKeyId: ALICE_KEY, secretAccessKey: 'a' }),
    bob: client(t, sts.url, { accessKeyId: BOB_KEY, secretAccessKey: 'b' }),
  };
}

function client(
  t: HasTeardown,
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): STSClient {
  const c = new STSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
  t.teardown(() => c.destroy());
  return c;
}

function sessionClient(t: HasTeardown, url: string, c: Credentials): STSClient {
  return client(t, url, {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  });
}

const withCode = (code: string, serial = ALICE_MFA, duration = 43200) =>
  new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: code, DurationSeconds: duration });

t.test('the right code gives an MFA session that AssumeRole recognises, for at most an hour', async (t) => {
  const { sts, clock, alice } = await setup(t);
  const out = await alice.send(withCode(totp(SECRET, clock.now)));
  const c = out.Credentials!;
  t.match(c.AccessKeyId, /^ASIA/);
  t.ok(c.Expiration!.getTime() - Date.now() > 11.9 * 3600_000, 'the session lasts the 12 hours asked');
  t.equal(sts.issued.at(-1)!.mfa, true);
  const session = sessionClient(t, sts.url, c);
  t.equal((await session.send(new GetCallerIdentityCommand({}))).Arn, ALICE_ARN, 'the session is alice');

  const long = await rejection(
    session.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'bg', DurationSeconds: 3601 })),
  );
  t.equal(long.name, 'ValidationError', 'role chaining: more than an hour is refused');
  t.match(long.message, /1 hour session limit for roles assumed by role chaining/);
  t.same(
    sts.assumeRoleRequests.map((r) => [r.DurationSeconds, r.mfa, r.outcome]),
    [[3601, true, 'ValidationError']],
  );
  const role = await session.send(
    new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'bg', DurationSeconds: 3600 }),
  );
  t.ok(role.Credentials?.SessionToken);
  t.same(sts.assumeRoleRequests.at(-1)!.mfa, true, 'the AssumeRole was made with the MFA session');
  t.equal(sts.issued.at(-1)!.mfa, true, 'the role session carries the MFA authentication on');

  await alice.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'plain', DurationSeconds: 7200 }));
  t.equal(sts.assumeRoleRequests.at(-1)!.mfa, false, 'long-term keys: no MFA, and no one-hour cap');
});

t.test('a wrong, stale or reused code is refused as AWS refuses it', async (t) => {
  const { sts, clock, alice } = await setup(t);
  const now = totp(SECRET, clock.now);
  const wrong = now === '000000' ? '000001' : '000000';
  const refused = await rejection(alice.send(withCode(wrong)));
  t.same([refused.name, refused.status], ['AccessDenied', 403]);
  t.equal(refused.message, 'MultiFactorAuthentication failed with invalid MFA one time pass code.');

  const twoStepsAgo = totp(SECRET, clock.now - 60_000);
  if (twoStepsAgo !== now) t.equal((await rejection(alice.send(withCode(twoStepsAgo)))).name, 'AccessDenied');
  const twoStepsAhead = totp(SECRET, clock.now + 60_000);
  if (twoStepsAhead !== now) t.equal((await rejection(alice.send(withCode(twoStepsAhead)))).name, 'AccessDenied');

  t.ok((await alice.send(withCode(totp(SECRET, clock.now - 30_000)))).Credentials, 'the previous step is accepted');
  t.ok((await alice.send(withCode(now))).Credentials, 'the current one too');
  const again = await rejection(alice.send(withCode(now)));
  t.equal(again.name, 'AccessDenied', 'a code is accepted once');
  t.match(again.message, /invalid MFA one time pass code/);
  clock.now += 30_000;
  t.ok((await alice.send(withCode(totp(SECRET, clock.now)))).Credentials, 'the next step has a new code');
  t.equal(sts.issued.filter((i) => i.mfa).length, 3);
  t.equal(sts.calls.GetSessionToken, 7);
});

t.test('a device that is not the caller’s, or half of the pair, is refused', async (t) => {
  const { sts, clock, alice, bob } = await setup(t);
  const bobsCode = totp(BOB_SECRET, clock.now);
  const notHis = await rejection(alice.send(withCode(bobsCode, BOB_MFA)));
  t.same(
    [notHis.name, notHis.message],
    ['AccessDenied', 'MultiFactorAuthentication failed, unable to validate MFA code.'],
  );
  const unknown = await rejection(
    alice.send(withCode(totp(SECRET, clock.now), 'arn:aws:iam::123456789012:mfa/nobody')),
  );
  t.equal(unknown.name, 'AccessDenied');
  const noCode = await rejection(alice.send(new GetSessionTokenCommand({ SerialNumber: ALICE_MFA })));
  t.equal(noCode.name, 'AccessDenied', 'a serial without a code');
  t.ok((await bob.send(withCode(bobsCode, BOB_MFA))).Credentials, 'bob’s own device works for bob');
  t.equal(sts.issued.length, 1);
});

t.test('session credentials cannot get an MFA session; malformed codes are validation errors', async (t) => {
  const { sts, clock, alice } = await setup(t);
  const plain = await alice.send(new GetSessionTokenCommand({}));
  t.equal(sts.issued.at(-1)!.mfa, false, 'without a code the session is not an MFA session');
  const session = sessionClient(t, sts.url, plain.Credentials!);
  const refused = await rejection(session.send(withCode(totp(SECRET, clock.now))));
  t.same([refused.name, refused.status], ['AccessDenied', 403]);
  t.match(refused.message, /session credentials/);
  const role = await alice.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'r1' }));
  const roleSession = sessionClient(t, sts.url, role.Credentials!);
  t.equal((await rejection(roleSession.send(withCode(totp(SECRET, clock.now))))).name, 'AccessDenied');

  for (const code of ['12345', '1234567', 'abcdef', '12 456', '１２３４５６', '12345\n']) {
    const bad = await rejection(alice.send(withCode(code)));
    t.equal(bad.name, 'ValidationError', JSON.stringify(code));
  }
  const badSerial = await rejection(alice.send(withCode(totp(SECRET, clock.now), 'arn:aws:iam::1:mfa/a b<c>')));
  t.equal(badSerial.name, 'ValidationError');
  const longSerial = await rejection(alice.send(withCode(totp(SECRET, clock.now), 'a'.repeat(257))));
  t.equal(longSerial.name, 'ValidationError');
  t.ok((await alice.send(withCode(totp(SECRET, clock.now)))).Credentials, 'the refused calls used up no code');
});
