// Break-glass at the vendor and through the daemon's bridge, attacked (DESIGN §11, §17): a requester who wants past a
// "no", a vendor or receiver that is slow or hostile. Each test is a defect found, or a boundary that must hold.
import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { startBridge } from './support/bridge.js';
import { DEV_ROLE, PROD_ROLE } from './support/vendor.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';
import { SentinelError } from '../core/errors.js';
import { createVendorClient } from '../core/vendor/client.js';
import { startSilentEndpoint } from './support/silent-endpoint.js';
import { startApiGatewayStandIn, type ProxyHandler, type RestProxyEvent } from './support/apigw-standin.js';
import { BASE_ACCESS_KEY, BASE_ARN, BASE_SECRET_KEY, startDaemon } from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import type { HasTeardown } from './support/aws-env.js';
import { requireBuild, sentinel, userEnv } from './support/cli.js';
import { signingCredentials } from '../core/vendor/signing-credentials.js';

const JUSTIFICATION = 'checkout is down, INC-4242, restarting workers';

const notifyingPolicy = (url: string) => `version: "1"
rules:
  - { name: dev-team, effect: allow, conditions: { profiles: [dev], users: [alice] } }
  - { name: prod-frozen, effect: deny, conditions: { profiles: [prod] } }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [alice], allowed_reason_codes: [incident], notify: [ops] }
notifications:
  - { name: ops, webhook: { url: "${url}" } }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1 }
`;

t.test(
  'a silent notification receiver does not turn a break-glass that took effect into VendorUnavailable',
  async (t) => {
    const hook = await startWebhookReceiver();
    t.teardown(() => hook.close());
    hook.script([], 'hang');
    const b = await startBridge(t, { policy: notifyingPolicy(`${hook.url}/sentinel`) });
    const d = b.daemon;
    let answer: Record<string, any> | SentinelError;
    try {
      answer = (await d.client.post('/v1/breakglass', {
        profile: 'prod',
        reason_code: 'incident',
        justification: JUSTIFICATION,
      })) as Record<string, any>;
    } catch (e) {
      answer = e as SentinelError;
    }
    t.match(answer, { profile: 'prod', status: 'active', invoker: 'alice' }, 'the invoker learns the event they hold');
    // Closing announces too; the close must be answered as well.
    if (typeof (answer as Record<string, any>).id === 'string') {
      let closed: Record<string, any> | SentinelError;
      try {
        closed = (await d.client.post(`/v1/breakglass/${(answer as Record<string, any>).id}/close`, {
          reason: 'workers restarted',
        })) as Record<string, any>;
      } catch (e) {
        closed = e as SentinelError;
      }
      t.match(closed, { status: 'closed', closed_by: 'alice' });
    }
  },
);

t.test(
  'a sent break-glass POST without an answer says it may have taken effect; a read or a refused one does not',
  async (t) => {
    const silent = await startSilentEndpoint();
    t.teardown(() => silent.close());
    const client = (url: string) =>
      createVendorClient({
        url,
        region: 'us-east-1',
        credentials: async () => ({ accessKeyId: 'AKIDATTACK0000000001', secretAccessKey: 'attack-secret-0000' }),
        attemptMs: 300,
        backoffMs: 1,
      });
    const failure = async (c: ReturnType<typeof client>, call: Parameters<ReturnType<typeof client>['call']>[0]) => {
      try {
        await c.call(call);
      } catch (e) {
        return e as SentinelError;
      }
      throw new Error('answered');
    };
    const body = { profile: 'prod', reason_code: 'incident', justification: JUSTIFICATION };
    const invoked = await failure(client(`${silent.url}/v1`), { method: 'POST', path: '/v1/breakglass', body });
    t.equal(invoked.code, 'VendorUnavailable');
    t.equal(silent.connections, 1, 'sent once');
    t.match(invoked.hint, /may have taken effect/);
    t.match(invoked.hint, /sentinel breakglass list --mine/);
    t.notMatch(invoked.hint, /attack-secret|AKIDATTACK/, 'nothing of the signing keys');
    const closed = await failure(client(`${silent.url}/v1`), {
      method: 'POST',
      path: '/v1/breakglass/0123456789abcdef/close',
      body: { reason: 'done' },
    });
    t.match(closed.hint, /POST \/v1\/breakglass\/0123456789abcdef\/close may have taken effect/);
    const read = await failure(client(`${silent.url}/v1`), { method: 'GET', path: '/v1/breakglass', query: {} });
    t.notMatch(read.hint, /may have taken effect/, 'a read changes nothing');
    // A port nobody listens on: never sent, so nothing can have happened.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const gonePort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const gone = await failure(client(`http://127.0.0.1:${gonePort}/v1`), {
      method: 'POST',
      path: '/v1/breakglass',
      body,
    });
    t.notMatch(gone.hint, /may have taken effect/);
    t.match(gone.hint, /Check vendor.url/);
  },
);

/** A daemon in vendor mode in front of a scripted vendor (behind the API Gateway stand-in, signatures verified). */
async function scriptedVendor(t: HasTeardown) {
  const sts = await startSts();
  t.teardown(() => sts.close());
  let next: { status: number; body: string } = { status: 500, body: '{}' };
  const seen: RestProxyEvent[] = [];
  const handler: ProxyHandler = async (event) => {
    seen.push(event);
    return { statusCode: next.status, headers: { 'content-type': 'application/json' }, body: next.body };
  };
  const gw = await startApiGatewayStandIn({ keys: sts, handler });
  t.teardown(() => gw.close());
  const d = await startDaemon(t, {
    sts,
    policy: null,
    config: `vendor: { url: "${gw.url}", region: us-east-1, profile: base }\n`,
    parts: {
      vendorClient: (vendor) =>
        createVendorClient({ ...vendor, credentials: signingCredentials(vendor.profile), attemptMs: 1000 }),
    },
  });
  sts.setIdentity(BASE_ACCESS_KEY, BASE_ARN, BASE_SECRET_KEY);
  return {
    d,
    seen,
    answer: (status: number, body: unknown) => (next = { status, body: JSON.stringify(body) }),
  };
}

