// Approval requests (DESIGN §10): filing, deciding, cancelling, revoking and reading them, each a conditional write on
// the record layer, so two people acting at once produce one outcome and one clear refusal. Callers pass the
// principal that acts (the daemon's resolved identity for requesters, the approver's own AWS identity for approvers)
// and the policy in force for the request's profile; nothing here trusts a name a caller typed.
import { randomBytes } from 'node:crypto';
import { formatDuration } from '../duration.js';
import { SentinelError } from '../errors.js';
import { checkText } from '../text/one-line.js';
import type { RecordStore } from '../records/store.js';
import type { Decision } from '../policy/types.js';
import { matchBreakglass } from '../policy/breakglass-section.js';
import type { ApprovalEntry, Policy } from '../policy/schema.js';
import { isHex16 } from '../text/hex-id.js';
import { announcing } from '../notify/record-status.js';
import {
  approvalEntryFor,
  approverRefusal,
  autoApproval,
  entryMaxDurationMs,
  isApprover,
  principalName,
} from './entry.js';
import {
  effectiveStatus,
  PENDING_LIFETIME_MS,
  REQUEST_HISTORY_MS,
  type ApprovalRequest,
  type RequestStatus,
} from './record.js';

export const JUSTIFICATION_MIN = 10;
export const JUSTIFICATION_MAX = 500;
export const COMMENT_MAX = 1024;
/** The shortest window worth asking for (credentials last at least 15 minutes anyway). */
export const MIN_REQUEST_SECONDS = 60;

export interface Actor {
  /** Principal ARN as STS answers it. */
  arn: string;
  /** Policy user name (DESIGN §5.3). */
  user: string;
}

/** The requester's policy decision for the profile right now, as the daemon (or vendor) computes it. */
export type DecideNow = (user: string, profile: string, now: Date) => Decision;

