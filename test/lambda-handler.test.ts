// The vendor's handler with API Gateway events of both API kinds (REST payload 1.0, HTTP API payload 2.0) through the
// real stores (dynalite) and the STS emulator: the caller is only the IAM-verified ARN (trusted session roles
// included), a header or body naming someone else changes nothing, the AssumeRole is made with the vendor's own
// credentials and carries the SourceIdentity, denials and unknown sessions are the daemon's catalogue answers.
import t from 'tap';
import { httpEvent, restEvent, type EventInput } from './support/api-gateway-events.js';
import { DEV_ROLE, PROD_ROLE, VENDOR_KEY, startVendor, type VendorHarness } from './support/vendor.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const DAVE = 'arn:aws:iam::111122223333:user/dave';
const SSO_ALICE = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_0123456789abcdef/alice@example.com';
const CI_ROLE = 'arn:aws:sts::111122223333:assumed-role/deploy/alice';

type Kind = 'rest' | 'http';
const build = (kind: Kind, input: EventInput) => (kind === 'rest' ? restEvent(input) : httpEvent(input));

async function call(v: VendorHarness, kind: Kind, input: EventInput) {
  const r = await v.handler(build(kind, input) as never);
  return { status: r.statusCode, headers: r.headers, body: JSON.parse(r.body) as Record<string, any> };
}

