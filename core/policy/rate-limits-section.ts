// The `rate_limits:` section (DESIGN §11): how often break-glass may be invoked. Every limit of an entry is optional
// and an absent one does not apply, but a quota (max_per_user, max_per_profile) or an escalation threshold counts
// events within quota_window, so it cannot be given without one. Each quota becomes that many slot items in the
// break-glass table, so the counts are bounded: a quota of a million is a typo, not a limit.
import { z } from 'zod';
import { boundedDuration, checkUniqueNames, name, profileEntry } from './schema-common.js';

export const RATE_LIMIT_KEYS = {
  rate_limit: [
    'name',
    'profiles',
    'cooldown',
    'max_per_user',
    'max_per_profile',
    'quota_window',
    'escalation_threshold',
  ],
} as const;

export const MAX_QUOTA = 100;
export const MAX_COOLDOWN_MS = 7 * 86_400_000;
export const MAX_QUOTA_WINDOW_MS = 31 * 86_400_000;

const count = (what: string) =>
  z
    .number()
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(MAX_QUOTA, `${what} is more than ${MAX_QUOTA}`);

const entry = z
  .strictObject({
    name: name('the rate_limits entry name'),
    profiles: z.array(profileEntry('a profile name')).optional(),
    cooldown: boundedDuration(MAX_COOLDOWN_MS, '7d').optional(),
    max_per_user: count('max_per_user').optional(),
    max_per_profile: count('max_per_profile').optional(),
    quota_window: boundedDuration(MAX_QUOTA_WINDOW_MS, '31d').optional(),
    escalation_threshold: count('escalation_threshold').optional(),
  })
  .superRefine((e, ctx) => {
    const counted = (['max_per_user', 'max_per_profile', 'escalation_threshold'] as const).filter(
      (k) => e[k] !== undefined,
    );
    if (counted.length > 0 && e.quota_window === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [counted[0]!],
        message: `${counted.join(' and ')} count events per quota_window, which rate_limits entry "${e.name}" does not give`,
        params: { hint: 'Add quota_window: 24h (or the window you mean).' },
      });
    }
    if (
      e.cooldown === undefined &&
      e.max_per_user === undefined &&
      e.max_per_profile === undefined &&
      e.escalation_threshold === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `rate_limits entry "${e.name}" sets no limit: give cooldown, max_per_user, max_per_profile or escalation_threshold`,
      });
    }
  });

export const rateLimitsSection = z.array(entry);

export type RateLimitEntry = z.infer<typeof entry>;

export function checkRateLimits(entries: readonly RateLimitEntry[] | undefined, ctx: z.RefinementCtx): void {
  checkUniqueNames('rate_limits', entries, ctx);
}

/** Every entry that counts invocations on `profile` (no profiles = every profile): each applies on its own. */
export function rateLimitsFor(
  policy: { rate_limits?: readonly RateLimitEntry[] | undefined },
  profile: string,
): RateLimitEntry[] {
  return (policy.rate_limits ?? []).filter((e) => !e.profiles?.length || e.profiles.includes(profile));
}

/** Why a policy with rate limits cannot be served by a daemon with this session store, or null. */
export function rateLimitStoreProblem(
  policy: { rate_limits?: readonly RateLimitEntry[] | undefined },
  sessionStore: string | undefined,
): string | null {
  if (sessionStore !== 'memory' || !policy.rate_limits?.length) return null;
  return 'rate_limits need a shared, persistent store, and sessions.store is memory (limits that reset at restart are no limits)';
}
