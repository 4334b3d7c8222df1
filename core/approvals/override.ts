// The approvals side of the override port (DESIGN §3.5, §10): for a `require_approval` decision, the requester's
// approved request for the profile whose window contains now — re-checked against the policy in force (the entry
// still covers the profile, the approver is still an approver, the window recomputed with today's max_duration) —
// with the latest window_end when several apply; the one chosen is kept while it stands (a later approval is found when
// it ends: no index query on every request). The index is only consulted to find candidates; the request that is
// used is read again, strongly consistently, on every call — together with the session when the front end joins the
// read `reads()` names (DESIGN §3.4) — so a revocation or denial stops access at the next credential request.
import type { Policy } from '../policy/schema.js';
import type { Read, ReadSet } from '../records/read-set.js';
import type { RecordStore } from '../records/store.js';
import { approvalEntryFor, isApprover, isRequester } from './entry.js';
import { REQUEST_INDEXES, effectiveStatus, type ApprovalRequest } from './record.js';
import { windowEnd } from './service.js';

export interface ApprovalOverride {
  kind: 'approved';
  id: string;
  /** Credentials never outlive this by more than 15 minutes. */
  notAfter: Date;
}

export interface ApprovalLookupOptions {
  store: RecordStore<ApprovalRequest>;
  /** The policy in force for the profile (null when none is loaded: nothing is approved then). */
  policy: (profile: string) => Policy | null;
  trustedSessionRoles?: readonly string[];
}

/** Whether the approval still stands under `policy` and at `now`; its window end when it does. */
/**
 * Why an approved request is not honoured under `policy` at `now`, or null when it is (or is not approved): what the
 * requester's view shows beside "approved by …", since the record alone — written with someone's own policy, or
 * before the policy changed — cannot say whether it grants anything.
 */
export function whyNotHonoured(
  r: ApprovalRequest,
  policy: Policy,
  now: Date,
  trustedSessionRoles?: readonly string[],
): string | null {
  if (effectiveStatus(r, now) !== 'approved' || r.window_start === undefined) return null;
  if (approvalStanding(r, policy, now, trustedSessionRoles) !== null) return null;
  const entry = approvalEntryFor(policy, r.profile);
  if (!entry) return `no approvals entry covers ${r.profile} in the policy in force`;
  if (r.auto_approved)
    return `auto_approve of entry "${entry.name}" does not cover ${r.requester} in the policy in force`;
  if (r.approver_arn !== undefined && isRequester(r.approver_arn, r, trustedSessionRoles))
    return 'it was approved by the requester';
  if (r.approver_arn === undefined || !isApprover(entry, r.approver_arn, trustedSessionRoles))
    return `${r.approver ?? 'its approver'} is not an approver in entry "${entry.name}" in the policy in force`;
  return `its window under entry "${entry.name}" has ended`;
}

export function approvalStanding(
  r: ApprovalRequest,
  policy: Policy,
  now: Date,
  trustedSessionRoles?: readonly string[],
): number | null {
  if (r.status !== 'approved' || r.window_start === undefined) return null;
  const entry = approvalEntryFor(policy, r.profile);
  if (!entry) return null;
  if (r.auto_approved) {
    const users = entry.auto_approve?.users;
    if (!entry.auto_approve || (users?.length && !users.includes(r.requester))) return null;
  } else if (
    r.approver_arn === undefined ||
    !isApprover(entry, r.approver_arn, trustedSessionRoles) ||
    // Re-checked here too: a record written around the check (by hand, or before it existed) grants nothing.
    isRequester(r.approver_arn, r, trustedSessionRoles)
  ) {
    return null;
  }
  const end = Math.min(windowEnd(r, entry), Date.parse(r.window_end ?? r.window_start));
  const t = now.getTime();
  return Date.parse(r.window_start) <= t && t < end ? end : null;
}

export interface ApprovalLookup {
  find(
    who: { principal: { arn: string; user: string }; profile: string; read?: ReadSet },
    decision: { effect: string },
    now: Date,
  ): Promise<ApprovalOverride | null>;
  /** The approved request a lookup would read again for (arn, profile): the front end joins it to the session read. */
  reads(principal: { arn: string }, profile: string): Array<Read<ApprovalRequest>>;
}

export function createApprovalLookup(options: ApprovalLookupOptions): ApprovalLookup {
  // (principal ARN, profile) → the id of the approved request last chosen for it.
  const chosen = new Map<string, string>();
  const key = (arn: string, profile: string) => `${arn}\n${profile}`;

  const best = (records: Iterable<ApprovalRequest>, arn: string, profile: string, policy: Policy, now: Date) => {
    let winner: { id: string; end: number } | null = null;
    for (const r of records) {
      if (r.requester_arn !== arn || r.profile !== profile) continue;
      const end = approvalStanding(r, policy, now, options.trustedSessionRoles);
      if (end !== null && (winner === null || end > winner.end)) winner = { id: r.id, end };
    }
    return winner;
  };

  return {
    reads(principal, profile) {
      const id = chosen.get(key(principal.arn, profile));
      return id ? [{ store: options.store, id }] : [];
    },
    async find(who, decision, now) {
      if (decision.effect !== 'require_approval') return null; // a deny is never negotiable
      const policy = options.policy(who.profile);
      if (!policy) return null;
      const k = key(who.principal.arn, who.profile);
      const cached = chosen.get(k);
      if (cached) {
        // Read with the session when the front end joined it (one BatchGetItem), else read now; consistent either way.
        const current = who.read?.has(options.store, cached)
          ? who.read.get(options.store, cached)
          : await options.store.get(cached);
        const win = current ? best([current], who.principal.arn, who.profile, policy, now) : null;
        if (win) return { kind: 'approved', id: win.id, notAfter: new Date(win.end) };
        chosen.delete(k);
      }
      const candidates = await options.store.queryAll(REQUEST_INDEXES.requester, who.principal.user);
      const approved = candidates.filter((r) => r.status === 'approved');
      if (approved.length === 0) return null;
      // The index is eventually consistent: what it suggests is read again, consistently, before it is used.
      const fresh = await options.store.getMany(approved.map((r) => r.id));
      const win = best(fresh.values(), who.principal.arn, who.profile, policy, now);
      if (!win) return null;
      chosen.set(k, win.id);
      return { kind: 'approved', id: win.id, notAfter: new Date(win.end) };
    },
  };
}
