// The record store in this process: one machine, gone at restart. Each operation runs to completion without
// awaiting, so nothing interleaves inside it; it still checks the lock token and the transitions, and keeps records
// exactly as the table would hand them back, so that it answers as the DynamoDB store does.
import { holds, NOT_EXISTS, type Condition } from './condition.js';
import { compareDescending, positionOf, type SortPosition } from './cursor.js';
import {
  asStored,
  assertId,
  duplicate,
  fromItem,
  parseItem,
  storeClosed,
  type Item,
  type RecordKind,
  type StoredRecord,
} from './kind.js';
import { mergePartitions } from './merge.js';
import { reportSkipped } from './skipped.js';
import type { IndexShape } from './shape.js';
import {
  applyChanges,
  staleRead,
  type Backend,
  type Changes,
  type IndexQuery,
  type IndexSource,
  type Page,
  type RecordStore,
} from './store.js';

export interface MemoryRecordStoreOptions {
  now?: () => Date;
}

/** Records are dropped once their TTL has passed, as DynamoDB's TTL would; checked at most once a minute. */
const PRUNE_EVERY_MS = 60_000;

export class MemoryRecordStore<R extends StoredRecord> implements RecordStore<R> {
  readonly backend: Backend = 'memory';
  private readonly records = new Map<string, R>();
  /** Items that do not parse as the kind, kept as they were planted (plantItem): what a DynamoDB table edited by
   * someone other than Sentinel can hold, so that both stores can be shown to treat them alike. */
  private readonly foreign = new Map<string, Item>();
  private readonly now: () => Date;
  private closed = false;
  private lastPrune = 0;

