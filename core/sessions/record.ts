// What a session is beyond its stored shape: validating a new one, building its first record, checking what admins
// type, and the status a reader should see.
import { SentinelError } from '../errors.js';
import { MODES } from '../types.js';
import { HISTORY_MS, type IssuedFacts, type NewSession, type Session, type SessionStatus } from './types.js';
import { isPrintableText } from '../text/printable.js';
import { checkText } from '../text/one-line.js';
import { isHex16 } from '../text/hex-id.js';
import type { IssuedCredentials } from '../issuer/types.js';

/** Lengths beyond any real user/profile/host name: refuse rather than store a megabyte in an index key. */
const MAX_NAME = 256;
export const MAX_REASON = 1024;
export const MAX_REVOKED_BY = 256;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function isoNow(d: Date): string {
  return d.toISOString();
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined when it is not one. */
export function parseTimestamp(text: unknown): number | undefined {
  if (typeof text !== 'string' || !RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function assertSessionId(id: unknown): asserts id is string {
  if (!isHex16(id)) {
    throw new SentinelError('BadRequest', 'a session id is 16 lowercase hexadecimal characters', {
      hint: 'Copy the id from `sentinel server sessions`.',
    });
  }
}

function badSession(what: string): SentinelError {
  return new SentinelError('BadRequest', `invalid session: ${what}`);
}

/** A name a session records (user, profile, who revoked it): bounded and free of control characters. */
function checkName(value: unknown, field: string, max = MAX_NAME): string {
  if (!isPrintableText(value, max)) throw badSession(`${field} must be 1-${max} printable characters`);
  return value;
}

/**
 * An optional name: empty means "not known" and is left out (undefined), never stored as an empty string — DynamoDB
 * refuses those in index keys, and a missing key simply keeps the item out of that index.
 */
function optionalName(value: string | undefined, field: string): string | undefined {
  return value === undefined || value === '' ? undefined : checkName(value, field);
}

/** The first record of a session: active, no requests yet, ttl 30 days past its expiry. */
export function newRecord(input: NewSession, now: Date): Session {
  if (!input || typeof input !== 'object') throw badSession('not an object');
  assertSessionId(input.id);
  checkName(input.user, 'user');
  checkName(input.profile, 'profile');
  if (!MODES.includes(input.mode)) throw badSession(`mode must be one of ${MODES.join(', ')}`);
  const started = parseTimestamp(input.started_at);
  const expires = parseTimestamp(input.expires_at);
  if (started === undefined) throw badSession('started_at must be an RFC 3339 timestamp');
  if (expires === undefined) throw badSession('expires_at must be an RFC 3339 timestamp');
  if (expires <= started) throw badSession('expires_at must be after started_at');
  const serverInstance = optionalName(input.server_instance_id, 'server_instance_id');
  const issued = checkIssued(input);
  const host = optionalName(input.host, 'host');
  const owner = optionalName(input.owner_arn, 'owner_arn');
  if (input.pid !== undefined && !(Number.isSafeInteger(input.pid) && input.pid > 0))
    throw badSession('pid must be a positive integer');

  const at = isoNow(now);
  const session: Session = {
    id: input.id,
    user: input.user,
    profile: input.profile,
    mode: input.mode,
    status: 'active',
    started_at: new Date(started).toISOString(),
    expires_at: new Date(expires).toISOString(),
    request_count: 0,
    created_at: at,
    updated_at: at,
    ttl: Math.floor((expires + HISTORY_MS) / 1000),
  };
  if (serverInstance !== undefined) session.server_instance_id = serverInstance;
  Object.assign(session, issued);
  if (input.pid !== undefined) session.pid = input.pid;
  if (host !== undefined) session.host = host;
  if (owner !== undefined) session.owner_arn = owner;
  return session;
}

/** What a reader sees: an active session past its expiry is expired, whether or not anything recorded that yet. */
export function effectiveStatus(session: Pick<Session, 'status' | 'expires_at'>, now: Date): SessionStatus {
  if (session.status === 'active' && Date.parse(session.expires_at) <= now.getTime()) return 'expired';
  return session.status;
}

export function withEffectiveStatus(session: Session, now: Date): Session {
  const status = effectiveStatus(session, now);
  return status === session.status ? session : { ...session, status };
}

/** The fields a revocation records, checked: who revoked (a name) and why (what the admin typed). */
export function revocation(by: string, reason: string): Pick<Session, 'revoked_by' | 'revoked_reason'> {
  return {
    revoked_by: checkName(by, 'revoked_by', MAX_REVOKED_BY),
    // What the admin typed, read later by whoever looks at the session: the one rule for text people write.
    revoked_reason: checkText(reason, 'the reason', 1, MAX_REASON),
  };
}

export function checkTouch(at: Date, requests: number): void {
  if (!(at instanceof Date) || Number.isNaN(at.getTime()))
    throw new SentinelError('BadRequest', 'touch needs a valid time');
  if (!Number.isSafeInteger(requests) || requests < 0 || requests > 1_000_000_000) {
    throw new SentinelError('BadRequest', 'touch needs a non-negative integer request count');
  }
}

/** The issued-credential facts of a new session or a touch, checked; empty values mean "not known" and are dropped. */
export function checkIssued(input: IssuedFacts | undefined): IssuedFacts {
  const out: IssuedFacts = {};
  if (input === undefined) return out;
  if (!input || typeof input !== 'object') throw badSession('issued credentials: not an object');
  for (const field of ['source_identity', 'role_arn'] as const) {
    const v = optionalName(input[field], field);
    if (v !== undefined) out[field] = v;
  }
  const until = input.credentials_valid_until;
  if (until !== undefined && until !== '') {
    const ms = parseTimestamp(until);
    if (ms === undefined) throw badSession('credentials_valid_until must be an RFC 3339 timestamp');
    out.credentials_valid_until = new Date(ms).toISOString();
  }
  return out;
}

/** The later of two timestamps, so a delayed touch never moves last_access_at backwards. */
export function laterOf(a: string | undefined, b: string): string {
  if (a === undefined) return b;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** What a touch writes of the issued facts: credentials_valid_until never moves earlier (a delayed touch, or
 * another daemon's). */
export function issuedChanges(current: Session, facts: IssuedFacts): IssuedFacts {
  const out: IssuedFacts = {};
  if (facts.source_identity !== undefined && facts.source_identity !== current.source_identity)
    out.source_identity = facts.source_identity;
  if (facts.role_arn !== undefined && facts.role_arn !== current.role_arn) out.role_arn = facts.role_arn;
  if (facts.credentials_valid_until !== undefined) {
    const later = laterOf(current.credentials_valid_until, facts.credentials_valid_until);
    if (later !== current.credentials_valid_until) out.credentials_valid_until = later;
  }
  return out;
}

/** What a session record keeps of credentials issued for it (DESIGN §4, §6): their SourceIdentity, role and expiry. */
export function issuedFacts(a: {
  credentials: Pick<IssuedCredentials, 'Expiration'>;
  sourceIdentity: string | null;
  roleArn: string | null;
}): IssuedFacts {
  return {
    credentials_valid_until: a.credentials.Expiration.toISOString(),
    ...(a.sourceIdentity ? { source_identity: a.sourceIdentity } : {}),
    ...(a.roleArn ? { role_arn: a.roleArn } : {}),
  };
}
