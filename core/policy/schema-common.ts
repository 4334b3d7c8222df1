// Schema pieces every policy section shares (rules, approvals, notifications, and the break-glass sections next to
// them): names without control characters, 24-hour times, time windows in an IANA zone, Go-style durations.
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { HOUR_PATTERN, WEEKDAYS, isValidTimeZone } from './time-window.js';
import { hasControlCharacters } from '../text/printable.js';
import { isPolicyUserName, policyNameHint, POLICY_NAME_MAX } from '../identity/arn.js';
import { isValidProfileName, PROFILE_NAME_RULE } from '../profile-name.js';

export const MAX_RULE_NAME = 128;

export const name = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(MAX_RULE_NAME, `${what} is longer than ${MAX_RULE_NAME} characters`)
    .refine((v) => !hasControlCharacters(v), `${what} must not contain control characters`);

// The daemon matches users lists against policy user names, which never hold anything but ASCII letters and digits
// (DESIGN §5.3). Any other entry matches nobody, and in a deny rule that means it denies nobody: refused, not ignored.
export const policyUser = (what: string) =>
  name(what).superRefine((v, ctx) => {
    if (!isPolicyUserName(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(v)} is not a policy user name (ASCII letters and digits, at most ${POLICY_NAME_MAX})`,
        params: { hint: policyNameHint(v) },
      });
    }
  });

// Requests name profiles only as isValidProfileName allows (letters, digits, `_ . @ + -`, parts joined by `/`) and
// conditions match them exactly, with no patterns. Any other entry (`prod `, `*`, `team:dev`) matches no request, and
// in a deny rule that means it denies nobody: refused, not ignored.
export const profileEntry = (what: string) =>
  name(what).superRefine((v, ctx) => {
    if (!isValidProfileName(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(v)} is not a profile name (${PROFILE_NAME_RULE}; names match exactly, with no patterns)`,
        params: { hint: 'Write the profile name exactly as in ~/.aws/config, with nothing around it.' },
      });
    }
  });

const hour = z.string().regex(HOUR_PATTERN, 'expected a 24-hour time "HH:MM" between "00:00" and "23:59"');

export const hours = z.strictObject({ start: hour, end: hour });

export const time = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).optional(),
  hours: hours.optional(),
  timezone: z.string().refine(isValidTimeZone, 'unknown time zone').optional(),
});

export const DURATION_MESSAGE = 'expected a duration such as "30m", "1h" or "1h30m"';

/** A Go-style duration string of at most `maxMs` (inclusive). */
export const boundedDuration = (maxMs: number, limitText: string) =>
  z
    .string()
    .refine((v) => parseDuration(v) !== undefined, DURATION_MESSAGE)
    .refine((v) => (parseDuration(v) ?? 0) <= maxMs, `longer than the limit of ${limitText}`);

/** Entry names are unique within a section: they appear in records, decision logs and notifications. */
export function checkUniqueNames(
  section: string,
  entries: readonly { name: string }[] | undefined,
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  (entries ?? []).forEach((e, i) => {
    const first = seen.get(e.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [section, i, 'name'],
        message: `duplicate ${section} entry name "${e.name}" (first used by ${section}[${first}])`,
      });
    } else seen.set(e.name, i);
  });
}
