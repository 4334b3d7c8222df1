// The vendor's main path attacked (DESIGN §5.3, §6, §10, §17): who the caller is, sessions and their credentials,
// approvals, profiles the policy changes, and an upstream that does not answer at a cold start. Each test is a defect
// that was found (its fix named in the commit), or a boundary that must hold.
import { writeFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import t from 'tap';
import { restEvent, type EventInput } from './support/api-gateway-events.js';
import { withEnv } from './support/aws-env.js';
import { startSilentEndpoint } from './support/silent-endpoint.js';
import {
  DEV_ROLE,
  SESSIONS_TABLE,
  VENDOR_POLICY,
  ssmVendorConfig,
  startVendor,
  type VendorHarness,
} from './support/vendor.js';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const CAROL = `arn:aws:iam::${ACCOUNT}:user/carol`;
const DAVE = `arn:aws:iam::${ACCOUNT}:user/dave`;
const JUSTIFICATION = 'incident 4711 needs prod logs';

async function call(v: VendorHarness, input: EventInput) {
  const r = await v.handler(restEvent(input) as never);
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, any> };
}

const post = (v: VendorHarness, callerArn: string, path: string, body: unknown = {}) =>
  call(v, { method: 'POST', path, callerArn, body: JSON.stringify(body) });

t.test('a federated user is refused: its name is whatever the GetFederationToken caller chose', async (t) => {
  // Dave, an IAM user allowed sts:GetFederationToken (PowerUserAccess allows it), asks for a federation token named
  // `carol` and signs requests to the API with it: API Gateway verifies the signature and reports the federated ARN.
  const v = await startVendor(t);
  const filed = await post(v, ALICE, '/v1/requests', { profile: 'prod', justification: JUSTIFICATION });
  t.equal(filed.status, 201);
  const id = filed.body.id as string;
  const asCarol = `arn:aws:sts::${ACCOUNT}:federated-user/carol`;
  const approved = await post(v, asCarol, `/v1/requests/${id}/approve`);
  t.equal(approved.status, 403, 'not an approval by carol');
  t.equal(approved.body.code, 'PeerNotAllowed');
  t.match(approved.body.message, /federated user/);
  const shown = await call(v, { method: 'GET', path: `/v1/requests/${id}`, callerArn: CAROL });
  t.equal(shown.body.status, 'pending', 'the request is still pending');
  // Nor can Dave take someone else's access: dev is alice's, and federated-user/alice is not alice.
  const creds = await call(v, {
    method: 'GET',
    path: '/v1/credentials?profile=dev',
    callerArn: `arn:aws:sts::${ACCOUNT}:federated-user/alice`,
  });
  t.equal(creds.status, 403);
  t.equal(creds.body.code, 'PeerNotAllowed');
  t.equal(v.sts.calls.AssumeRole, 0, 'no AssumeRole');
  const opened = await post(v, `arn:aws:sts::${ACCOUNT}:federated-user/alice`, '/v1/sessions', { profile: 'dev' });
  t.equal(opened.body.code, 'PeerNotAllowed');
  const sessions = await v.client.send(new ScanCommand({ TableName: SESSIONS_TABLE }));
  t.equal(sessions.Count, 0, 'no session was written');
});

