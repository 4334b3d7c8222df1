// Break-glass at the vendor and through the daemon's bridge, attacked (DESIGN §11, §17): a requester who wants past a
// "no", a vendor or receiver that is slow or hostile. Each test is a defect found, or a boundary that must hold.
import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { NOBODY, runAsUser } from './support/as-user.js';
import { startDynamoProxy } from './support/dynamodb-proxy.js';
import { withEnv } from './support/aws-env.js';
import { startBridge } from './support/bridge.js';
import { BREAKGLASS_TABLE_NAME, DEV_ROLE, PROD_ROLE, startVendor, type VendorHarness } from './support/vendor.js';
import { restEvent } from './support/api-gateway-events.js';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_IN_FLIGHT_MS } from '../core/breakglass/limits.js';
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

// ---- The vendor itself, called as API Gateway would (the verified caller is requestContext.identity.userArn). ----

const BOB = 'arn:aws:iam::111122223333:user/bob';
const DAVE = 'arn:aws:iam::111122223333:user/dave';
const CAROL_ARN = 'arn:aws:iam::111122223333:user/carol';

const limitedPolicy = `version: "1"
rules:
  - { name: prod-frozen, effect: deny, conditions: { profiles: [prod, dev] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol] }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [bob, dave], allowed_reason_codes: [incident], max_duration: 2h }
rate_limits:
  - { name: prod-bg, profiles: [prod], max_per_user: 2, max_per_profile: 3, quota_window: 24h }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1 }
`;

async function vendorCall(
  v: VendorHarness,
  callerArn: string,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  const r = await v.handler(
    restEvent({
      method,
      path,
      callerArn,
      ...(headers ? { headers } : {}),
      body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    }) as never,
  );
  return { status: r.statusCode, headers: r.headers, body: JSON.parse(r.body) as Record<string, any> };
}

const invokeBody = (extra: Record<string, unknown> = {}) => ({
  profile: 'prod',
  reason_code: 'incident',
  justification: JUSTIFICATION,
  ...extra,
});

t.test('vendor: nobody names the invoker but API Gateway', async (t) => {
  const v = await startVendor(t, { policy: limitedPolicy });
  const forged = await vendorCall(v, CAROL_ARN, 'POST', '/v1/breakglass', invokeBody({ invoker: 'bob' }));
  t.equal(forged.status, 400, 'a body field naming the invoker is refused');
  t.equal(forged.body.code, 'BadRequest');
  const headers = await vendorCall(v, CAROL_ARN, 'POST', '/v1/breakglass?user=bob', invokeBody(), {
    'x-sentinel-user': 'bob',
    'x-amz-user-arn': BOB,
  });
  t.equal(headers.status, 403, 'headers and query name nobody');
  t.equal(headers.body.code, 'BreakGlassRefused');
  const anon = await v.handler({
    ...restEvent({ method: 'POST', path: '/v1/breakglass', callerArn: '', body: JSON.stringify(invokeBody()) }),
  } as never);
  t.equal(JSON.parse(anon.body).code, 'PeerNotAllowed', 'no verified caller, no invocation');
  const none = await vendorCall(v, BOB, 'GET', '/v1/breakglass');
  t.same(none.body.events, [], 'nothing was opened');
});

