// Approval requests and break-glass events in vendor mode (DESIGN §10, §11, §17), through the daemon: `sentinel
// request`, `requests --mine|show|cancel` and `breakglass invoke|list|show` go over the socket to the daemon, which
// forwards them SigV4-signed to the vendor (daemon → API Gateway stand-in → the real Lambda handler → dynalite). The
// vendor knows the caller only as the identity it verified; its answers and refusals come back unchanged, and an
// approval or an event at the vendor is what lets the next credential request through. The daemon's own sessions are
// listed as the vendor has them, and a session whose process exits is ended locally even when the vendor cannot be
// told.
import t from 'tap';
import { spawn } from 'node:child_process';
import { ALICE, CAROL, startBridge } from './support/bridge.js';
import { requireBuild, sentinel, userEnv, type Run } from './support/cli.js';
import { until } from './support/wait.js';
import { DEV_ROLE, PROD_ROLE } from './support/vendor.js';
import type { SentinelError } from '../core/errors.js';

const POLICY = `version: "1"
rules:
  - { name: dev-team, effect: allow, conditions: { profiles: [dev], users: [alice] } }
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod], users: [alice] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol] }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [alice], allowed_reason_codes: [incident], max_duration: 1h }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1, external_id: sentinel-prod }
`;
const REASON = 'deploy hotfix for INC-4242 to checkout';
const BG_REASON = 'checkout is down, INC-4242, restarting workers';

t.test('requests and break-glass through the daemon, decided at the vendor', async (t) => {
  requireBuild();
  const b = await startBridge(t, { policy: POLICY });
  const { daemon: d } = b;
  const env = userEnv(d, { AWS_REGION: 'us-east-1' });
  const cli = (args: string[]) => sentinel(t, args, { env });
  const json = (r: Run) => {
    t.equal(r.code, 0, `exit 0${r.stderr ? `: ${r.stderr}` : ''}`);
    return JSON.parse(r.stdout) as Record<string, any>;
  };
  const carol = b.vendorAs(CAROL);
  const prodSession = async () => {
    try {
      const s = await d.openSession('prod');
      return (await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s.token })).status;
    } catch (e) {
      return (e as SentinelError).code;
    }
  };

  await t.test('a request is filed, listed, shown and cancelled at the vendor', async (t) => {
    t.equal(await prodSession(), 'ApprovalRequired', 'prod needs a yes first');
    const filed = json(await cli(['request', 'prod', '--reason', REASON, '--json']));
    t.match(filed, { profile: 'prod', status: 'pending', requester: 'alice', justification: REASON });
    const atVendor = (await carol.call({ method: 'GET', path: `/v1/requests/${filed.id}` })) as Record<string, any>;
    t.equal(atVendor.requester_arn, ALICE.arn, 'the vendor stored the identity it verified');
    const mine = json(await cli(['requests', '--mine', '--json']));
    t.same(
      (mine.requests ?? mine).map((r: { id: string }) => r.id),
      [filed.id],
      'requests --mine lists it',
    );
    t.match(json(await cli(['requests', 'show', filed.id, '--json'])), { id: filed.id, status: 'pending' });
    t.match(json(await cli(['requests', 'cancel', filed.id, '--json'])), { id: filed.id, status: 'cancelled' });
    t.match(
      await carol.call({ method: 'GET', path: `/v1/requests/${filed.id}` }),
      { status: 'cancelled' },
      'cancelled at the vendor',
    );
  });

  await t.test("an approval at the vendor lets the daemon's next prod session through", async (t) => {
    const filed = json(await cli(['request', 'prod', '--reason', REASON, '--for', '30m', '--json']));
    await carol.call({ method: 'POST', path: `/v1/requests/${filed.id}/approve`, body: { comment: 'go ahead' } });
    t.equal(await prodSession(), 200, 'served under the approval');
    t.match(json(await cli(['requests', 'show', filed.id, '--json'])), { status: 'approved', approver: 'carol' });
  });

  await t.test("the vendor's refusals come back unchanged", async (t) => {
    const dev = await cli(['request', 'dev', '--reason', REASON]);
    t.equal(dev.code, 3, 'dev needs no approval: PolicyDenied, exit 3');
    t.match(dev.stderr, /require_approval|needs no approval|is allowed/);
    const unknown = await cli(['requests', 'show', '0123456789abcdef', '--json']);
    t.not(unknown.code, 0);
    t.match(JSON.parse(unknown.stdout || unknown.stderr), { error: { code: 'NotFound' } });
  });

  await t.test('break-glass: preview, invoke, list, show, close', async (t) => {
    const preview = (await d.client.post('/v1/breakglass', {
      profile: 'prod',
      reason_code: 'incident',
      justification: BG_REASON,
      dry_run: true,
    })) as Record<string, any>;
    t.match(preview, { profile: 'prod' }, 'a dry run answers what would happen');
    t.same(
      (await carol.call({ method: 'GET', path: '/v1/breakglass', query: {} })) as Record<string, any>,
      { events: [] },
      'and opens nothing',
    );
    const event = json(
      await cli(['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', BG_REASON, '-y', '--json']),
    );
    t.match(event, { profile: 'prod', status: 'active', invoker: 'alice', reason_code: 'incident' });
    const listed = json(await cli(['breakglass', 'list', '--mine', '--json']));
    t.same(
      (listed.events ?? listed).map((e: { id: string }) => e.id),
      [event.id],
    );
    t.match(json(await cli(['breakglass', 'show', event.id, '--json'])), { id: event.id, status: 'active' });
    const closed = json(await cli(['breakglass', 'close', event.id, '--reason', 'workers restarted', '--json']));
    t.match(closed, { id: event.id, status: 'closed' });
    t.match(
      await carol.call({ method: 'GET', path: `/v1/breakglass/${event.id}` }),
      { status: 'closed', closed_by: 'alice' },
      'closed at the vendor',
    );
  });

  await t.test("server sessions lists this daemon's sessions as the vendor has them", async (t) => {
    const [a, b2] = [await d.openSession('dev'), await d.openSession('dev')];
    // Revoked at the vendor by its owner, with her own keys, not through this daemon.
    await b
      .vendorAs(ALICE)
      .call({ method: 'POST', path: `/v1/sessions/${b2.id}/revoke`, body: { reason: 'not needed' } });
    const active = json(await cli(['server', 'sessions', '--status', 'active', '--json']));
    const ids = (active.sessions ?? active.items ?? active).map((s: { id: string }) => s.id);
    t.ok(ids.includes(a.id), 'the active one is listed');
    t.notOk(ids.includes(b2.id), 'the one revoked at the vendor is not, with --status active');
    const revoked = json(await cli(['server', 'sessions', '--status', 'revoked', '--json']));
    t.match(
      (revoked.sessions ?? revoked.items ?? revoked).find((s: { id: string }) => s.id === b2.id),
      { status: 'revoked', revoked_reason: 'not needed' },
      'and --status revoked shows who ended it and why, as the vendor stored it',
    );
  });

  await t.test('a session whose process exits ends locally even when the vendor cannot be told', async (t) => {
    const owner = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.teardown(() => owner.kill('SIGKILL'));
    const s = await d.openSession('dev', { pid: owner.pid });
    t.equal((await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s.token })).status, 200);
    await b.gw.close();
    owner.kill('SIGKILL');
    await until(
      () => d.logs(),
      (logs) => logs.includes('session_end_failed'),
      10_000,
    );
    const after = await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s.token });
    t.equal(after.status, 403, 'its token is no longer served');
    t.notMatch(d.logs(), new RegExp(s.token), 'and the token is never logged');
  });
});