t.test('boundaries that hold: sessions of others, approvals out of turn', async (t) => {
  const v = await startVendor(t);
  const opened = await post(v, ALICE, '/v1/sessions', { profile: 'dev' });
  t.equal(opened.status, 201);
  const id = opened.body.id as string;
  // A role whose session is named alice is the role, not alice; another account's alice owns nothing here either.
  for (const other of [
    `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/alice`,
    'arn:aws:iam::999999999999:user/alice',
    `arn:aws:iam::${ACCOUNT}:user/Alice`,
    DAVE,
  ]) {
    for (const [method, path, body] of [
      ['GET', `/v1/credentials?session=${id}`, undefined],
      ['GET', `/v1/sessions/${id}`, undefined],
      ['POST', `/v1/sessions/${id}/revoke`, { reason: 'not mine' }],
      ['DELETE', `/v1/sessions/${id}`, undefined],
    ] as const) {
      const r = await call(v, {
        method,
        path,
        callerArn: other,
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      t.equal(r.body.code, 'SessionUnknown', `${other}: ${method} ${path}`);
    }
  }
  const still = await call(v, { method: 'GET', path: `/v1/credentials?session=${id}`, callerArn: ALICE });
  t.equal(still.status, 200, "alice's session is untouched");
  // An approver of dev? dev has no approvals entry: carol may not revoke a dev session.
  const carol = await post(v, CAROL, `/v1/sessions/${id}/revoke`, { reason: 'carol approves prod only' });
  t.equal(carol.body.code, 'SessionUnknown');
  // Approvals: an approve that names another profile or duration is refused unread, and a session that calls itself
  // carol is not carol.
  const filed = await post(v, ALICE, '/v1/requests', { profile: 'prod', justification: JUSTIFICATION });
  const rid = filed.body.id as string;
  const widened = await post(v, CAROL, `/v1/requests/${rid}/approve`, { profile: 'dev', duration: 43200 });
  t.equal(widened.status, 400);
  t.equal(widened.body.code, 'BadRequest');
  const deployCarol = `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/carol`;
  const roleNamedSession = await post(v, deployCarol, `/v1/requests/${rid}/approve`);
  t.equal(roleNamedSession.body.code, 'NotApprover', 'a session named carol of an untrusted role is not carol');
  const ok = await post(v, CAROL, `/v1/requests/${rid}/approve`);
  t.equal(ok.body.status, 'approved');
  t.equal(ok.body.window_end, new Date(Date.parse(ok.body.window_start) + 3600_000).toISOString());
  const twice = await post(v, CAROL, `/v1/requests/${rid}/deny`);
  t.equal(twice.body.code, 'Conflict');
  // An approver of prod may see and revoke alice's prod session, never take its credentials.
  const prod = await post(v, ALICE, '/v1/sessions', { profile: 'prod' });
  t.equal(prod.status, 201);
  t.match(prod.body.source_identity, /^sentinel-alice-approved-/);
  const pid = prod.body.id as string;
  const take = await call(v, { method: 'GET', path: `/v1/credentials?session=${pid}`, callerArn: CAROL });
  t.equal(take.body.code, 'SessionUnknown');
  const seen = await call(v, { method: 'GET', path: `/v1/sessions/${pid}`, callerArn: CAROL });
  t.equal(seen.body.owner_arn, ALICE);
  const ended = await call(v, { method: 'DELETE', path: `/v1/sessions/${pid}`, callerArn: CAROL });
  t.equal(ended.body.code, 'SessionUnknown', 'ending is the owner’s alone');
  const revoked = await post(v, CAROL, `/v1/sessions/${pid}/revoke`, { reason: 'window no longer needed' });
  t.match(revoked.body, { status: 'revoked', revoked_by: CAROL });
  const after = await call(v, { method: 'GET', path: `/v1/credentials?session=${pid}`, callerArn: ALICE });
  t.equal(after.body.code, 'SessionRevoked');
});

t.test('a query parameter no route reads is refused on every route, not ignored', async (t) => {
  const v = await startVendor(t);
  const id = '0123456789abcdef';
  for (const [method, path] of [
    ['GET', '/v1/status'],
    ['GET', '/v1/profiles'],
    ['GET', `/v1/requests/${id}`],
    ['GET', `/v1/breakglass/${id}`],
    ['GET', `/v1/sessions/${id}`],
    ['DELETE', `/v1/sessions/${id}`],
  ] as const) {
    const r = await call(v, { method, path: `${path}?user=carol`, callerArn: ALICE });
    t.equal(r.status, 400, `${method} ${path}?user=carol`);
    t.equal(r.body.code, 'BadRequest');
  }
});

const policyPointing = (devRole: string | null) =>
  VENDOR_POLICY.replace(
    `  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }\n`,
    devRole === null ? '' : `  - { name: dev, role_arn: "${devRole}", region: eu-west-1 }\n`,
  );

async function policyLoaded(v: VendorHarness, text: string, from: string | null) {
  writeFileSync(v.policyFile, text, { mode: 0o600 });
  for (let i = 0; i < 100; i++) {
    const status = await call(v, { method: 'GET', path: '/v1/status', callerArn: ALICE });
    if (status.body.policy.version !== from) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the vendor did not load the new policy');
}

t.test('a profile the policy re-points or drops: no more credentials of the old role from the cache', async (t) => {
  const v = await startVendor(t);
  const opened = await post(v, ALICE, '/v1/sessions', { profile: 'dev' });
  const id = opened.body.id as string;
  const fetch = () => call(v, { method: 'GET', path: `/v1/credentials?session=${id}`, callerArn: ALICE });
  const implicit = () => call(v, { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE });
  const first = await fetch();
  t.equal(first.status, 200);
  t.equal((await implicit()).status, 200);
  t.equal(v.sts.assumeRoleRequests.length, 2);
  const version = (await call(v, { method: 'GET', path: '/v1/status', callerArn: ALICE })).body.policy.version;
  // dev was admin by mistake: the policy now points it at a read-only role.
  const READONLY = `arn:aws:iam::${ACCOUNT}:role/dev-readonly`;
  await policyLoaded(v, policyPointing(READONLY), version);
  const repointed = await fetch();
  t.equal(repointed.status, 200);
  t.not(repointed.body.AccessKeyId, first.body.AccessKeyId, 'not the admin credentials from the cache');
  t.equal(v.sts.assumeRoleRequests.at(-1)!.RoleArn, READONLY);
  t.equal(v.decisions.at(-1)!.role_arn, READONLY, 'the decision log names the role served');
  t.equal((await implicit()).status, 200);
  t.equal(v.sts.assumeRoleRequests.at(-1)!.RoleArn, READONLY, 'the implicit session too');
  const assumed = v.sts.assumeRoleRequests.length;
  t.equal((await fetch()).status, 200);
  t.equal(v.sts.assumeRoleRequests.length, assumed, 'then served from the cache again');
  // Then dev is dropped from the profiles: refused at once, cache or not.
  const now = (await call(v, { method: 'GET', path: '/v1/status', callerArn: ALICE })).body.policy.version;
  await policyLoaded(v, policyPointing(null), now);
  const dropped = await fetch();
  t.equal(dropped.status, 404);
  t.equal(dropped.body.code, 'ProfileUnknown');
  t.equal(v.decisions.at(-1)!.error_code, 'ProfileUnknown');
  t.equal((await implicit()).body.code, 'ProfileUnknown');
});

t.test('a cold start while SSM does not answer: PolicyUnavailable within the bridge budget', async (t) => {
  const silent = await startSilentEndpoint();
  t.teardown(() => silent.close());
  const v = await startVendor(t, { config: ssmVendorConfig() });
  withEnv(t, { AWS_ENDPOINT_URL_SSM: silent.url });
  const started = Date.now();
  const r = await call(v, { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE });
  const took = Date.now() - started;
  // A daemon or the admin CLI gives one vendor call 5 s (core/vendor/client.ts); the answer must come well before.
  t.ok(took < 4000, `answered in ${took} ms`);
  t.equal(r.status, 503);
  t.equal(r.body.code, 'PolicyUnavailable', 'the policy is unavailable, not the profile unknown');
  t.match(r.body.message, /SSM has not answered/);
  t.match(r.body.hint, /vendor's log says why/);
  t.equal(v.sts.calls.AssumeRole, 0);
  const opened = await post(v, ALICE, '/v1/sessions', { profile: 'prod' });
  t.equal(opened.body.code, 'PolicyUnavailable');
});

for (const service of ['STS', 'DYNAMODB'] as const) {
  t.test(`${service} does not answer: the vendor's refusal, inside the bridge budget, nothing written`, async (t) => {
    const silent = await startSilentEndpoint();
    t.teardown(() => silent.close());
    const v = await startVendor(t);
    withEnv(t, { [`AWS_ENDPOINT_URL_${service}`]: silent.url });
    const code = service === 'STS' ? 'StsUnavailable' : 'SessionStoreUnavailable';
    for (const input of [
      { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE },
      { method: 'POST', path: '/v1/sessions', callerArn: ALICE, body: JSON.stringify({ profile: 'dev' }) },
    ]) {
      const started = Date.now();
      const r = await call(v, input);
      const took = Date.now() - started;
      t.ok(took < 4000, `${input.method} ${input.path}: answered in ${took} ms, well before the bridge's 5 s`);
      t.equal(r.body.code, code);
      t.ok(r.status >= 500, 'a 5xx: the daemon does not cache it as a denial');
      t.notMatch(JSON.stringify(r.body), /AKID|secret|socket|ECONN|timeout of/i, 'no AWS error text or secret');
    }
    t.equal(v.decisions.at(-1)!.error_code, code, 'the refusal is in the decision log');
    const scan = await v.client.send(new ScanCommand({ TableName: SESSIONS_TABLE }));
    t.equal(scan.Count, 0, 'no session was written');
  });
}