t.test('vendor: the entry bounds profile, reason code and duration', async (t) => {
  const v = await startVendor(t, { policy: limitedPolicy });
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ['a profile the entry does not cover', { profile: 'dev' }, 403, 'BreakGlassRefused'],
    ['a profile the vendor does not know', { profile: 'staging' }, 404, 'ProfileUnknown'],
    ['a reason code the entry does not allow', { reason_code: 'maintenance' }, 403, 'BreakGlassRefused'],
    ['a reason code nobody knows', { reason_code: 'because' }, 400, 'BadRequest'],
    ['longer than the entry allows', { duration: 2 * 3600 + 1 }, 403, 'BreakGlassRefused'],
    ['longer than break-glass allows', { duration: 4 * 3600 + 1 }, 400, 'BadRequest'],
    ['a fraction of a second', { duration: 0.5 }, 400, 'BadRequest'],
    ['a negative duration', { duration: -60 }, 400, 'BadRequest'],
    ['a huge duration', { duration: 1e300 }, 400, 'BadRequest'],
    ['a duration as text', { duration: '2h' }, 400, 'BadRequest'],
    ['a short justification', { justification: 'because' }, 400, 'BadRequest'],
    ['a justification with a line break', { justification: `${JUSTIFICATION}\nsecond line here` }, 400, 'BadRequest'],
    ['an MFA code that is not one', { mfa_code: '12345x' }, 400, 'BadRequest'],
    ['dry_run as text', { dry_run: 'true' }, 400, 'BadRequest'],
  ];
  for (const [name, extra, status, code] of cases) {
    const r = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody(extra));
    t.equal(r.status, status, `${name}: ${status}`);
    t.equal(r.body.code, code, `${name}: ${code}`);
  }
  const listed = await vendorCall(v, CAROL_ARN, 'GET', '/v1/breakglass');
  t.same(listed.body.events, [], 'no refusal opened anything');
  const ok = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody({ duration: 7200 }));
  t.equal(ok.status, 201, 'the longest the entry allows is allowed');
});

t.test('vendor: dry runs take no lock and no slot; the quotas bind; a close is no replay', async (t) => {
  const v = await startVendor(t, { policy: limitedPolicy });
  for (let i = 0; i < 5; i++) {
    const preview = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody({ dry_run: true }));
    t.equal(preview.status, 200);
  }
  t.same((await vendorCall(v, BOB, 'GET', '/v1/breakglass')).body.events, [], 'dry runs opened nothing');
  // Five at once: the lock lets exactly one through.
  const raced = await Promise.all(
    Array.from({ length: 5 }, () => vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody())),
  );
  const opened = raced.filter((r) => r.status === 201);
  t.equal(opened.length, 1, 'one event from five simultaneous invocations');
  t.ok(
    raced.filter((r) => r.status !== 201).every((r) => r.body.code === 'Conflict'),
    'the others are Conflict',
  );
  const first = opened[0]!.body.id as string;
  const close = (who: string, id: string) =>
    vendorCall(v, who, 'POST', `/v1/breakglass/${id}/close`, { reason: 'done' });
  t.equal((await close(BOB, first)).status, 200);
  const again = await close(BOB, first);
  t.equal(again.status, 409, 'closing twice is Conflict');
  t.equal(again.body.code, 'Conflict');
  const second = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody());
  t.equal(second.status, 201, 'a second event after the close (max_per_user 2)');
  t.equal((await close(BOB, second.body.id)).status, 200);
  const third = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody());
  t.equal(third.status, 429, 'the third in the window is refused');
  t.equal(third.body.code, 'RateLimited');
  t.ok(Number(third.headers['retry-after']) > 3600, 'with Retry-After');
  // dave takes the profile's last slot; dave again: his own quota allows it, the profile's does not.
  const dave1 = await vendorCall(v, DAVE, 'POST', '/v1/breakglass', invokeBody());
  t.equal(dave1.status, 201);
  t.equal((await close(DAVE, dave1.body.id)).status, 200);
  const dave2 = await vendorCall(v, DAVE, 'POST', '/v1/breakglass', invokeBody());
  t.equal(dave2.status, 429, 'max_per_profile binds across users');
  t.match(dave2.body.message, /on prod per 24h/);
  // A refused invocation gave back what it took: dave holds no lock and no slot of his own.
  const slots = await v.client.send(new ScanCommand({ TableName: BREAKGLASS_TABLE_NAME }));
  const held = (slots.Items ?? []).filter(
    (i) => i.id!.S!.startsWith('rl#prod-bg#u#dave#') && i.freed_at!.S! > new Date().toISOString(),
  );
  t.equal(held.length, 1, "dave's refused invocation holds no user slot");
});

