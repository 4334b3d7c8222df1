// The records one credential request has already read, strongly consistently and together with its session
// (DESIGN §3.4: with an override in use, the session and the approved request or break-glass event are one
// BatchGetItem). A lookup that asked for its record to be joined to the session read takes it from here instead of
// reading it again; a record it did not ask for is not here, and the lookup reads it itself.
import type { StoredRecord } from './kind.js';
import type { RecordStore } from './store.js';

export interface Read<R extends StoredRecord> {
  store: RecordStore<R>;
  id: string;
}

export class ReadSet {
  private readonly found = new Map<RecordStore<any>, Map<string, StoredRecord | undefined>>();

  /** `records[i]` is what `reads[i]` found (undefined: no such record). */
  constructor(reads: ReadonlyArray<Read<any>>, records: ReadonlyArray<StoredRecord | undefined>) {
    reads.forEach((r, i) => {
      const byId = this.found.get(r.store) ?? new Map<string, StoredRecord | undefined>();
      byId.set(r.id, records[i]);
      this.found.set(r.store, byId);
    });
  }

  /** Whether this read was part of the request's joined read (a record it did not find counts: it is known absent). */
  has(store: RecordStore<any>, id: string): boolean {
    return this.found.get(store)?.has(id) ?? false;
  }

  get<R extends StoredRecord>(store: RecordStore<R>, id: string): R | undefined {
    return this.found.get(store)?.get(id) as R | undefined;
  }
}
