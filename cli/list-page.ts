// Pages of a newest-first listing (`sentinel requests --limit n --cursor c`). The cursor is the position of the last
// row printed — its created_at and id, the sort's two keys — so the next page starts strictly after it, and rows filed
// meanwhile neither repeat one already printed nor push one off the page. It is opaque to the user (base64url) and
// checked when it comes back: a mangled one is a usage error, never a silently different page.
import { isHex16 } from '../core/text/hex-id.js';
import { usageError } from './output.js';
import { RFC3339_UTC } from '../core/text/timestamp.js';

export interface Dated {
  created_at: string;
  id: string;
}

/** Newest first; the id breaks ties between rows filed in the same millisecond. */
export function newestFirst(a: Dated, b: Dated): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function cursorAfter(row: Dated): string {
  return Buffer.from(`${row.created_at}|${row.id}`, 'utf8').toString('base64url');
}

export function parseCursor(text: string): Dated {
  const decoded = text.length <= 128 && /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url').toString() : '';
  const [created_at, id, ...rest] = decoded.split('|');
  if (rest.length > 0 || !created_at || !RFC3339_UTC.test(created_at) || !isHex16(id)) {
    throw usageError('--cursor is not a cursor this command printed', 'Copy it from the previous page (next_cursor).');
  }
  return { created_at, id: id! };
}

/** The rows after `after` (a parseCursor() position; all when absent), at most `limit` of them, and the cursor of the
 * page after (null: none). */
export function pageOf<T extends Dated>(rows: T[], limit: number, after?: Dated): { rows: T[]; next: string | null } {
  const sorted = [...rows].sort(newestFirst);
  const start = after === undefined ? 0 : sorted.findIndex((r) => newestFirst(r, after) > 0);
  const rest = start === -1 ? [] : sorted.slice(start);
  const page = rest.slice(0, limit);
  return { rows: page, next: rest.length > limit ? cursorAfter(page.at(-1)!) : null };
}
