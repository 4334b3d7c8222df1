// The decision core's orchestration (DESIGN §3.4, §6): opens sessions, answers credential requests in the order of
// §3.4, keeps the implicit credential_process sessions, ends sessions whose owner is gone, and writes one decision-log
// line per decision. No HTTP here: the server adapts requests to these calls, and a server-side vendor could reuse it.
import { pidAlive } from './runtime/pid.js';
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { DecisionEntry, DecisionLog } from '../core/audit/types.js';
import { assertRecording } from '../core/audit/gate.js';
import type { Config } from '../core/config.js';
import { SentinelError, isSentinelError, type ErrorCode } from '../core/errors.js';
import type { OpLogger } from '../core/log.js';
import type { Decision, PolicyProvider } from '../core/policy/types.js';
import type {
  IssuedFacts,
  NewSession,
  Session,
  SessionPage,
  SessionQuery,
  SessionStore,
} from '../core/sessions/types.js';
import type { TokenMatch, TokenRegistry } from './tokens.js';
import type { Mode } from '../core/types.js';
import type { IssuedCredentials, ProfileInfo, Vended, Vendor } from '../core/issuer/types.js';

/** Who is asking, as the listener established it (DESIGN §3.1). */
export interface Peer {
  transport: 'unix' | 'tcp';
  pid: number | null;
  uid: number | null;
}

/** The container-credentials body every SDK reads (DESIGN §3.2). */
export interface CredentialsBody {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
  AccountId?: string;
}

export interface OpenRequest {
  profile: string;
  mode: Exclude<Mode, 'credential_process'>;
  /** The process whose exit ends the session. */
  pid?: number;
  /** Requested lifetime; capped by config sessions.ttl. */
  ttlMs?: number;
}

export interface OpenedSession {
  session: Session;
  token: string;
  region: string | null;
}

export interface BrokerParts {
  config: Config;
  policy: PolicyProvider;
  store: SessionStore;
  vendor: Vendor;
  decisions: DecisionLog;
  tokens: TokenRegistry;
  log: OpLogger;
  newRequestId: () => string;
  now?: () => Date;
  /** process.kill(pid, 0) semantics; replaceable so tests can end a session without killing anything. */
  isAlive?: (pid: number) => boolean;
  /** How often the owners of sessions opened with a pid are checked. */
  pidPollMs?: number;
  /** Touches (last_access_at, request_count) are coalesced and written at most this often (default by store kind,
   * TOUCH_FLUSH_MS). */
  touchFlushMs?: number;
  /** How long a stop waits for its sessions to be ended in the store before giving up on the rest. */
  stopSessionsMs?: number;
}

export interface BrokerCounters {
  sessions_opened: number;
  credential_requests: number;
  credential_process_requests: number;
  allowed: number;
  denied: number;
  /** Refusals by catalogue code (denials and upstream failures alike). */
  refusals: Partial<Record<ErrorCode, number>>;
}

/**
 * How often coalesced touches are written, per store. A DynamoDB touch is a consistent read plus a conditional write
 * (two billed requests, and a possible optimistic-lock retry against an admin's revoke), so a busy session costs at
 * most that every few seconds however many credential fetches it makes; the memory store's touch is free.
 */
export const TOUCH_FLUSH_MS: Record<SessionStore['kind'], number> = { memory: 1000, dynamodb: 5000 };

const STS_MIN_SECONDS = 900;
const STS_MAX_SECONDS = 43_200;

