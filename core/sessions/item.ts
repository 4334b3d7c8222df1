// Session ⇄ DynamoDB attribute map. Plain maps, written by hand for a fixed schema, so that what is stored is
// visible here: strings as S, counters as N, and absent or empty values omitted (an empty string in a GSI key is
// refused by DynamoDB, and a missing one simply keeps the item out of that index).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../errors.js';
import { MODES, type Mode } from '../types.js';
import { SESSION_ID, SESSION_STATUSES, type Session, type SessionStatus } from './types.js';

export type Item = Record<string, AttributeValue>;

const STRING_FIELDS = [
  'id',
  'user',
  'profile',
  'mode',
  'status',
  'started_at',
  'expires_at',
  'last_access_at',
  'server_instance_id',
  'source_identity',
  'role_arn',
  'credentials_valid_until',
  'host',
  'revoked_by',
  'revoked_reason',
  'created_at',
  'updated_at',
] as const;
const NUMBER_FIELDS = ['request_count', 'pid', 'ttl'] as const;
const REQUIRED_STRINGS = [
  'id',
  'user',
  'profile',
  'mode',
  'status',
  'started_at',
  'expires_at',
  'created_at',
  'updated_at',
] as const;

export function toItem(session: Partial<Session>): Item {
  const item: Item = {};
  for (const f of STRING_FIELDS) {
    const v = session[f];
    if (typeof v === 'string' && v.length > 0) item[f] = { S: v };
  }
  for (const f of NUMBER_FIELDS) {
    const v = session[f];
    if (typeof v === 'number' && Number.isFinite(v)) item[f] = { N: String(v) };
  }
  return item;
}

/** An attribute value for one field, or undefined when the field should be removed rather than written empty. */
export function toValue(field: keyof Session, value: unknown): AttributeValue | undefined {
  if (typeof value === 'string') return value.length > 0 ? { S: value } : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return { N: String(value) };
  if (value === undefined) return undefined;
  throw new SentinelError('InternalError', `cannot store ${String(field)}`);
}

function malformed(): SentinelError {
  // Fail closed: a record that does not parse cannot prove the session is still active.
  return new SentinelError('SessionStoreUnavailable', 'the session table holds a malformed session record', {
    hint: 'Inspect the record in the table; it was not written by Sentinel or was edited by hand.',
  });
}

export function fromItem(item: Item): Session {
  const out: Record<string, unknown> = {};
  for (const f of STRING_FIELDS) {
    const v = item[f];
    if (v === undefined) continue;
    if (typeof v.S !== 'string') throw malformed();
    out[f] = v.S;
  }
  for (const f of NUMBER_FIELDS) {
    const v = item[f];
    if (v === undefined) continue;
    const n = typeof v.N === 'string' ? Number(v.N) : NaN;
    if (!Number.isSafeInteger(n)) throw malformed();
    out[f] = n;
  }
  for (const f of REQUIRED_STRINGS) if (typeof out[f] !== 'string') throw malformed();
  if (!SESSION_ID.test(out.id as string)) throw malformed();
  if (!SESSION_STATUSES.includes(out.status as SessionStatus)) throw malformed();
  if (!MODES.includes(out.mode as Mode)) throw malformed();
  if (Number.isNaN(Date.parse(out.expires_at as string)) || Number.isNaN(Date.parse(out.updated_at as string)))
    throw malformed();
  if (out.request_count === undefined) out.request_count = 0;
  if (out.ttl === undefined) throw malformed();
  return out as unknown as Session;
}
