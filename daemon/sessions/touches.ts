// Step 5's bookkeeping (DESIGN §3.4): last_access_at and request_count, counted in memory on the request path and
// written by a coalesced flush, never on the response path. Freshly issued credentials ride along, so the record's
// credentials_valid_until follows them without a write of its own; a cache hit adds nothing to record.
import { errorCodeOf } from '../../core/authorize/decision-entry.js';
import type { OpLogger } from '../../core/log.js';
import type { IssuedFacts, SessionStore } from '../../core/sessions/types.js';

/**
 * How often coalesced touches are written, per store. A DynamoDB touch is a consistent read plus a conditional write
 * (two billed requests, and a possible optimistic-lock retry against an admin's revoke), so a busy session costs at
 * most that every few seconds however many credential fetches it makes; the memory store's touch is free.
 */
export const TOUCH_FLUSH_MS: Record<SessionStore['kind'], number> = { memory: 1000, dynamodb: 5000 };

interface PendingTouch {
  count: number;
  at: Date;
  /** The latest credentials issued since the last write (each later than the one before). */
  issued?: IssuedFacts;
}

export class SessionTouches {
  private readonly pending = new Map<string, PendingTouch>();
  private timer: NodeJS.Timeout | undefined;
  /** The flush being written; the next one waits for it, so one session never has two touch writes racing. */
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SessionStore,
    private readonly log: OpLogger,
    private readonly now: () => Date,
    private readonly flushMs: number = TOUCH_FLUSH_MS[store.kind],
  ) {}

  /** One request served for the session; `issued` when it got freshly issued credentials. */
  touch(id: string, issued?: IssuedFacts): void {
    let pending = this.pending.get(id);
    if (pending) {
      pending.count += 1;
      pending.at = this.now();
    } else {
      pending = { count: 1, at: this.now() };
      this.pending.set(id, pending);
    }
    if (issued) pending.issued = issued;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flushAll();
    }, this.flushMs).unref();
  }

  /** Writes one session's pending touch now (before its owner ends it, so no count is lost to the end). */
  flush(id: string): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const pending = this.pending.get(id);
      if (!pending) return;
      this.pending.delete(id);
      await this.write(id, pending);
    });
    return this.flushing;
  }

  /** Writes every pending touch, after the flush before it has finished. */
  flushAll(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      const batch = [...this.pending];
      this.pending.clear();
      await Promise.all(batch.map(([id, pending]) => this.write(id, pending)));
    });
    return this.flushing;
  }

  private write(id: string, pending: PendingTouch): Promise<void> {
    return this.store.touch(id, pending.at, pending.count, pending.issued).catch((e: unknown) => {
      // Bookkeeping only: a lost touch never blocks or fails a response.
      this.log.debug(
        { event: 'touch_failed', session_id: id, code: errorCodeOf(e) },
        'could not record session access',
      );
    });
  }
}
