// Items a query leaves out because they do not parse as the kind it reads. One stray item in an index partition (one
// a teammate's daemon, a script or a hand edit put there) must not make the whole partition unreadable: a query
// skips it and the process reports it once, with the table, the id and why. Reading one record by its id still fails
// closed (kind.ts fromItem). Callers whose counts guard a limit are told how many items were skipped (store.ts
// `queryAllCounted`), so that such an item can count against the limit.
import { malformed, type RecordKind, type StoredRecord } from './kind.js';

export interface SkippedItem {
  /** The table's name; undefined for the memory store. */
  table?: string;
  /** What the table holds ("approval request"), and the kind read. */
  noun: string;
  kind: string;
  /** The item's id when it reads as an id of the kind. */
  id?: string;
  reason: string;
  /** The message and hint of the error a read of this item by id gives (what to inspect, how to remove it). */
  message: string;
  hint?: string;
}

export type SkippedItemReporter = (item: SkippedItem) => void;

/** Until the process says where its operational log is (daemon, CLI, Lambda), a warning line on stderr. */
const stderrReporter: SkippedItemReporter = (s) => {
  process.stderr.write(`Warning: ${s.message}; it was skipped. ${s.hint ?? ''}\n`);
};

let reporter: SkippedItemReporter = stderrReporter;
const reported = new Set<string>();
/** Bounds the memory spent remembering what was reported; past it, an item may be reported again. */
const MAX_REMEMBERED = 10_000;

/** Where skipped items are reported (the operational log); returns a function that puts the previous one back. */
export function setSkippedItemReporter(next: SkippedItemReporter): () => void {
  const previous = reporter;
  reporter = next;
  return () => {
    reporter = previous;
  };
}

/** Reports a skipped item, once per process per table and id (or reason, for an item without a readable id). */
export function reportSkipped<R extends StoredRecord>(
  kind: RecordKind<R>,
  table: string | undefined,
  id: string | undefined,
  reason: string,
): void {
  const key = `${table ?? ''}\u0000${kind.noun}\u0000${id ?? `?${reason}`}`;
  if (reported.has(key)) return;
  if (reported.size >= MAX_REMEMBERED) reported.clear();
  reported.add(key);
  const err = malformed(kind, { ...(table ? { table } : {}), ...(id !== undefined ? { id } : {}) }, reason);
  try {
    reporter({
      ...(table ? { table } : {}),
      noun: kind.table.noun,
      kind: kind.noun,
      ...(id !== undefined ? { id } : {}),
      reason,
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  } catch {
    // A reporter that fails must not fail the query.
  }
}

/** Skipped items as warn lines of an operational log (the daemon's, the vendor Lambda's). */
export function logSkippedItems(log: { warn(fields: object, message: string): void }): () => void {
  return setSkippedItemReporter((s) =>
    log.warn(
      {
        event: 'record_skipped',
        ...(s.table ? { table: s.table } : {}),
        kind: s.kind,
        ...(s.id !== undefined ? { id: s.id } : {}),
        reason: s.reason,
        hint: s.hint,
      },
      `${s.message}; queries skip it`,
    ),
  );
}
