// Issued credentials per session (DESIGN §3.4 step 4). A session's credentials are served while more than 10 minutes
// remain (botocore refreshes below that, and a short remaining life keeps revocation and policy changes effective);
// the refresh point is pulled earlier by a random jitter so sessions opened together do not refresh together. Misses
// for one session share one upstream call (single flight); its error reaches every waiter and is not cached, so the
// next request makes exactly one new attempt.
import { LRUCache } from 'lru-cache';
import { STS_BUDGET_MS } from '../aws-http.js';
import { SentinelError } from '../errors.js';
import type { OpLogger } from '../log.js';
import { SingleFlight } from './single-flight.js';
import type { Marker, Vended } from './types.js';

/** Served from cache only while more than this remains. */
export const SERVE_MIN_REMAINING_MS = 10 * 60_000;
/** The largest jitter; never more than a tenth of the time an entry can be served. */
export const MAX_JITTER_MS = 60_000;
/** When a refresh fails, the previous credentials are still served if at least this much remains (the JS SDK's own
 * expiry window): failing static here is safe because policy and revocation were checked before the cache. */
export const STALE_FLOOR_MS = 5 * 60_000;
/** The longest one refresh may take (base credentials, then AssumeRole: two STS budgets). After it, its waiters get
 * StsUnavailable and the next request starts a new call rather than queueing behind a hung one. */
export const ISSUE_DEADLINE_MS = 2 * STS_BUDGET_MS;
/** Cached credentials may outlive the caller's duration cap by this much (clock rounding of STS's Expiration). */
const CAP_SLACK_MS = 60_000;

export interface CacheParams {
  profile: string;
  user: string;
  marker: Marker;
  durationSeconds: number;
  /** Issued with an MFA session (DESIGN §11): a different grant from the same session's plain credentials. */
  mfa: boolean;
}

export type Issued = Omit<Vended, 'fromCache'>;

interface Entry {
  params: CacheParams;
  issued: Issued;
  /** What a cache hit returns, built once: a spread per hit costs more than the whole lookup. */
  hit: Vended;
  expiresAt: number;
  refreshAt: number;
}

export interface CredentialCacheOptions {
  now: () => number;
  random: () => number;
  log: OpLogger;
  max?: number;
  /** Default ISSUE_DEADLINE_MS. */
  issueDeadlineMs?: number;
}

const sameParams = (a: CacheParams, b: CacheParams) =>
  a.profile === b.profile && a.user === b.user && a.marker === b.marker && a.mfa === b.mfa;

export class CredentialCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly flights = new SingleFlight<Issued>();
  private epoch = 0;

  constructor(private readonly options: CredentialCacheOptions) {
    this.entries = new LRUCache({ max: options.max ?? 10_000 });
  }

  /** Credentials for a session: cached when they fit `params`, else from `issue` (one call per session at a time).
   * `role`, when given, is the role the profile names now (null: served unstamped): credentials cached for another
   * role are never served, not even when a refresh fails. A hit is the hot path of every credential request: no async
   * frame, no allocation. The returned object is shared by every hit on that entry and must not be changed. */
  get(sessionKey: string, params: CacheParams, issue: () => Promise<Issued>, role?: string | null): Promise<Vended> {
    const entry = this.usable(sessionKey, params, role);
    if (entry && this.options.now() < entry.refreshAt) return Promise.resolve(entry.hit);
    return this.refresh(sessionKey, params, issue, role);
  }

  private async refresh(
    sessionKey: string,
    params: CacheParams,
    issue: () => Promise<Issued>,
    role: string | null | undefined,
  ): Promise<Vended> {
    // A change of marker, user, duration or role is a different grant: it gets its own call, not a share of another's
    // (a call started for the old role before the profile changed is not joined by a request for the new one).
    const flightKey = `${sessionKey}\u0000${params.profile}\u0000${params.user}\u0000${params.marker}\u0000${params.durationSeconds}\u0000${params.mfa}\u0000${role}`;
    const epoch = this.epoch;
    try {
      const deadlineMs = this.options.issueDeadlineMs ?? ISSUE_DEADLINE_MS;
      const issued = await this.flights.run(
        flightKey,
        async () => {
          const fresh = await issue();
          // A session forgotten while its call was in flight (revoked, ended) is not cached again. A call that answers
          // after its deadline is cached all the same: the next request is then served at once.
          if (epoch === this.epoch) this.store(sessionKey, params, fresh);
          return fresh;
        },
        {
          ms: deadlineMs,
          error: () =>
            new SentinelError(
              'StsUnavailable',
              `issuing credentials for profile "${params.profile}" did not finish within ${deadlineMs / 1000}s`,
              { hint: 'AWS did not answer in time; try again shortly (the next request starts a new call).' },
            ),
        },
      );
      return { ...issued, fromCache: false };
    } catch (e) {
      const stale = this.usable(sessionKey, params, role);
      if (stale && stale.expiresAt - this.options.now() >= STALE_FLOOR_MS) {
        this.options.log.warn(
          {
            session: sessionKey,
            profile: params.profile,
            code: (e as { code?: unknown }).code,
            remaining_s: Math.round((stale.expiresAt - this.options.now()) / 1000),
          },
          'credential refresh failed; serving the previous credentials until they are closer to expiry',
        );
        return stale.hit;
      }
      throw e;
    }
  }

  forget(sessionKey: string): void {
    this.epoch++;
    this.entries.delete(sessionKey);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private usable(sessionKey: string, params: CacheParams, role: string | null | undefined): Entry | undefined {
    const entry = this.entries.get(sessionKey);
    if (!entry || !sameParams(entry.params, params)) return undefined;
    // Issued for the role the profile named then; the profile now names another (or none).
    if (role !== undefined && entry.issued.roleArn !== role) return undefined;
    const now = this.options.now();
    if (entry.expiresAt <= now) return undefined;
    // Credentials issued under a longer cap than the caller now allows (a break-glass window closing) are not reused.
    if (entry.expiresAt > now + params.durationSeconds * 1000 + CAP_SLACK_MS) return undefined;
    return entry;
  }

  private store(sessionKey: string, params: CacheParams, issued: Issued): void {
    const now = this.options.now();
    const expiresAt = issued.credentials.Expiration.getTime();
    const servable = expiresAt - SERVE_MIN_REMAINING_MS - now;
    const jitter = servable > 0 ? this.options.random() * Math.min(MAX_JITTER_MS, servable / 10) : 0;
    this.entries.set(sessionKey, {
      params: { ...params },
      issued,
      hit: { ...issued, fromCache: true },
      expiresAt,
      refreshAt: expiresAt - SERVE_MIN_REMAINING_MS - jitter,
    });
  }
}
