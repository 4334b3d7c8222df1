// The `breakglass:` section (DESIGN §11): who may take emergency access to which profiles, for which reasons, when,
// for how long, whether AWS must verify a one-time code first, and whom the invocation is announced to. An entry
// must name its profiles and its users: emergency access that covers "everyone" or "everything" by omission is the
// quiet, unbounded kind this section exists to prevent.
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { timeFailure } from './evaluate.js';
import { checkNotifyTargets } from './notifications-section.js';
import { boundedDuration, checkUniqueNames, name, policyUser, profileEntry, time } from './schema-common.js';
import {
  DEFAULT_BREAKGLASS_DURATION_MS,
  MAX_BREAKGLASS_DURATION_MS,
  REASON_CODES,
  type ReasonCode,
} from './breakglass-limits.js';

export const BREAKGLASS_KEYS = {
  breakglass: ['name', 'profiles', 'users', 'allowed_reason_codes', 'time', 'max_duration', 'mfa', 'notify'],
} as const;

export { REASON_CODES, type ReasonCode, DEFAULT_BREAKGLASS_DURATION_MS, MAX_BREAKGLASS_DURATION_MS };
export const MFA_VALUES = ['required', 'none'] as const;

const entry = z.strictObject({
  name: name('the breakglass entry name'),
  profiles: z.array(profileEntry('a profile name')).min(1, 'a breakglass entry must name its profiles'),
  users: z.array(policyUser('a user name')).min(1, 'a breakglass entry must name the users who may invoke it'),
  allowed_reason_codes: z.array(z.enum(REASON_CODES)).optional(),
  time: time.optional(),
  max_duration: boundedDuration(MAX_BREAKGLASS_DURATION_MS, '4h').optional(),
  mfa: z.enum(MFA_VALUES).optional(),
  notify: z.array(z.string()).optional(),
});

export const breakglassSection = z.array(entry);

export type BreakglassEntry = z.infer<typeof entry>;

export function checkBreakglass(
  entries: readonly BreakglassEntry[] | undefined,
  targets: ReadonlySet<string>,
  ctx: z.RefinementCtx,
): void {
  checkUniqueNames('breakglass', entries, ctx);
  (entries ?? []).forEach((e, i) => checkNotifyTargets('breakglass', i, e.notify, targets, ctx));
}

export function breakglassMaxDurationMs(e: BreakglassEntry): number {
  return e.max_duration !== undefined ? parseDuration(e.max_duration)! : DEFAULT_BREAKGLASS_DURATION_MS;
}

export function allowedReasonCodes(e: BreakglassEntry): readonly ReasonCode[] {
  return e.allowed_reason_codes?.length ? e.allowed_reason_codes : REASON_CODES;
}

export type BreakglassCheck = 'profile' | 'user' | 'reason_code' | 'time' | 'duration';

export type BreakglassMatch =
  | { ok: true; entry: BreakglassEntry }
  | { ok: false; check: BreakglassCheck; reason: string; entry: BreakglassEntry | null };

export interface BreakglassAsk {
  user: string;
  profile: string;
  now: Date;
  reasonCode?: string;
  durationMs?: number;
}

/**
 * The entry that lets `user` break glass on `profile` now, checked in DESIGN §11's order (user, reason code, time,
 * duration), or the first check that fails with a reason naming it. Among several entries for the profile the first
 * listing the user decides, as the first matching rule does.
 */
export function matchBreakglass(
  policy: { breakglass?: readonly BreakglassEntry[] | undefined },
  ask: BreakglassAsk,
): BreakglassMatch {
  const forProfile = (policy.breakglass ?? []).filter((e) => e.profiles.includes(ask.profile));
  if (forProfile.length === 0) {
    return {
      ok: false,
      check: 'profile',
      reason: `no breakglass entry covers profile "${ask.profile}"`,
      entry: null,
    };
  }
  const e = forProfile.find((x) => x.users.includes(ask.user));
  if (!e) {
    return {
      ok: false,
      check: 'user',
      reason: `user "${ask.user}" is not listed in breakglass entr${forProfile.length > 1 ? 'ies' : 'y'} ${forProfile.map((x) => `"${x.name}"`).join(', ')} for profile "${ask.profile}"`,
      entry: null,
    };
  }
  const codes = allowedReasonCodes(e);
  if (ask.reasonCode !== undefined && !(codes as readonly string[]).includes(ask.reasonCode)) {
    return {
      ok: false,
      check: 'reason_code',
      reason: `reason code "${ask.reasonCode}" is not allowed by breakglass entry "${e.name}" (allowed: ${codes.join(', ')})`,
      entry: e,
    };
  }
  const outside = timeFailure(e.time, ask.now);
  if (outside) {
    return {
      ok: false,
      check: 'time',
      reason: `outside the ${outside} of breakglass entry "${e.name}"`,
      entry: e,
    };
  }
  const max = breakglassMaxDurationMs(e);
  if (ask.durationMs !== undefined && ask.durationMs > max) {
    return {
      ok: false,
      check: 'duration',
      reason: `the duration is longer than breakglass entry "${e.name}" allows (max_duration ${e.max_duration ?? '1h'})`,
      entry: e,
    };
  }
  return { ok: true, entry: e };
}
