// A page of several index partitions at once, largest range key first: a k-way merge. There is no FilterExpression
// (DynamoDB applies Limit before it, so pages would come back short or empty): filters run here, and each source's
// place in the cursor is the key of the last item this page returned from it, so the next page resumes exactly
// there whatever was read ahead and discarded.
import { badCursor, compareDescending, decodeCursor, encodeCursor, positionOf, type SortPosition } from './cursor.js';
import type { IndexQuery, IndexSource, Page } from './store.js';

/** A source's place: after the item with this id and range key in partition `h`, or done. */
type SourcePosition = { k?: { id: string; r: string; h: string }; d?: true };

export interface PartitionReader<R, T> {
  /** Items of one partition in order, from `start` (or the beginning); `next` when more may follow. */
  page(source: IndexSource, start: T | undefined, q: IndexQuery<R>): Promise<{ items: R[]; next?: T }>;
  /** The start that resumes right after a position. */
  startAfter(source: IndexSource, position: SortPosition): T;
}

function decodePositions<R>(q: IndexQuery<R>, idPattern: RegExp): SourcePosition[] {
  const raw = decodeCursor(q.cursor, q.fingerprint);
  if (raw === undefined) return q.sources.map(() => ({}));
  if (!Array.isArray(raw) || raw.length !== q.sources.length) throw badCursor();
  return raw.map((p: unknown, i): SourcePosition => {
    const o = p as SourcePosition | null;
    if (!o || typeof o !== 'object') throw badCursor();
    if (o.d === true) return { d: true };
    const k = o.k as Record<string, unknown> | undefined;
    if (!k || typeof k !== 'object' || Object.keys(k).length !== 3) throw badCursor();
    if (typeof k.id !== 'string' || !idPattern.test(k.id)) throw badCursor();
    if (typeof k.r !== 'string' || k.r.length === 0 || k.r.length > 1024) throw badCursor();
    if (k.h !== q.sources[i]!.value) throw badCursor();
    return { k: { id: k.id, r: k.r, h: k.h } };
  });
}

export async function mergePartitions<R extends { id: string }, T>(
  q: IndexQuery<R>,
  reader: PartitionReader<R, T>,
  idPattern: RegExp,
): Promise<Page<R>> {
  const range = q.sources[0]?.index.range;
  if (range === undefined || q.sources.some((s) => s.index.range !== range)) return { items: [] };
  const positions = decodePositions(q, idPattern);
  const pos = (x: R) => positionOf(x as Record<string, unknown>, range);
  const state = q.sources.map((source, i) => ({
    source,
    position: positions[i]!,
    buffer: [] as R[],
    next: positions[i]!.k ? reader.startAfter(source, positions[i]!.k!) : undefined,
    exhausted: positions[i]!.d === true,
  }));
  const fill = async (s: (typeof state)[number]) => {
    while (s.buffer.length === 0 && !s.exhausted) {
      const page = await reader.page(s.source, s.next, q);
      s.buffer.push(...(q.filter ? page.items.filter(q.filter) : page.items));
      s.next = page.next;
      if (page.next === undefined) s.exhausted = true;
    }
  };
  const items: R[] = [];
  let more = false;
  while (true) {
    await Promise.all(state.map(fill));
    let best: (typeof state)[number] | undefined;
    for (const s of state) {
      if (s.buffer.length && (!best || compareDescending(pos(s.buffer[0]!), pos(best.buffer[0]!)) < 0)) best = s;
    }
    if (!best) break;
    if (items.length === q.limit) {
      more = true;
      break;
    }
    const item = best.buffer.shift()!;
    items.push(item);
    const p = pos(item);
    best.position = { k: { id: p.id, r: p.r, h: best.source.value } };
  }
  if (!more) return { items };
  const cursor = state.map((s) => (s.exhausted && s.buffer.length === 0 ? { d: true as const } : s.position));
  return { items, cursor: encodeCursor(q.fingerprint, cursor) };
}