  constructor(
    readonly kind: RecordKind<R>,
    options: MemoryRecordStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async create(record: R): Promise<R> {
    if (!(await this.putIf(record, NOT_EXISTS))) throw duplicate(this.kind, record.id);
    return { ...this.records.get(record.id)! };
  }

  async putIf(record: R, condition: Condition): Promise<boolean> {
    this.assertOpen();
    assertId(this.kind, record?.id);
    const stored = asStored(this.kind, record);
    this.pruneExpired();
    if (!holds(condition, this.stored(record.id))) return false;
    this.foreign.delete(record.id);
    this.records.set(record.id, stored);
    return true;
  }

  /**
   * Puts an item as DynamoDB would hold it, whatever it holds: one that parses becomes a record, one that does not is
   * kept as it is (reads by id fail closed, queries skip it). For tests of what a hand-edited table can hold.
   */
  plantItem(item: Item): void {
    const parsed = parseItem(this.kind, item);
    const id = item[this.kind.table.partitionKey]?.S ?? `\u0000${this.foreign.size}`;
    if ('record' in parsed) {
      this.foreign.delete(id);
      this.records.set(id, parsed.record);
    } else {
      this.records.delete(id);
      this.foreign.set(id, item);
    }
  }

  async get(id: string): Promise<R | undefined> {
    this.assertOpen();
    assertId(this.kind, id);
    const planted = this.foreign.get(id);
    if (planted) return fromItem(this.kind, planted);
    const r = this.records.get(id);
    return r ? { ...r } : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Map<string, R>> {
    this.assertOpen();
    const out = new Map<string, R>();
    for (const id of ids) {
      assertId(this.kind, id);
      const planted = this.foreign.get(id);
      if (planted) fromItem(this.kind, planted); // fails closed, naming the id
      const r = this.records.get(id);
      if (r) out.set(id, { ...r });
    }
    return out;
  }

  async updateIf(current: R, changes: Changes<R>): Promise<R> {
    this.assertOpen();
    assertId(this.kind, current?.id);
    const planted = this.foreign.get(current.id);
    if (planted) fromItem(this.kind, planted);
    const stored = this.records.get(current.id);
    if (!stored) throw this.kind.unknown(current.id);
    if (!this.lockHolds(stored, current)) throw staleRead(this.kind, current.id);
    const next = asStored(this.kind, applyChanges(this.kind, current, changes, this.now()));
    this.records.set(current.id, next);
    return { ...next };
  }

  async update(id: string, decide: (current: R) => Changes<R>): Promise<R> {
    this.assertOpen();
    assertId(this.kind, id);
    const planted = this.foreign.get(id);
    if (planted) fromItem(this.kind, planted);
    const stored = this.records.get(id);
    if (!stored) throw this.kind.unknown(id);
    // No await between the read and the write: nothing can come in between, so one attempt always suffices.
    return this.updateIf(stored, decide({ ...stored }));
  }

  async deleteIf(id: string, condition: Condition): Promise<boolean> {
    this.assertOpen();
    assertId(this.kind, id);
    if (!holds(condition, this.stored(id))) return false;
    this.records.delete(id);
    this.foreign.delete(id);
    return true;
  }

  async query(q: IndexQuery<R>): Promise<Page<R>> {
    this.assertOpen();
    return mergePartitions<R, SortPosition>(
      q,
      {
        page: async (source, start) => {
          const all = this.partition(source.index, source.value)
            .records.filter((r) => q.rangeFrom === undefined || String(r[source.index.range as keyof R]) >= q.rangeFrom)
            .sort((a, b) => compareDescending(this.position(a, source), this.position(b, source)));
          const from = start ? all.findIndex((r) => compareDescending(this.position(r, source), start) > 0) : 0;
          return { items: from < 0 ? [] : all.slice(from).map((r) => ({ ...r })) };
        },
        startAfter: (_source, position) => position,
      },
      this.kind.idPattern,
    );
  }

  async queryAll(index: IndexShape, value: string, rangeEquals?: string): Promise<R[]> {
    return (await this.queryAllCounted(index, value, rangeEquals)).records;
  }

  async queryAllCounted(
    index: IndexShape,
    value: string,
    rangeEquals?: string,
  ): Promise<{ records: R[]; skipped: number }> {
    this.assertOpen();
    const { records, skipped } = this.partition(index, value, rangeEquals);
    return { records: records.map((r) => ({ ...r })), skipped };
  }

  async scan(): Promise<R[]> {
    this.assertOpen();
    for (const item of this.foreign.values()) this.skip(item);
    return [...this.records.values()].map((r) => ({ ...r }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The optimistic lock: the record is still the one the caller read. */
  protected lockHolds(stored: R, read: R): boolean {
    return stored.updated_at === read.updated_at;
  }

  /** A GSI holds only the items that have both of its key attributes (as strings). Planted items that do not parse
   * are skipped and reported, as the DynamoDB store does. */
  private partition(index: IndexShape, value: string, rangeEquals?: string): { records: R[]; skipped: number } {
    const records: R[] = [];
    for (const r of this.records.values()) {
      const rec = r as Record<string, unknown>;
      if (rec[index.hash] !== value || rec[index.range] === undefined) continue;
      if (rangeEquals === undefined || rec[index.range] === rangeEquals) records.push(r);
    }
    let skipped = 0;
    for (const item of this.foreign.values()) {
      const range = item[index.range]?.S;
      if (item[index.hash]?.S !== value || range === undefined) continue;
      if (rangeEquals !== undefined && range !== rangeEquals) continue;
      if (this.skip(item)) skipped++;
    }
    return { records, skipped };
  }

  /** Reports a planted item a listing leaves out; false for an item of another kind (its id is not this kind's). */
  private skip(item: Item): boolean {
    const id = item[this.kind.table.partitionKey]?.S;
    if (typeof id !== 'string' || !this.kind.idPattern.test(id)) return false;
    const parsed = parseItem(this.kind, item);
    if ('record' in parsed) return false;
    reportSkipped(this.kind, undefined, parsed.id, parsed.reason);
    return true;
  }

  /** What a condition sees for an id: the record, or a planted item's attributes as plain values. */
  private stored(id: string): object | undefined {
    const planted = this.foreign.get(id);
    if (!planted) return this.records.get(id);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(planted)) {
      if (typeof v.S === 'string') out[k] = v.S;
      else if (typeof v.N === 'string') out[k] = Number(v.N);
      else if (typeof v.BOOL === 'boolean') out[k] = v.BOOL;
    }
    return out;
  }

  private position(r: R, source: IndexSource): SortPosition {
    return positionOf(r as Record<string, unknown>, source.index.range);
  }

  private pruneExpired(): void {
    const t = this.now().getTime();
    if (t - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = t;
    const ttl = this.kind.table.ttlAttribute;
    for (const [id, r] of this.records) {
      const expiry = (r as Record<string, unknown>)[ttl];
      if (typeof expiry === 'number' && expiry * 1000 <= t) this.records.delete(id);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosed(this.kind);
  }
}