t.test('vendor: a lock without its event is an invocation under way, until it is older than any can run', async (t) => {
  const v = await startVendor(t, { policy: limitedPolicy });
  const putLock = (updatedAgoMs: number) =>
    v.client.send(
      new PutItemCommand({
        TableName: BREAKGLASS_TABLE_NAME,
        Item: {
          id: { S: 'lock#bob#prod' },
          updated_at: { S: new Date(Date.now() - updatedAgoMs).toISOString() },
          event_id: { S: 'feedfacefeedface' },
          active_until: { S: new Date(Date.now() + 3600_000).toISOString() },
          cooldown_until: { S: new Date(Date.now() - updatedAgoMs).toISOString() },
          ttl: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
        },
      }),
    );
  await putLock(1000);
  const underWay = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody());
  t.equal(underWay.status, 409, 'a fresh lock whose event is not written yet is not taken over');
  t.equal(underWay.body.code, 'Conflict');
  t.match(underWay.body.message, /under way/);
  await putLock(LOCK_IN_FLIGHT_MS + 5000);
  const stale = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody());
  t.equal(stale.status, 201, 'a lock left by an invocation that died is taken over');
});
t.test("vendor: a caller whose name differs from the invoker's only in case does not close the event", async (t) => {
  const v = await startVendor(t, { policy: limitedPolicy });
  const event = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody());
  t.equal(event.status, 201);
  // A role named BOB is not the policy user bob: the policy grants by exact name (bob's entry does not list BOB).
  const BOB_ROLE = 'arn:aws:sts::111122223333:assumed-role/BOB/someone-else';
  const notBob = await vendorCall(v, BOB_ROLE, 'POST', '/v1/breakglass', invokeBody());
  t.equal(notBob.body.code, 'BreakGlassRefused', 'BOB is not in the entry');
  const closed = await vendorCall(v, BOB_ROLE, 'POST', `/v1/breakglass/${event.body.id}/close`, { reason: 'gotcha' });
  t.equal(closed.status, 403, 'BOB may not close bob’s event');
  t.equal(closed.body.code, 'NotApprover');
  const shown = await vendorCall(v, BOB, 'GET', `/v1/breakglass/${event.body.id}`);
  t.equal(shown.body.status, 'active');
  // bob under another identity of the same policy name (an SSO session) may.
  const BOB_SSO = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/bob';
  const own = await vendorCall(v, BOB_SSO, 'POST', `/v1/breakglass/${event.body.id}/close`, { reason: 'done now' });
  t.equal(own.status, 200);
  t.equal(own.body.closed_by, 'bob');
});

// ---- A second local user and the first user's bridge. ----

/** One HTTP request as uid 65534 (root only: the test must fail, never skip, elsewhere). */
async function asNobody(
  target: { socketPath?: string; port?: number },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status?: number; body?: any; error?: string }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const script = `
import http from 'node:http';
const req = http.request({ ${target.socketPath ? `socketPath: ${JSON.stringify(target.socketPath)}` : `host: '127.0.0.1', port: ${target.port}`},
  method: ${JSON.stringify(method)}, path: ${JSON.stringify(path)}, agent: false,
  headers: ${JSON.stringify(text ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {})} }, (res) => {
  let out = '';
  res.on('data', (c) => (out += c));
  res.on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body: JSON.parse(out || 'null') })); });
});
req.on('error', (e) => process.stdout.write(JSON.stringify({ error: e.code })));
req.end(${JSON.stringify(text)});
`;
  const child = runAsUser(NOBODY, NOBODY, script);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  return JSON.parse(out);
}