const EVENT_A = 'aaaaaaaaaaaaaaaa';
const EVENT_B = 'bbbbbbbbbbbbbbbb';
const eventRecord = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  invoker: 'alice',
  invoker_arn: BASE_ARN,
  profile: 'prod',
  reason_code: 'incident',
  justification: JUSTIFICATION,
  status: 'active',
  rule: 'prod-emergency',
  mfa_verified: false,
  escalated: false,
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
  expires_at: '2030-01-01T01:00:00.000Z',
  ...extra,
});

t.test('the bridge takes from the vendor only the break-glass record it asked for', async (t) => {
  const v = await scriptedVendor(t);
  const { d } = v;
  // Another event than the one asked about: not an answer (a confused or hostile vendor must not make the CLI show or
  // report closed an event the user did not name).
  v.answer(200, eventRecord(EVENT_B));
  const shown = await d.fetch({ transport: 'unix', method: 'GET', path: `/v1/breakglass/${EVENT_A}` });
  t.equal(shown.status, 502, 'show: another id is no answer');
  t.equal(shown.json.code, 'VendorUnavailable');
  v.answer(200, eventRecord(EVENT_B, { status: 'closed' }));
  const closed = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: `/v1/breakglass/${EVENT_A}/close`,
    body: { reason: 'done' },
  });
  t.equal(closed.status, 502, 'close: another id is no answer');
  t.equal(closed.json.code, 'VendorUnavailable');
  // The id asked about is served.
  v.answer(200, eventRecord(EVENT_A));
  const ok = await d.fetch({ transport: 'unix', method: 'GET', path: `/v1/breakglass/${EVENT_A}` });
  t.equal(ok.status, 200);
  t.equal(ok.json.id, EVENT_A);
  // An invocation answered with an id that is no event id (the CLI prints it into a command line to run).
  v.answer(201, eventRecord('$(rm -rf ~)'));
  const invoked = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/breakglass',
    body: { profile: 'prod', reason_code: 'incident', justification: JUSTIFICATION },
  });
  t.equal(invoked.status, 502, 'invoke: an id that is not 16 hex is no answer');
  t.equal(invoked.json.code, 'VendorUnavailable');
  t.notMatch(invoked.text, /rm -rf/, 'nothing of the answer is echoed');
  // A list whose events carry ids that are not event ids.
  v.answer(200, { events: [eventRecord(EVENT_A), eventRecord('../../etc')] });
  const listed = await d.fetch({ transport: 'unix', method: 'GET', path: '/v1/breakglass' });
  t.equal(listed.status, 502, 'list: a record that is no event is no answer');
});

t.test('the bridge serves a dry run only when the answer is a preview the CLI can show', async (t) => {
  const v = await scriptedVendor(t);
  const { d } = v;
  const dryRun = () =>
    d.fetch({
      transport: 'unix',
      method: 'POST',
      path: '/v1/breakglass',
      body: { profile: 'prod', reason_code: 'incident', justification: JUSTIFICATION, dry_run: true },
    });
  const good = {
    profile: 'prod',
    entry: 'prod-emergency',
    duration: 3600,
    mfa: 'none',
    mfa_session: false,
    notify: ['ops'],
    rate_limits: [],
  };
  v.answer(200, good);
  const served = await dryRun();
  t.equal(served.status, 200);
  t.same(served.json, good);
  t.equal(v.seen.at(-1)!.body && JSON.parse(v.seen.at(-1)!.body!).dry_run, true, 'sent as a dry run');
  const bad: Array<[string, unknown]> = [
    ['an empty object', {}],
    ['notify not a list', { ...good, notify: 'everyone' }],
    ['rate_limits of numbers', { ...good, rate_limits: [1] }],
    ['a duration that is not a number', { ...good, duration: '1h' }],
    ['an unknown mfa', { ...good, mfa: 'maybe' }],
    ['another profile', { ...good, profile: 'dev' }],
  ];
  for (const [name, answer] of bad) {
    v.answer(200, answer);
    const r = await dryRun();
    t.equal(r.status, 502, `${name}: 502`);
    t.equal(r.json.code, 'VendorUnavailable', `${name}: VendorUnavailable`);
    t.notMatch(r.text, /everyone/, `${name}: nothing of the answer is echoed`);
  }
});

t.test('breakglass invoke prints what the vendor answered with its control characters escaped', async (t) => {
  requireBuild();
  const v = await scriptedVendor(t);
  v.answer(201, eventRecord(EVENT_A, { profile: 'prod\u001b]0;owned\u0007\u001b[2J', expires_at: '\u001b[31mlater' }));
  const r = await sentinel(
    t,
    ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', JUSTIFICATION, '-y'],
    { env: userEnv(v.d, { AWS_REGION: 'us-east-1' }) },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `Break-glass ${EVENT_A} on prod`);
  t.notMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'no control character reaches the terminal');
  t.match(r.stdout, /\\u001b/, 'shown escaped');
});
