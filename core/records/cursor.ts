// Opaque page cursors. A cursor carries a fingerprint of the query it belongs to, so a cursor replayed against other
// filters is refused instead of silently skipping or repeating records; its position is checked by whoever reads it.
import { createHash } from 'node:crypto';
import { SentinelError } from '../errors.js';

const MAX_CURSOR = 8192;

export function badCursor(): SentinelError {
  return new SentinelError('BadRequest', 'the cursor is not valid for this query', {
    hint: 'Pass back the cursor exactly as the previous page returned it, with the same filters.',
  });
}

/** A stable fingerprint of a query's filters (whatever JSON-able value describes them). */
export function fingerprintOf(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

/** Refuses a cursor argument that cannot be one, before anything is read. */
export function checkCursorText(cursor: unknown): string | undefined {
  if (cursor === undefined) return undefined;
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR) throw badCursor();
  return cursor;
}

export function encodeCursor(fingerprint: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint, p: position })).toString('base64url');
}

/** The position a cursor holds, after checking it belongs to this query; undefined when there is no cursor. */
export function decodeCursor(cursor: string | undefined, fingerprint: string): unknown {
  if (cursor === undefined) return undefined;
  if (checkCursorText(cursor) === undefined || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const c = parsed as { v?: unknown; q?: unknown; p?: unknown } | null;
  if (!c || typeof c !== 'object' || c.v !== 1 || c.q !== fingerprint || c.p === undefined) throw badCursor();
  return c.p;
}

/** Where a page ended in "largest range key first" order: the last record returned. */
export interface SortPosition {
  r: string;
  id: string;
}

const MAX_KEY = 1024;

export function isSortPosition(p: unknown): p is SortPosition {
  const o = p as SortPosition | null;
  return (
    !!o &&
    typeof o === 'object' &&
    typeof o.r === 'string' &&
    o.r.length <= MAX_KEY &&
    typeof o.id === 'string' &&
    o.id.length <= MAX_KEY
  );
}

/** Largest range key first; ties broken by the larger id, so the order is total. */
export function compareDescending(a: SortPosition, b: SortPosition): number {
  if (a.r !== b.r) return a.r < b.r ? 1 : -1;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

export function positionOf(record: Record<string, unknown>, rangeField: string): SortPosition {
  return { r: String(record[rangeField] ?? ''), id: String(record.id) };
}

/**
 * One page of an in-memory, already filtered list: sorted by `rangeField` descending, continuing after the cursor's
 * position. For reads that must take a whole partition (or the table) anyway.
 */
export function pageInCode<R extends { id: string }>(
  all: R[],
  rangeField: keyof R & string,
  page: { limit: number; cursor?: string; fingerprint: string },
): { items: R[]; cursor?: string } {
  const pos = (x: R) => positionOf(x as Record<string, unknown>, rangeField);
  const sorted = [...all].sort((a, b) => compareDescending(pos(a), pos(b)));
  let start = 0;
  const position = decodeCursor(page.cursor, page.fingerprint);
  if (position !== undefined) {
    if (!isSortPosition(position)) throw badCursor();
    start = sorted.findIndex((s) => compareDescending(pos(s), position) > 0);
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + page.limit);
  const more = start + page.limit < sorted.length;
  const last = items[items.length - 1];
  return more && last ? { items, cursor: encodeCursor(page.fingerprint, pos(last)) } : { items };
}
