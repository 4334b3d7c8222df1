// `/v1/requests` and `/v1/breakglass` in vendor mode (DESIGN §10, §11, §17): the caller's approval requests and
// break-glass events are filed, listed, shown, cancelled and closed at the vendor, which knows the caller only as the
// IAM identity it verified. The routes have validated ids and bodies already; the vendor validates them again.
import type { RequesterApi, RequestView } from '../core/approvals/requester.js';
import type { BreakglassService } from '../core/breakglass/service.js';
import { listAnswer, objectAnswer, recordAnswer } from '../core/vendor/answers.js';
import type { VendorClient } from '../core/vendor/client.js';

export function bridgeRequests(client: VendorClient): RequesterApi {
  const one = (v: unknown) => recordAnswer<RequestView>(v, 'an approval request');
  return {
    create: async (input) => one(await client.call({ method: 'POST', path: '/v1/requests', body: input })),
    mine: async () =>
      listAnswer<RequestView>(
        await client.call({ method: 'GET', path: '/v1/requests', query: { mine: '1' } }),
        'requests',
        'an approval request',
      ),
    show: async (id) => one(await client.call({ method: 'GET', path: `/v1/requests/${String(id)}` })),
    cancel: async (id) =>
      one(await client.call({ method: 'POST', path: `/v1/requests/${String(id)}/cancel`, body: {} })),
    idle: async () => undefined,
  };
}

type EventView = Awaited<ReturnType<BreakglassService['show']>>;
type Preview = Awaited<ReturnType<BreakglassService['preview']>>;

export function bridgeBreakglass(client: VendorClient): BreakglassService {
  const one = (v: unknown) => recordAnswer<EventView>(v, 'a break-glass event');
  return {
    async preview(input) {
      const answer = await client.call({ method: 'POST', path: '/v1/breakglass', body: { ...input, dry_run: true } });
      return objectAnswer(answer, 'a preview') as Preview;
    },
    invoke: async (input) => one(await client.call({ method: 'POST', path: '/v1/breakglass', body: input })),
    async list(filter) {
      const { mine, ...rest } = filter as Record<string, unknown>;
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(rest)) if (v !== undefined) query[k] = String(v);
      if (mine) query.mine = '1';
      return listAnswer<EventView>(
        await client.call({ method: 'GET', path: '/v1/breakglass', query }),
        'events',
        'a break-glass event',
      );
    },
    show: async (id) => one(await client.call({ method: 'GET', path: `/v1/breakglass/${String(id)}` })),
    close: async (id, reason) =>
      one(await client.call({ method: 'POST', path: `/v1/breakglass/${String(id)}/close`, body: { reason } })),
    idle: async () => undefined,
  };
}
