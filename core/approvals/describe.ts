// The approvals entry of a profile as `policy test` shows it: which entry, who may approve, how long, and whether
// auto-approval would apply to this user right now (for a request up to auto_approve's own limit).
import { formatDuration, parseDuration } from '../duration.js';
import type { Policy } from '../policy/schema.js';
import { approvalEntryFor, autoApproval, entryMaxDurationMs } from './entry.js';

export interface ApprovalDescription {
  entry: string;
  approvers: string[];
  max_duration: string;
  notify: string[];
  auto_approve: { applies: boolean; reason: string; max_duration: string | null };
}

export function describeApproval(policy: Policy, profile: string, user: string, now: Date): ApprovalDescription | null {
  const entry = approvalEntryFor(policy, profile);
  if (!entry) return null;
  const autoMax = entry.auto_approve
    ? entry.auto_approve.max_duration !== undefined
      ? parseDuration(entry.auto_approve.max_duration)!
      : entryMaxDurationMs(entry)
    : null;
  const auto = autoApproval(entry, user, autoMax ?? 0, now);
  return {
    entry: entry.name,
    approvers: [...entry.approvers],
    max_duration: formatDuration(entryMaxDurationMs(entry)),
    notify: [...(entry.notify ?? [])],
    auto_approve: { ...auto, max_duration: autoMax === null ? null : formatDuration(autoMax) },
  };
}
