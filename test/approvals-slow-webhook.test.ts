// A webhook that never answers does not delay `POST /v1/requests` through the daemon (DESIGN §12: the action never
// waits on a notification), and the request's notification_status records the failure once delivery gives up. One
// attempt waits up to 10 s for an answer; the receiver is then taken away so the retries fail within seconds (a
// receiver that keeps hanging ends the same way after 4 × 10 s; test/notify-webhook.test.ts proves that part).
import t from 'tap';
import { BREAKGLASS_TABLE, EVENT_KIND } from '../core/breakglass/record.js';
import { STOP_WAIT_MS } from '../core/notify/notifier.js';
import { CUT_OFF } from '../core/notify/webhook.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { startDaemon } from './support/daemon.js';
import { approvalsConfig, startRequestsTable, startTeamTable } from './support/team-sessions.js';
import { until } from './support/wait.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

t.test('a webhook that never answers: the request is filed at once, the failure recorded', async (t) => {
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  hook.script([], 'hang');
  const team = await startTeamTable(t);
  const requests = await startRequestsTable(team);
  const d = await startDaemon(t, {
    policy: `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], notify: [ops-webhook] }
notifications:
  - { name: ops-webhook, webhook: { url: "${hook.url}" } }
`,
    config: approvalsConfig(),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });

  const started = Date.now();
  const filed = await d.client.post<{ id: string; status: string }>('/v1/requests', {
    profile: 'prod',
    justification: 'deploy hotfix for INC-42',
  });
  const tookMs = Date.now() - started;
  t.equal(filed.status, 'pending');
  await until(
    () => hook.received.length,
    (n) => n >= 1,
    5000,
  );
  t.ok(tookMs < 5000, `filed in ${tookMs} ms while the webhook hangs (one attempt may wait 10 s)`);
  t.equal(JSON.parse(hook.received[0]!.body).request.id, filed.id, 'the receiver got the request.created event');
  t.equal((await requests.get(filed.id))!.notification_status, undefined, 'nothing recorded while delivery goes on');

  await hook.close(); // the hung attempt is cut and every retry is refused
  const record = await until(
    () => requests.get(filed.id),
    (r) => r?.notification_status !== undefined,
    20_000,
    100,
  );
  t.match(record!.notification_status, /^failed/, `recorded: ${record!.notification_status}`);
  t.equal(record!.status, 'pending', 'the request itself stands');
});

t.test('a daemon that stops cuts deliveries still going short and records that, in seconds', async (t) => {
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  hook.script([], 'hang');
  const team = await startTeamTable(t);
  const requests = await startRequestsTable(team);
  await ensureTable(team.client, BREAKGLASS_TABLE, 'team-bg', { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, { client: team.client, table: 'team-bg', ownsClient: false });
  const d = await startDaemon(t, {
    policy: `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
  - { name: frozen, effect: deny, conditions: { profiles: [dev] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], notify: [ops-webhook] }
breakglass:
  - { name: emergency, profiles: [dev], users: [alice], allowed_reason_codes: [incident], notify: [ops-webhook] }
notifications:
  - { name: ops-webhook, webhook: { url: "${hook.url}" } }
`,
    config: approvalsConfig('breakglass: { table: team-bg }\n'),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });
  const filed = await d.client.post<{ id: string }>('/v1/requests', {
    profile: 'prod',
    justification: 'deploy hotfix for INC-42',
  });
  const invoked = await d.client.post<{ id: string }>('/v1/breakglass', {
    profile: 'dev',
    reason_code: 'incident',
    justification: 'checkout is down, INC-4242',
  });
  await until(
    () => hook.received.length,
    (n) => n >= 2,
    5000,
  );
  const started = Date.now();
  await d.stop();
  const took = Date.now() - started;
  t.ok(took < STOP_WAIT_MS + 4000, `stopped in ${took} ms, not after 4 attempts of 10 s`);
  t.equal((await requests.get(filed.id))?.notification_status, `failed: ops-webhook: ${CUT_OFF}`);
  t.equal((await events.get(invoked.id))?.notification_status, `failed: ops-webhook: ${CUT_OFF}`);
});
