// list(): validating a query and matching a session against it. Paging and cursors are the record layer's
// (core/records/cursor.ts); a cursor is tied to the fingerprint of the filters it was issued for.
import { SentinelError } from '../errors.js';
import { checkCursorText, fingerprintOf } from '../records/cursor.js';
import { effectiveStatus, parseTimestamp } from './record.js';
import { SESSION_STATUSES, type Session, type SessionQuery, type SessionStatus } from './types.js';
import { isPrintableText } from '../text/printable.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_FILTER = 256;

export interface NormalizedQuery {
  status?: SessionStatus;
  user?: string;
  profile?: string;
  server_instance_id?: string;
  since?: string; // normalized to toISOString()
  limit: number;
  cursor?: string;
}

function bad(message: string, hint?: string): SentinelError {
  return new SentinelError('BadRequest', message, hint ? { hint } : {});
}

function filterText(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isPrintableText(value, MAX_FILTER)) {
    throw bad(`${field} must be 1-${MAX_FILTER} printable characters`);
  }
  return value;
}

export function normalizeQuery(query: SessionQuery = {}): NormalizedQuery {
  if (!query || typeof query !== 'object') throw bad('a session query must be an object');
  const q: NormalizedQuery = { limit: DEFAULT_LIMIT };
  if (query.status !== undefined) {
    if (!SESSION_STATUSES.includes(query.status))
      throw bad(`unknown status; expected one of ${SESSION_STATUSES.join(', ')}`);
    q.status = query.status;
  }
  q.user = filterText(query.user, 'user');
  q.profile = filterText(query.profile, 'profile');
  q.server_instance_id = filterText(query.server_instance_id, 'server_instance_id');
  if (query.since !== undefined) {
    const ms = parseTimestamp(query.since);
    if (ms === undefined) throw bad('since must be an RFC 3339 timestamp');
    q.since = new Date(ms).toISOString();
  }
  if (query.limit !== undefined) {
    if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > MAX_LIMIT)
      throw bad(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    q.limit = query.limit;
  }
  q.cursor = checkCursorText(query.cursor);
  for (const k of Object.keys(q) as (keyof NormalizedQuery)[]) if (q[k] === undefined) delete q[k];
  return q;
}

/** Whether a session (as stored) belongs in the answer; status compares what a reader sees (expired by time too). */
export function matches(session: Session, q: NormalizedQuery, now: Date): boolean {
  if (q.user !== undefined && session.user !== q.user) return false;
  if (q.profile !== undefined && session.profile !== q.profile) return false;
  if (q.server_instance_id !== undefined && session.server_instance_id !== q.server_instance_id) return false;
  if (q.since !== undefined && session.created_at < q.since) return false;
  if (q.status !== undefined && effectiveStatus(session, now) !== q.status) return false;
  return true;
}

/** A stable fingerprint of the filters (not the limit: a caller may change the page size between pages). */
export function fingerprint(q: NormalizedQuery): string {
  return fingerprintOf([
    q.status ?? null,
    q.user ?? null,
    q.profile ?? null,
    q.server_instance_id ?? null,
    q.since ?? null,
  ]);
}