t.test("another local user cannot invoke, list, show or close through the owner's bridge", async (t) => {
  const v = await scriptedVendor(t);
  const { d } = v;
  v.answer(201, eventRecord(EVENT_A));
  for (const dir of [d.home, dirname(d.runtimeDir), d.runtimeDir]) chmodSync(dir, 0o711);
  chmodSync(d.socketPath, 0o666);
  const attempts: Array<[string, string, unknown?]> = [
    ['POST', '/v1/breakglass', invokeBody()],
    ['POST', '/v1/breakglass', invokeBody({ dry_run: true })],
    ['GET', '/v1/breakglass?mine=1'],
    ['GET', `/v1/breakglass/${EVENT_A}`],
    ['POST', `/v1/breakglass/${EVENT_A}/close`, { reason: 'not yours' }],
  ];
  for (const [method, path, body] of attempts) {
    const unix = await asNobody({ socketPath: d.socketPath }, method, path, body);
    t.equal(unix.status, 403, `unix ${method} ${path}: refused`);
    t.equal(unix.body?.Code, 'PeerNotAllowed', `unix ${method} ${path}: PeerNotAllowed`);
    const tcp = await asNobody({ port: d.port }, method, path, body);
    t.ok(tcp.status === 403 || tcp.status === 404, `tcp ${method} ${path}: refused (${tcp.status})`);
  }
  t.equal(v.seen.length, 0, 'nothing reached the vendor: nothing was signed with the owner’s credentials');
  // The owner on TCP: the control API, break-glass included, is not served there.
  const ownerTcp = await d.fetch({ transport: 'tcp', method: 'POST', path: '/v1/breakglass', body: invokeBody() });
  t.equal(ownerTcp.status, 404, 'break-glass is a Unix-socket route');
  t.equal(v.seen.length, 0);
  const owner = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/breakglass', body: invokeBody() });
  t.equal(owner.status, 201, 'the owner is served');
  t.equal(v.seen.length, 1);
});

// ---- The vendor's DynamoDB silent or failing, seen through the bridge. ----

const escalatingPolicy = `version: "1"
rules:
  - { name: prod-frozen, effect: deny, conditions: { profiles: [prod] } }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [alice], allowed_reason_codes: [incident] }
rate_limits:
  - { name: prod-bg, profiles: [prod], max_per_user: 1, quota_window: 24h, escalation_threshold: 3 }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1 }
`;

