// The allow-list between a decision and the log file. Only the fields of DESIGN §7 are copied, each checked against the
// shape it must have; anything else — an unexpected field, a wrong type, a value that looks like a key or a token — is
// dropped or censored here, so a caller's mistake cannot put a secret on disk.
import { isErrorCode } from '../errors.js';
import { parseSourceIdentity } from '../identity/source-identity.js';
import { MODES } from '../types.js';
import { isValidProfileName } from '../profile-name.js';
import { isHex16 } from '../text/hex-id.js';
import { redactText } from './redact.js';
import type { DecisionEntry } from './types.js';
import { RFC3339_UTC } from '../text/timestamp.js';

export { CENSORED } from './redact.js';

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const EFFECT = /^[a-z_]{1,32}$/;
const OVERRIDE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Free text: control characters removed, secret-looking runs censored, length bounded. */
export function safeText(value: unknown, max: number): string | null {
  return typeof value === 'string' ? redactText(value, max) : null;
}

const matching = (re: RegExp, value: unknown): string | null =>
  typeof value === 'string' && re.test(value) ? value : null;

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
    event: oneOf(['session_open', 'credentials', 'credential_process', 'peer_refusals'] as const, e.event),
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
    session_id: isHex16(e.session_id) ? e.session_id : null,
    request_id: isHex16(e.request_id) ? e.request_id : null,
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
  if (out.event === 'peer_refusals') {
    const transport = oneOf(['unix', 'tcp'] as const, e.transport);
    if (transport) out.transport = transport;
    const count = integer(e.count, 1, Number.MAX_SAFE_INTEGER);
    if (count !== null) out.count = count;
    const first = matching(RFC3339_UTC, e.first_timestamp);
    if (first) out.first_timestamp = first;
    const last = matching(RFC3339_UTC, e.last_timestamp);
    if (last) out.last_timestamp = last;
  }
  return out as unknown as DecisionEntry;
}

// --- the hot path: one entry straight to its JSON ------------------------------------------------------------------
// renderEntry gives exactly the bytes of JSON.stringify(sanitizeEntry(e)) (or canonicalJson of it) without building
// the intermediate object. Free-text and shaped string fields repeat from request to request (the rule, reason and
// policy source of one policy; the user, profile and role of one session), so each field keeps a small memo from the
// raw string to its finished JSON: a repeated value costs one Map lookup instead of four regular expressions.

const MEMO_MAX = 512;
/** Longer values are sanitised every time rather than kept alive by the memo. */
const MEMO_KEY_MAX = 1024;

type Fragment = (value: unknown) => string;

/** `check` turns a raw string into its JSON fragment (`null` when refused); results are memoised per field. */
function memoised(check: (value: string) => string | null): Fragment {
  const memo = new Map<string, string>();
  return (value) => {
    if (typeof value !== 'string') return 'null';
    let json = memo.get(value);
    if (json !== undefined) return json;
    const clean = check(value);
    json = clean === null ? 'null' : JSON.stringify(clean);
    if (value.length <= MEMO_KEY_MAX) {
      if (memo.size >= MEMO_MAX) memo.clear();
      memo.set(value, json);
    }
    return json;
  };
}

const textField = (max: number): Fragment => memoised((v) => redactText(v, max));
const shapedField = (re: RegExp): Fragment => memoised((v) => (re.test(v) ? v : null));

const F = {
  user: textField(64),
  rule: textField(128),
  reason: textField(512),
  policySource: textField(512),
  policyVersion: textField(128),
  profile: memoised((v) => (isValidProfileName(v) ? v : null)),
  effect: shapedField(EFFECT),
  sourceIdentity: memoised((v) => (parseSourceIdentity(v) ? v : null)),
  roleArn: shapedField(ROLE_ARN),
  errorCode: memoised((v) => (isErrorCode(v) ? v : null)),
};

const EVENTS: Record<string, string> = {
  session_open: '"session_open"',
  credentials: '"credentials"',
  credential_process: '"credential_process"',
};
const OUTCOMES: Record<string, string> = { allow: '"allow"', deny: '"deny"' };
const MODE_JSON: Record<string, string> = Object.fromEntries(MODES.map((m) => [m, JSON.stringify(m)]));

const own = (table: Record<string, string>, value: unknown): string =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(table, value) ? table[value]! : 'null';

/** Session and request ids: checked on every line, by isHex16 rather than a RegExp. */
const hexIdJson = (value: unknown): string => (isHex16(value) ? `"${value}"` : 'null');

