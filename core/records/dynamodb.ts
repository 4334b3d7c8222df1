// The record store on a DynamoDB table shared by every daemon and every admin. Every write is conditional. Updates
// use an optimistic lock on `updated_at`: the caller read the record (strongly consistent), and the write requires
// `updated_at` to still be what was read; a lost race reads again and decides again, so a touch that loses to a
// revoke sees `revoked` and stops instead of writing over it. The lock token is the value read from the table, never
// a value this process computed, and every write moves it strictly forward (kind.ts).
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../errors.js';
import { isConditionalCheckFailed, storeUnavailable } from './aws-errors.js';
import { compile, NOT_EXISTS, type Condition } from './condition.js';
import type { SortPosition } from './cursor.js';
import {
  assertId,
  duplicate,
  fromItem,
  parseItem,
  storeClosed,
  toItem,
  toValue,
  type FieldType,
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
  updateWithRetries,
  type Backend,
  type Changes,
  type IndexQuery,
  type IndexSource,
  type Page,
  type RecordStore,
} from './store.js';

export interface DynamoRecordStoreOptions {
  client: DynamoDBClient;
  table: string;
  now?: () => Date;
  /** Attempts per update before giving up with Conflict (default 5). */
  maxAttempts?: number;
  /** Destroy the client on close (default true: the store was handed a client of its own). */
  ownsClient?: boolean;
}