t.test('a silent or failing DynamoDB at the vendor: a bounded, specific refusal, and nothing left taken', async (t) => {
  const vendor = await startVendor(t, { policy: escalatingPolicy });
  const proxy = await startDynamoProxy(vendor.dynalite.url);
  t.teardown(() => proxy.close());
  withEnv(t, { AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
  const gw = await startApiGatewayStandIn({ keys: vendor.sts, handler: vendor.handler });
  t.teardown(() => gw.close());
  const d = await startDaemon(t, {
    pidPollMs: 100,
    policy: null,
    sts: vendor.sts,
    config: `vendor: { url: "${gw.url}", region: us-east-1, profile: base }\n`,
  });
  vendor.sts.setIdentity(BASE_ACCESS_KEY, BASE_ARN, BASE_SECRET_KEY);
  const invoke = () => d.fetch({ transport: 'unix', method: 'POST', path: '/v1/breakglass', body: invokeBody() });
  const secrets = new RegExp(
    [BASE_SECRET_KEY, 'vendor-secret', 'vendor-session-token', 'AKIDVENDORROLE', 'at .*\\.(ts|js):\\d+'].join('|'),
  );

  proxy.freeze(true);
  const started = Date.now();
  const frozen = await invoke();
  const took = Date.now() - started;
  t.ok(frozen.status >= 500, `refused (${frozen.status} ${frozen.json.code})`);
  t.ok(['VendorUnavailable', 'SessionStoreUnavailable'].includes(frozen.json.code), frozen.json.code);
  t.ok(took < 5000 + 2000, `within the bridge's bound (${took} ms)`);
  t.notMatch(frozen.text, secrets, 'no secret and no stack in the answer');
  t.notMatch(d.logs(), secrets, 'nor in the daemon log');
  proxy.freeze(false);
  // Whatever the frozen invocation managed to take, it is given back (or never taken): wait for it to finish.
  await new Promise((r) => setTimeout(r, 4500));

  // The lock and the slot are taken, then the escalation count (a Query) fails: both are given back.
  proxy.fail('Query', 'InternalServerError');
  const failed = await invoke();
  t.equal(failed.json.code, 'SessionStoreUnavailable', 'the store failure is named');
  t.notMatch(failed.text, secrets);
  proxy.fail('Query', null);
  const after = await invoke();
  t.equal(after.status, 201, `the lock and the quota slot were given back (${after.text.slice(0, 300)})`);
});

t.test(
  'vendor: hostile queries, ids and bodies on the break-glass routes are refused before anything is read',
  async (t) => {
    const v = await startVendor(t, { policy: limitedPolicy });
    const event = await vendorCall(v, BOB, 'POST', '/v1/breakglass', invokeBody());
    t.equal(event.status, 201);
    const queries = [
      'limit=0',
      'limit=1001',
      'limit=abc',
      'limit=1.5',
      'status=pending',
      'profile=..%2Fprod',
      'profile=prod%0Aevil',
      'mine=yesyesyesyes',
      'user=bob',
      `profile=${'a'.repeat(2000)}`,
      Array.from({ length: 40 }, (_, i) => `p${i}=1`).join('&'),
    ];
    for (const q of queries) {
      const r = await vendorCall(v, CAROL_ARN, 'GET', `/v1/breakglass?${q}`);
      t.equal(r.status, 400, `?${q.slice(0, 40)}: 400`);
      t.equal(r.body.code, 'BadRequest');
      t.notMatch(
        JSON.stringify(r.body),
        /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/,
        'the value is not echoed in full',
      );
    }
    const repeated = await v.handler({
      ...restEvent({ method: 'GET', path: '/v1/breakglass?status=active', callerArn: CAROL_ARN }),
      multiValueQueryStringParameters: { status: ['active', 'closed'] },
    } as never);
    t.equal(repeated.statusCode, 400, 'a repeated parameter is refused');
    for (const id of ['AAAAAAAAAAAAAAAA', `${event.body.id}0`, 'lock#bob#prod', '..', '%2e%2e']) {
      const shown = await vendorCall(v, CAROL_ARN, 'GET', `/v1/breakglass/${id}`);
      t.ok([400, 404].includes(shown.status), `show ${id}: ${shown.status}`);
      t.not(shown.body.invoker, 'bob', `show ${id}: no event`);
      const closed = await vendorCall(v, BOB, 'POST', `/v1/breakglass/${id}/close`, { reason: 'x' });
      t.ok([400, 404].includes(closed.status), `close ${id}: ${closed.status}`);
    }
    const close = (body: unknown) => vendorCall(v, BOB, 'POST', `/v1/breakglass/${event.body.id}/close`, body);
    const bodies: Array<[string, unknown, number]> = [
      ['no reason', {}, 400],
      ['an empty reason', { reason: '' }, 400],
      ['a reason of spaces', { reason: '   ' }, 400],
      ['a reason too long', { reason: 'x'.repeat(1025) }, 400],
      ['a bidi override', { reason: 'done \u202e evil' }, 400],
      ['an extra field', { reason: 'done', closed_by: 'carol' }, 400],
      ['not JSON', '{"reason":', 400],
      ['over 64 KiB', `{"reason":"${'x'.repeat(70 * 1024)}"}`, 413],
    ];
    for (const [name, body, status] of bodies) {
      const r = await close(body);
      t.equal(r.status, status, `${name}: ${status}`);
    }
    const still = await vendorCall(v, BOB, 'GET', `/v1/breakglass/${event.body.id}`);
    t.equal(still.body.status, 'active', 'none of them closed it');
    const hugeInvoke = await vendorCall(
      v,
      BOB,
      'POST',
      '/v1/breakglass',
      invokeBody({ justification: 'x'.repeat(5000) }),
    );
    t.equal(hugeInvoke.status, 400, 'an over-long justification is refused');
  },
);