/** Hex ids and override ids need no escaping once they match. */
const idJson = (re: RegExp, value: unknown): string =>
  typeof value === 'string' && re.test(value) ? `"${value}"` : 'null';

const intJson = (value: unknown, min: number, max: number): string =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? String(value) : 'null';

export interface RenderedEntry {
  /** The line's JSON: documented field order, or canonical (sorted keys) for signing. */
  json: string;
  /** The sanitised timestamp (signed lines repeat it outside the entry). */
  timestamp: string;
}

export type EntryOrder = 'documented' | 'canonical';

/** Every field but timestamp and request_id: the part of an entry that repeats from request to request of a session. */
interface StableFields {
  event: unknown;
  outcome: unknown;
  error_code: unknown;
  user: unknown;
  profile: unknown;
  effect: unknown;
  rule: unknown;
  rule_index: unknown;
  reason: unknown;
  policy_source: unknown;
  policy_version: unknown;
  mode: unknown;
  session_id: unknown;
  source_identity: unknown;
  role_arn: unknown;
  duration_seconds: unknown;
  peer_pid: unknown;
  peer_uid: unknown;
  approved_request_id: unknown;
  break_glass_event_id: unknown;
}

/** Each field read once (a getter is not asked twice). */
function readStable(e: Record<string, unknown>): StableFields {
  return {
    event: e.event,
    outcome: e.outcome,
    error_code: e.error_code,
    user: e.user,
    profile: e.profile,
    effect: e.effect,
    rule: e.rule,
    rule_index: e.rule_index,
    reason: e.reason,
    policy_source: e.policy_source,
    policy_version: e.policy_version,
    mode: e.mode,
    session_id: e.session_id,
    source_identity: e.source_identity,
    role_arn: e.role_arn,
    duration_seconds: e.duration_seconds,
    peer_pid: e.peer_pid,
    peer_uid: e.peer_uid,
    approved_request_id: e.approved_request_id,
    break_glass_event_id: e.break_glass_event_id,
  };
}

function sameStable(a: StableFields, b: StableFields): boolean {
  return (
    a.event === b.event &&
    a.outcome === b.outcome &&
    a.error_code === b.error_code &&
    a.user === b.user &&
    a.profile === b.profile &&
    a.effect === b.effect &&
    a.rule === b.rule &&
    a.rule_index === b.rule_index &&
    a.reason === b.reason &&
    a.policy_source === b.policy_source &&
    a.policy_version === b.policy_version &&
    a.mode === b.mode &&
    a.session_id === b.session_id &&
    a.source_identity === b.source_identity &&
    a.role_arn === b.role_arn &&
    a.duration_seconds === b.duration_seconds &&
    a.peer_pid === b.peer_pid &&
    a.peer_uid === b.peer_uid &&
    a.approved_request_id === b.approved_request_id &&
    a.break_glass_event_id === b.break_glass_event_id
  );
}

/**
 * The JSON of the stable fields, cut where timestamp and request_id go:
 *   documented: {"timestamp":T,<a>,"request_id":R,<b>}
 *   canonical:  {<a>,"request_id":R,<b>,"timestamp":T,<c>}
 */
interface Segments {
  a: string;
  b: string;
  c: string;
}

