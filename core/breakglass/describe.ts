// Break-glass as `policy test` shows it (DESIGN §11): may this user break glass on this profile now, under which
// entry, with which reason codes, for how long, with MFA or not, announced to whom, and under which rate limits.
import { formatDuration, parseDuration } from '../duration.js';
import { allowedReasonCodes, breakglassMaxDurationMs, matchBreakglass } from '../policy/breakglass-section.js';
import { rateLimitsFor } from '../policy/rate-limits-section.js';
import type { Policy } from '../policy/schema.js';

export interface RateLimitDescription {
  name: string;
  cooldown: string | null;
  max_per_user: number | null;
  max_per_profile: number | null;
  quota_window: string | null;
  escalation_threshold: number | null;
}

export interface BreakglassDescription {
  /** Whether the user may invoke now (rate limits are counted by the daemon and not known offline). */
  allowed: boolean;
  /** Why not: the check that fails (profile, user, time), or null. */
  refused: { check: string; reason: string } | null;
  entry: string | null;
  reason_codes: string[];
  max_duration: string | null;
  mfa: 'required' | 'none';
  notify: string[];
  rate_limits: RateLimitDescription[];
}

const text = (d: string | undefined) => (d === undefined ? null : formatDuration(parseDuration(d)!));

export function describeBreakglass(policy: Policy, profile: string, user: string, now: Date): BreakglassDescription {
  const match = matchBreakglass(policy, { user, profile, now });
  const entry = match.entry;
  return {
    allowed: match.ok,
    refused: match.ok ? null : { check: match.check, reason: match.reason },
    entry: entry?.name ?? null,
    reason_codes: entry ? [...allowedReasonCodes(entry)] : [],
    max_duration: entry ? formatDuration(breakglassMaxDurationMs(entry)) : null,
    mfa: entry?.mfa ?? 'none',
    notify: [...(entry?.notify ?? [])],
    rate_limits: rateLimitsFor(policy, profile).map((r) => ({
      name: r.name,
      cooldown: text(r.cooldown),
      max_per_user: r.max_per_user ?? null,
      max_per_profile: r.max_per_profile ?? null,
      quota_window: text(r.quota_window),
      escalation_threshold: r.escalation_threshold ?? null,
    })),
  };
}

/** One line per limit, for the human output. */
export function limitText(r: RateLimitDescription): string {
  const parts: string[] = [];
  if (r.cooldown) parts.push(`cooldown ${r.cooldown}`);
  if (r.max_per_user !== null) parts.push(`${r.max_per_user} per user`);
  if (r.max_per_profile !== null) parts.push(`${r.max_per_profile} per profile`);
  if (r.quota_window) parts.push(`per ${r.quota_window}`);
  if (r.escalation_threshold !== null) parts.push(`escalated from the ${ordinal(r.escalation_threshold)} event`);
  return `${r.name}: ${parts.join(', ')}`;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}
