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
import type { NotificationEvent } from '../core/notify/types.js';
import type { Policy } from '../core/policy/schema.js';
import { markUnsettled, waitAtMost } from './bounded.js';
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

  /** Tells the entry's notify targets and records the outcome on the request, before the answer (bounded). */
  const announce = async (event: NotificationEvent, request: ApprovalRequest, actor: string): Promise<void> => {
    const policy = parts.policy.policyFor?.(request.profile);
    const entry = policy ? approvalEntryFor(policy, request.profile) : null;
    if (!policy || !entry || !(entry.notify ?? []).length) return;
    const warn = (e: unknown) =>
      parts.log.warn({ err: (e as Error)?.message, id: request.id }, 'approval notification status not recorded');
    let interim: Promise<unknown> = Promise.resolve();
    let recording = false;
    const work = (async () => {
      const results = await notifyRequest(parts.notifier(), policy, entry, event, actor, request, now());
      await interim; // the outcome comes after the interim status, never before it
      recording = true;
      await recordNotificationStatus(store, request.id, results);
    })().catch(warn);
    if (await waitAtMost(work)) return;
    // Not once the outcome is being written (delivery ended just before the bound, its write still on its way), nor
    // once a later event (a decision, a revoke) has changed the request: what they write stands.
    const ours = (current: ApprovalRequest) => !recording && current.status === request.status;
    interim = markUnsettled(store, request.id, entry.notify ?? [], ours).catch(warn);
    await interim;
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
      await announce('request.created', request, principal.arn);
      if (request.auto_approved) await announce('request.approved', request, 'sentinel');
      return view(request, now());
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
      await announce('request.cancelled', cancelled, principal.arn);
      return view(cancelled, now());
    },
    async decide(principal, id, decision, comment) {
      const { request } = await decideRequest(
        store,
        policyFor,
        { approver: actor(principal), id, decision, comment },
        now,
      );
      await announce(decision === 'approve' ? 'request.approved' : 'request.denied', request, principal.arn);
      return view(request, now());
    },
    async revoke(principal, id, reason) {
      const { request } = await revokeRequest(store, policyFor, { approver: actor(principal), id, reason }, now);
      await announce('request.revoked', request, principal.arn);
      return view(request, now());
    },
  };
}
