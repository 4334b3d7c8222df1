// Request bodies and queries of the API every front end serves (DESIGN §3.3 for the daemon, §17 for the Lambda vendor),
// validated with zod before anything is read. Messages name the field and the rule, never echo the value. Lengths and
// characters that the services check themselves (justifications, reasons) are only bounded here: the service answers
// with the message a user can act on.
import { z } from 'zod';
import {
  CLOSE_REASON_MAX,
  JUSTIFICATION_MAX as BREAKGLASS_JUSTIFICATION_MAX,
  JUSTIFICATION_MIN as BREAKGLASS_JUSTIFICATION_MIN,
} from '../breakglass/service.js';
import { JUSTIFICATION_MAX, JUSTIFICATION_MIN } from '../approvals/service.js';
import { parseDuration } from '../duration.js';
import { SentinelError } from '../errors.js';
import { MAX_PROFILE_NAME, isValidProfileName, PROFILE_NAME_RULE } from '../profile-name.js';
import { MAX_REASON } from '../sessions/record.js';
import { UNITS_PER_CHARACTER } from '../text/one-line.js';

/** Profile names as the vendor accepts them; anything else cannot name a profile and is refused unread. */
export const profileName = z
  .string()
  .max(MAX_PROFILE_NAME)
  .refine(isValidProfileName, `expected a profile name (${PROFILE_NAME_RULE})`);

/** `ttl`: a duration (`1h`, `30m`) or seconds. */
export const ttl = z.union([
  z
    .string()
    .max(32)
    .refine((v) => (parseDuration(v) ?? 0) >= 60_000, 'expected a duration of at least 1m, such as 1h or 30m'),
  z
    .number()
    .int()
    .min(60)
    .max(31 * 86_400),
]);

/** A `ttl` the schema accepted, in milliseconds (undefined: none asked for). */
export function ttlMs(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value * 1000 : parseDuration(value);
}

/**
 * Text a person writes (a justification, a reason, a comment) as a body field: bounded here only on what may be stored
 * (UNITS_PER_CHARACTER UTF-16 units a character); the service checks it by the one rule (core/text/one-line.ts) and
 * says what is wrong. `message` is what a value over the bound gets.
 */
export const writtenText = (max: number, message?: string) => z.string().max(max * UNITS_PER_CHARACTER, message);

// The store checks the reason, as `sentinel server revoke --reason` does before asking.
export const revokeBody = z
  .object({ reason: writtenText(MAX_REASON, `the reason must be 1-${MAX_REASON} characters`) })
  .strict();

// Approval requests (§10).
export const requestCreateBody = z
  .object({
    profile: profileName,
    justification: writtenText(
      JUSTIFICATION_MAX,
      `the justification must be ${JUSTIFICATION_MIN}-${JUSTIFICATION_MAX} characters`,
    ),
    duration: z
      .number()
      .min(1)
      .max(86_400, 'the duration is over what any approvals entry allows (12h at most)')
      // Not .int(): its own bound on safe integers would be reported beside this one for 1e300.
      .refine(Number.isInteger, 'the duration must be a whole number of seconds')
      .optional(),
  })
  .strict();
export const requestListQuery = z.object({ mine: z.string().max(8).optional() }).strict();

// Break-glass events (§11).
export const breakglassInvokeBody = z
  .object({
    profile: profileName,
    reason_code: z.string().max(32),
    justification: writtenText(
      BREAKGLASS_JUSTIFICATION_MAX,
      `the justification must be ${BREAKGLASS_JUSTIFICATION_MIN}-${BREAKGLASS_JUSTIFICATION_MAX} characters`,
    ),
    duration: z.number().optional(),
    mfa_code: z.string().max(16).optional(),
    /** Answer what would happen (entry, MFA, who is told) without acting. */
    dry_run: z.boolean().optional(),
  })
  .strict();
export const breakglassListQuery = z
  .object({
    mine: z.string().max(8).optional(),
    status: z.enum(['active', 'closed', 'expired']).optional(),
    profile: profileName.optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();
export const breakglassCloseBody = z
  .object({ reason: writtenText(CLOSE_REASON_MAX, `the reason must be 1-${CLOSE_REASON_MAX} characters`) })
  .strict();

/** The value checked against the schema, or a BadRequest naming every field that failed and why. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k.slice(0, 40)}"`).join(', ')}`;
      const field = issue.path.map(String).join('.') || where;
      return `${field}: ${issue.message}`;
    })
    .join('; ');
  throw new SentinelError('BadRequest', `invalid ${where}: ${problems}`);
}
