// Break-glass at the vendor and through the daemon's bridge, attacked (DESIGN §11, §17): a requester who wants past a
// "no", a vendor or receiver that is slow or hostile. Each test is a defect found, or a boundary that must hold.
import t from 'tap';
import { startBridge } from './support/bridge.js';
import { DEV_ROLE, PROD_ROLE } from './support/vendor.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';
import type { SentinelError } from '../core/errors.js';

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
