// The team session store: one DynamoDB table shared by every daemon and every admin (DESIGN §6). The record layer's
// DynamoDB store (conditional writes, optimistic lock on updated_at) under the session API.
import { DynamoRecordStore, type DynamoRecordStoreOptions } from '../records/dynamodb.js';
import { SESSION_KIND } from './schema.js';
import { RecordSessionStore } from './store.js';

export type DynamoSessionStoreOptions = DynamoRecordStoreOptions;

export class DynamoSessionStore extends RecordSessionStore {
  constructor(options: DynamoSessionStoreOptions) {
    super(new DynamoRecordStore(SESSION_KIND, options), options.now ?? (() => new Date()));
  }
}
