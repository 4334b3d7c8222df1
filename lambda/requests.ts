// Approval requests through the vendor (DESIGN §10, §17): the requester, approver and revoker are the verified caller,
// and only the vendor writes the table — which is what makes an approval bind. Every transition is the shared
// service's (core/approvals/service.ts); here the caller is turned into its actor and the policy in force is found.
import { approvalEntryFor, isApprover } from '../core/approvals/entry.js';
import { notifyRequest, recordNotificationStatus } from '../core/approvals/notify.js';
import { REQUEST_INDEXES, type ApprovalRequest } from '../core/approvals/record.js';
import type { RequestView } from '../core/approvals/requester.js';
import {
  cancelRequest,
  checkRequestId,
  createRequest,
  decideRequest,
  revokeRequest,
  view,
} from '../core/approvals/service.js';
import type { Principal } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';
import { stillAbout } from '../core/notify/record-status.js';
import { notificationStatus, type NotificationEvent } from '../core/notify/types.js';
import type { Policy } from '../core/policy/schema.js';
import { markUnsettled, unsettledAtBound, waitAtMost } from './bounded.js';
import type { VendorParts } from './parts.js';
import { vendorPolicyHint } from './profiles.js';

export interface VendorRequests {
  create(
    principal: Principal,
    input: { profile: string; justification: unknown; duration?: unknown },
  ): Promise<RequestView>;
  mine(principal: Principal): Promise<RequestView[]>;
  show(principal: Principal, id: unknown): Promise<RequestView>;
  cancel(principal: Principal, id: unknown): Promise<RequestView>;
  decide(principal: Principal, id: unknown, decision: 'approve' | 'deny', comment?: unknown): Promise<RequestView>;
  revoke(principal: Principal, id: unknown, reason: unknown): Promise<RequestView>;
}

export function createVendorRequests(parts: VendorParts): VendorRequests {
  const { requests: store, now, config } = parts;
  const trusted = config.identity.trustedSessionRoles;
  const actor = (p: Principal) => ({ arn: p.arn, user: p.user, trustedSessionRoles: trusted });

  /** Tells the entry's notify targets and records the outcome on the request, before the answer (bounded). Returns what
   * the record says of this event for the answer: its outcome, the interim at the bound, or undefined when nothing was
   * sent. `request` is the record as the transition that announces `event` wrote it. */
  const announce = async (
    event: NotificationEvent,
    request: ApprovalRequest,
    actor: string,
  ): Promise<string | undefined> => {
    const policy = parts.policy.policyFor?.(request.profile);
    const entry = policy ? approvalEntryFor(policy, request.profile) : null;
    const targets = entry?.notify ?? [];
    if (!policy || !entry || !targets.length) return undefined;
    const warn = (e: unknown) =>
      parts.log.warn({ err: (e as Error)?.message, id: request.id }, 'approval notification status not recorded');
    const about = { event, status: request.status };
    let interim: Promise<unknown> = Promise.resolve();
    let recording = false;
    let outcome: string | undefined;
    const work = (async () => {
      const results = await notifyRequest(parts.notifier(), policy, entry, event, actor, request, now());
      await interim; // the outcome comes after the interim status, never before it
      recording = true;
      if (results.length) outcome = notificationStatus(results);
      await recordNotificationStatus(store, event, request, results);
    })().catch(warn);
    if (await waitAtMost(work)) return outcome;
    // Only onto the version the transition wrote, while it still names this event (request.created of an
    // auto-approved request names request.approved from the start), and not once the outcome is being written
    // (delivery ended just before the bound, its write still on its way): what they write stands.
    const ours = (current: ApprovalRequest) =>
      !recording && current.updated_at === request.updated_at && stillAbout(current, about);
    let shown = unsettledAtBound(targets);
    interim = markUnsettled(store, request.id, targets, ours)
      .then(({ written, record }) => {
        if (!written && stillAbout(record, about) && record.notification_status) shown = record.notification_status;
      })
      .catch(warn);
    await interim;
    return shown;
  };

  /** The answer: the request with what its notification came to, when this call announced its latest event. */
  const answer = (request: ApprovalRequest, status: string | undefined): RequestView => {
    const v = view(request, now());
    return status === undefined ? v : { ...v, notification_status: status };
  };

  const policyFor = async (profile: string): Promise<Policy> => {
    const policy = parts.policy.policyFor?.(profile);
    if (!policy)
      throw new SentinelError('PolicyUnavailable', `no valid policy is loaded for ${profile}`, {
        hint: vendorPolicyHint(profile),
      });
    return policy;
  };

  return {
    async create(principal, input) {
      const policy = await policyFor(input.profile);
      const decideNow = (user: string, profile: string, time: Date) =>
        parts.policy.decide({ user, profile, time, mode: 'server', sessionStore: 'dynamodb' });
      const { request } = await createRequest(
        store,
        policy,
        decideNow,
        { ...input, requester: { arn: principal.arn, user: principal.user } },
        now(),
      );
      const created = await announce('request.created', request, principal.arn);
      if (!request.auto_approved) return answer(request, created);
      return answer(request, await announce('request.approved', request, 'sentinel'));
    },
    async mine(principal) {
      const found = await store.queryAll(REQUEST_INDEXES.requester, principal.user);
      return found
        .filter((r) => r.requester_arn === principal.arn)
        .sort((a, b) => b.created_at.localeCompare(a.created_at))
        .map((r) => view(r, now()));
    },
    async show(principal, id) {
      const checked = checkRequestId(id);
      const r = await store.get(checked);
      if (r && r.requester_arn === principal.arn) return view(r, now());
      const policy = r ? parts.policy.policyFor?.(r.profile) : null;
      const entry = policy ? approvalEntryFor(policy, r!.profile) : null;
      if (!r || !entry || !isApprover(entry, principal.arn, trusted)) throw store.kind.unknown(checked);
      return view(r, now());
    },
    async cancel(principal, id) {
      const cancelled = await cancelRequest(store, actor(principal), id, now);
      return answer(cancelled, await announce('request.cancelled', cancelled, principal.arn));
    },
    async decide(principal, id, decision, comment) {
      const { request } = await decideRequest(
        store,
        policyFor,
        { approver: actor(principal), id, decision, comment },
        now,
      );
      const event = decision === 'approve' ? 'request.approved' : 'request.denied';
      return answer(request, await announce(event, request, principal.arn));
    },
    async revoke(principal, id, reason) {
      const { request } = await revokeRequest(store, policyFor, { approver: actor(principal), id, reason }, now);
      return answer(request, await announce('request.revoked', request, principal.arn));
    },
  };
}
