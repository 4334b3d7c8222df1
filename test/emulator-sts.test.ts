import t from 'tap';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
  type AssumeRoleCommandInput,
} from '@aws-sdk/client-sts';
import { fromIni } from '@aws-sdk/credential-providers';
import { startSts, type StsEmulator } from './support/sts-emulator.js';
import { awsEnv, withEnv, writeAwsConfig, type HasTeardown } from './support/aws-env.js';
import { rejection } from './support/sdk-client.js';

const ALICE_KEY = 'AKIAALICE00000000001';
const ALICE_ARN = 'arn:aws:iam::123456789012:user/alice';
const ROLE = 'arn:aws:iam::123456789012:role/deploy/app-admin';

async function sts(t: HasTeardown): Promise<StsEmulator> {
  const emulator = await startSts({ identities: { [ALICE_KEY]: ALICE_ARN } });
  t.teardown(() => emulator.close());
  return emulator;
}

function client(
  t: HasTeardown,
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  maxAttempts = 1,
): STSClient {
  const c = new STSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts });
  t.teardown(() => c.destroy());
  return c;
}

const alice = { accessKeyId: ALICE_KEY, secretAccessKey: 'alice-secret' };

/** A request with a well-formed (but unverifiable) SigV4 header, for protocol-level tests the SDK cannot send. */
function signedHeaders(accessKeyId = ALICE_KEY, service = 'sts'): Record<string, string> {
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20261129/us-east-1/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'ab'.repeat(32)}`,
    'x-amz-date': '20261129T120000Z',
    'content-type': 'application/x-www-form-urlencoded',
  };
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

function errorCode(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}

t.test('a real STS client assumes a role and GetCallerIdentity maps each key to its identity', async (t) => {
  const emulator = await sts(t);
  const base = client(t, emulator.url, alice);

  const me = await base.send(new GetCallerIdentityCommand({}));
  t.equal(me.Arn, ALICE_ARN);
  t.equal(me.Account, '123456789012');
  t.match(me.UserId, /^AIDA[A-Z0-9]{17}$/);

  const before = Date.now();
  const out = await base.send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: 'sentinel-alice-0123456789abcdef',
      SourceIdentity: 'sentinel-alice-direct-0123456789abcdef',
      DurationSeconds: 900,
      ExternalId: 'ext-id:42',
    }),
  );
  const creds = out.Credentials!;
  t.match(creds.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
  t.equal(creds.SecretAccessKey!.length, 40);
  t.ok(creds.SessionToken!.length > 100, 'a long session token');
  t.ok(creds.Expiration instanceof Date, 'Expiration parses to a Date');
  // STS stamps whole seconds from its own clock, read some time during the call: between before − 1 s and after.
  const expires = creds.Expiration!.getTime();
  const after = Date.now();
  t.ok(
    expires > before + 899_000 - 1000 && expires <= after + 900_000,
    `expires DurationSeconds from the call (${expires - before} ms after it began, ${after - before} ms call)`,
  );
  t.equal(out.SourceIdentity, 'sentinel-alice-direct-0123456789abcdef');
  t.equal(out.AssumedRoleUser?.Arn, 'arn:aws:sts::123456789012:assumed-role/app-admin/sentinel-alice-0123456789abcdef');
  t.match(out.AssumedRoleUser?.AssumedRoleId, /^AROA[A-Z0-9]{17}:sentinel-alice-0123456789abcdef$/);
  t.equal(out.PackedPolicySize, 0);

  t.same(
    emulator.issued.map((i) => i.accessKeyId),
    [creds.AccessKeyId],
  );
  t.equal(emulator.issued[0]!.sessionToken, creds.SessionToken);
  t.equal(emulator.issued[0]!.expiration.getTime(), creds.Expiration!.getTime());
  t.match(emulator.assumeRoleRequests, [
    {
      RoleArn: ROLE,
      RoleSessionName: 'sentinel-alice-0123456789abcdef',
      SourceIdentity: 'sentinel-alice-direct-0123456789abcdef',
      DurationSeconds: 900,
      ExternalId: 'ext-id:42',
      accessKeyId: ALICE_KEY,
      outcome: 'ok',
    },
  ]);

  const assumed = client(t, emulator.url, {
    accessKeyId: creds.AccessKeyId!,
    secretAccessKey: creds.SecretAccessKey!,
    sessionToken: creds.SessionToken!,
  });
  const who = await assumed.send(new GetCallerIdentityCommand({}));
  t.equal(who.Arn, out.AssumedRoleUser?.Arn);
  t.equal(who.UserId, out.AssumedRoleUser?.AssumedRoleId);

  const again = await base.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'second' }));
  t.not(again.Credentials?.AccessKeyId, creds.AccessKeyId, 'every call issues new keys');
  t.not(again.Credentials?.SessionToken, creds.SessionToken);
  t.equal(again.SourceIdentity, undefined, 'no SourceIdentity unless one was set');
  t.same(emulator.calls, { AssumeRole: 2, GetCallerIdentity: 2, GetSessionToken: 0 });
});

t.test('AssumeRole input rules are those of AWS', async (t) => {
  const emulator = await sts(t);
  const base = client(t, emulator.url, alice);
  const assume = (extra: Partial<AssumeRoleCommandInput>) =>
    rejection(base.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'ok-session', ...extra })));

  const colon = await assume({ SourceIdentity: 'sentinel:alice' });
  t.equal(colon.name, 'ValidationError');
  t.equal(colon.status, 400);
  t.equal(
    colon.message,
    "1 validation error detected: Value 'sentinel:alice' at 'sourceIdentity' failed to satisfy constraint: " +
      'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
  );
  t.equal((await assume({ SourceIdentity: 'aws:reserved' })).name, 'ValidationError', 'the reserved aws: prefix');
  t.equal((await assume({ SourceIdentity: 'x' })).name, 'ValidationError', 'SourceIdentity shorter than 2');
  t.equal((await assume({ SourceIdentity: 's'.repeat(65) })).name, 'ValidationError', 'SourceIdentity longer than 64');

  const short = await assume({ DurationSeconds: 899 });
  t.equal(short.name, 'ValidationError');
  t.match(
    short.message,
    /Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900/,
  );
  const long = await assume({ DurationSeconds: 43201 });
  t.equal(long.name, 'ValidationError');
  t.match(long.message, /Member must have value less than or equal to 43200/);

  t.equal((await assume({ RoleSessionName: 'has space' })).name, 'ValidationError');
  t.equal((await assume({ RoleSessionName: 'a' })).name, 'ValidationError', 'RoleSessionName shorter than 2');
  t.equal(
    (await assume({ RoleSessionName: 'r'.repeat(65) })).name,
    'ValidationError',
    'RoleSessionName longer than 64',
  );
  t.equal(
    (await assume({ RoleArn: 'arn:aws:iam::1234:role/x' })).name,
    'ValidationError',
    'account id is not 12 digits',
  );
  t.equal((await assume({ RoleArn: 'arn:aws:iam::123456789012:user/alice' })).name, 'ValidationError', 'not a role');
  t.equal((await assume({ ExternalId: 'bad id' })).name, 'ValidationError', 'ExternalId pattern');
  t.equal((await assume({ ExternalId: 'e' })).name, 'ValidationError', 'ExternalId shorter than 2');

  const two = await assume({ RoleSessionName: 'a', DurationSeconds: 100 });
  t.match(
    two.message,
    /^2 validation errors detected: .*roleSessionName.*; .*durationSeconds/,
    'all problems in one message',
  );

  const edge = await base.send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: 'a=b,c.d@e-f+g_h',
      DurationSeconds: 43200,
      SourceIdentity: 'ab',
      ExternalId: 'a:b/c',
    }),
  );
  t.ok(edge.Credentials?.AccessKeyId, 'the limits themselves are accepted');
  t.same(emulator.issued.length, 1, 'nothing was issued for the refused calls');
  t.equal(
    emulator.assumeRoleRequests.filter((r) => r.outcome === 'ValidationError').length,
    14,
    'refused calls are logged with their outcome',
  );
});

t.test(
  'callers must be known: unknown keys, and issued keys without their token, are InvalidClientTokenId',
  async (t) => {
    const emulator = await sts(t);
    const stranger = client(t, emulator.url, { accessKeyId: 'AKIASTRANGER00000001', secretAccessKey: 's' });
    const unknown = await rejection(stranger.send(new GetCallerIdentityCommand({})));
    t.equal(unknown.name, 'InvalidClientTokenId');
    t.equal(unknown.status, 403);
    t.equal(
      (await rejection(stranger.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'x1' })))).name,
      'InvalidClientTokenId',
    );
    t.equal(emulator.assumeRoleRequests.length, 0, 'unauthenticated calls are not logged as requests');

    emulator.setIdentity('AKIASTRANGER00000001', 'arn:aws:iam::123456789012:user/bob');
    t.equal(
      (await stranger.send(new GetCallerIdentityCommand({}))).Arn,
      'arn:aws:iam::123456789012:user/bob',
      'setIdentity registers a key',
    );

    const out = await client(t, emulator.url, alice).send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'x1' }),
    );
    const noToken = client(t, emulator.url, {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
    });
    t.equal((await rejection(noToken.send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId');
    const wrongToken = client(t, emulator.url, {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: 'forged',
    });
    t.equal((await rejection(wrongToken.send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId');

    const issuedClient = client(t, emulator.url, {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    });
    t.ok((await issuedClient.send(new GetCallerIdentityCommand({}))).Arn, 'valid until expired');
    emulator.expire(out.Credentials!.AccessKeyId!);
    const expired = await rejection(issuedClient.send(new GetCallerIdentityCommand({})));
    t.same([expired.name, expired.status], ['ExpiredToken', 400]);
    t.ok(emulator.issued[0]!.expiration.getTime() <= Date.now(), 'issued reflects the expiry');
  },
);

t.test('role chaining is allowed up to one hour and carries the SourceIdentity over', async (t) => {
  const emulator = await sts(t);
  const first = await client(t, emulator.url, alice).send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: 'hop-1',
      SourceIdentity: 'sentinel-alice-direct-00000000000000aa',
    }),
  );
  const c = first.Credentials!;
  const hop = client(t, emulator.url, {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  });
  const tooLong = await rejection(
    hop.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'hop-2', DurationSeconds: 3601 })),
  );
  t.equal(tooLong.name, 'ValidationError');
  t.match(tooLong.message, /role chaining/);
  const second = await hop.send(
    new AssumeRoleCommand({
      RoleArn: 'arn:aws:iam::210987654321:role/other',
      RoleSessionName: 'hop-2',
      DurationSeconds: 3600,
    }),
  );
  t.equal(second.AssumedRoleUser?.Arn, 'arn:aws:sts::210987654321:assumed-role/other/hop-2');
  t.equal(
    second.SourceIdentity,
    'sentinel-alice-direct-00000000000000aa',
    'the source identity persists down the chain',
  );

  // A key registered with an assumed-role ARN is a role session too.
  emulator.setIdentity('AKIAROLESESSION00001', 'arn:aws:sts::123456789012:assumed-role/base/sess');
  const registered = client(t, emulator.url, { accessKeyId: 'AKIAROLESESSION00001', secretAccessKey: 's' });
  t.equal(
    (
      await rejection(
        registered.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'hop', DurationSeconds: 7200 })),
      )
    ).name,
    'ValidationError',
  );
});

t.test('GetSessionToken serves IAM users only and maps back to the user', async (t) => {
  const emulator = await sts(t);
  const base = client(t, emulator.url, alice);
  const out = await base.send(new GetSessionTokenCommand({ DurationSeconds: 129600 }));
  const c = out.Credentials!;
  t.match(c.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
  const session = client(t, emulator.url, {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  });
  const who = await session.send(new GetCallerIdentityCommand({}));
  t.equal(who.Arn, ALICE_ARN);
  t.equal(who.UserId, (await base.send(new GetCallerIdentityCommand({}))).UserId);

  const again = await rejection(session.send(new GetSessionTokenCommand({})));
  t.equal(again.name, 'AccessDenied', 'session credentials cannot get another session token');
  t.equal(again.status, 403);
  const role = await base.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'r1' }));
  const roleClient = client(t, emulator.url, {
    accessKeyId: role.Credentials!.AccessKeyId!,
    secretAccessKey: role.Credentials!.SecretAccessKey!,
    sessionToken: role.Credentials!.SessionToken!,
  });
  t.equal((await rejection(roleClient.send(new GetSessionTokenCommand({})))).name, 'AccessDenied');
  t.equal((await rejection(base.send(new GetSessionTokenCommand({ DurationSeconds: 899 })))).name, 'ValidationError');
  t.equal(
    (await rejection(base.send(new GetSessionTokenCommand({ DurationSeconds: 129601 })))).name,
    'ValidationError',
  );
  // AWS counts AssumeRole with GetSessionToken's credentials as role chaining (capped at one hour).
  const long = await rejection(
    session.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'from-session', DurationSeconds: 7200 })),
  );
  t.equal(long.name, 'ValidationError');
  t.match(long.message, /role chaining/);
  const fromSession = await session.send(
    new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'from-session', DurationSeconds: 3600 }),
  );
  t.ok(fromSession.Credentials, 'an hour is allowed');
  t.equal(emulator.assumeRoleRequests.at(-1)!.mfa, false, 'a session without an MFA code is not an MFA session');
});

t.test('failNext, setFailure, setDelay, denyRole, reset and close behave as documented', async (t) => {
  const emulator = await sts(t);
  const once = client(t, emulator.url, alice, 1);

  emulator.failNext('AssumeRole', { code: 'Throttling', message: 'Rate exceeded' });
  const throttled = await rejection(once.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's1' })));
  t.same([throttled.name, throttled.status, throttled.message], ['Throttling', 400, 'Rate exceeded']);
  t.ok(
    (await once.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's1' }))).Credentials,
    'only the next call fails',
  );
  t.equal(emulator.assumeRoleRequests[0]!.outcome, 'Throttling');

  // With the SDK's default retries a single throttle is invisible to the caller: the retry succeeds.
  const retrying = client(t, emulator.url, alice, 3);
  emulator.failNext('GetCallerIdentity', { code: 'Throttling' });
  const retried = await retrying.send(new GetCallerIdentityCommand({}));
  t.equal(retried.$metadata.attempts, 2);

  emulator.failNext('GetCallerIdentity', { code: 'ExpiredToken' }, 2);
  t.equal((await rejection(once.send(new GetCallerIdentityCommand({})))).name, 'ExpiredToken');
  t.equal((await rejection(once.send(new GetCallerIdentityCommand({})))).name, 'ExpiredToken');
  t.equal((await once.send(new GetCallerIdentityCommand({}))).Arn, ALICE_ARN, 'times counts down to zero');

  emulator.setFailure('GetSessionToken', { code: 'ServiceUnavailable', status: 503 });
  for (let i = 0; i < 2; i++) {
    const down = await rejection(once.send(new GetSessionTokenCommand({})));
    t.same([down.name, down.status], ['ServiceUnavailable', 503]);
  }
  emulator.setFailure('GetSessionToken', null);
  t.ok((await once.send(new GetSessionTokenCommand({}))).Credentials, 'setFailure(null) clears it');

  emulator.denyRole(ROLE);
  const denied = await rejection(once.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's2' })));
  t.same([denied.name, denied.status], ['AccessDenied', 403]);
  t.equal(denied.message, `User: ${ALICE_ARN} is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`);

  emulator.setDelay(60_000);
  const slow = await rejection(once.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(150) }));
  t.equal(slow.name, 'AbortError', 'the reply is held back by setDelay');
  emulator.setDelay(0);

  const issuedKey = emulator.issued[0]!;
  emulator.reset();
  t.same(emulator.calls, { AssumeRole: 0, GetCallerIdentity: 0, GetSessionToken: 0 });
  t.same([emulator.issued.length, emulator.assumeRoleRequests.length], [0, 0]);
  t.ok(
    (await once.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's3' }))).Credentials,
    'reset lifts denyRole',
  );
  t.equal((await once.send(new GetCallerIdentityCommand({}))).Arn, ALICE_ARN, 'registered identities survive reset');
  const forgotten = client(t, emulator.url, {
    accessKeyId: issuedKey.accessKeyId,
    secretAccessKey: issuedKey.secretAccessKey,
    sessionToken: issuedKey.sessionToken,
  });
  t.equal(
    (await rejection(forgotten.send(new GetCallerIdentityCommand({})))).name,
    'InvalidClientTokenId',
    'issued keys do not',
  );

  // A pending delayed request does not hold close() up.
  emulator.setDelay(60_000);
  const pending = once.send(new GetCallerIdentityCommand({})).then(
    () => 'answered',
    () => 'dropped',
  );
  await new Promise((r) => setTimeout(r, 50));
  await emulator.close();
  await emulator.close();
  t.equal(await pending, 'dropped');
  await t.rejects(once.send(new GetCallerIdentityCommand({})), 'a closed emulator refuses connections');
});

t.test('the Query protocol and SigV4 header are enforced at the wire', async (t) => {
  const emulator = await sts(t);
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';

  const missing = await post(emulator.url, body, { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(missing.status, 403);
  t.equal(errorCode(missing.text), 'MissingAuthenticationToken');
  t.match(
    missing.text,
    /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type>/,
  );
  t.match(missing.text, /<RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/);

  const malformed = await post(emulator.url, body, {
    ...signedHeaders(),
    authorization: 'AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001',
  });
  t.same([malformed.status, errorCode(malformed.text)], [400, 'IncompleteSignature']);
  const bearer = await post(emulator.url, body, { ...signedHeaders(), authorization: 'Bearer abc' });
  t.equal(errorCode(bearer.text), 'IncompleteSignature');
  const wrongScope = await post(emulator.url, body, signedHeaders(ALICE_KEY, 'ssm'));
  t.same([wrongScope.status, errorCode(wrongScope.text)], [403, 'SignatureDoesNotMatch']);
  t.equal(emulator.calls.GetCallerIdentity, 0, 'unauthenticated requests are not counted');

  const ok = await post(emulator.url, body, signedHeaders());
  t.equal(ok.status, 200);
  t.match(
    ok.text,
    /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><GetCallerIdentityResult>/,
  );
  t.match(ok.text, /<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata>/);

  const unknownAction = await post(emulator.url, 'Action=DeleteEverything&Version=2011-06-15', signedHeaders());
  t.same([unknownAction.status, errorCode(unknownAction.text)], [400, 'InvalidAction']);
  const oldVersion = await post(emulator.url, 'Action=GetCallerIdentity&Version=2010-01-01', signedHeaders());
  t.equal(errorCode(oldVersion.text), 'InvalidAction');
  const noAction = await post(emulator.url, 'Version=2011-06-15', signedHeaders());
  t.same([noAction.status, errorCode(noAction.text)], [400, 'MissingAction']);
});

t.test('hostile input gets a clean AWS-style error and the emulator stays up', async (t) => {
  const emulator = await sts(t);
  const headers = signedHeaders();

  const badEscape = await post(
    emulator.url,
    'Action=AssumeRole&Version=2011-06-15&RoleArn=%ZZ&RoleSessionName=x%',
    headers,
  );
  t.equal(errorCode(badEscape.text), 'MalformedQueryString');
  const json = await post(emulator.url, '{"Action":"AssumeRole"}', headers);
  t.same([json.status, errorCode(json.text)], [400, 'MissingAction']);
  const jsonType = await post(emulator.url, '{"Action":"AssumeRole"}', {
    ...headers,
    'content-type': 'application/json',
  });
  t.equal(errorCode(jsonType.text), 'InvalidAction');
  const binary = await post(emulator.url, '\u0000\u00ff&&&===&Action', headers);
  t.equal(binary.status, 400);
  t.equal(errorCode(binary.text), 'MissingAction');
  const notANumber = await post(
    emulator.url,
    `Action=AssumeRole&Version=2011-06-15&RoleArn=${encodeURIComponent(ROLE)}&RoleSessionName=abc&DurationSeconds=1e3`,
    headers,
  );
  t.equal(errorCode(notANumber.text), 'ValidationError');
  const injected = await post(
    emulator.url,
    `Action=AssumeRole&Version=2011-06-15&RoleArn=${encodeURIComponent('<x>&')}&RoleSessionName=abc`,
    headers,
  );
  t.equal(errorCode(injected.text), 'ValidationError');
  t.notMatch(injected.text, /<x>/, 'request text is escaped in the XML reply');

  const huge = await post(
    emulator.url,
    `Action=GetCallerIdentity&Version=2011-06-15&Pad=${'a'.repeat(70 * 1024)}`,
    headers,
  );
  t.same([huge.status, errorCode(huge.text)], [413, 'RequestEntityTooLarge']);

  // Not HTTP at all.
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(new URL(emulator.url).port), '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.end('\x16\x03\x01 this is not http\r\n\r\n');
  });
  t.match(raw, /^HTTP\/1\.1 400/);

  t.equal(
    (await client(t, emulator.url, alice).send(new GetCallerIdentityCommand({}))).Arn,
    ALICE_ARN,
    'still serving',
  );
});

t.test(
  'awsEnv routes an SDK client through AWS_ENDPOINT_URL_STS, and writeAwsConfig drives the shared-config chain',
  async (t) => {
    const emulator = await sts(t);
    const dir = mkdtempSync(join(tmpdir(), 'aws-env-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const files = writeAwsConfig(dir, {
      config: `[profile dev]\nrole_arn = ${ROLE}\nsource_profile = base\nrole_session_name = from-ini\n`,
      credentials: `[base]\naws_access_key_id = ${ALICE_KEY}\naws_secret_access_key = alice-secret\n`,
    });
    t.equal(statSync(files.configFile).mode & 0o777, 0o600);
    t.equal(statSync(files.credentialsFile).mode & 0o777, 0o600);

    const env = awsEnv({ sts: emulator.url, dynamodb: 'http://127.0.0.1:1' });
    t.same(env, {
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_STS: emulator.url,
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:1',
    });

    const before = { sts: process.env.AWS_ENDPOINT_URL_STS, config: process.env.AWS_CONFIG_FILE };
    t.test('inside withEnv', async (t) => {
      withEnv(t, {
        ...env,
        AWS_CONFIG_FILE: files.configFile,
        AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
        AWS_PROFILE: undefined,
      });
      t.equal(process.env.AWS_ENDPOINT_URL_STS, emulator.url);
      const viaEnv = new STSClient({ credentials: fromIni({ profile: 'dev' }), maxAttempts: 1 });
      t.teardown(() => viaEnv.destroy());
      const who = await viaEnv.send(new GetCallerIdentityCommand({}));
      t.equal(
        who.Arn,
        'arn:aws:sts::123456789012:assumed-role/app-admin/from-ini',
        'the profile assumed its role at the emulator',
      );
      t.match(emulator.assumeRoleRequests, [{ RoleArn: ROLE, RoleSessionName: 'from-ini', accessKeyId: ALICE_KEY }]);
    });
    t.test('after withEnv', async (t) => {
      t.equal(process.env.AWS_ENDPOINT_URL_STS, before.sts, 'withEnv restored the environment');
      t.equal(process.env.AWS_CONFIG_FILE, before.config);
    });
  },
);
