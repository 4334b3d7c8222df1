// The policy document (DESIGN §5.1) as a zod schema. Every object is strict (an unknown key refuses the policy: a
// typo such as `user:` must never silently widen a rule), every scalar has the type it must have (`profiles: [123]`
// is refused, not read as "123"), and a rule names at least one of profiles, users or time, as the original Sentinel
// required. Semantic checks that need more than one field (unique names) live here too, so a policy is either
// entirely valid or refused.
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { MODES, type Mode } from '../types.js';
import { EFFECTS, type Effect } from './types.js';
import { WEEKDAYS } from './time-window.js';
import { DURATION_MESSAGE, MAX_RULE_NAME, name, policyUser, profileEntry, time } from './schema-common.js';
import { APPROVAL_KEYS, approvalsSection, checkApprovals } from './approvals-section.js';
import { NOTIFICATION_KEYS, checkNotifications, notificationsSection } from './notifications-section.js';
import { BREAKGLASS_KEYS, breakglassSection, checkBreakglass } from './breakglass-section.js';
import { RATE_LIMIT_KEYS, checkRateLimits, rateLimitsSection } from './rate-limits-section.js';
import { PROFILE_KEYS, checkProfiles, profilesSection } from './profiles-section.js';

export { WEEKDAYS, MAX_RULE_NAME };
export const OS_TYPES = ['darwin', 'linux', 'windows'] as const;

export const KNOWN_KEYS = {
  policy: ['version', 'rules', 'approvals', 'notifications', 'breakglass', 'rate_limits', 'profiles'],
  rule: ['name', 'effect', 'conditions', 'reason', 'max_server_duration', 'session_table'],
  conditions: ['profiles', 'users', 'time', 'mode', 'device'],
  time: ['days', 'hours', 'timezone'],
  hours: ['start', 'end'],
  device: [
    'require_encryption',
    'require_mdm',
    'require_mdm_compliant',
    'require_firewall',
    'min_os_version',
    'allowed_os_types',
  ],
  ...APPROVAL_KEYS,
  ...NOTIFICATION_KEYS,
  ...BREAKGLASS_KEYS,
  ...RATE_LIMIT_KEYS,
  ...PROFILE_KEYS,
} as const;

/** Top-level sections that DESIGN plans; named so that the error says "not yet" rather than "typo". */
export const FUTURE_SECTIONS: readonly string[] = [];

const device = z.strictObject({
  require_encryption: z.boolean().optional(),
  require_mdm: z.boolean().optional(),
  require_mdm_compliant: z.boolean().optional(),
  require_firewall: z.boolean().optional(),
  min_os_version: z
    .string()
    .max(64, 'min_os_version is longer than 64 characters')
    .regex(
      /^[0-9A-Za-z.+-]*[0-9][0-9A-Za-z.+-]*$/,
      'expected a version such as "14.0" (digits, letters, ".", "-", "+")',
    )
    .optional(),
  // The original compared OS types case-insensitively; so do we, but only the three it knew.
  allowed_os_types: z
    .array(z.string().refine((v) => (OS_TYPES as readonly string[]).includes(v.toLowerCase()), 'unknown OS type'))
    .optional(),
});

const conditions = z.strictObject({
  profiles: z.array(profileEntry('a profile name')).optional(),
  users: z.array(policyUser('a user name')).optional(),
  time: time.optional(),
  mode: z.array(z.enum(MODES as [Mode, ...Mode[]])).optional(),
  device: device.optional(),
});

const rule = z
  .strictObject({
    name: name('the rule name'),
    effect: z.enum(EFFECTS as [Effect, ...Effect[]]),
    conditions,
    reason: z.string().max(1024, 'reason is longer than 1024 characters').optional(),
    max_server_duration: z
      .string()
      .refine((v) => parseDuration(v) !== undefined, DURATION_MESSAGE)
      .optional(),
    session_table: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)')
      .optional(),
  })
  .superRefine((r, ctx) => {
    const c = r.conditions;
    if (c && !(c.profiles?.length || c.users?.length || c.time)) {
      ctx.addIssue({
        code: 'custom',
        path: ['conditions'],
        message: `rule "${r.name}" has no conditions: give at least one of profiles, users or time`,
        params: { hint: 'A catch-all is not needed: a request no rule matches is denied by default.' },
      });
    }
  });

export const policySchema = z
  .strictObject({
    version: z.string().refine((v) => v === '1', 'unsupported policy version: only "1" exists'),
    rules: z.array(rule).min(1, 'the policy has no rules'),
    approvals: approvalsSection.optional(),
    notifications: notificationsSection.optional(),
    breakglass: breakglassSection.optional(),
    rate_limits: rateLimitsSection.optional(),
    // The server-side vendor's profiles (DESIGN §17); the local daemon ignores them.
    profiles: profilesSection.optional(),
  })
  .superRefine((p, ctx) => {
    const seen = new Map<string, number>();
    p.rules.forEach((r, i) => {
      const first = seen.get(r.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `duplicate rule name "${r.name}" (first used by rules[${first}])`,
          params: { hint: 'Rule names appear in decision logs; give each rule its own name.' },
        });
      } else {
        seen.set(r.name, i);
      }
    });
    const targets = checkNotifications(p.notifications, ctx);
    checkApprovals(p.approvals, targets, ctx);
    checkBreakglass(p.breakglass, targets, ctx);
    checkRateLimits(p.rate_limits, ctx);
    checkProfiles(p.profiles, ctx);
  });

export type Policy = z.infer<typeof policySchema> & { version: '1' };
export type Rule = Policy['rules'][number];
export type Conditions = Rule['conditions'];
export type TimeCondition = NonNullable<Conditions['time']>;
export type DeviceCondition = NonNullable<Conditions['device']>;
export type { ApprovalEntry } from './approvals-section.js';
export type { NotificationTarget } from './notifications-section.js';
export type { BreakglassEntry } from './breakglass-section.js';
export type { RateLimitEntry } from './rate-limits-section.js';
export type { ProfileEntry } from './profiles-section.js';
