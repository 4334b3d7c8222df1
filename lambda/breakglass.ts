// Break-glass through the vendor (DESIGN §11, §17): the shared service (core/breakglass/service.ts) with the verified
// caller as invoker and closer, for each request. Only the vendor writes the table, so the lock, the quota slots and
// the record bind. A Lambda container may be frozen as soon as it answers, so the notifications an invocation or a
// close sends are awaited (bounded) before the answer instead of running in the background.
import type { Principal } from '../core/authorize/types.js';
import type { BreakglassEvent, BreakglassStores, EventStatus, EventView } from '../core/breakglass/record.js';
import {
  breakglassNotifyTargets,
  createBreakglassService,
  type BreakglassService,
  type InvokeInput,
  type InvokePreview,
  type ListFilter,
} from '../core/breakglass/service.js';
import type { Notifier } from '../core/notify/notifier.js';
import type { OpLogger } from '../core/log.js';
import type { PolicyProvider } from '../core/policy/types.js';
import { stillAbout } from '../core/notify/record-status.js';
import type { NotificationEvent } from '../core/notify/types.js';
import { markUnsettled, unsettledAtBound, waitAtMost } from './bounded.js';
import { listProfiles, requireProfile } from './profiles.js';

export interface VendorBreakglassDeps {
  stores: BreakglassStores;
  policy: PolicyProvider;
  notifier: () => Notifier;
  log: OpLogger;
  trustedSessionRoles: readonly string[];
  now: () => Date;
}

export interface VendorBreakglass {
  preview(principal: Principal, input: InvokeInput): Promise<InvokePreview>;
  invoke(principal: Principal, input: InvokeInput): Promise<EventView>;
  list(principal: Principal, filter: ListFilter): Promise<EventView[]>;
  show(principal: Principal, id: unknown): Promise<EventView>;
  close(principal: Principal, id: unknown, reason: unknown): Promise<EventView>;
}

export function createVendorBreakglass(deps: VendorBreakglassDeps): VendorBreakglass {
  const serviceFor = (principal: Principal): BreakglassService =>
    createBreakglassService({
      stores: deps.stores,
      policy: () => deps.policy,
      profileExists: async (profile) => void requireProfile(deps.policy, profile),
      identify: async () => ({ arn: principal.arn, user: principal.user }),
      profiles: async () => listProfiles(deps.policy).map((p) => p.name),
      // No MFA sessions here: the vendor never holds a user's long-term keys to call GetSessionToken with, so an entry
      // with `mfa: required` is refused with MfaRequired (docs/vendor.md).
      notifier: deps.notifier(),
      log: deps.log,
      trustedSessionRoles: deps.trustedSessionRoles,
      now: deps.now,
    });

  /** The answer to an invoke or a close, after its notifications (bounded), with what they came to: `event` is the
   * record as the action wrote it, naming the event the action announced (and no status yet). */
  async function delivered(service: BreakglassService, event: EventView): Promise<EventView> {
    // The stored status the announcing action left (the answer's may read `expired` for an invocation already over).
    const announced = event.notification_event as NotificationEvent;
    const about = {
      event: announced,
      status: (announced === 'breakglass.closed' ? 'closed' : 'active') as EventStatus,
    };
    const warn = (e: unknown) =>
      deps.log.warn({ err: (e as Error)?.message, id: event.id }, 'break-glass notification status not recorded');
    if (await waitAtMost(service.idle())) {
      // The service recorded the outcome on the record, not on this copy of it: read it back while it still names
      // this event (nothing later can have been announced on a closed event; an invocation may be closed already).
      const stored = await deps.stores.events.get(event.id).catch((e: unknown) => void warn(e));
      if (stored && stillAbout(stored, about) && stored.notification_status) {
        event.notification_status = stored.notification_status;
      }
      return event;
    }
    // The service records the outcome when delivery ends: usually after this (a receiver that never answers takes
    // 10 s), but possibly first — delivery ending just after the bound, while this write is on its way. So the interim
    // goes only onto the version of the record this action wrote; once the record has moved on, what is there (this
    // event's outcome, or a close's after an invocation) stands.
    const targets = breakglassNotifyTargets(deps.policy, event);
    if (!targets.length) return event;
    const ours = (current: BreakglassEvent) => current.updated_at === event.updated_at;
    await markUnsettled(deps.stores.events, event.id, targets, ours)
      .then(({ written, record }) => {
        // Declined while the record still names this event: it now holds this event's own outcome. Otherwise a later
        // event wrote it, and this answer says what was true of this event at the bound.
        const own = !written && stillAbout(record, about) && record.notification_status;
        event.notification_status = own || unsettledAtBound(targets);
      })
      .catch(warn);
    return event;
  }

  return {
    preview: (principal, input) => serviceFor(principal).preview(input),
    async invoke(principal, input) {
      const service = serviceFor(principal);
      return delivered(service, await service.invoke(input));
    },
    list: (principal, filter) => serviceFor(principal).list(filter),
    show: (principal, id) => serviceFor(principal).show(id),
    async close(principal, id, reason) {
      const service = serviceFor(principal);
      return delivered(service, await service.close(id, reason));
    },
  };
}
