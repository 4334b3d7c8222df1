// Notifications from the vendor (DESIGN §12, §17): approvers act through the vendor, so the vendor tells the entry's
// targets about every request transition and break-glass invocation, and records the outcome on the record before it
// answers (a Lambda container may be frozen right after). A receiver that never answers delays the answer by at most
// the bound, never fails the action.
import t from 'tap';
import { restEvent } from './support/api-gateway-events.js';
import { startVendor, DEV_ROLE, PROD_ROLE } from './support/vendor.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';
import { NOTIFY_WAIT_MS } from '../lambda/bounded.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const CAROL = 'arn:aws:iam::111122223333:user/carol';
const BOB = 'arn:aws:iam::111122223333:user/bob';

const policy = (url: string) => `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod], users: [alice] } }
  - { name: nobody-else, effect: deny, conditions: { profiles: [dev, prod] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], notify: [ops] }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [bob], notify: [ops] }
notifications:
  - { name: ops, webhook: { url: "${url}" } }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1 }
`;

async function call(
  v: Awaited<ReturnType<typeof startVendor>>,
  method: string,
  path: string,
  callerArn: string,
  body?: unknown,
) {
  const r = await v.handler(
    restEvent({ method, path, callerArn, body: body === undefined ? null : JSON.stringify(body) }) as never,
  );
  return { status: r.statusCode, body: JSON.parse(r.body) };
}

t.test('request and break-glass transitions are delivered before the answer, and recorded', async (t) => {
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  const v = await startVendor(t, { policy: policy(`${hook.url}/sentinel`) });
  const filed = await call(v, 'POST', '/v1/requests', ALICE, {
    profile: 'prod',
    justification: 'incident 4711 needs prod',
  });
  t.equal(filed.status, 201);
  t.equal(hook.received.length, 1, 'delivered before the answer');
  t.equal(hook.received[0]!.headers['x-sentinel-event'], 'request.created');
  const payload = JSON.parse(hook.received[0]!.body);
  t.match(payload, { type: 'request.created', actor: ALICE, request: { id: filed.body.id, requester: 'alice' } });
  const approved = await call(v, 'POST', `/v1/requests/${filed.body.id}/approve`, CAROL, {});
  t.equal(approved.status, 200);
  t.equal(hook.received.at(-1)!.headers['x-sentinel-event'], 'request.approved');
  t.equal(JSON.parse(hook.received.at(-1)!.body).actor, CAROL);
  const shown = await call(v, 'GET', `/v1/requests/${filed.body.id}`, ALICE);
  t.ok(shown.body.notification_status, 'the outcome is recorded on the request');
  const invoked = await call(v, 'POST', '/v1/breakglass', BOB, {
    profile: 'prod',
    reason_code: 'incident',
    justification: 'database down, paging says prod is burning',
  });
  t.equal(invoked.status, 201);
  t.equal(hook.received.at(-1)!.headers['x-sentinel-event'], 'breakglass.invoked');
});

t.test('a receiver that never answers delays the answer by at most the bound', async (t) => {
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  hook.script([], 'hang');
  const v = await startVendor(t, { policy: policy(`${hook.url}/sentinel`) });
  const started = Date.now();
  const filed = await call(v, 'POST', '/v1/requests', ALICE, {
    profile: 'prod',
    justification: 'incident 4711 needs prod',
  });
  const took = Date.now() - started;
  t.equal(filed.status, 201, 'the action stands');
  t.ok(took >= NOTIFY_WAIT_MS - 100 && took < NOTIFY_WAIT_MS + 3000, `answered after ${took} ms`);
});

t.test(
  'a decision or close whose receiver never answers is recorded as such, not as the event before it',
  async (t) => {
    const hook = await startWebhookReceiver();
    t.teardown(() => hook.close());
    const v = await startVendor(t, { policy: policy(`${hook.url}/sentinel`) });
    const filed = await call(v, 'POST', '/v1/requests', ALICE, { profile: 'prod', justification: 'incident 4711' });
    const invoked = await call(v, 'POST', '/v1/breakglass', BOB, {
      profile: 'prod',
      reason_code: 'incident',
      justification: 'database down, paging says prod is burning',
    });
    t.equal((await call(v, 'GET', `/v1/requests/${filed.body.id}`, ALICE)).body.notification_status, 'delivered');
    t.equal((await call(v, 'GET', `/v1/breakglass/${invoked.body.id}`, BOB)).body.notification_status, 'delivered');

    hook.script([], 'hang');
    const approved = await call(v, 'POST', `/v1/requests/${filed.body.id}/approve`, CAROL, {});
    t.equal(approved.status, 200, 'the decision stands');
    const request = (await call(v, 'GET', `/v1/requests/${filed.body.id}`, ALICE)).body;
    t.equal(request.status, 'approved');
    t.equal(request.notification_status, `failed: ops: no outcome within ${NOTIFY_WAIT_MS / 1000}s`);

    const closed = await call(v, 'POST', `/v1/breakglass/${invoked.body.id}/close`, BOB, { reason: 'over' });
    t.equal(closed.status, 200, 'the close stands');
    t.equal(closed.body.notification_status, `failed: ops: no outcome within ${NOTIFY_WAIT_MS / 1000}s`);
    const event = (await call(v, 'GET', `/v1/breakglass/${invoked.body.id}`, BOB)).body;
    t.equal(event.status, 'closed');
    t.equal(event.notification_status, `failed: ops: no outcome within ${NOTIFY_WAIT_MS / 1000}s`);
  },
);
