// Warnings about the approvals section: legal, but a `require_approval` nobody can approve, or an entry no rule ever
// sends a request to, is almost certainly not what the author meant.
import type { Warning } from './lint.js';
import type { Policy } from './schema.js';
import { approvalEntryFor } from './approvals-section.js';

export function lintApprovals(policy: Policy): Warning[] {
  const warnings: Warning[] = [];
  const approvalRules = policy.rules.filter((r) => r.effect === 'require_approval');
  for (const r of approvalRules) {
    const profiles = r.conditions.profiles ?? [];
    const unapprovable = profiles.length
      ? profiles.filter((p) => approvalEntryFor(policy, p) === null)
      : (policy.approvals ?? []).length === 0
        ? ['*']
        : [];
    if (unapprovable.length) {
      warnings.push({
        rule: r.name,
        message: `require_approval rule "${r.name}": no approvals entry covers ${unapprovable[0] === '*' ? 'its profiles' : `profile${unapprovable.length > 1 ? 's' : ''} ${unapprovable.join(', ')}`}, so nobody can approve it`,
      });
    }
  }
  const anyRuleWithoutProfiles = approvalRules.some((r) => !r.conditions.profiles?.length);
  for (const e of policy.approvals ?? []) {
    if (anyRuleWithoutProfiles || !e.profiles?.length) continue;
    const used = e.profiles.some((p) => approvalRules.some((r) => r.conditions.profiles!.includes(p)));
    if (!used) {
      warnings.push({
        message: `approvals entry "${e.name}": no require_approval rule names its profiles, so no request can use it`,
      });
    }
  }
  return warnings;
}