function segments(f: StableFields, order: EntryOrder): Segments {
  const event = own(EVENTS, f.event);
  const outcome = own(OUTCOMES, f.outcome);
  const errorCode = F.errorCode(f.error_code);
  const user = F.user(f.user);
  const profile = F.profile(f.profile);
  const effect = F.effect(f.effect);
  const rule = F.rule(f.rule);
  const ruleIndex = intJson(f.rule_index, -1, 1_000_000);
  const reason = F.reason(f.reason);
  const policySource = F.policySource(f.policy_source);
  const policyVersion = F.policyVersion(f.policy_version);
  const mode = own(MODE_JSON, f.mode);
  const sessionId = hexIdJson(f.session_id);
  const sourceIdentity = F.sourceIdentity(f.source_identity);
  const roleArn = F.roleArn(f.role_arn);
  const duration = intJson(f.duration_seconds, 0, 129_600);
  const peerPid = intJson(f.peer_pid, 0, 0xffffffff);
  const peerUid = intJson(f.peer_uid, 0, 0xffffffff);
  const approved = idJson(OVERRIDE_ID, f.approved_request_id);
  const breakGlass = idJson(OVERRIDE_ID, f.break_glass_event_id);
  // Optional fields appear only when valid (sanitizeEntry leaves them out otherwise).
  const code = errorCode === 'null' ? '' : `,"error_code":${errorCode}`;
  if (order === 'documented') {
    const approvedPart = approved === 'null' ? '' : `,"approved_request_id":${approved}`;
    const breakGlassPart = breakGlass === 'null' ? '' : `,"break_glass_event_id":${breakGlass}`;
    return {
      a:
        `"event":${event},"outcome":${outcome}${code},"user":${user},"profile":${profile},"effect":${effect},` +
        `"rule":${rule},"rule_index":${ruleIndex},"reason":${reason},"policy_source":${policySource},` +
        `"policy_version":${policyVersion},"mode":${mode},"session_id":${sessionId}`,
      b:
        `"source_identity":${sourceIdentity},"role_arn":${roleArn},"duration_seconds":${duration},"peer_pid":${peerPid},` +
        `"peer_uid":${peerUid}${approvedPart}${breakGlassPart}`,
      c: '',
    };
  }
  const approvedPart = approved === 'null' ? '' : `"approved_request_id":${approved},`;
  const breakGlassPart = breakGlass === 'null' ? '' : `"break_glass_event_id":${breakGlass},`;
  return {
    a:
      `${approvedPart}${breakGlassPart}"duration_seconds":${duration},"effect":${effect}${code},"event":${event},` +
      `"mode":${mode},"outcome":${outcome},"peer_pid":${peerPid},"peer_uid":${peerUid},"policy_source":${policySource},` +
      `"policy_version":${policyVersion},"profile":${profile},"reason":${reason}`,
    b: `"role_arn":${roleArn},"rule":${rule},"rule_index":${ruleIndex},"session_id":${sessionId},"source_identity":${sourceIdentity}`,
    c: `"user":${user}`,
  };
}

function assemble(order: EntryOrder, seg: Segments, timestamp: string, requestId: string): string {
  return order === 'documented'
    ? `{"timestamp":"${timestamp}",${seg.a},"request_id":${requestId},${seg.b}}`
    : `{${seg.a},"request_id":${requestId},${seg.b},"timestamp":"${timestamp}",${seg.c}}`;
}

function timestampOf(e: Record<string, unknown>, now: () => Date): string {
  const ts = e.timestamp;
  return typeof ts === 'string' && RFC3339_UTC.test(ts) ? ts : now().toISOString();
}

const asRecord = (input: unknown) => (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;

/** A count of refusals (at most one per peer a minute) carries fields no request has: rendered from sanitizeEntry rather
 * than given a place in the segments every request is rendered from. */
function rareEntry(e: Record<string, unknown>, order: EntryOrder, now: () => Date): RenderedEntry {
  const clean = sanitizeEntry(e, now);
  return { timestamp: clean.timestamp, json: order === 'documented' ? JSON.stringify(clean) : canonicalJson(clean) };
}

/**
 * The sanitised entry as JSON, byte for byte what JSON.stringify(sanitizeEntry(input)) gives (`documented`) or
 * canonicalJson(sanitizeEntry(input)) (`canonical`), in one pass.
 */
export function renderEntry(input: unknown, order: EntryOrder, now: () => Date = () => new Date()): RenderedEntry {
  const e = asRecord(input);
  if (e.event === 'peer_refusals') return rareEntry(e, order, now);
  const timestamp = timestampOf(e, now);
  const requestId = hexIdJson(e.request_id);
  return { timestamp, json: assemble(order, segments(readStable(e), order), timestamp, requestId) };
}

/**
 * renderEntry for a stream of entries: the JSON of the stable fields is reused while they are the same values as in
 * the previous entry (the requests of one session), so a repeat costs twenty comparisons and a short concatenation.
 */
export function entryRenderer(
  order: EntryOrder,
  now: () => Date = () => new Date(),
): (input: unknown) => RenderedEntry {
  let lastFields: StableFields | null = null;
  let lastSegments: Segments | null = null;
  return (input) => {
    const e = asRecord(input);
    if (e.event === 'peer_refusals') return rareEntry(e, order, now);
    const timestamp = timestampOf(e, now);
    const requestId = hexIdJson(e.request_id);
    const fields = readStable(e);
    if (lastSegments === null || lastFields === null || !sameStable(fields, lastFields)) {
      lastSegments = segments(fields, order);
      lastFields = fields;
    }
    return { timestamp, json: assemble(order, lastSegments, timestamp, requestId) };
  };
}

/** JSON with object keys sorted at every level: the bytes the HMAC is computed over. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
