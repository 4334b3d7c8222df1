// Break-glass through a real daemon with the DynamoDB store (dynalite) and the STS emulator: every refusal names its
// check and writes nothing; an invocation lifts a `deny` for alice on prod — served with the marker `breakglass` as
// the STS emulator sees it, with break_glass_event_id in the decision log — but never a mode requirement; closing
// stops access at the next request; notifications reach a webhook (signature verified) and SNS in the background,
// with notification_status recorded, and a receiver that never answers does not delay the invocation.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import type { RecordKind, StoredRecord } from '../core/records/kind.js';
import { BREAKGLASS_TABLE, EVENT_KIND, LOCK_KIND, SLOT_KIND } from '../core/breakglass/record.js';
import { DEFAULT_AWS_CONFIG, startDaemon } from './support/daemon.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';
import { startSns } from './support/sns-emulator.js';
import { startSsm } from './support/ssm-emulator.js';
import { until } from './support/wait.js';

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const notToday = DAYS[(new Date().getUTCDay() + 3) % 7];

export const AWS_CONFIG = `${DEFAULT_AWS_CONFIG}
[profile stage]
role_arn = arn:aws:iam::444444444444:role/stage
source_profile = base
region = us-east-1

[profile list]
role_arn = arn:aws:iam::555555555555:role/list
source_profile = base
region = us-east-1
`;

const policy = (hook: string, topic: string) => `version: "1"
rules:
  - { name: prod-frozen, effect: deny, conditions: { profiles: [prod, list] }, reason: prod is frozen }
  - { name: blocked-for-all, effect: deny, conditions: { profiles: [blocked] } }
  - { name: dev-needs-server, effect: require_server, conditions: { profiles: [dev] } }
  - { name: stage-closed, effect: deny, conditions: { profiles: [stage] } }
notifications:
  - name: ops-webhook
    webhook: { url: "${hook}", secret_parameter: /sentinel/webhooks/ops }
  - name: security-topic
    sns: { topic_arn: "${topic}" }
breakglass:
  - name: prod-emergency
    profiles: [prod, dev, list]
    users: [alice]
    allowed_reason_codes: [incident, security]
    max_duration: 2h
    notify: [ops-webhook, security-topic]
  - { name: blocked-bob, profiles: [blocked], users: [bob] }
  - name: stage-weekday
    profiles: [stage]
    users: [alice]
    time: { days: [${notToday}], timezone: UTC }
`;

async function refusal(p: Promise<unknown>): Promise<{ code: string; hint: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; hint: string; message: string };
  }
  throw new Error('expected a refusal');
}

const SECRET = 'webhook-signing-secret-0001';
const JUSTIFICATION = 'database on fire, INC-1234, paging the on-call';

