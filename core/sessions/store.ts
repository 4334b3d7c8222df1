// Sessions on the record layer: the SessionStore API (types.ts) over one generic record store, memory or DynamoDB.
// What is particular to sessions lives here and in record.ts (validation, touch, the effective status, which index
// answers which query); storing, locking, transitions and paging are the record layer's.
import { pageInCode } from '../records/cursor.js';
import type { IndexSource, RecordStore } from '../records/store.js';
import type { SessionStoreKind } from '../types.js';
import { fingerprint, matches, normalizeQuery, type NormalizedQuery } from './query.js';
import {
  assertSessionId,
  checkIssued,
  checkTouch,
  issuedChanges,
  laterOf,
  newRecord,
  revocation,
  withEffectiveStatus,
} from './record.js';
import { INDEXES, SESSION_KIND } from './schema.js';
import type {
  IssuedFacts,
  NewSession,
  Session,
  SessionPage,
  SessionQuery,
  SessionStatus,
  SessionStore,
} from './types.js';

export class RecordSessionStore implements SessionStore {
  readonly kind: SessionStoreKind;

  constructor(
    protected readonly records: RecordStore<Session>,
    private readonly now: () => Date,
  ) {
    this.kind = records.backend;
  }

  async create(input: NewSession): Promise<Session> {
    return this.records.create(newRecord(input, this.now()));
  }

  /** Not async: this is the revocation read of every credential request, and an async wrapper around the record
   * store's promise costs two more ticks and two more promises. */
  get(id: string): Promise<Session | undefined> {
    try {
      assertSessionId(id);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.records.get(id);
  }

  async touch(id: string, at: Date, requests: number, issued?: IssuedFacts): Promise<void> {
    assertSessionId(id);
    checkTouch(at, requests);
    const facts = checkIssued(issued);
    await this.records.update(id, (s) => {
      if (s.status !== 'active') throw SESSION_KIND.illegalTransition(id, s.status, s.status);
      return {
        ...issuedChanges(s, facts),
        request_count: s.request_count + requests,
        last_access_at: laterOf(s.last_access_at, at.toISOString()),
      };
    });
  }

  async revoke(id: string, by: string, reason: string): Promise<Session> {
    assertSessionId(id);
    const fields = revocation(by, reason);
    return this.records.update(id, () => ({ status: 'revoked', ...fields }));
  }

  async end(id: string): Promise<Session> {
    assertSessionId(id);
    return this.records.update(id, () => ({ status: 'ended' }));
  }

  async expire(id: string): Promise<Session> {
    assertSessionId(id);
    return this.records.update(id, () => ({ status: 'expired' }));
  }

  async list(query?: SessionQuery): Promise<SessionPage> {
    const q = normalizeQuery(query);
    const now = this.now();
    const filter = (s: Session) => matches(s, q, now);
    const page = { limit: q.limit, cursor: q.cursor, fingerprint: fingerprint(q) };
    const sources = orderedSources(q);
    if (sources) {
      const found = await this.records.query({ sources, rangeFrom: q.since, filter, ...page });
      return { ...found, items: found.items.map((s) => withEffectiveStatus(s, now)) };
    }
    // No created_at-ordered index fits: read the candidates whole and sort them here.
    const all =
      q.server_instance_id !== undefined
        ? await this.records.queryAll(
            INDEXES.serverInstance,
            q.server_instance_id,
            q.status !== undefined && q.status !== 'expired' ? q.status : undefined,
          )
        : await this.records.scan();
    return pageInCode(
      all.filter(filter).map((s) => withEffectiveStatus(s, now)),
      'created_at',
      page,
    );
  }

  close(): Promise<void> {
    return this.records.close();
  }
}

/**
 * The created_at-ordered index partitions that hold every possible match, or undefined when none fits. A user is
 * the narrowest partition, then a profile, then a status. `expired` also reads `active`: a lapsed session that
 * nothing has marked yet is reported expired (dynalite never reaps, and DynamoDB reaps lazily). A daemon's own
 * sessions (server_instance_id) are a small partition keyed by status: read whole.
 */
function orderedSources(q: NormalizedQuery): IndexSource[] | undefined {
  if (q.user !== undefined) return [{ index: INDEXES.user, value: q.user }];
  if (q.server_instance_id !== undefined) return undefined;
  if (q.profile !== undefined) return [{ index: INDEXES.profile, value: q.profile }];
  if (q.status !== undefined) {
    const statuses: SessionStatus[] = q.status === 'expired' ? ['expired', 'active'] : [q.status];
    return statuses.map((s) => ({ index: INDEXES.status, value: s }));
  }
  return undefined;
}
