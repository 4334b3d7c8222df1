// What an approvals entry (DESIGN §10) says about one request: who may approve it (§5.3: the raw, untruncated name —
// and for an assumed role only when the role is one whose sessions an identity provider names — or an ARN pattern),
// whether auto-approval applies right now, and how long the window is.
import { parseDuration } from '../duration.js';
import { DEFAULT_TRUSTED_SESSION_ROLES, globToRegExp, parseCallerArn, policyNameOf } from '../identity/arn.js';
import { entryMaxDurationMs, type ApprovalEntry } from '../policy/approvals-section.js';
import { timeFailure } from '../policy/evaluate.js';

export { approvalEntryFor, entryMaxDurationMs } from '../policy/approvals-section.js';

export { DEFAULT_TRUSTED_SESSION_ROLES, globToRegExp };

/**
 * The name a principal is known by for approver matching: an IAM user's name, a federated user's name, `root`, and
 * for an assumed role the session name only when the role is trusted to name people (anyone who can assume some other
 * role can call their session `carol`); otherwise the role name. Null for an ARN that is not a principal.
 */
export function principalName(arn: string, trustedSessionRoles: readonly string[] = DEFAULT_TRUSTED_SESSION_ROLES) {
  try {
    return parseCallerArn(arn, trustedSessionRoles).rawName;
  } catch {
    return null;
  }
}

/** Whether `arn` may approve under `entry` (the requester check is separate: see `approverRefusal`). */
export function isApprover(
  entry: ApprovalEntry,
  arn: string,
  trustedSessionRoles: readonly string[] = DEFAULT_TRUSTED_SESSION_ROLES,
): boolean {
  const name = principalName(arn, trustedSessionRoles);
  if (name === null) return false;
  return entry.approvers.some((a) => (a.startsWith('arn:') ? globToRegExp(a).test(arn) : a === name));
}

/**
 * Whether `approverArn` is the requester: the same principal, or another identity the policy knows by the same user
 * name (an IAM Identity Center session and an IAM user, or a user of that name in another account). The policy grants
 * by that name, so to it they are one person, and one person's yes is not another person's.
 */
export function isRequester(
  approverArn: string,
  request: { requester_arn: string; requester: string },
  trustedSessionRoles: readonly string[] = DEFAULT_TRUSTED_SESSION_ROLES,
): boolean {
  if (approverArn === request.requester_arn) return true;
  const raw = principalName(approverArn, trustedSessionRoles);
  if (raw === null) return false;
  // Case-blind: IAM names are (no two users of an account differ only in case), and the safe side is to refuse.
  return policyNameOf(raw).toLowerCase() === request.requester.toLowerCase();
}

/** Why `approverArn` may not decide `request`, or null when it may. */
export function approverRefusal(
  entry: ApprovalEntry,
  approverArn: string,
  request: { requester_arn: string; requester: string },
  trustedSessionRoles?: readonly string[],
): string | null {
  if (approverArn === request.requester_arn) return 'you cannot approve your own request';
  if (isRequester(approverArn, request, trustedSessionRoles))
    return `you cannot approve your own request: this identity is the policy user "${request.requester}" too`;
  if (!isApprover(entry, approverArn, trustedSessionRoles)) {
    return `you are not an approver in approvals entry "${entry.name}"`;
  }
  return null;
}

export interface AutoApproval {
  applies: boolean;
  /** Why it does or does not apply, for `request` output and `policy test`. */
  reason: string;
}

/** Whether auto_approve applies to `user` asking for `durationMs` at `now`. */
export function autoApproval(entry: ApprovalEntry, user: string, durationMs: number, now: Date): AutoApproval {
  const auto = entry.auto_approve;
  if (!auto) return { applies: false, reason: `entry "${entry.name}" has no auto_approve` };
  if (auto.users?.length && !auto.users.includes(user)) {
    return { applies: false, reason: `user "${user}" is not in auto_approve.users` };
  }
  const failed = timeFailure(auto.time, now);
  if (failed) return { applies: false, reason: `outside auto_approve.time (${failed})` };
  const max = auto.max_duration !== undefined ? parseDuration(auto.max_duration)! : entryMaxDurationMs(entry);
  if (durationMs > max) return { applies: false, reason: `the duration is over auto_approve.max_duration` };
  return { applies: true, reason: `auto_approve of entry "${entry.name}" applies` };
}