export function checkRequestId(id: unknown): string {
  if (!isHex16(id)) {
    throw new SentinelError('BadRequest', 'not a valid request id (16 lowercase hex characters)', {
      hint: 'List requests with `sentinel requests`.',
    });
  }
  return id;
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

const iso = (ms: number) => new Date(ms).toISOString();
const ttlFor = (endMs: number) => Math.floor((endMs + REQUEST_HISTORY_MS) / 1000);

/** The window an approval grants under the entry in force: from the decision, min(asked, entry's max_duration). */
export function windowEnd(r: ApprovalRequest, entry: ApprovalEntry): number {
  const start = Date.parse(r.window_start ?? r.decided_at ?? r.created_at);
  return start + Math.min(r.duration * 1000, entryMaxDurationMs(entry));
}

export interface CreateInput {
  requester: Actor;
  profile: string;
  justification: unknown;
  /** Seconds; default min(1h, the entry's max_duration). */
  duration?: unknown;
}

export interface Outcome {
  request: ApprovalRequest;
  entry: ApprovalEntry;
}

export async function createRequest(
  store: RecordStore<ApprovalRequest>,
  policy: Policy,
  decideNow: DecideNow,
  input: CreateInput,
  now: Date,
): Promise<Outcome> {
  const justification = checkText(input.justification, 'the justification', JUSTIFICATION_MIN, JUSTIFICATION_MAX);
  const decision = decideNow(input.requester.user, input.profile, now);
  if (decision.effect !== 'require_approval') {
    const why = decision.allowed
      ? `you already have access to ${input.profile} (${decision.reason}); there is nothing to approve`
      : `${input.profile} cannot be requested: ${decision.reason}`;
    // A denial a breakglass entry lets this user past: say so here, where someone looking for a way in is.
    const glass = decision.allowed
      ? null
      : matchBreakglass(policy, { user: input.requester.user, profile: input.profile, now }).entry;
    throw new SentinelError('PolicyDenied', why, {
      hint: glass
        ? `It cannot be requested, but breakglass entry "${glass.name}" covers you for emergencies: \`sentinel breakglass invoke ${input.profile} --reason-code <code> --reason "..."\` (docs/breakglass.md).`
        : 'Only access that a require_approval rule governs can be requested; `sentinel policy test` shows which rule decides.',
    });
  }
  const entry = approvalEntryFor(policy, input.profile);
  if (!entry) {
    throw new SentinelError('PolicyDenied', `no approvals entry covers ${input.profile}, so nobody could approve it`, {
      hint: 'Ask a policy administrator to add an approvals entry for this profile.',
    });
  }
  const maxMs = entryMaxDurationMs(entry);
  let seconds: number;
  if (input.duration === undefined || input.duration === null) seconds = Math.min(3600, maxMs / 1000);
  else if (typeof input.duration !== 'number' || !Number.isSafeInteger(input.duration)) {
    throw new SentinelError('BadRequest', 'duration must be a whole number of seconds');
  } else seconds = input.duration;
  if (seconds < MIN_REQUEST_SECONDS) {
    throw new SentinelError('BadRequest', `the duration must be at least ${MIN_REQUEST_SECONDS} seconds`);
  }
  if (seconds * 1000 > maxMs) {
    throw new SentinelError(
      'BadRequest',
      `the duration ${formatDuration(seconds * 1000)} is over the limit of approvals entry "${entry.name}" (${formatDuration(maxMs)})`,
      { hint: `Ask for at most ${formatDuration(maxMs)} (--for).` },
    );
  }
  const at = now.getTime();
  const auto = autoApproval(entry, input.requester.user, seconds * 1000, now);
  const base: ApprovalRequest = {
    id: newRequestId(),
    requester: input.requester.user,
    requester_arn: input.requester.arn,
    profile: input.profile,
    justification,
    duration: seconds,
    status: 'pending',
    rule: entry.name,
    created_at: iso(at),
    updated_at: iso(at),
    expires_at: iso(at + PENDING_LIFETIME_MS),
    auto_approved: false,
    notification_event: 'request.created',
    ttl: ttlFor(at + PENDING_LIFETIME_MS),
  };
  const request: ApprovalRequest = auto.applies
    ? {
        ...base,
        status: 'approved',
        auto_approved: true,
        // Both events are announced; the record's status is about the later one.
        notification_event: 'request.approved',
        decided_at: iso(at),
        window_start: iso(at),
        window_end: iso(at + seconds * 1000),
        ttl: ttlFor(Math.max(at + seconds * 1000, at + PENDING_LIFETIME_MS)),
      }
    : base;
  return { request: await store.create(request), entry };
}

/** The entry in force for a request's profile; without one nobody may decide it. */
function entryInForce(policy: Policy, r: ApprovalRequest): ApprovalEntry {
  const entry = approvalEntryFor(policy, r.profile);
  if (!entry) {
    throw new SentinelError('NotApprover', `no approvals entry in the policy in force covers ${r.profile}`);
  }
  return entry;
}

function refuseUnlessStatus(r: ApprovalRequest, wanted: RequestStatus, now: Date, action: string): void {
  const status = effectiveStatus(r, now);
  if (status === wanted) return;
  const by = r.approver ? ` by ${r.approver}` : r.auto_approved ? ' automatically' : '';
  const detail = status === 'approved' || status === 'denied' || status === 'revoked' ? `${status}${by}` : status;
  throw new SentinelError('Conflict', `request ${r.id} is ${detail}, so it cannot be ${action}`, {
    hint: `Show it with \`sentinel requests show ${r.id}\`.`,
    details: { id: r.id, status },
  });
}

export interface DecideInput {
  approver: Actor & { trustedSessionRoles?: readonly string[] };
  id: unknown;
  decision: 'approve' | 'deny';
  comment?: unknown;
}

export async function decideRequest(
  store: RecordStore<ApprovalRequest>,
  policyFor: (profile: string) => Promise<Policy>,
  input: DecideInput,
  now: () => Date,
): Promise<Outcome> {
  const id = checkRequestId(input.id);
  const comment =
    input.comment === undefined ? undefined : checkText(input.comment, 'the comment', 0, COMMENT_MAX) || undefined;
  const first = await store.get(id);
  if (!first) throw store.kind.unknown(id);
  const policy = await policyFor(first.profile);
  const entry = entryInForce(policy, first);
  const action = input.decision === 'approve' ? 'approved' : 'denied';
  const request = await store.update(id, (current) => {
    const at = now();
    refuseUnlessStatus(current, 'pending', at, action);
    const refusal = approverRefusal(entry, input.approver.arn, current, input.approver.trustedSessionRoles);
    if (refusal) throw new SentinelError('NotApprover', refusal);
    const t = at.getTime();
    const name = principalName(input.approver.arn, input.approver.trustedSessionRoles) ?? input.approver.user;
    const decided = {
      approver: name,
      approver_arn: input.approver.arn,
      decided_at: iso(t),
      ...(comment !== undefined ? { approver_comment: comment } : {}),
    };
    if (input.decision === 'deny') return { ...decided, ...announcing('request.denied'), status: 'denied' as const };
    const end = t + Math.min(current.duration * 1000, entryMaxDurationMs(entry));
    return {
      ...decided,
      ...announcing('request.approved'),
      status: 'approved' as const,
      window_start: iso(t),
      window_end: iso(end),
      ttl: Math.max(current.ttl, ttlFor(end)),
    };
  });
  return { request, entry };
}

export async function cancelRequest(
  store: RecordStore<ApprovalRequest>,
  requester: Actor,
  id: unknown,
  now: () => Date,
): Promise<ApprovalRequest> {
  const checked = checkRequestId(id);
  return store.update(checked, (current) => {
    if (current.requester_arn !== requester.arn) throw store.kind.unknown(checked);
    refuseUnlessStatus(current, 'pending', now(), 'cancelled');
    return { ...announcing('request.cancelled'), status: 'cancelled' };
  });
}

export async function revokeRequest(
  store: RecordStore<ApprovalRequest>,
  policyFor: (profile: string) => Promise<Policy>,
  input: { approver: Actor & { trustedSessionRoles?: readonly string[] }; id: unknown; reason: unknown },
  now: () => Date,
): Promise<Outcome> {
  const id = checkRequestId(input.id);
  const reason = checkText(input.reason, 'the reason', 1, COMMENT_MAX);
  const first = await store.get(id);
  if (!first) throw store.kind.unknown(id);
  const entry = entryInForce(await policyFor(first.profile), first);
  if (!isApprover(entry, input.approver.arn, input.approver.trustedSessionRoles)) {
    throw new SentinelError('NotApprover', `you are not an approver in approvals entry "${entry.name}"`);
  }
  const request = await store.update(id, (current) => {
    refuseUnlessStatus(current, 'approved', now(), 'revoked');
    // approver/approver_arn keep who approved; who revoked, and why, is the comment.
    const by = principalName(input.approver.arn, input.approver.trustedSessionRoles) ?? input.approver.user;
    return {
      ...announcing('request.revoked'),
      status: 'revoked' as const,
      approver_comment: `revoked by ${by}: ${reason}`,
    };
  });
  return { request, entry };
}

/** A request as readers see it: `status` is the effective one (expired derived), `window_end` the stored one. */
export function view(r: ApprovalRequest, now: Date): Omit<ApprovalRequest, 'status'> & { status: string } {
  return { ...r, status: effectiveStatus(r, now) };
}