/** `Expiration` exactly as SDKs parse it: UTC, second precision, `Z` (JS fromHttp accepts nothing else). */
export function formatExpiration(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Request ids (16 lowercase hex, DESIGN §4) cut from a buffer of CSPRNG output: one decision needs one, and a
 * synchronous randomBytes(8) per request costs more than the rest of a cache hit. They are correlation ids, not secrets.
 */
export function pooledRequestIds(poolBytes = 4096): () => string {
  let pool = randomBytes(poolBytes);
  let at = 0;
  return () => {
    if (at + 8 > pool.length) {
      pool = randomBytes(poolBytes);
      at = 0;
    }
    const id = pool.toString('hex', at, at + 8);
    at += 8;
    return id;
  };
}

function newSessionId(): string {
  return randomBytes(8).toString('hex');
}

function codeOf(e: unknown): ErrorCode {
  return isSentinelError(e) ? e.code : 'InternalError';
}

export class Broker {
  readonly serverInstanceId = randomBytes(8).toString('hex');
  readonly startedAt: Date;
  private config: Config;
  private policy: PolicyProvider;
  private vendor: Vendor;
  private readonly store: SessionStore;
  private readonly decisions: DecisionLog;
  private readonly tokens: TokenRegistry;
  private readonly log: OpLogger;
  private readonly newRequestId: () => string;
  private readonly now: () => Date;
  private readonly isAlive: (pid: number) => boolean;
  private readonly pidPollMs: number;
  private readonly touchFlushMs: number;
  private readonly stopSessionsMs: number;
  private readonly host = hostname();

  /** Sessions this daemon opened that may still be active (ended on stop). */
  private readonly opened = new Set<string>();
  /** (user, profile) → the implicit credential_process session. */
  private readonly implicit = new Map<string, string>();
  private readonly implicitInFlight = new Map<string, Promise<Session>>();
  /** session id → owner pid. */
  private readonly owners = new Map<string, number>();
  private ownerTimer: NodeJS.Timeout | undefined;
  private readonly pendingTouches = new Map<string, PendingTouch>();
  /** A cache hit returns the same issued credentials again; their answer body is built once. */
  private readonly bodies = new WeakMap<IssuedCredentials, CredentialsBody>();
  private touchTimer: NodeJS.Timeout | undefined;
  /** The flush being written; the next one waits for it, so one session never has two touch writes racing. */
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  readonly counters: BrokerCounters = {
    sessions_opened: 0,
    credential_requests: 0,
    credential_process_requests: 0,
    allowed: 0,
    denied: 0,
    refusals: {},
  };

  constructor(parts: BrokerParts) {
    this.config = parts.config;
    this.policy = parts.policy;
    this.store = parts.store;
    this.vendor = parts.vendor;
    this.decisions = parts.decisions;
    this.tokens = parts.tokens;
    this.log = parts.log;
    this.newRequestId = parts.newRequestId;
    this.now = parts.now ?? (() => new Date());
    this.isAlive = parts.isAlive ?? pidAlive;
    this.pidPollMs = parts.pidPollMs ?? 2000;
    this.touchFlushMs = parts.touchFlushMs ?? TOUCH_FLUSH_MS[parts.store.kind];
    this.stopSessionsMs = parts.stopSessionsMs ?? 10_000;
    this.startedAt = this.now();
  }

  get storeKind(): SessionStore['kind'] {
    return this.store.kind;
  }

  get policyProvider(): PolicyProvider {
    return this.policy;
  }

  get activeTokens(): number {
    return this.tokens.size;
  }

  /** SIGHUP: the parts that a new config may have replaced. */
  replaceParts(parts: { config?: Config; policy?: PolicyProvider; vendor?: Vendor }): void {
    if (parts.config) this.config = parts.config;
    if (parts.policy) this.policy = parts.policy;
    if (parts.vendor) this.vendor = parts.vendor;
  }

  resolveToken(token: string | undefined): TokenMatch | undefined {
    return this.tokens.resolve(token);
  }

  /** For callers that cache a token's digest per connection (the same token arrives on every keep-alive request). */
  get tokenRegistry(): TokenRegistry {
    return this.tokens;
  }

  profiles(): Promise<ProfileInfo[]> {
    return this.vendor.profiles();
  }

  // --- opening a session -------------------------------------------------------------------------------------------

  async openSession(request: OpenRequest, peer: Peer): Promise<OpenedSession> {
    this.assertRunning();
    const line = this.newLine('session_open', peer, request.mode, request.profile);
    try {
      if (request.pid !== undefined && !this.isAlive(request.pid)) {
        throw new SentinelError('BadRequest', `process ${request.pid} is not running, so it cannot own a session`, {
          hint: 'Pass the pid of the shell or process that will use the session (or none).',
        });
      }
      const profile = await this.vendor.profile(request.profile);
      const identity = await this.vendor.identify(request.profile);
      line.user = identity.policyName;
      const decision = this.decide(line, identity.policyName, request.profile, request.mode);

      const now = this.now();
      const ttlMs = Math.min(request.ttlMs ?? this.config.sessions.ttlMs, this.config.sessions.ttlMs);
      const id = newSessionId();
      line.session_id = id;
      // Credentials are fetched now, so a problem (no role, STS down) shows when the session is opened rather than at
      // the first SDK call, and the record carries the SourceIdentity its first credentials were stamped with.
      const vended = await this.vend(line, id, identity.policyName, request.profile, decision);
      let session: Session;
      try {
        session = await this.store.create(
          this.newSession(id, identity.policyName, request.profile, request.mode, now, ttlMs, {
            ...issuedFacts(vended),
            pid: request.pid,
          }),
        );
      } catch (e) {
        this.vendor.forget(id);
        throw e;
      }
      this.opened.add(id);
      if (request.pid !== undefined) this.watchOwner(id, request.pid);
      const token = this.tokens.mint(id);
      this.counters.sessions_opened += 1;
      this.allow(line);
      return { session, token, region: profile.region ?? this.config.region ?? null };
    } catch (e) {
      this.deny(line, e);
      throw e;
    }
  }

  // --- one credential request (§3.4) ---------------------------------------------------------------------------------

  /** A request carrying a session token (GET /v1/credentials on either listener). A retired token (its session was
   * revoked or ended here) is answered with the session's state and never with credentials. */
  async credentials(match: TokenMatch, peer: Peer): Promise<CredentialsBody> {
    this.counters.credential_requests += 1;
    const line = this.newLine('credentials', peer, null, null);
    line.session_id = match.sessionId;
    try {
      const session = await this.activeSession(match.sessionId); // step 2: the revocation read
      line.user = session.user;
      line.profile = session.profile;
      line.mode = session.mode;
      if (match.retired) throw new SentinelError('SessionEnded', `session ${session.id} has ended`);
      const decision = this.decide(line, session.user, session.profile, session.mode); // step 3
      const vended = await this.vend(line, session.id, session.user, session.profile, decision); // step 4
      this.allow(line); // step 5
      this.touch(session.id, vended);
      return this.bodyOf(vended);
    } catch (e) {
      this.deny(line, e);
      throw e;
    }
  }

  /** POST /v1/credentials: the implicit session of (user, profile) that serves credential_process. The answer has the
   * container shape; `sentinel credentials` turns it into credential_process's Version 1. */
  async credentialProcess(profileName: string, peer: Peer): Promise<CredentialsBody> {
    this.assertRunning();
    this.counters.credential_process_requests += 1;
    const line = this.newLine('credential_process', peer, 'credential_process', profileName);
    try {
      await this.vendor.profile(profileName);
      const identity = await this.vendor.identify(profileName);
      const user = identity.policyName;
      line.user = user;
      const key = `${user}\u0000${profileName}`;
      let session = await this.currentImplicit(key, line);
      const decision = this.decide(line, user, profileName, 'credential_process');
      session ??= await this.createImplicit(key, user, profileName);
      line.session_id = session.id;
      const vended = await this.vend(line, session.id, user, profileName, decision);
      this.allow(line);
      this.touch(session.id, vended);
      return this.bodyOf(vended);
    } catch (e) {
      this.deny(line, e);
      throw e;
    }
  }

  /** A refusal decided before the broker was reached (peer check, token check); logged like any other decision. */
  recordRefusal(event: DecisionEntry['event'], peer: Peer, error: SentinelError): void {
    const line = this.newLine(event, peer, null, null);
    this.deny(line, error);
  }

  // --- session administration ----------------------------------------------------------------------------------------

  async getSession(id: string): Promise<Session> {
    const session = await this.store.get(id);
    if (!session) throw unknownSession(id);
    return this.withEffectiveStatus(session);
  }

  listSessions(query: SessionQuery): Promise<SessionPage> {
    return this.store.list(query);
  }

  async revoke(id: string, by: string, reason: string): Promise<Session> {
    const session = await this.store.revoke(id, by, reason);
    this.release(id);
    this.log.info({ event: 'session_revoked', session_id: id, revoked_by: by }, 'session revoked');
    return session;
  }

  /** Its owner is done with it. A session no longer active is left as it is. */
  async end(id: string): Promise<Session> {
    const session = await this.store.get(id);
    if (!session) throw unknownSession(id);
    if (session.server_instance_id !== this.serverInstanceId) {
      throw new SentinelError('SessionUnknown', `session ${id} was not opened by this daemon`, {
        hint: 'Only the daemon that opened a session can end it; an administrator can revoke it with `sentinel server revoke <id>`.',
      });
    }
    const current = this.withEffectiveStatus(session);
    if (current.status !== 'active') {
      this.release(id);
      return current;
    }
    await this.flushTouch(id);
    try {
      const ended = await this.store.end(id);
      this.release(id);
      return ended;
    } catch (e) {
      if (isSentinelError(e) && e.code === 'SessionNotActive') {
        this.release(id);
        const again = await this.store.get(id);
        if (again) return this.withEffectiveStatus(again);
      }
      throw e;
    }
  }

  /**
   * Daemon stop: writes pending touches, then ends the sessions this daemon opened that are still active (one past its
   * expiry is recorded as expired instead, which is what it is). Bounded by stopSessionsMs: a store that does not
   * answer must not hold the stop; the sessions it could not end stay active in the record until they expire, and the
   * daemon that served them is gone.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ownerTimer) clearInterval(this.ownerTimer);
    this.ownerTimer = undefined;
    const work = (async () => {
      await this.flushTouches();
      const results = await Promise.all([...this.opened].map((id) => this.endAtStop(id)));
      return results.filter(Boolean).length;
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.stopSessionsMs).unref();
    });
    const outcome = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.warn(
        { event: 'session_end_timeout', ms: this.stopSessionsMs, left: this.opened.size },
        'the session store did not end every session in time',
      );
    } else if (outcome > 0) {
      this.log.info(
        { event: 'sessions_ended', count: outcome, server_instance_id: this.serverInstanceId },
        "ended this daemon's active sessions",
      );
    }
  }

  /** True when the record changed to ended (or expired). The record read decides: it is what others see. */
  private async endAtStop(id: string): Promise<boolean> {
    try {
      const session = await this.store.get(id);
      if (!session || session.status !== 'active') return false;
      const lapsed = Date.parse(session.expires_at) <= this.now().getTime();
      await (lapsed ? this.store.expire(id) : this.store.end(id));
      return true;
    } catch (e) {
      // Not active any more (revoked by an admin, expired, ended) is the common, harmless case.
      if (!isSentinelError(e) || (e.code !== 'SessionNotActive' && e.code !== 'SessionUnknown')) {
        this.log.warn(
          { event: 'session_end_failed', session_id: id, code: codeOf(e) },
          'could not end a session at stop',
        );
      }
      return false;
    } finally {
      this.release(id);
    }
  }

  // --- internals -----------------------------------------------------------------------------------------------------

  private bodyOf(vended: Vended): CredentialsBody {
    let body = this.bodies.get(vended.credentials);
    if (!body) {
      body = containerBody(vended);
      this.bodies.set(vended.credentials, body);
    }
    return body;
  }

  private assertRunning(): void {
    if (this.stopped) throw new SentinelError('DaemonNotRunning', 'the daemon is stopping');
  }

  private newSession(
    id: string,
    user: string,
    profile: string,
    mode: Mode,
    now: Date,
    ttlMs: number,
    extra: IssuedFacts & { pid?: number | undefined },
  ): NewSession {
    const { pid, ...issued } = extra;
    return {
      id,
      user,
      profile,
      mode,
      started_at: now.toISOString(),
      expires_at: new Date(now.getTime() + ttlMs).toISOString(),
      server_instance_id: this.serverInstanceId,
      host: this.host,
      ...issued,
      ...(pid !== undefined ? { pid } : {}),
    };
  }

  private withEffectiveStatus(session: Session): Session {
    if (session.status === 'active' && Date.parse(session.expires_at) <= this.now().getTime()) {
      this.store.expire(session.id).catch(() => undefined);
      this.release(session.id);
      return { ...session, status: 'expired' };
    }
    return session;
  }

  /**
   * Step 2 of §3.4: a strongly consistent read (DynamoDB: GetItem with ConsistentRead), before anything else; anything
   * but an active, unexpired session is a 403, and a store that cannot answer is a 503 (its error propagates: never
   * served because the check failed). A session found revoked or ended elsewhere (an admin's `server revoke --table`)
   * is released here: its token is retired and its cached credentials dropped.
   */
  private async activeSession(id: string): Promise<Session> {
    const stored = await this.store.get(id);
    if (!stored) throw unknownSession(id);
    const session = this.withEffectiveStatus(stored);
    if (session.status !== 'active') this.release(id);
    switch (session.status) {
      case 'active':
        return session;
      case 'revoked':
        throw revokedError(session);
      case 'expired':
        throw new SentinelError(
          'SessionExpired',
          `session ${id} (${session.profile}) expired at ${session.expires_at}; open a new one with \`sentinel use ${session.profile}\``,
        );
      case 'ended':
        throw new SentinelError('SessionEnded', `session ${id} has ended`);
    }
  }

  /** The implicit session of (user, profile) if it can still serve; throws if it was revoked and would still be valid. */
  private async currentImplicit(key: string, line: DecisionEntry): Promise<Session | undefined> {
    const id = this.implicit.get(key);
    if (id === undefined) return undefined;
    const stored = await this.store.get(id);
    if (!stored) return undefined;
    line.session_id = id;
    const session = this.withEffectiveStatus(stored);
    if (session.status === 'active') return session;
    this.release(id);
    // Revocation is not undone by asking again: while the revoked session would still have been valid, no new one.
    if (session.status === 'revoked' && Date.parse(session.expires_at) > this.now().getTime())
      throw revokedError(session);
    return undefined;
  }

  private createImplicit(key: string, user: string, profile: string): Promise<Session> {
    const inFlight = this.implicitInFlight.get(key);
    if (inFlight) return inFlight;
    const created = (async () => {
      const session = await this.store.create(
        this.newSession(
          newSessionId(),
          user,
          profile,
          'credential_process',
          this.now(),
          this.config.sessions.ttlMs,
          {},
        ),
      );
      this.implicit.set(key, session.id);
      this.opened.add(session.id);
      this.counters.sessions_opened += 1;
      return session;
    })().finally(() => this.implicitInFlight.delete(key));
    this.implicitInFlight.set(key, created);
    return created;
  }

  private decide(line: DecisionEntry, user: string, profile: string, mode: Mode): Decision {
    const decision = this.policy.decide({ user, profile, time: this.now(), mode, sessionStore: this.store.kind });
    line.effect = decision.effect;
    line.rule = decision.rule;
    line.rule_index = decision.ruleIndex;
    line.reason = decision.reason;
    line.policy_source = decision.policySource;
    line.policy_version = decision.policyVersion;
    if (!decision.allowed) throw denialError(decision, user, profile, mode);
    return decision;
  }

  private async vend(
    line: DecisionEntry,
    sessionId: string,
    user: string,
    profile: string,
    decision: Decision,
  ): Promise<Vended> {
    const durationSeconds = this.durationFor(decision);
    line.duration_seconds = durationSeconds;
    assertRecording(this.decisions); // no credentials without their record (DESIGN §14)
    const vended = await this.vendor.credentials({
      sessionId,
      requestId: line.request_id,
      profile,
      user,
      marker: 'direct',
      durationSeconds,
    });
    line.source_identity = vended.sourceIdentity;
    line.role_arn = vended.roleArn;
    return vended;
  }

  /** config credentials.duration, capped by the rule's max_server_duration, within what STS accepts. A cap below
   * STS's 15-minute floor cannot be honoured by STS; the per-request revocation read still applies to every fetch. */
  private durationFor(decision: Decision): number {
    let ms = this.config.credentials.durationMs;
    if (decision.maxDurationMs !== undefined) ms = Math.min(ms, decision.maxDurationMs);
    return Math.min(STS_MAX_SECONDS, Math.max(STS_MIN_SECONDS, Math.floor(ms / 1000)));
  }

  private newLine(event: DecisionEntry['event'], peer: Peer, mode: Mode | null, profile: string | null): DecisionEntry {
    return {
      timestamp: this.now().toISOString(),
      event,
      outcome: 'deny',
      user: null,
      profile,
      effect: null,
      rule: null,
      rule_index: null,
      reason: null,
      policy_source: null,
      policy_version: null,
      mode,
      session_id: null,
      request_id: this.newRequestId(),
      source_identity: null,
      role_arn: null,
      duration_seconds: null,
      peer_pid: peer.pid,
      peer_uid: peer.uid,
    };
  }

  private allow(line: DecisionEntry): void {
    line.outcome = 'allow';
    this.counters.allowed += 1;
    this.decisions.write(line);
  }

  private deny(line: DecisionEntry, error: unknown): void {
    const code = codeOf(error);
    line.outcome = 'deny';
    line.error_code = code;
    this.counters.denied += 1;
    this.counters.refusals[code] = (this.counters.refusals[code] ?? 0) + 1;
    this.decisions.write(line);
  }

  /** Step 5's bookkeeping: counted in memory now, written by the next flush (never on the request's path). Freshly
   * issued credentials ride along, so the record's credentials_valid_until follows them without a write of its own;
   * a cache hit adds nothing to record. */
  private touch(id: string, vended: Vended): void {
    const pending = this.pendingTouches.get(id);
    if (pending) {
      pending.count += 1;
      pending.at = this.now();
    } else {
      this.pendingTouches.set(id, { count: 1, at: this.now() });
    }
    if (!vended.fromCache) this.pendingTouches.get(id)!.issued = issuedFacts(vended);
    this.touchTimer ??= setTimeout(() => {
      this.touchTimer = undefined;
      void this.flushTouches();
    }, this.touchFlushMs).unref();
  }

  /** Writes one session's pending touch now (before its owner ends it, so no count is lost to the end). */
  private flushTouch(id: string): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const pending = this.pendingTouches.get(id);
      if (!pending) return;
      this.pendingTouches.delete(id);
      await this.writeTouch(id, pending);
    });
    return this.flushing;
  }

  /** Writes every pending touch, after the flush before it has finished. */
  private flushTouches(): Promise<void> {
    if (this.touchTimer) clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    this.flushing = this.flushing.then(async () => {
      const batch = [...this.pendingTouches];
      this.pendingTouches.clear();
      await Promise.all(batch.map(([id, pending]) => this.writeTouch(id, pending)));
    });
    return this.flushing;
  }

  private writeTouch(id: string, pending: PendingTouch): Promise<void> {
    return this.store.touch(id, pending.at, pending.count, pending.issued).catch((e: unknown) => {
      // Bookkeeping only: a lost touch never blocks or fails a response.
      this.log.debug({ event: 'touch_failed', session_id: id, code: codeOf(e) }, 'could not record session access');
    });
  }

  private watchOwner(id: string, pid: number): void {
    this.owners.set(id, pid);
    this.ownerTimer ??= setInterval(() => void this.checkOwners(), this.pidPollMs).unref();
  }

  /** Ends the sessions whose owning process is gone (the shell of `use`, the child of `exec`). */
  private async checkOwners(): Promise<void> {
    for (const [id, pid] of [...this.owners]) {
      if (this.isAlive(pid)) continue;
      this.owners.delete(id);
      try {
        await this.end(id);
        this.log.info({ event: 'session_owner_gone', session_id: id, pid }, 'session ended: its process exited');
      } catch (e) {
        this.log.warn(
          { event: 'session_end_failed', session_id: id, code: codeOf(e) },
          'could not end a session whose process exited',
        );
      }
    }
    if (this.owners.size === 0 && this.ownerTimer) {
      clearInterval(this.ownerTimer);
      this.ownerTimer = undefined;
    }
  }

  private release(id: string): void {
    this.opened.delete(id);
    this.tokens.revoke(id);
    this.vendor.forget(id);
    this.owners.delete(id);
  }
}

