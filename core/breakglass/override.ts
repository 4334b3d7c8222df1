// The break-glass override authorize() consults (DESIGN §3.4 step 3, §11): an active event of the caller on the
// profile lifts a `deny` or `require_approval` (authorize() never lets it lift a mode requirement). The invoker's lock
// names their latest event, so no index is read: the lock and the event are read strongly consistently on every
// credential request — joined to the session read when the front end asks `reads()` (one BatchGetItem, DESIGN §3.4)
// — and a close stops access at the next one. The event is re-checked against the breakglass entry
// in force: an entry that no longer lists the user, the reason code or the hour, or that now demands MFA the event did
// not have, lifts nothing; a shorter max_duration shortens it.
import type { OverrideLookup } from '../authorize/types.js';
import type { Read } from '../records/read-set.js';
import { breakglassMaxDurationMs, matchBreakglass } from '../policy/breakglass-section.js';
import type { Policy } from '../policy/schema.js';
import { effectiveEventStatus, lockId, type BreakglassEvent, type BreakglassStores } from './record.js';

export interface BreakglassLookupOptions {
  stores: BreakglassStores;
  /** The policy in force for the profile (null when none is loaded: nothing is lifted then). */
  policy: (profile: string) => Policy | null;
}

/** When the event stops lifting denials under `policy` at `now` (epoch ms), or null when it lifts nothing. */
export function eventStanding(
  e: BreakglassEvent,
  arn: string,
  profile: string,
  policy: Policy,
  now: Date,
): number | null {
  if (e.invoker_arn !== arn || e.profile !== profile || effectiveEventStatus(e, now) !== 'active') return null;
  const match = matchBreakglass(policy, { user: e.invoker, profile, now, reasonCode: e.reason_code });
  if (!match.ok || match.entry.name !== e.rule) return null;
  if (match.entry.mfa === 'required' && !e.mfa_verified) return null;
  const end = Math.min(Date.parse(e.expires_at), Date.parse(e.created_at) + breakglassMaxDurationMs(match.entry));
  return end > now.getTime() ? end : null;
}

export function createBreakglassLookup(options: BreakglassLookupOptions): OverrideLookup {
  const { locks, events } = options.stores;
  // (user, profile) → the event last used for it: while it lifts denials, the next request reads the lock and the
  // event with the session in one go; a session that uses no event reads nothing more.
  const inUse = new Map<string, string>();
  const key = (user: string, profile: string) => `${user}\n${profile}`;
  return {
    reads(principal, profile) {
      const event = inUse.get(key(principal.user, profile));
      if (!event) return [];
      const reads: Array<Read<any>> = [
        { store: locks, id: lockId(principal.user, profile) },
        { store: events, id: event },
      ];
      return reads;
    },
    async find(request, decision, now) {
      if (decision.effect !== 'deny' && decision.effect !== 'default_deny' && decision.effect !== 'require_approval')
        return null;
      const policy = options.policy(request.profile);
      if (!policy?.breakglass?.length) return null;
      const read = request.read;
      const lid = lockId(request.principal.user, request.profile);
      const lock = read?.has(locks, lid) ? read.get(locks, lid) : await locks.get(lid);
      const k = key(request.principal.user, request.profile);
      inUse.delete(k);
      if (!lock || Date.parse(lock.active_until) <= now.getTime()) return null;
      const event = read?.has(events, lock.event_id)
        ? read.get(events, lock.event_id)
        : await events.get(lock.event_id);
      if (!event) return null;
      const end = eventStanding(event, request.principal.arn, request.profile, policy, now);
      if (end === null) return null;
      inUse.set(k, event.id);
      return { kind: 'breakglass', id: event.id, notAfter: new Date(end), mfa: event.mfa_verified };
    },
  };
}
