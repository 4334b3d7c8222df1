// `/v1/requests` and `/v1/breakglass` in vendor mode (DESIGN §10, §11, §17): the caller's approval requests and
// break-glass events are filed, listed, shown, cancelled and closed at the vendor, which knows the caller only as the
// IAM identity it verified. The routes have validated ids and bodies already; the vendor validates them again.
import type { RequesterApi, RequestView } from '../core/approvals/requester.js';
import type { BreakglassService } from '../core/breakglass/service.js';
import { EVENT_ID } from '../core/breakglass/record.js';
import { listAnswer, notA, objectAnswer, recordAnswer } from '../core/vendor/answers.js';
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

/** A break-glass event from the vendor: a record whose id is an event id (the CLI prints it into a command to run)
 * and, when one was asked about, that id. */
function eventAnswer(value: unknown, id?: string): EventView {
  const e = recordAnswer<EventView>(value, 'a break-glass event', id);
  if (!EVENT_ID.test(e.id)) throw notA('a break-glass event');
  return e;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** What the CLI shows before asking to proceed, for the profile asked about; anything else is no preview. */
function previewAnswer(value: unknown, profile: string): Preview {
  const p = objectAnswer(value, 'a preview');
  const ok =
    p.profile === profile &&
    typeof p.entry === 'string' &&
    typeof p.duration === 'number' &&
    Number.isFinite(p.duration) &&
    p.duration > 0 &&
    (p.mfa === 'required' || p.mfa === 'none') &&
    typeof p.mfa_session === 'boolean' &&
    isStrings(p.notify) &&
    isStrings(p.rate_limits);
  if (!ok) throw notA('a preview');
  return p as Preview;
}

export function bridgeBreakglass(client: VendorClient): BreakglassService {
  return {
    async preview(input) {
      const answer = await client.call({ method: 'POST', path: '/v1/breakglass', body: { ...input, dry_run: true } });
      return previewAnswer(answer, input.profile);
    },
    invoke: async (input) => eventAnswer(await client.call({ method: 'POST', path: '/v1/breakglass', body: input })),
    async list(filter) {
      const { mine, ...rest } = filter as Record<string, unknown>;
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(rest)) if (v !== undefined) query[k] = String(v);
      if (mine) query.mine = '1';
      return listAnswer<EventView>(
        await client.call({ method: 'GET', path: '/v1/breakglass', query }),
        'events',
        'a break-glass event',
      ).map((e) => eventAnswer(e));
    },
    show: async (id) =>
      eventAnswer(await client.call({ method: 'GET', path: `/v1/breakglass/${String(id)}` }), String(id)),
    close: async (id, reason) =>
      eventAnswer(
        await client.call({ method: 'POST', path: `/v1/breakglass/${String(id)}/close`, body: { reason } }),
        String(id),
      ),
    idle: async () => undefined,
  };
}
