// A credential request under an approval reads the session and the approved request together: exactly one DynamoDB
// call, a consistent BatchGetItem over both tables (DESIGN §3.4, §10), counted at the wire by the proxy in front of
// dynalite. The joined read is still the revocation check: revoking the approval, or the session, refuses the next
// request.
import t from 'tap';
import { decideRequest, revokeRequest } from '../core/approvals/service.js';
import { parsePolicy } from '../core/policy/load.js';
import { startDaemon } from './support/daemon.js';
import { approvalsConfig, startRequestsTable, startTeamTable } from './support/team-sessions.js';

const POLICY = `version: "1"
rules:
  - { name: dev-direct, effect: allow, conditions: { profiles: [dev] } }
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], max_duration: 2h }
`;
const parsed = parsePolicy(POLICY);
if (!parsed.ok) throw new Error('bad test policy');
const policyFor = async () => parsed.policy;
const CAROL = { arn: 'arn:aws:iam::123456789012:user/carol', user: 'carol' };

t.test('one BatchGetItem per credential request for an approved session; revocations still bite', async (t) => {
  const team = await startTeamTable(t, { proxy: true });
  const proxy = team.proxy!;
  const requests = await startRequestsTable(team);
  const d = await startDaemon(t, {
    policy: POLICY,
    config: approvalsConfig(),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
    touchFlushMs: 3_600_000, // no session touch lands inside a counted request
  });
  const filed = await d.client.post<{ id: string }>('/v1/requests', {
    profile: 'prod',
    justification: 'deploy hotfix for INC-42',
    duration: 3600,
  });
  await decideRequest(requests, policyFor, { approver: CAROL, id: filed.id, decision: 'approve' }, () => new Date());

  const prod = await d.openSession('prod');
  const dev = await d.openSession('dev');
  const get = async (token: string) => {
    const from = proxy.operations.length;
    const r = await d.fetch({ transport: 'tcp', token });
    return { status: r.status, code: r.json?.Code as string | undefined, ops: proxy.operations.slice(from) };
  };

  const first = await get(prod.token);
  t.equal(first.status, 200, 'the approved session is served');
  const warm = await get(prod.token);
  t.equal(warm.status, 200);
  t.same(
    warm.ops.map((o) => o.op),
    ['BatchGetItem'],
    'a warm request for the approved session is one DynamoDB call',
  );
  const items = warm.ops[0]!.body.RequestItems as Record<string, { Keys: unknown[]; ConsistentRead: boolean }>;
  t.same(Object.keys(items).sort(), ['team-requests', 'team-sessions'], 'the session and the request, together');
  t.equal(items['team-sessions']!.ConsistentRead, true);
  t.equal(items['team-requests']!.ConsistentRead, true);
  t.same(items['team-requests']!.Keys, [{ id: { S: filed.id } }], 'the approved request in use');
  t.same(items['team-sessions']!.Keys, [{ id: { S: prod.id } }]);

  const direct = await get(dev.token);
  t.equal(direct.status, 200);
  t.same(
    direct.ops.map((o) => o.op),
    ['GetItem'],
    'a direct session reads only its session',
  );

  await revokeRequest(
    requests,
    policyFor,
    { approver: CAROL, id: filed.id, reason: 'incident over' },
    () => new Date(),
  );
  const revoked = await get(prod.token);
  t.equal(revoked.status, 403, 'the approval revoked: the next request is refused');
  t.equal(revoked.code, 'ApprovalRequired');
  t.equal(revoked.ops[0]?.op, 'BatchGetItem', 'found revoked by the joined read');

  // A second approval, then the session itself revoked by an admin: the joined read is still the revocation read.
  const again = await d.client.post<{ id: string }>('/v1/requests', {
    profile: 'prod',
    justification: 'second try at the hotfix',
    duration: 3600,
  });
  await decideRequest(requests, policyFor, { approver: CAROL, id: again.id, decision: 'approve' }, () => new Date());
  t.equal((await get(prod.token)).status, 200, 'served under the new approval');
  const joined = await get(prod.token);
  t.same(
    joined.ops.map((o) => o.op),
    ['BatchGetItem'],
  );
  await team.store.revoke(prod.id, 'secops', 'lost laptop');
  const gone = await get(prod.token);
  t.equal(gone.status, 403, 'the session revoked: refused');
  t.equal(gone.code, 'SessionRevoked');
});
