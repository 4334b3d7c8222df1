// The allow-list between a decision and the log file. Only the fields of DESIGN §7 are copied, each checked against the
// shape it must have; anything else — an unexpected field, a wrong type, a value that looks like a key or a token — is
// dropped or censored here, so a caller's mistake cannot put a secret on disk.
import { isErrorCode } from '../errors.js';
import { parseSourceIdentity } from '../identity/source-identity.js';
import { MODES } from '../types.js';
import { isValidProfileName } from '../vending/aws-config.js';
import { redactText } from './redact.js';
import type { DecisionEntry } from './types.js';

export { CENSORED } from './redact.js';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const EFFECT = /^[a-z_]{1,32}$/;
const OVERRIDE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Free text: control characters removed, secret-looking runs censored, length bounded. */
export function safeText(value: unknown, max: number): string | null {
  return typeof value === 'string' ? redactText(value, max) : null;
}

const matching = (re: RegExp, value: unknown): string | null => (typeof value === 'string' && re.test(value) ? value : null);

const integer = (value: unknown, min: number, max: number): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : null;

function oneOf<T extends string>(values: readonly T[], value: unknown): T | null {
  return typeof value === 'string' && (values as readonly string[]).includes(value) ? (value as T) : null;
}

/**
 * A fresh DecisionEntry holding only the documented fields, in the documented order. A field with the wrong shape is
 * written as null (never dropped: the line must still show that a decision happened).
 */
export function sanitizeEntry(input: unknown, now: () => Date = () => new Date()): DecisionEntry {
  const e = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {
    timestamp: matching(RFC3339_UTC, e.timestamp) ?? now().toISOString(),
    event: oneOf(['session_open', 'credentials', 'credential_process'] as const, e.event),
    outcome: oneOf(['allow', 'deny'] as const, e.outcome),
  };
  if (isErrorCode(e.error_code)) out.error_code = e.error_code;
  Object.assign(out, {
    user: safeText(e.user, 64),
    profile: isValidProfileName(e.profile) ? e.profile : null,
    effect: matching(EFFECT, e.effect),
    rule: safeText(e.rule, 128),
    rule_index: integer(e.rule_index, -1, 1_000_000),
    reason: safeText(e.reason, 512),
    policy_source: safeText(e.policy_source, 512),
    policy_version: safeText(e.policy_version, 128),
    mode: oneOf(MODES, e.mode),
    session_id: matching(HEX16, e.session_id),
    request_id: matching(HEX16, e.request_id),
    source_identity: parseSourceIdentity(e.source_identity) ? e.source_identity : null,
    role_arn: matching(ROLE_ARN, e.role_arn),
    duration_seconds: integer(e.duration_seconds, 0, 129_600),
    peer_pid: integer(e.peer_pid, 0, 0xffffffff),
    peer_uid: integer(e.peer_uid, 0, 0xffffffff),
  });
  const approved = matching(OVERRIDE_ID, e.approved_request_id);
  if (approved) out.approved_request_id = approved;
  const breakGlass = matching(OVERRIDE_ID, e.break_glass_event_id);
  if (breakGlass) out.break_glass_event_id = breakGlass;
  return out as unknown as DecisionEntry;
}

/** JSON with object keys sorted at every level: the bytes the HMAC is computed over. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