interface PendingTouch {
  count: number;
  at: Date;
  /** The latest credentials issued since the last write (each later than the one before). */
  issued?: IssuedFacts;
}

/** What the session record keeps of issued credentials (DESIGN §4, §6). */
function issuedFacts(vended: Vended): IssuedFacts {
  return {
    credentials_valid_until: vended.credentials.Expiration.toISOString(),
    ...(vended.sourceIdentity ? { source_identity: vended.sourceIdentity } : {}),
    ...(vended.roleArn ? { role_arn: vended.roleArn } : {}),
  };
}

function containerBody(vended: Vended): CredentialsBody {
  const c = vended.credentials;
  return {
    AccessKeyId: c.AccessKeyId,
    SecretAccessKey: c.SecretAccessKey,
    Token: c.Token,
    Expiration: formatExpiration(c.Expiration),
    ...(c.AccountId ? { AccountId: c.AccountId } : {}),
  };
}

function unknownSession(id: string): SentinelError {
  return new SentinelError('SessionUnknown', `no session ${id}`);
}

/** Text from the session record (an admin typed it, or someone edited the table) made safe for a one-line message. */
function printable(text: string, max = 1024): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Who revoked it and why (from the record), and what the user can do now. */
function revokedError(session: Session): SentinelError {
  const by = session.revoked_by ? ` by ${printable(session.revoked_by, 256)}` : '';
  const why = session.revoked_reason ? ` (reason: ${printable(session.revoked_reason)})` : '';
  const next =
    session.mode === 'credential_process'
      ? `credential_process for ${session.profile} stays refused until ${session.expires_at}; for access now, open a new session with \`sentinel use ${session.profile}\` (a fresh policy decision)`
      : `open a new session with \`sentinel use ${session.profile}\` if you still need access`;
  const who = session.revoked_by
    ? `ask ${printable(session.revoked_by, 256)} ${session.revoked_reason ? 'about it' : 'why'}, or`
    : 'or';
  return new SentinelError(
    'SessionRevoked',
    `session ${session.id} (${session.profile}) was revoked${by}${why}; ${who} ${next}`,
    {
      hint: `\`sentinel server session ${session.id}\` shows who revoked it, when and why.`,
      details: {
        session_id: session.id,
        profile: session.profile,
        ...(session.revoked_by ? { revoked_by: printable(session.revoked_by, 256) } : {}),
      },
    },
  );
}

function denialError(decision: Decision, user: string, profile: string, mode: Mode): SentinelError {
  const code = decision.errorCode ?? 'PolicyDenied';
  const rule = decision.rule ? `rule "${decision.rule}"` : 'no matching rule (default deny)';
  const reason = decision.reason ? `: ${decision.reason}` : '';
  const what =
    code === 'PolicyUnavailable'
      ? 'no valid policy is loaded'
      : `${rule} refuses ${user} on ${profile} in mode ${mode}${reason}`;
  return new SentinelError(code, what, {
    details: { rule: decision.rule, effect: decision.effect, profile, user, mode },
  });
}

/** Who revokes from this machine, for revoked_by. */
export function localActor(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}@${hostname()}`;
  }
}
