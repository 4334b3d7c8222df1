// Pages of a newest-first listing (cli/list-page.ts, `sentinel requests --cursor`): every row exactly once across the
// pages, ties broken by id, rows filed between pages neither repeated nor skipped, and a cursor that was not printed
// refused as a usage error.
import t from 'tap';
import { cursorAfter, pageOf, parseCursor } from '../cli/list-page.js';
import { isSentinelError } from '../core/errors.js';

const row = (ms: number, n: number) => ({
  created_at: new Date(Date.UTC(2026, 11, 6, 12, 0, 0, ms)).toISOString(),
  id: n.toString(16).padStart(16, '0'),
});

function walk<T extends { created_at: string; id: string }>(rows: T[], limit: number): T[][] {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = pageOf(rows, limit, cursor === undefined ? undefined : parseCursor(cursor));
    pages.push(page.rows);
    if (!page.next) return pages;
    cursor = page.next;
  }
}

t.test('the pages hold every row once, newest first, ties by id', async (t) => {
  // 25 rows, several in the same millisecond, in no particular order.
  const rows = Array.from({ length: 25 }, (_, i) => row(Math.floor(i / 3), (i * 7) % 25)).reverse();
  const pages = walk(rows, 4);
  t.equal(pages.length, 7);
  t.same(
    pages.map((p) => p.length),
    [4, 4, 4, 4, 4, 4, 1],
  );
  const flat = pages.flat();
  t.equal(new Set(flat.map((r) => r.id)).size, 25, 'no row twice, none missing');
  for (let i = 1; i < flat.length; i++) {
    const [a, b] = [flat[i - 1]!, flat[i]!];
    t.ok(a.created_at > b.created_at || (a.created_at === b.created_at && a.id > b.id), `${i}: newest first`);
  }
  t.same(pageOf(rows, 100), { rows: flat, next: null }, 'one page when all fit: no cursor');
  t.same(pageOf([], 5), { rows: [], next: null });
});

t.test('rows filed between two pages are not repeated and do not push a row off', async (t) => {
  const rows = Array.from({ length: 6 }, (_, i) => row(i, i + 1));
  const first = pageOf(rows, 3);
  t.same(
    first.rows.map((r) => r.id.slice(-1)),
    ['6', '5', '4'],
  );
  const later = [...rows, row(100, 0xa), row(101, 0xb)];
  const second = pageOf(later, 3, parseCursor(first.next!));
  t.same(
    second.rows.map((r) => r.id.slice(-1)),
    ['3', '2', '1'],
  );
  t.equal(second.next, null);
  t.same(
    pageOf(rows, 3, parseCursor(cursorAfter(row(-5, 0)))).rows,
    [],
    'a cursor past the oldest row: an empty last page',
  );
});

t.test('a cursor that was not printed is a usage error', async (t) => {
  const bad = [
    '',
    'not base64!',
    Buffer.from('2026-12-06T12:00:00.000Z').toString('base64url'),
    Buffer.from('2026-12-06T12:00:00.000Z|XYZ').toString('base64url'),
    Buffer.from('yesterday|0000000000000001').toString('base64url'),
    Buffer.from('2026-12-06T12:00:00.000Z|0000000000000001|x').toString('base64url'),
    'A'.repeat(200),
  ];
  for (const cursor of bad) {
    try {
      parseCursor(cursor);
      t.fail(`accepted ${JSON.stringify(cursor)}`);
    } catch (e) {
      t.ok(isSentinelError(e) && e.code === 'UsageError', JSON.stringify(cursor.slice(0, 40)));
    }
  }
  const r = row(5, 42);
  t.same(parseCursor(cursorAfter(r)), r, 'a printed cursor reads back');
});
