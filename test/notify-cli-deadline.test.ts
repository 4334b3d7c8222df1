// A command that writes the table itself delivers its notification before it exits, bounded to 20 s (DESIGN §12).
// Against a webhook that accepts the connection and never answers: `approve` and `breakglass close --table` exit
// within the bound (not after the 4 × 10 s of attempts and 7 s of backoff), say the notification was not delivered,
// and the record's notification_status says this event failed — not the `delivered` left by the event before it.
import t from 'tap';
import { BREAKGLASS_TABLE, EVENT_KIND } from '../core/breakglass/record.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { sentinel, userEnv } from './support/cli.js';
import { startDaemon } from './support/daemon.js';
import { TEAM_REQUESTS, personEnv, startRequestsTable, startTeamTable, teamConfig } from './support/team-sessions.js';
import { until } from './support/wait.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const TABLE = 'team-bg';
const CAROL = { key: 'AKIAPERSONCAROL00001', arn: 'arn:aws:iam::123456789012:user/carol' };
// The bound, and what a command may take beside it (start-up, STS, DynamoDB, the close).
const BOUND_MS = 20_000;
const SLACK_MS = 8_000;

const policy = (hook: string) => `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
  - { name: frozen, effect: deny, conditions: { profiles: [dev] }, reason: change freeze }
approvals:
  - { name: approvers, profiles: [prod, dev], approvers: [carol], notify: [ops-hook] }
breakglass:
  - { name: emergency, profiles: [dev], users: [alice], allowed_reason_codes: [incident], notify: [ops-hook] }
notifications:
  - { name: ops-hook, webhook: { url: "${hook}" } }
`;

t.test('approve and breakglass close against a webhook that never answers', async (t) => {
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  const POLICY = policy(hook.url);
  const team = await startTeamTable(t);
  const requests = await startRequestsTable(team);
  await ensureTable(team.client, BREAKGLASS_TABLE, TABLE, { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, { client: team.client, table: TABLE, ownsClient: false });
  const d = await startDaemon(t, {
    policy: POLICY,
    config: teamConfig(undefined, `requests: { table: ${TEAM_REQUESTS} }\nbreakglass: { table: ${TABLE} }\n`),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
    pidPollMs: 100,
  });
  const alice = userEnv(d);
  const carol = personEnv(t, d.sts, team.url, CAROL, {
    '.config/sentinel/config.yaml': `region: us-east-1\nrequests: { table: ${TEAM_REQUESTS} }\nbreakglass: { table: ${TABLE} }\n`,
    '.config/sentinel/policy.yaml': POLICY,
  });

  // Both records first get a delivered notification (the receiver answers 200).
  const filed = await sentinel(t, ['request', 'prod', '--reason', 'deploy hotfix for INC-42', '--json'], {
    env: alice,
  });
  t.equal(filed.code, 0, filed.stderr);
  const request = JSON.parse(filed.stdout) as { id: string };
  const invoked = await sentinel(
    t,
    ['breakglass', 'invoke', 'dev', '--reason-code', 'incident', '--reason', 'checkout is down, INC-4242', '--json'],
    { env: alice },
  );
  t.equal(invoked.code, 0, invoked.stderr);
  const event = JSON.parse(invoked.stdout) as { id: string };
  await until(
    async () => [
      (await requests.get(request.id))?.notification_status,
      (await events.get(event.id))?.notification_status,
    ],
    ([a, b]) => a === 'delivered' && b === 'delivered',
    20_000,
    100,
  );

  hook.script([], 'hang');

  await t.test('approve', async (t) => {
    const started = Date.now();
    const r = await sentinel(t, ['approve', request.id, '--comment', 'ok'], { env: carol, timeoutMs: 90_000 });
    const took = Date.now() - started;
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /Approved request/);
    t.match(r.stderr, /not delivered|failed/, `a warning: ${r.stderr.trim()}`);
    t.ok(took < BOUND_MS + SLACK_MS, `exited in ${took} ms (bound ${BOUND_MS} ms)`);
    const stored = await requests.get(request.id);
    t.equal(stored?.status, 'approved', 'the decision stands');
    t.match(stored?.notification_status, /^failed: ops-hook: /, `recorded: ${stored?.notification_status}`);
  });

  await t.test('breakglass close --table', async (t) => {
    const started = Date.now();
    const r = await sentinel(t, ['breakglass', 'close', event.id, '--reason', 'over', '--table', TABLE], {
      env: carol,
      timeoutMs: 90_000,
    });
    const took = Date.now() - started;
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /not delivered|failed/, `a warning: ${r.stderr.trim()}`);
    t.ok(took < BOUND_MS + SLACK_MS, `exited in ${took} ms (bound ${BOUND_MS} ms)`);
    const stored = await events.get(event.id);
    t.equal(stored?.status, 'closed', 'the close stands');
    t.match(stored?.notification_status, /^failed: ops-hook: /, `recorded: ${stored?.notification_status}`);
  });
});
