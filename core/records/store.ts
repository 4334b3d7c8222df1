// The record store contract: what every kind of record (sessions, approval requests, break-glass events, rate-limit
// slots) can ask of a table, implemented once in memory and once on DynamoDB (memory.ts, dynamodb.ts). Every write is
// conditional: create requires a new id, updates require the `updated_at` read to be the one stored (optimistic lock)
// and a transition the kind allows, and slot items take a condition of their own.
import { SentinelError } from '../errors.js';
import type { Condition } from './condition.js';
import {
  canTransition,
  changedSinceRead,
  keptChanging,
  nextUpdatedAt,
  type RecordKind,
  type StoredRecord,
} from './kind.js';
import type { IndexShape } from './shape.js';

/** Fields to change; a field present with the value undefined (or '') is removed. id and updated_at are the store's. */
export type Changes<R extends StoredRecord> = Partial<Omit<R, 'id' | 'updated_at'>>;

/** One partition of a global secondary index. */
export interface IndexSource {
  index: IndexShape;
  value: string;
}

export interface IndexQuery<R> {
  /** Partitions read together, merged largest range key first; all must share one range attribute. */
  sources: readonly IndexSource[];
  /** Only items whose range key is at least this (a key condition, read by DynamoDB, not filtered afterwards). */
  rangeFrom?: string;
  /** Applied in code after reading: DynamoDB would apply Limit before a FilterExpression and return short pages. */
  filter?: (record: R) => boolean;
  limit: number;
  cursor?: string;
  /** Identifies the filters; a cursor is only accepted back with the fingerprint it was issued for. */
  fingerprint: string;
}

export interface Page<R> {
  items: R[];
  /** Present when more items may follow. */
  cursor?: string;
}

export type Backend = 'memory' | 'dynamodb';

export interface RecordStore<R extends StoredRecord> {
  readonly kind: RecordKind<R>;
  readonly backend: Backend;
  /** Writes a record whose id must be new (`attribute_not_exists(id)`), else Conflict. */
  create(record: R): Promise<R>;
  /** Writes the record when the condition holds for what is stored; false when it did not (nothing written). */
  putIf(record: R, condition: Condition): Promise<boolean>;
  /** Strongly consistent read. */
  get(id: string): Promise<R | undefined>;
  /** Strongly consistent read of several ids at once (DynamoDB: BatchGetItem). Unknown ids are absent. */
  getMany(ids: readonly string[]): Promise<Map<string, R>>;
  /** One write conditioned on `current.updated_at` still being stored: Conflict when another writer came first. */
  updateIf(current: R, changes: Changes<R>): Promise<R>;
  /** Read, decide, write with the lock; on a lost race read again and decide again (bounded). `decide` may throw to
   * refuse (e.g. "not active"); it sees the record as stored. */
  update(id: string, decide: (current: R) => Changes<R>): Promise<R>;
  /** Deletes the record when the condition holds; false when it did not. */
  deleteIf(id: string, condition: Condition): Promise<boolean>;
  /** A page of index partitions, largest range key first (ties: larger id first). Items of the partition that do not
   * parse as the kind are skipped and reported once (skipped.ts); so are they in queryAll and scan. */
  query(q: IndexQuery<R>): Promise<Page<R>>;
  /** A whole partition of an index, optionally only the items whose range key equals `rangeEquals`. */
  queryAll(index: IndexShape, value: string, rangeEquals?: string): Promise<R[]>;
  /** queryAll, and how many items of the partition were skipped as malformed: for counts that guard a limit, where
   * an item that cannot be read must count against it. */
  queryAllCounted(index: IndexShape, value: string, rangeEquals?: string): Promise<{ records: R[]; skipped: number }>;
  /** Every record of the table that parses as this kind's id (cost: the table's size). */
  scan(): Promise<R[]>;
  close(): Promise<void>;
}

/** The record after `changes`, checked: nothing rewrites the id or the lock token, and a status change must be a
 * transition the kind allows. */
export function applyChanges<R extends StoredRecord>(
  kind: RecordKind<R>,
  current: R,
  changes: Changes<R>,
  now: Date,
): R {
  if (!changes || typeof changes !== 'object') throw new SentinelError('InternalError', 'changes must be an object');
  for (const field of Object.keys(changes)) {
    if (field === 'id' || field === 'updated_at' || !(field in kind.fields)) {
      throw new SentinelError('InternalError', `${kind.noun} field ${field} cannot be changed`);
    }
  }
  const statusField = kind.status?.field;
  if (statusField !== undefined && statusField in changes) {
    const from = String(current[statusField]);
    const to = String((changes as Record<string, unknown>)[statusField]);
    if (!canTransition(kind, from, to)) throw kind.illegalTransition(current.id, from, to);
  }
  const next: Record<string, unknown> = { ...current, ...changes };
  for (const [k, v] of Object.entries(next)) if (v === undefined || v === '') delete next[k];
  next.updated_at = nextUpdatedAt(current.updated_at, now);
  return next as R;
}

export function isStaleRead(err: unknown): boolean {
  return err instanceof SentinelError && err.code === 'Conflict' && err.details?.stale === true;
}

export function staleRead<R extends StoredRecord>(kind: RecordKind<R>, id: string): SentinelError {
  const err = changedSinceRead(kind, id);
  (err.details as Record<string, unknown>).stale = true;
  return err;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The read-decide-write loop on top of a consistent read and a locked write. */
export async function updateWithRetries<R extends StoredRecord>(
  store: Pick<RecordStore<R>, 'get' | 'updateIf' | 'kind'>,
  id: string,
  decide: (current: R) => Changes<R>,
  maxAttempts: number,
): Promise<R> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await store.get(id);
    if (!current) throw store.kind.unknown(id);
    const changes = decide(current);
    try {
      return await store.updateIf(current, changes);
    } catch (err) {
      if (!isStaleRead(err)) throw err;
    }
    // Lost the race: someone wrote in between. Back off a little (jittered) and act on what is there now.
    if (attempt < maxAttempts) await sleep(Math.random() * 5 * 2 ** attempt);
  }
  throw keptChanging(store.kind, id);
}
