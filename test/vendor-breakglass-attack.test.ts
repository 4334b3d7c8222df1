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
