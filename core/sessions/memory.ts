// The default session store: one machine, gone at restart (DESIGN §6). Each operation runs to completion without
// awaiting, so there is nothing to interleave with; it still keeps the optimistic-lock fields (`updated_at` strictly
// increasing) so that records look the same as the DynamoDB store's.
import { SentinelError } from '../errors.js';
import type { SessionStoreKind } from '../types.js';
import { pageInCode, matches, normalizeQuery } from './query.js';
import {
  assertSessionId,
  checkIssued,
  checkTouch,
  duplicateSession,
  issuedChanges,
  laterOf,
  newRecord,
  nextUpdatedAt,
  notActive,
  revocation,
  unknownSession,
  withEffectiveStatus,
} from './record.js';
import {
  canTransition,
  type IssuedFacts,
  type NewSession,
  type Session,
  type SessionPage,
  type SessionQuery,
  type SessionStatus,
  type SessionStore,
} from './types.js';

export interface MemorySessionStoreOptions {
  now?: () => Date;
}

export class MemorySessionStore implements SessionStore {
  readonly kind: SessionStoreKind = 'memory';
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => Date;
  private closed = false;
  private lastPrune = 0;

  constructor(options: MemorySessionStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  async create(input: NewSession): Promise<Session> {
    this.assertOpen();
    const now = this.now();
    const record = newRecord(input, now);
    this.pruneHistory(now);
    if (this.sessions.has(record.id)) throw duplicateSession(record.id);
    this.sessions.set(record.id, record);
    return { ...record };
  }

  async get(id: string): Promise<Session | undefined> {
    this.assertOpen();
    assertSessionId(id);
    const s = this.sessions.get(id);
    return s ? { ...s } : undefined;
  }

  async touch(id: string, at: Date, requests: number, issued?: IssuedFacts): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    checkTouch(at, requests);
    const facts = checkIssued(issued);
    const s = this.current(id);
    if (s.status !== 'active') throw notActive(id, s.status);
    this.sessions.set(id, {
      ...s,
      ...issuedChanges(s, facts),
      request_count: s.request_count + requests,
      last_access_at: laterOf(s.last_access_at, at.toISOString()),
      updated_at: nextUpdatedAt(s.updated_at, this.now()),
    });
  }

  async revoke(id: string, by: string, reason: string): Promise<Session> {
    this.assertOpen();
    assertSessionId(id);
    return this.transition(id, 'revoked', revocation(by, reason));
  }

  async end(id: string): Promise<Session> {
    this.assertOpen();
    assertSessionId(id);
    return this.transition(id, 'ended', {});
  }

  async expire(id: string): Promise<Session> {
    this.assertOpen();
    assertSessionId(id);
    return this.transition(id, 'expired', {});
  }

  async list(query?: SessionQuery): Promise<SessionPage> {
    this.assertOpen();
    const q = normalizeQuery(query);
    const now = this.now();
    const hits = [...this.sessions.values()]
      .filter((s) => matches(s, q, now))
      .map((s) => withEffectiveStatus({ ...s }, now));
    return pageInCode(hits, q);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Drops records whose history window (ttl) has passed, as DynamoDB's TTL would; at most once a minute. */
  private pruneHistory(now: Date): void {
    const t = now.getTime();
    if (t - this.lastPrune < 60_000) return;
    this.lastPrune = t;
    for (const [id, s] of this.sessions) if (s.ttl * 1000 <= t) this.sessions.delete(id);
  }

  private current(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw unknownSession(id);
    return s;
  }

  private transition(id: string, to: Exclude<SessionStatus, 'active'>, fields: Partial<Session>): Session {
    const s = this.current(id);
    if (!canTransition(s.status, to)) throw notActive(id, s.status);
    const next: Session = { ...s, ...fields, status: to, updated_at: nextUpdatedAt(s.updated_at, this.now()) };
    this.sessions.set(id, next);
    return { ...next };
  }

  private assertOpen(): void {
    if (this.closed) throw new SentinelError('SessionStoreUnavailable', 'the session store is closed');
  }
}
