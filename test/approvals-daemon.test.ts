// Approvals end to end through a real daemon with the DynamoDB store (dynalite): alice's prod is refused with the
// hint; she files a request through the daemon (requester = the identity the daemon serves); bob cannot approve,
// carol can; the daemon then serves prod with the marker `approved` (seen by the STS emulator, fetched by the real
// AWS CLI); carol's revoke refuses the next credential request; the memory store refuses approvals.
import t from 'tap';
import { decideRequest, revokeRequest } from '../core/approvals/service.js';
import { parsePolicy } from '../core/policy/load.js';
import { BASE_ARN, fetchWithClient, startDaemon } from './support/daemon.js';
import { approvalsConfig, startRequestsTable, startTeamTable } from './support/team-sessions.js';

const POLICY = `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
  - { name: blocked, effect: deny, conditions: { profiles: [blocked] } }
approvals:
  - { name: prod-approvers, profiles: [prod, blocked], approvers: [carol], max_duration: 2h }
`;
const policy = (() => {
  const r = parsePolicy(POLICY);
  if (!r.ok) throw new Error('bad test policy');
  return r.policy;
})();
async function refusal(p: Promise<unknown>): Promise<{ code: string; hint: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; hint: string; message: string };
  }
  throw new Error('expected a refusal');
}

const policyFor = async () => policy;
const CAROL = { arn: 'arn:aws:iam::123456789012:user/carol', user: 'carol' };
const BOB = { arn: 'arn:aws:iam::123456789012:user/bob', user: 'bob' };

t.test('request, approve, serve with marker approved, revoke', async (t) => {
  const team = await startTeamTable(t);
  const requests = await startRequestsTable(team);
  const d = await startDaemon(t, {
    policy: POLICY,
    config: approvalsConfig(),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });

  const refused = await refusal(d.client.post('/v1/sessions', { profile: 'prod' }));
  t.equal(refused.code, 'ApprovalRequired');
  t.match(refused.hint, /sentinel request prod --reason/);

  const bad = await refusal(d.client.post('/v1/requests', { profile: 'prod', justification: 'short' }));
  t.equal(bad.code, 'BadRequest');
  const denied = await refusal(
    d.client.post('/v1/requests', { profile: 'blocked', justification: 'please let me in' }),
  );
  t.equal(denied.code, 'PolicyDenied', 'a deny cannot be requested');
  const hostile = await refusal(d.client.post('/v1/requests', { profile: 'prod', justification: 'x', extra: 1 }));
  t.equal(hostile.code, 'BadRequest');
  t.same(await requests.scan(), [], 'nothing written by refused requests');

  const filed = await d.client.post<{ id: string; status: string; requester_arn: string }>('/v1/requests', {
    profile: 'prod',
    justification: 'deploy hotfix for INC-42',
    duration: 3600,
  });
  t.equal(filed.status, 'pending');
  t.equal(filed.requester_arn, BASE_ARN, 'the requester is the identity the daemon serves');
  const mine = await d.client.get<{ requests: Array<{ id: string }> }>('/v1/requests?mine');
  t.same(
    mine.requests.map((r) => r.id),
    [filed.id],
  );
  t.equal((await d.client.get<{ id: string }>(`/v1/requests/${filed.id}`)).id, filed.id);
  const badId = await refusal(d.client.get('/v1/requests/NOT-AN-ID'));
  t.equal(badId.code, 'BadRequest');

  const bobTry = await refusal(
    decideRequest(requests, policyFor, { approver: BOB, id: filed.id, decision: 'approve' }, () => new Date()),
  );
  t.equal(bobTry.code, 'NotApprover');
  const aliceTry = await refusal(
    decideRequest(
      requests,
      policyFor,
      { approver: { arn: BASE_ARN, user: 'alice' }, id: filed.id, decision: 'approve' },
      () => new Date(),
    ),
  );
  t.equal(aliceTry.code, 'NotApprover');
  await decideRequest(requests, policyFor, { approver: CAROL, id: filed.id, decision: 'approve' }, () => new Date());

  const session = await d.openSession('prod');
  const cli = await fetchWithClient('aws-cli', session.url, session.token);
  t.equal(cli.code, 0, `the AWS CLI gets credentials: ${cli.stderr}`);
  const stamped = d.sts.assumeRoleRequests.filter((r) => r.outcome === 'ok').map((r) => r.SourceIdentity);
  t.ok(
    stamped.some((s) => /^sentinel-alice-approved-[0-9a-f]{16}$/.test(s ?? '')),
    `marker approved: ${stamped}`,
  );
  const lines = await d.decisions();
  t.ok(
    lines.some((l) => (l.entry ?? l).approved_request_id === filed.id),
    'the decision log names approved_request_id',
  );

  await revokeRequest(
    requests,
    policyFor,
    { approver: CAROL, id: filed.id, reason: 'incident over' },
    () => new Date(),
  );
  const after = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(after.status, 403, 'the next credential request is refused after the revoke');
  t.equal(after.json?.Code, 'ApprovalRequired');
});

t.test('the memory store refuses approvals with a clear error', async (t) => {
  const d = await startDaemon(t, { policy: POLICY });
  const r = await refusal(
    d.client.post('/v1/requests', { profile: 'prod', justification: 'deploy hotfix for INC-42' }),
  );
  t.equal(r.code, 'BadRequest');
  t.match(r.message, /approvals need a shared table/);
});

t.test("the daemon's approval check uses the configured trusted_session_roles", async (t) => {
  const team = await startTeamTable(t);
  const requests = await startRequestsTable(team);
  // carol approves from a role her team trusts to name people (not IAM Identity Center): she is carol only because
  // the config says so, and the daemon must agree when it re-checks the approval on every credential request.
  const roles = ['Approvers'];
  const d = await startDaemon(t, {
    policy: POLICY,
    config: approvalsConfig('identity: { trusted_session_roles: [AWSReservedSSO_*, Approvers] }\n'),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });
  const filed = await d.client.post<{ id: string }>('/v1/requests', {
    profile: 'prod',
    justification: 'deploy hotfix for INC-42',
    duration: 3600,
  });
  const carolByRole = { arn: 'arn:aws:sts::123456789012:assumed-role/Approvers/carol', user: 'carol' };
  const untrusted = await refusal(
    decideRequest(requests, policyFor, { approver: carolByRole, id: filed.id, decision: 'approve' }, () => new Date()),
  );
  t.equal(untrusted.code, 'NotApprover', 'without the trusted role, the session name carol is not carol');
  await decideRequest(
    requests,
    policyFor,
    { approver: { ...carolByRole, trustedSessionRoles: roles }, id: filed.id, decision: 'approve' },
    () => new Date(),
  );
  const session = await d.openSession('prod');
  const served = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(
    served.status,
    200,
    `the daemon accepts the approval under its configured roles (${served.json?.Code ?? served.status})`,
  );
});