t.test('break-glass end to end through the daemon', async (t) => {
  const team = await startTeamTable(t, { proxy: true });
  await ensureTable(team.client, BREAKGLASS_TABLE, 'team-breakglass', { pollMs: 5 });
  const store = <R extends StoredRecord>(kind: RecordKind<R>) =>
    new DynamoRecordStore(kind, { client: team.client, table: 'team-breakglass', ownsClient: false });
  const events = store(EVENT_KIND);
  const written = async () =>
    [...(await events.scan()), ...(await store(LOCK_KIND).scan()), ...(await store(SLOT_KIND).scan())].length;
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  const sns = await startSns();
  t.teardown(() => sns.close());
  const ssm = await startSsm();
  t.teardown(() => ssm.close());
  ssm.put('/sentinel/webhooks/ops', SECRET, { type: 'SecureString' });
  const topic = sns.createTopic('sentinel-security');
  const d = await startDaemon(t, {
    policy: policy(hook.url, topic),
    awsConfig: AWS_CONFIG,
    config: teamConfig(undefined, 'breakglass: { table: team-breakglass }\n'),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url, AWS_ENDPOINT_URL_SSM: ssm.url, AWS_ENDPOINT_URL_SNS: sns.url },
    touchFlushMs: 3_600_000, // no session touch lands inside a counted request
  });
  const invoke = (body: Record<string, unknown>) =>
    d.client.post<Record<string, any>>('/v1/breakglass', {
      profile: 'prod',
      reason_code: 'incident',
      justification: JUSTIFICATION,
      ...body,
    });

  await t.test('each refusal names its check and writes nothing', async (t) => {
    const before = await refusal(d.client.post('/v1/sessions', { profile: 'prod' }));
    t.equal(before.code, 'PolicyDenied', 'prod is denied before break-glass');
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [
        { profile: 'blocked' },
        'BreakGlassRefused',
        /\(user\): user "alice" is not listed in breakglass entry "blocked-bob"/,
      ],
      [
        { reason_code: 'maintenance' },
        'BreakGlassRefused',
        /\(reason_code\): reason code "maintenance" is not allowed/,
      ],
      [
        { duration: 3 * 3600 },
        'BreakGlassRefused',
        /\(duration\): the duration is longer than breakglass entry "prod-emergency" allows/,
      ],
      [
        { profile: 'stage' },
        'BreakGlassRefused',
        /\(time\): outside the time.days of breakglass entry "stage-weekday"/,
      ],
      [{ profile: 'plain' }, 'BreakGlassRefused', /\(profile\): no breakglass entry covers profile "plain"/],
      [{ profile: 'nosuch' }, 'ProfileUnknown', /nosuch/],
      [{ reason_code: 'panic' }, 'BadRequest', /reason code must be one of/],
      [{ justification: 'too short' }, 'BadRequest', /20-1000 characters \(got 9\)/],
      [{ justification: 'x'.repeat(1001) }, 'BadRequest', /20-1000 characters \(got 1001\)/],
      [{ justification: 'database on fire\u001b[2J INC-1234 now' }, 'BadRequest', /control characters/],
      [{ justification: 'database on fire\nINC-1234 paging now' }, 'BadRequest', /control characters/],
      [{ duration: 0 }, 'BadRequest', /greater than 0/],
      [{ duration: -60 }, 'BadRequest', /greater than 0/],
      [{ duration: 4 * 3600 + 1 }, 'BadRequest', /over the 4h limit/],
      [{ duration: 1.5 }, 'BadRequest', /whole number/],
      [{ mfa_code: '12ab56' }, 'BadRequest', /6 digits/],
      [{ extra: true }, 'BadRequest', /unknown field "extra"/],
      [{ profile: '../etc' }, 'BadRequest', /profile/],
      [{ justification: 'y'.repeat(5000) }, 'BadRequest', /justification/],
    ];
    for (const [body, code, message] of cases) {
      const r = await refusal(invoke(body));
      t.equal(r.code, code, `${JSON.stringify(body).slice(0, 60)} → ${code}`);
      t.match(r.message, message);
    }
    t.equal(await written(), 0, 'nothing was written by any refusal');
    for (const path of ['/v1/breakglass/NOT-AN-ID', '/v1/breakglass/0123456789abcdeF', '/v1/breakglass/%00']) {
      t.equal((await refusal(d.client.get(path))).code, 'BadRequest', `malformed id ${path}`);
    }
    const unknown = await refusal(d.client.get('/v1/breakglass/0123456789abcdef'));
    t.equal(unknown.code, 'NotFound');
    const closeBad = await refusal(d.client.post('/v1/breakglass/NOT-AN-ID/close', { reason: 'done' }));
    t.equal(closeBad.code, 'BadRequest');
    const oversized = await d.fetch({
      transport: 'unix',
      method: 'POST',
      path: '/v1/breakglass',
      rawBody: JSON.stringify({ profile: 'prod', reason_code: 'incident', justification: 'z'.repeat(200_000) }),
      headers: { 'content-type': 'application/json' },
    });
    t.equal(oversized.status, 413, 'the body limit holds');
    t.equal(await written(), 0);
  });

  let eventId = '';
  await t.test('an invocation lifts the deny: marker breakglass, event id in the decision log', async (t) => {
    const started = Date.now();
    const preview = await invoke({ dry_run: true });
    t.match(preview, {
      entry: 'prod-emergency',
      mfa: 'none',
      notify: ['ops-webhook', 'security-topic'],
      duration: 3600,
    });
    t.equal(await written(), 0, 'a dry run writes nothing');
    const e = await invoke({ duration: 1800 });
    eventId = e.id;
    t.match(e, {
      status: 'active',
      invoker: 'alice',
      profile: 'prod',
      reason_code: 'incident',
      rule: 'prod-emergency',
      mfa_verified: false,
      escalated: false,
    });
    t.ok(Date.parse(e.expires_at) - Date.parse(e.created_at) === 1800_000, 'expires after the asked 30 minutes');
    t.ok(Date.now() - started < 5000, 'answered at once');
    const again = await refusal(invoke({}));
    t.equal(again.code, 'Conflict');
    t.match(again.message, new RegExp(`active break-glass event on prod: ${e.id}`), 'the Conflict names the event');

    const session = await d.openSession('prod');
    const r = await d.fetch({ transport: 'tcp', token: session.token });
    t.equal(r.status, 200, r.text);
    const from = team.proxy!.operations.length;
    t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200);
    const ops = team.proxy!.operations.slice(from);
    t.same(
      ops.map((o) => o.op),
      ['BatchGetItem'],
      'a warm request under break-glass is one DynamoDB call',
    );
    const keys = ops[0]!.body.RequestItems as Record<
      string,
      { Keys: Array<{ id: { S: string } }>; ConsistentRead: boolean }
    >;
    t.same(
      keys['team-breakglass']!.Keys.map((k) => k.id.S).sort(),
      [e.id, 'lock#alice#prod'],
      'the session, the lock and the event, read together',
    );
    t.equal(keys['team-breakglass']!.ConsistentRead, true);
    const stamped = d.sts.assumeRoleRequests.filter((x) => x.outcome === 'ok').map((x) => x.SourceIdentity);
    t.ok(
      stamped.some((s) => s === `sentinel-alice-breakglass-${session.id}`),
      `SourceIdentity carries the marker breakglass: ${stamped}`,
    );
    const lines = await d.decisions();
    t.ok(
      lines.some((l) => (l.entry ?? l).break_glass_event_id === e.id && (l.entry ?? l).outcome === 'allow'),
      'the decision log names break_glass_event_id',
    );
    const mine = await d.client.get<{ events: Array<{ id: string }> }>('/v1/breakglass?mine');
    t.same(
      mine.events.map((x) => x.id),
      [e.id],
    );

    // Never a mode requirement: dev is require_server, and credential_process is not server mode.
    await invoke({ profile: 'dev' });
    const cp = await refusal(d.client.post('/v1/credentials', { profile: 'dev' }));
    t.equal(cp.code, 'ServerModeRequired', 'an active event does not lift require_server');

    // Notifications: the webhook (signed) and SNS, in the background, recorded on the event.
    await until(
      () => hook.received.length >= 1 && sns.published.length >= 1,
      (ok) => ok,
    );
    const delivery = hook.received.find((x) => JSON.parse(x.body).breakglass?.id === e.id)!;
    t.equal(delivery.headers['x-sentinel-event'], 'breakglass.invoked');
    const ts = String(delivery.headers['x-sentinel-timestamp']);
    t.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 60, 'a fresh timestamp');
    t.equal(
      delivery.headers['x-sentinel-signature'],
      'sha256=' + createHmac('sha256', SECRET).update(`${ts}.${delivery.body}`).digest('hex'),
      'the signature verifies',
    );
    const payload = JSON.parse(delivery.body);
    t.match(payload, { type: 'breakglass.invoked', breakglass: { id: e.id, escalated: false, profile: 'prod' } });
    t.ok(
      sns.published.some((m) => JSON.parse(m.message).breakglass?.id === e.id),
      'SNS received the same event',
    );
    await until(
      async () => (await events.get(e.id))?.notification_status,
      (status) => status === 'delivered',
    );

    // Close: the next request of the open session is refused.
    const closed = await d.client.post<Record<string, any>>(`/v1/breakglass/${e.id}/close`, { reason: 'fixed' });
    t.match(closed, { status: 'closed', closed_by: 'alice', closed_reason: 'fixed' });
    const after = await d.fetch({ transport: 'tcp', token: session.token });
    t.equal(after.status, 403, 'closing stops access at the next request');
    t.equal(after.json?.Code, 'PolicyDenied');
    const twice = await refusal(d.client.post(`/v1/breakglass/${e.id}/close`, { reason: 'again' }));
    t.equal(twice.code, 'Conflict');
    await until(
      () => hook.received.some((x) => JSON.parse(x.body).type === 'breakglass.closed'),
      (ok) => ok,
    );
  });

  await t.test('a profile literally named list', async (t) => {
    const e = await invoke({ profile: 'list' });
    t.equal(e.profile, 'list');
    t.equal((await d.client.get<{ id: string }>(`/v1/breakglass/${e.id}`)).id, e.id);
  });

  await t.test('a receiver that never answers does not delay the invocation', async (t) => {
    hook.script([], 'hang');
    await d.client.post(`/v1/breakglass/${eventId}/close`, { reason: 'x' }).catch(() => {});
    const started = Date.now();
    const e = await invoke({ profile: 'prod', reason_code: 'security' });
    t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
    t.equal(e.status, 'active', 'a new event once the previous one is closed (no cooldown in force)');
    await until(
      () => hook.received.some((x) => JSON.parse(x.body).breakglass?.id === e.id),
      (ok) => ok,
    );
  });
});
