// Reading records of several kinds, possibly in several tables, together and strongly consistently: a credential
// request that uses an override reads its session and the approved request (or break-glass event) in one
// BatchGetItem (DESIGN §3.4), so no decision mixes a fresh read of one with a stale read of the other.
import { batchGet, DynamoRecordStore } from './dynamodb.js';
import { assertId, fromItem, type StoredRecord } from './kind.js';
import type { Read } from './read-set.js';

export type { Read } from './read-set.js';

// Any kind: a store's kind is invariant in its record type, so a list of reads of several kinds needs `any` here; the
// result type gives each read its own record type back.
type AnyRead = Read<any>;

type Results<T extends readonly AnyRead[]> = {
  [K in keyof T]: T[K] extends Read<infer R> ? R | undefined : never;
};

/**
 * The records the reads name, in their order (undefined where there is none). DynamoDB stores that share one client
 * are read with one BatchGetItem (ConsistentRead); memory stores answer from memory.
 */
export async function readTogether<T extends readonly AnyRead[]>(reads: T): Promise<Results<T>> {
  for (const r of reads) assertId(r.store.kind, r.id);
  const out: Array<StoredRecord | undefined> = new Array(reads.length).fill(undefined);
  const byClient = new Map<unknown, number[]>();
  const local: number[] = [];
  reads.forEach((r, i) => {
    if (r.store instanceof DynamoRecordStore) {
      const group = byClient.get(r.store.client) ?? [];
      group.push(i);
      byClient.set(r.store.client, group);
    } else {
      local.push(i);
    }
  });
  await Promise.all([
    ...local.map(async (i) => {
      out[i] = await reads[i]!.store.get(reads[i]!.id);
    }),
    ...[...byClient.values()].map(async (indexes) => {
      const stores = indexes.map((i) => reads[i]!.store as DynamoRecordStore<StoredRecord>);
      const tables = new Map<string, { partitionKey: string; ids: string[]; store: DynamoRecordStore<StoredRecord> }>();
      indexes.forEach((i, n) => {
        const s = stores[n]!;
        const t = tables.get(s.table) ?? { partitionKey: s.kind.table.partitionKey, ids: [], store: s };
        t.ids.push(reads[i]!.id);
        tables.set(s.table, t);
      });
      const found = await batchGet(
        stores[0]!.client,
        [...tables].map(([table, t]) => ({
          table,
          partitionKey: t.partitionKey,
          ids: t.ids,
          unavailable: (e: unknown) => t.store.unavailable(e),
        })),
      );
      indexes.forEach((i, n) => {
        const s = stores[n]!;
        const item = found.get(s.table)?.find((it) => it[s.kind.table.partitionKey]?.S === reads[i]!.id);
        out[i] = item ? fromItem(s.kind, item, s.table) : undefined;
      });
    }),
  ]);
  return out as Results<T>;
}