/** BatchGetItem takes at most 100 keys per call. */
const BATCH_KEYS = 100;
/** Rounds for keys DynamoDB leaves unprocessed (throttling) before the read counts as failed. */
const BATCH_ROUNDS = 5;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoRecordStore<R extends StoredRecord> implements RecordStore<R> {
  readonly backend: Backend = 'dynamodb';
  readonly client: DynamoDBClient;
  readonly table: string;
  private readonly now: () => Date;
  private readonly maxAttempts: number;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(
    readonly kind: RecordKind<R>,
    options: DynamoRecordStoreOptions,
  ) {
    this.client = options.client;
    this.table = options.table;
    this.now = options.now ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 5;
    this.ownsClient = options.ownsClient ?? true;
  }

  async create(record: R): Promise<R> {
    if (!(await this.putIf(record, NOT_EXISTS))) throw duplicate(this.kind, record.id);
    return fromItem(this.kind, toItem(this.kind, record), this.table);
  }

  async putIf(record: R, condition: Condition): Promise<boolean> {
    this.assertOpen();
    assertId(this.kind, record?.id);
    const c = compile(condition, this.kind.table.partitionKey);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toItem(this.kind, record),
          ConditionExpression: c.expression,
          ExpressionAttributeNames: c.names,
          ...(Object.keys(c.values).length ? { ExpressionAttributeValues: c.values } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw this.unavailable(err);
    }
  }

  async get(id: string): Promise<R | undefined> {
    this.assertOpen();
    assertId(this.kind, id);
    let item: Item | undefined;
    try {
      const out = await this.client.send(
        new GetItemCommand({ TableName: this.table, Key: this.key(id), ConsistentRead: true }),
      );
      item = out.Item;
    } catch (err) {
      throw this.unavailable(err);
    }
    return item ? fromItem(this.kind, item, this.table) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Map<string, R>> {
    this.assertOpen();
    for (const id of ids) assertId(this.kind, id);
    const items = await batchGet(this.client, [
      { table: this.table, partitionKey: this.kind.table.partitionKey, ids, unavailable: (e) => this.unavailable(e) },
    ]);
    const out = new Map<string, R>();
    for (const item of items.get(this.table) ?? []) {
      const r = fromItem(this.kind, item, this.table);
      out.set(r.id, r);
    }
    return out;
  }

  async updateIf(current: R, changes: Changes<R>): Promise<R> {
    this.assertOpen();
    assertId(this.kind, current?.id);
    const next = applyChanges(this.kind, current, changes, this.now());
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const set: string[] = [];
    const remove: string[] = [];
    let n = 0;
    for (const field of [...Object.keys(changes), 'updated_at']) {
      const key = `u${n++}`;
      names[`#${key}`] = field;
      const value = toValue(
        this.kind.fields[field as keyof typeof this.kind.fields] as FieldType,
        field,
        next[field as keyof R],
      );
      if (value) {
        values[`:${key}`] = value;
        set.push(`#${key} = :${key}`);
      } else {
        remove.push(`#${key}`);
      }
    }
    const lock = this.lockCondition(current);
    const c = lock ? compile(lock, this.kind.table.partitionKey) : undefined;
    let out;
    try {
      out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(current.id),
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ...(c ? { ConditionExpression: c.expression } : {}),
          ExpressionAttributeNames: { ...names, ...c?.names },
          ExpressionAttributeValues: { ...values, ...c?.values },
          ReturnValues: 'ALL_NEW',
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw staleRead(this.kind, current.id);
      throw this.unavailable(err);
    }
    if (!out.Attributes) {
      throw new SentinelError(
        this.kind.table.unavailable,
        `the ${this.kind.table.noun} table ${this.table} did not return the updated record`,
      );
    }
    return fromItem(this.kind, out.Attributes, this.table);
  }

  update(id: string, decide: (current: R) => Changes<R>): Promise<R> {
    return updateWithRetries(this, id, decide, this.maxAttempts);
  }

  async deleteIf(id: string, condition: Condition): Promise<boolean> {
    this.assertOpen();
    assertId(this.kind, id);
    const c = compile(condition, this.kind.table.partitionKey);
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key(id),
          ConditionExpression: c.expression,
          ExpressionAttributeNames: c.names,
          ...(Object.keys(c.values).length ? { ExpressionAttributeValues: c.values } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw this.unavailable(err);
    }
  }

  async query(q: IndexQuery<R>): Promise<Page<R>> {
    this.assertOpen();
    return mergePartitions<R, Item>(
      q,
      {
        page: (source, start) => this.queryPage(source, q, start),
        startAfter: (source, position) => this.startKey(source, position),
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
    return this.readAll(
      (start) =>
        new QueryCommand({
          TableName: this.table,
          IndexName: index.name,
          KeyConditionExpression: rangeEquals !== undefined ? '#h = :h AND #r = :r' : '#h = :h',
          ExpressionAttributeNames: { '#h': index.hash, ...(rangeEquals !== undefined ? { '#r': index.range } : {}) },
          ExpressionAttributeValues: {
            ':h': { S: value },
            ...(rangeEquals !== undefined ? { ':r': { S: rangeEquals } } : {}),
          },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
    );
  }

  /** One Scan page after another. Items of other kinds sharing the table (their ids differ) are skipped. */
  async scan(): Promise<R[]> {
    this.assertOpen();
    const { records } = await this.readAll(
      (start) => new ScanCommand({ TableName: this.table, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    return records;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  /** The optimistic lock: the write happens only if the stored `updated_at` is still the one read. */
  protected lockCondition(read: R): Condition | undefined {
    return { field: 'updated_at', equals: read.updated_at };
  }

  unavailable(err: unknown): SentinelError {
    return storeUnavailable(err, this.table, this.kind.table);
  }

  private key(id: string): Item {
    return { [this.kind.table.partitionKey]: { S: id } };
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosed(this.kind);
  }

  private async queryPage(
    source: IndexSource,
    q: IndexQuery<R>,
    start: Item | undefined,
  ): Promise<{ items: R[]; next?: Item }> {
    const from = q.rangeFrom !== undefined;
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: source.index.name,
      KeyConditionExpression: from ? '#h = :h AND #r >= :from' : '#h = :h',
      ExpressionAttributeNames: { '#h': source.index.hash, ...(from ? { '#r': source.index.range } : {}) },
      ExpressionAttributeValues: { ':h': { S: source.value }, ...(from ? { ':from': { S: q.rangeFrom! } } : {}) },
      ScanIndexForward: false,
      // Safe only because there is no FilterExpression: Limit bounds what is read, filters run afterwards.
      Limit: Math.min(1000, q.limit + 1),
      ...(start ? { ExclusiveStartKey: start } : {}),
    };
    try {
      const out = await this.client.send(new QueryCommand(input));
      return {
        items: this.parseListed(out.Items ?? []).records,
        next: out.LastEvaluatedKey,
      };
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private startKey(source: IndexSource, p: SortPosition): Item {
    return {
      [this.kind.table.partitionKey]: { S: p.id },
      [source.index.range]: { S: p.r },
      [source.index.hash]: { S: source.value },
    };
  }

  /** Whether an item is of this kind (a table may hold several kinds, told apart by their ids). */
  private isOwn(item: Item): boolean {
    const id = item[this.kind.table.partitionKey]?.S;
    return typeof id === 'string' && this.kind.idPattern.test(id);
  }

  /** The records among items a query or scan listed: items of other kinds are left out, and items of this kind that
   * do not parse are skipped and reported (a read by id of one of them fails closed). */
  private parseListed(items: readonly Item[]): { records: R[]; skipped: number } {
    const records: R[] = [];
    let skipped = 0;
    for (const item of items) {
      if (!this.isOwn(item)) continue;
      const parsed = parseItem(this.kind, item);
      if ('record' in parsed) {
        records.push(parsed.record);
      } else {
        skipped++;
        reportSkipped(this.kind, this.table, parsed.id, parsed.reason);
      }
    }
    return { records, skipped };
  }

  private async readAll(
    command: (start?: Item) => QueryCommand | ScanCommand,
  ): Promise<{ records: R[]; skipped: number }> {
    const records: R[] = [];
    let skipped = 0;
    let start: Item | undefined;
    do {
      let out;
      try {
        out = await this.client.send(command(start) as QueryCommand);
      } catch (err) {
        throw this.unavailable(err);
      }
      const page = this.parseListed(out.Items ?? []);
      records.push(...page.records);
      skipped += page.skipped;
      start = out.LastEvaluatedKey;
    } while (start);
    return { records, skipped };
  }
}

export interface BatchRead {
  table: string;
  partitionKey: string;
  ids: readonly string[];
  unavailable: (err: unknown) => SentinelError;
}

/**
 * Strongly consistent BatchGetItem over one or more tables: the items found, per table. One call when everything
 * fits (up to 100 keys); keys DynamoDB leaves unprocessed are asked again, a bounded number of times.
 */
export async function batchGet(client: DynamoDBClient, reads: readonly BatchRead[]): Promise<Map<string, Item[]>> {
  const found = new Map<string, Item[]>(reads.map((r) => [r.table, []]));
  const byTable = new Map(reads.map((r) => [r.table, r]));
  const keys: Array<{ table: string; id: string }> = [];
  for (const r of reads) for (const id of new Set(r.ids)) keys.push({ table: r.table, id });
  const pk = (table: string) => byTable.get(table)!;
  for (let i = 0; i < keys.length; i += BATCH_KEYS) {
    let request: Record<string, { Keys: Item[]; ConsistentRead: true }> = {};
    for (const { table, id } of keys.slice(i, i + BATCH_KEYS)) {
      request[table] ??= { Keys: [], ConsistentRead: true };
      request[table].Keys.push({ [pk(table).partitionKey]: { S: id } });
    }
    for (let round = 1; Object.keys(request).length > 0; round++) {
      const first = Object.keys(request)[0]!;
      if (round > BATCH_ROUNDS)
        throw pk(first).unavailable(Object.assign(new Error(), { name: 'ThrottlingException' }));
      let out;
      try {
        out = await client.send(new BatchGetItemCommand({ RequestItems: request }));
      } catch (err) {
        throw pk(first).unavailable(err);
      }
      for (const [table, items] of Object.entries(out.Responses ?? {})) found.get(table)?.push(...items);
      request = {};
      for (const [table, rest] of Object.entries(out.UnprocessedKeys ?? {})) {
        if (rest.Keys?.length) request[table] = { Keys: rest.Keys, ConsistentRead: true };
      }
      if (Object.keys(request).length) await sleep(Math.random() * 10 * 2 ** round);
    }
  }
  return found;
}
