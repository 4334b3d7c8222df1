// The `approvals:` section (DESIGN §10): for which profiles a `require_approval` rule can become a yes, who may say
// it, for how long, and when a request is approved without anyone (auto_approve). Approvers are raw principal names
// (matched untruncated, DESIGN §5.3) or principal ARN patterns with `*` and `?`; anything else is refused here, so
// a typo can never make an approver list match more than its author meant.
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { boundedDuration, name, policyUser, profileEntry, time } from './schema-common.js';
import { checkNotifyTargets } from './notifications-section.js';

export const APPROVAL_KEYS = {
  approval: ['name', 'profiles', 'approvers', 'max_duration', 'auto_approve', 'notify'],
  auto_approve: ['users', 'time', 'max_duration'],
} as const;

/** DESIGN §10: a window is 1h unless the entry says otherwise, and never more than 12h. */
export const DEFAULT_APPROVAL_DURATION_MS = 3_600_000;
export const MAX_APPROVAL_DURATION_MS = 12 * 3_600_000;

const RAW_NAME = /^[\w+=,.@-]{1,64}$/;
// arn:partition:iam|sts::account:resource, where partition, account and names may use * and ?.
const ARN_PATTERN =
  /^arn:(?:aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|\*):(?:iam|sts)::(?:[0-9*?]{1,12}):(?:root|user\/[\w+=,.@/*?-]{1,576}|assumed-role\/[\w+=,.@*?-]{1,64}\/[\w+=,.@*?-]{1,64}|federated-user\/[\w+=,.@*?-]{1,64})$/;

/** Why an approvers entry is refused, or null. */
export function approverProblem(value: string): string | null {
  if (value.startsWith('arn:')) {
    if (value.length > 1024) return 'the ARN pattern is longer than 1024 characters';
    return ARN_PATTERN.test(value)
      ? null
      : 'malformed principal ARN pattern (expected arn:aws:sts::<account>:assumed-role/<role>/<session>, arn:aws:iam::<account>:user/<name>, … with * and ? as wildcards)';
  }
  return RAW_NAME.test(value) ? null : 'an approver is a principal name (letters, digits, _+=,.@-) or an ARN pattern';
}

const approver = z.string().superRefine((v, ctx) => {
  const problem = approverProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const autoApprove = z.strictObject({
  users: z.array(policyUser('a user name')).optional(),
  time: time.optional(),
  max_duration: boundedDuration(MAX_APPROVAL_DURATION_MS, '12h').optional(),
});

const entry = z.strictObject({
  name: name('the approvals entry name'),
  profiles: z.array(profileEntry('a profile name')).optional(),
  approvers: z.array(approver).min(1, 'an approvals entry needs at least one approver'),
  max_duration: boundedDuration(MAX_APPROVAL_DURATION_MS, '12h').optional(),
  auto_approve: autoApprove.optional(),
  notify: z.array(z.string()).optional(),
});

export const approvalsSection = z.array(entry);

export type ApprovalEntry = z.infer<typeof entry>;

/** The entry that applies to a profile: the first whose profiles list it (empty or missing = every profile). */
export function approvalEntryFor(
  policy: { approvals?: readonly ApprovalEntry[] | undefined },
  profile: string,
): ApprovalEntry | null {
  for (const e of policy.approvals ?? []) {
    if (!e.profiles || e.profiles.length === 0 || e.profiles.includes(profile)) return e;
  }
  return null;
}

/** The longest window this entry grants, in milliseconds. */
export function entryMaxDurationMs(e: ApprovalEntry): number {
  return e.max_duration !== undefined ? parseDuration(e.max_duration)! : DEFAULT_APPROVAL_DURATION_MS;
}

/** Unique names, `notify` naming declared targets, auto_approve.max_duration within the entry's max_duration. */
export function checkApprovals(
  entries: readonly ApprovalEntry[] | undefined,
  targets: ReadonlySet<string>,
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  (entries ?? []).forEach((e, i) => {
    const first = seen.get(e.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', i, 'name'],
        message: `duplicate approvals entry name "${e.name}" (first used by approvals[${first}])`,
      });
    } else seen.set(e.name, i);
    checkNotifyTargets('approvals', i, e.notify, targets, ctx);
    const auto = e.auto_approve?.max_duration;
    if (auto !== undefined && (parseDuration(auto) ?? 0) > entryMaxDurationMs(e)) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', i, 'auto_approve', 'max_duration'],
        message: `auto_approve.max_duration ${auto} is longer than the entry's max_duration (${e.max_duration ?? '1h'})`,
      });
    }
  });
}
