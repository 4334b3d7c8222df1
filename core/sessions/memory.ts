// The default session store: one machine, gone at restart (DESIGN §6). The record layer's memory store under the
// session API.
import { MemoryRecordStore } from '../records/memory.js';
import { SESSION_KIND } from './schema.js';
import { RecordSessionStore } from './store.js';

export interface MemorySessionStoreOptions {
  now?: () => Date;
}

export class MemorySessionStore extends RecordSessionStore {
  constructor(options: MemorySessionStoreOptions = {}) {
    const now = options.now ?? (() => new Date());
    super(new MemoryRecordStore(SESSION_KIND, { now }), now);
  }
}
