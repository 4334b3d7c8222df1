// list(): validating a query, matching a session against it, newest-first order, and the opaque cursors. The cursor
// carries a fingerprint of the query it belongs to, so a cursor replayed against different filters is refused
// instead of silently skipping or repeating sessions.
import { createHash } from 'node:crypto';
import { SentinelError } from '../errors.js';
import { effectiveStatus, parseTimestamp } from './record.js';
import { SESSION_STATUSES, type Session, type SessionQuery, type SessionStatus } from './types.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_FILTER = 256;
const MAX_CURSOR = 8192;

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
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_FILTER ||
    /[\u0000-\u001f\u007f]/.test(value)
  ) {
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
  if (query.cursor !== undefined) {
    if (typeof query.cursor !== 'string' || query.cursor.length === 0 || query.cursor.length > MAX_CURSOR)
      throw badCursor();
    q.cursor = query.cursor;
  }
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

/** Newest first; ties broken by id so the order is total. created_at is always toISOString(), so strings compare. */
export function newestFirst(a: Pick<Session, 'created_at' | 'id'>, b: Pick<Session, 'created_at' | 'id'>): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

export function badCursor(): SentinelError {
  return bad(
    'the cursor is not valid for this query',
    'Pass back the cursor exactly as the previous page returned it, with the same filters.',
  );
}

/** A stable fingerprint of the filters (not the limit: a caller may change the page size between pages). */
export function fingerprint(q: NormalizedQuery): string {
  const key = JSON.stringify([
    q.status ?? null,
    q.user ?? null,
    q.profile ?? null,
    q.server_instance_id ?? null,
    q.since ?? null,
  ]);
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

export function encodeCursor(q: NormalizedQuery, position: unknown): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint(q), p: position })).toString('base64url');
}

/** The position a cursor holds, after checking it belongs to this query; its shape is checked by the caller. */
export function decodeCursor(q: NormalizedQuery): unknown {
  if (q.cursor === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(q.cursor)) throw badCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const c = parsed as { v?: unknown; q?: unknown; p?: unknown } | null;
  if (!c || typeof c !== 'object' || c.v !== 1 || c.q !== fingerprint(q) || c.p === undefined) throw badCursor();
  return c.p;
}

/** A position in newest-first order: the last session a page returned. */
export interface SortPosition {
  created_at: string;
  id: string;
}

export function isSortPosition(p: unknown): p is SortPosition {
  const o = p as SortPosition | null;
  return (
    !!o &&
    typeof o === 'object' &&
    typeof o.created_at === 'string' &&
    o.created_at.length <= 64 &&
    typeof o.id === 'string' &&
    o.id.length <= 64
  );
}

/**
 * One page of an in-memory, already filtered list: sorts newest first and continues after the cursor's position.
 * Used by the memory store and by the DynamoDB paths that must read a whole partition (or the table) anyway.
 */
export function pageInCode(all: Session[], q: NormalizedQuery): { items: Session[]; cursor?: string } {
  const sorted = [...all].sort(newestFirst);
  let start = 0;
  const position = decodeCursor(q);
  if (position !== undefined) {
    if (!isSortPosition(position)) throw badCursor();
    start = sorted.findIndex((s) => newestFirst(s, position) > 0);
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + q.limit);
  const more = start + q.limit < sorted.length;
  const last = items[items.length - 1];
  return more && last ? { items, cursor: encodeCursor(q, { created_at: last.created_at, id: last.id }) } : { items };
}