for (const kind of ['rest', 'http'] as const) {
  t.test(`${kind}: implicit session credentials, stamped by the vendor's role`, async (t) => {
    const v = await startVendor(t);
    const r = await call(v, kind, { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE });
    t.equal(r.status, 200);
    t.equal(r.headers['content-type'], 'application/json');
    t.equal(r.headers['cache-control'], 'no-store');
    t.match(r.body, { AccessKeyId: String, SecretAccessKey: String, Token: String });
    t.match(r.body.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const call0 = v.sts.assumeRoleRequests.at(-1)!;
    t.equal(call0.accessKeyId, VENDOR_KEY, 'AssumeRole signed with the execution role');
    t.equal(call0.RoleArn, DEV_ROLE);
    t.match(call0.SourceIdentity, /^sentinel-alice-direct-[0-9a-f]{16}$/);
    t.equal(call0.outcome, 'ok');
    const allow = v.decisions.at(-1)!;
    t.match(allow, {
      outcome: 'allow',
      user: 'alice',
      profile: 'dev',
      mode: 'credential_process',
      event: 'credential_process',
    });
    t.equal(allow.source_identity, call0.SourceIdentity);
    t.notOk(JSON.stringify(v.decisions).includes(r.body.SecretAccessKey), 'no secret in the decision log');
    // The same implicit session serves the next request from the cache.
    const again = await call(v, kind, { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE });
    t.equal(again.body.AccessKeyId, r.body.AccessKeyId);
    t.equal(v.sts.calls.AssumeRole, 1);
  });

  t.test(`${kind}: the caller is only the verified ARN`, async (t) => {
    const v = await startVendor(t);
    const lie = {
      method: 'GET',
      path: '/v1/credentials?profile=dev',
      callerArn: DAVE,
      headers: { 'x-sentinel-user': 'alice', 'x-amz-user-arn': ALICE },
    };
    const r = await call(v, kind, lie);
    t.equal(r.status, 403);
    t.equal(r.body.Code, 'PolicyDenied');
    t.match(r.body.message, /dave/);
    t.equal(v.sts.calls.AssumeRole, 0);
    // A body naming another user is refused as an unknown field, and never read as the caller.
    const body = await call(v, kind, {
      method: 'POST',
      path: '/v1/sessions',
      callerArn: DAVE,
      body: JSON.stringify({ profile: 'dev', user: 'alice' }),
    });
    t.equal(body.status, 400);
    t.equal(body.body.code, 'BadRequest');
    const none = await call(v, kind, {
      method: 'GET',
      path: '/v1/credentials?profile=dev',
      callerArn: null,
      headers: { 'x-sentinel-user': 'alice' },
    });
    t.equal(none.status, 403);
    t.equal(none.body.code, 'PeerNotAllowed');
    t.equal(v.sts.calls.AssumeRole, 0);
  });

  t.test(`${kind}: trusted session roles name the person, other roles their role`, async (t) => {
    const v = await startVendor(t);
    const sso = await call(v, kind, { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: SSO_ALICE });
    t.equal(sso.status, 200);
    t.match(v.sts.assumeRoleRequests.at(-1)!.SourceIdentity, /^sentinel-aliceexamplecom-direct-/);
    t.equal(v.decisions.at(-1)!.user, 'aliceexamplecom');
    const ci = await call(v, kind, { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: CI_ROLE });
    t.equal(ci.status, 200, 'deploy is on the team, the session name alice is not trusted');
    t.equal(v.decisions.at(-1)!.user, 'deploy');
    t.match(v.sts.assumeRoleRequests.at(-1)!.SourceIdentity, /^sentinel-deploy-direct-/);
  });
}

t.test('sessions: open, fetch by id (owner only), revoke takes effect at the next request', async (t) => {
  const v = await startVendor(t);
  const opened = await call(v, 'rest', {
    method: 'POST',
    path: '/v1/sessions',
    callerArn: ALICE,
    body: JSON.stringify({ profile: 'dev', ttl: '1h' }),
  });
  t.equal(opened.status, 201);
  t.match(opened.body, { id: /^[0-9a-f]{16}$/, region: 'eu-west-1', profile: 'dev', mode: 'server' });
  const id = opened.body.id as string;
  t.equal(opened.body.source_identity, `sentinel-alice-direct-${id}`);
  t.equal(v.sts.assumeRoleRequests.at(-1)!.SourceIdentity, `sentinel-alice-direct-${id}`);
  const creds = await call(v, 'http', { method: 'GET', path: `/v1/credentials?session=${id}`, callerArn: ALICE });
  t.equal(creds.status, 200);
  const other = await call(v, 'http', { method: 'GET', path: `/v1/credentials?session=${id}`, callerArn: DAVE });
  t.equal(other.status, 403);
  t.equal(other.body.code, 'SessionUnknown', "another caller cannot use alice's session");
  const shown = await call(v, 'rest', { method: 'GET', path: `/v1/sessions/${id}`, callerArn: ALICE });
  t.match(shown.body, { id, owner_arn: ALICE, status: 'active', user: 'alice' });
  t.ok(shown.body.request_count >= 1, 'the fetch was recorded on the session');
  const revoked = await call(v, 'rest', {
    method: 'POST',
    path: `/v1/sessions/${id}/revoke`,
    callerArn: ALICE,
    body: JSON.stringify({ reason: 'laptop lost' }),
  });
  t.equal(revoked.status, 200);
  t.equal(revoked.body.status, 'revoked');
  const after = await call(v, 'http', { method: 'GET', path: `/v1/credentials?session=${id}`, callerArn: ALICE });
  t.equal(after.status, 403);
  t.equal(after.body.code, 'SessionRevoked');
  t.equal(v.decisions.at(-1)!.error_code, 'SessionRevoked');
});

t.test('implicit sessions: one per (caller, profile) across containers; a revoked one stays revoked', async (t) => {
  const v = await startVendor(t);
  const first = await call(v, 'rest', { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE });
  t.equal(first.status, 200);
  const sessionId = v.decisions.at(-1)!.session_id!;
  // A second container (a new handler over the same tables) finds the same session.
  const { createHandler } = await import('../lambda/handler.js');
  const other = createHandler({ decisions: { write: (e) => v.decisions.push(e) } });
  t.teardown(() => other.close());
  const second = JSON.parse(
    (await other(restEvent({ method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE }) as never)).body,
  );
  t.ok(second.AccessKeyId);
  t.equal(v.decisions.at(-1)!.session_id, sessionId);
  const revoked = await call(v, 'rest', {
    method: 'POST',
    path: `/v1/sessions/${sessionId}/revoke`,
    callerArn: ALICE,
    body: JSON.stringify({ reason: 'rotating' }),
  });
  t.equal(revoked.status, 200);
  const again = await call(v, 'rest', { method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE });
  t.equal(again.status, 403);
  t.equal(again.body.code, 'SessionRevoked');
  const viaOther = JSON.parse(
    (await other(restEvent({ method: 'GET', path: '/v1/credentials?profile=dev', callerArn: ALICE }) as never)).body,
  );
  t.equal(viaOther.code, 'SessionRevoked', 'the other container refuses too');
});

t.test('approval: require_approval → request → approve by an approver → served with marker approved', async (t) => {
  const v = await startVendor(t);
  const CAROL = 'arn:aws:iam::111122223333:user/carol';
  const before = await call(v, 'http', { method: 'GET', path: '/v1/credentials?profile=prod', callerArn: ALICE });
  t.equal(before.status, 403);
  t.equal(before.body.code, 'ApprovalRequired');
  const filed = await call(v, 'http', {
    method: 'POST',
    path: '/v1/requests',
    callerArn: ALICE,
    body: JSON.stringify({ profile: 'prod', justification: 'incident 4711 needs prod logs', duration: 3600 }),
  });
  t.equal(filed.status, 201);
  t.match(filed.body, { status: 'pending', requester: 'alice', requester_arn: ALICE, profile: 'prod' });
  const id = filed.body.id as string;
  const self = await call(v, 'http', {
    method: 'POST',
    path: `/v1/requests/${id}/approve`,
    callerArn: ALICE,
    body: '{}',
  });
  t.equal(self.status, 403);
  t.equal(self.body.code, 'NotApprover');
  const mine = await call(v, 'rest', { method: 'GET', path: '/v1/requests', callerArn: ALICE });
  t.same(
    mine.body.requests.map((r: { id: string }) => r.id),
    [id],
  );
  const approved = await call(v, 'rest', {
    method: 'POST',
    path: `/v1/requests/${id}/approve`,
    callerArn: CAROL,
    body: JSON.stringify({ comment: 'ok for the incident' }),
  });
  t.equal(approved.status, 200);
  t.match(approved.body, { status: 'approved', approver: 'carol', approver_arn: CAROL });
  const served = await call(v, 'http', { method: 'GET', path: '/v1/credentials?profile=prod', callerArn: ALICE });
  t.equal(served.status, 200);
  const assumed = v.sts.assumeRoleRequests.at(-1)!;
  t.equal(assumed.RoleArn, PROD_ROLE);
  t.equal(assumed.ExternalId, 'sentinel-prod');
  t.match(assumed.SourceIdentity, /^sentinel-alice-approved-[0-9a-f]{16}$/);
  t.equal(v.decisions.at(-1)!.approved_request_id, id);
  const revoked = await call(v, 'rest', {
    method: 'POST',
    path: `/v1/requests/${id}/revoke`,
    callerArn: CAROL,
    body: JSON.stringify({ reason: 'incident closed' }),
  });
  t.equal(revoked.body.status, 'revoked');
  const after = await call(v, 'http', { method: 'GET', path: '/v1/credentials?profile=prod', callerArn: ALICE });
  t.equal(after.status, 403);
  t.equal(after.body.code, 'ApprovalRequired');
});

t.test('profiles and status', async (t) => {
  const v = await startVendor(t);
  const profiles = await call(v, 'rest', { method: 'GET', path: '/v1/profiles', callerArn: DAVE });
  t.same(
    profiles.body.profiles.map((p: { name: string; role_arn: string }) => [p.name, p.role_arn]),
    [
      ['dev', DEV_ROLE],
      ['prod', PROD_ROLE],
    ],
  );
  const status = await call(v, 'http', { method: 'GET', path: '/v1/status', callerArn: DAVE });
  t.equal(status.status, 200);
  t.match(status.body, {
    kind: 'vendor',
    caller: { arn: DAVE, user: 'dave' },
    policy: { source: 'file', lastError: null },
  });
  const unknown = await call(v, 'rest', { method: 'GET', path: '/v1/credentials?profile=nope', callerArn: ALICE });
  t.equal(unknown.status, 404);
  t.equal(unknown.body.code, 'ProfileUnknown');
});

t.test(
  'break-glass: a deny lifted by an active event, marker breakglass; one event at a time; close ends it',
  async (t) => {
    const v = await startVendor(t);
    const BOB = 'arn:aws:iam::111122223333:user/bob';
    const denied = await call(v, 'rest', { method: 'GET', path: '/v1/credentials?profile=prod', callerArn: BOB });
    t.equal(denied.status, 403);
    t.equal(denied.body.code, 'PolicyDenied');
    const invoke = (callerArn: string, profile = 'prod') =>
      call(v, 'http', {
        method: 'POST',
        path: '/v1/breakglass',
        callerArn,
        body: JSON.stringify({
          profile,
          reason_code: 'incident',
          justification: 'database down, paging says prod is burning',
          duration: 1800,
        }),
      });
    const refused = await invoke(DAVE);
    t.equal(refused.status, 403);
    t.equal(refused.body.code, 'BreakGlassRefused', 'dave is not in the entry');
    const mfa = await invoke(DAVE, 'dev');
    t.equal(mfa.status, 403);
    t.equal(mfa.body.code, 'MfaRequired', 'the vendor verifies no MFA codes');
    const event = await invoke(BOB);
    t.equal(event.status, 201);
    t.match(event.body, {
      invoker: 'bob',
      invoker_arn: BOB,
      profile: 'prod',
      status: 'active',
      rule: 'prod-emergency',
    });
    const twice = await invoke(BOB);
    t.equal(twice.status, 409);
    t.equal(twice.body.code, 'Conflict');
    const served = await call(v, 'rest', { method: 'GET', path: '/v1/credentials?profile=prod', callerArn: BOB });
    t.equal(served.status, 200);
    t.match(v.sts.assumeRoleRequests.at(-1)!.SourceIdentity, /^sentinel-bob-breakglass-[0-9a-f]{16}$/);
    t.equal(v.decisions.at(-1)!.break_glass_event_id, event.body.id);
    const listed = await call(v, 'rest', { method: 'GET', path: '/v1/breakglass?mine=1', callerArn: BOB });
    t.same(
      listed.body.events.map((e: { id: string }) => e.id),
      [event.body.id],
    );
    const notYours = await call(v, 'rest', {
      method: 'POST',
      path: `/v1/breakglass/${event.body.id}/close`,
      callerArn: DAVE,
      body: JSON.stringify({ reason: 'not mine to close' }),
    });
    t.equal(notYours.status, 403);
    t.equal(notYours.body.code, 'NotApprover');
    const closed = await call(v, 'rest', {
      method: 'POST',
      path: `/v1/breakglass/${event.body.id}/close`,
      callerArn: BOB,
      body: JSON.stringify({ reason: 'fixed' }),
    });
    t.equal(closed.status, 200);
    t.equal(closed.body.status, 'closed');
    const after = await call(v, 'rest', { method: 'GET', path: '/v1/credentials?profile=prod', callerArn: BOB });
    t.equal(after.status, 403);
    t.equal(after.body.code, 'PolicyDenied');
  },
);
