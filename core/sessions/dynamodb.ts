// The team session store: one DynamoDB table shared by every daemon and every admin (DESIGN §6). The record layer's
// DynamoDB store (conditional writes, optimistic lock on updated_at) under the session API.
import { readTogether } from '../records/batch.js';
import { DynamoRecordStore, type DynamoRecordStoreOptions } from '../records/dynamodb.js';
import type { RecordKind, StoredRecord } from '../records/kind.js';
import { ReadSet, type Read } from '../records/read-set.js';
import { assertSessionId } from './record.js';
import { SESSION_KIND } from './schema.js';
import { RecordSessionStore } from './store.js';
import type { Session } from './types.js';

export type DynamoSessionStoreOptions = DynamoRecordStoreOptions;

export class DynamoSessionStore extends RecordSessionStore {
  private readonly table: DynamoRecordStore<Session>;

  constructor(options: DynamoSessionStoreOptions) {
    const table = new DynamoRecordStore(SESSION_KIND, options);
    super(table, options.now ?? (() => new Date()));
    this.table = table;
  }

  async readWith(id: string, reads: ReadonlyArray<Read<any>>): Promise<{ session?: Session; read: ReadSet }> {
    assertSessionId(id);
    const [session, ...others] = await readTogether([{ store: this.table, id }, ...reads]);
    return { ...(session ? { session } : {}), read: new ReadSet(reads, others) };
  }

  sibling<R extends StoredRecord>(kind: RecordKind<R>, table: string): DynamoRecordStore<R> {
    return new DynamoRecordStore(kind, { client: this.table.client, table, ownsClient: false });
  }
}
