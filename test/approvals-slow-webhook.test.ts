// A webhook that never answers does not delay `POST /v1/requests` through the daemon (DESIGN §12: the action never
// waits on a notification), and the request's notification_status records the failure once delivery gives up. One
// attempt waits up to 10 s for an answer; the receiver is then taken away so the retries fail within seconds (a
// receiver that keeps hanging ends the same way after 4 × 10 s; test/notify-webhook.test.ts proves that part).
import t from 'tap';
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
