// The local session manager (DESIGN §3.4, §6): what only a local daemon has around the shared decision. It opens
// sessions and answers credential requests as session read → authorize() → touch → answer, keeps the implicit
// credential_process session of each (user, profile), ends sessions whose owner process is gone, mints and retires
// tokens, and ends its sessions at stop. Policy, overrides, the duration cap, issuing and the decision-log line are
// authorize()'s (core/authorize/).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DecisionEntry, DecisionLog } from '../../core/audit/types.js';
import { authorize } from '../../core/authorize/authorize.js';
import {
  decisionEntry,
  errorCodeOf,
  refusalCountEntry,
  refused,
  refusing,
  type RefusalCount,
} from '../../core/authorize/decision-entry.js';
import { noOverrides } from '../../core/authorize/overrides.js';
import type {
  AuthorizeRequest,
  Authorized,
  DecisionSink,
  OverrideLookup,
  Ports,
  Principal,
} from '../../core/authorize/types.js';
import type { Config } from '../../core/config.js';
import { SentinelError, isSentinelError } from '../../core/errors.js';
import type { CallerIdentity, ProfileInfo, Vendor } from '../../core/issuer/types.js';
import type { OpLogger } from '../../core/log.js';
import type { PolicyProvider } from '../../core/policy/types.js';
import type { ReadSet } from '../../core/records/read-set.js';
import type {
  IssuedFacts,
  NewSession,
  Session,
  SessionPage,
  SessionQuery,
  SessionStore,
} from '../../core/sessions/types.js';
import { issuedFacts } from '../../core/sessions/record.js';
import type { Mode } from '../../core/types.js';
import { countingSink, newCounters, type DecisionCounters } from '../decision-counters.js';
import { pidAlive } from '../runtime/pid.js';
import { credentialsBody, type CredentialsBody } from '../../core/issuer/credentials-body.js';
import type { TokenMatch, TokenRegistry } from '../tokens.js';
import { OwnerWatch } from './owners.js';
import { sessionRefusal, unknownSession } from '../../core/sessions/refusals.js';
import { SessionTouches } from './touches.js';
import { EXPIRY_SWEEP_MS, ExpiryWatch } from './expiries.js';
import type { DaemonSessions, OpenRequest, OpenedSession, Peer, SessionsStatus } from './types.js';

export type { OpenRequest, OpenedSession, Peer } from './types.js';

export interface LocalSessionsParts {
  config: Config;
  policy: PolicyProvider;
  store: SessionStore;
  vendor: Vendor;
  decisions: DecisionLog;
  tokens: TokenRegistry;
  log: OpLogger;
  newRequestId: () => string;
  /** Approvals and break-glass (none yet: every denial stands). */
  overrides?: OverrideLookup;
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
  /** How often sessions past their expiry are released (default EXPIRY_SWEEP_MS). */
  expirySweepMs?: number;
}

interface Opener {
  principal: Principal;
  profile: string;
}

function newSessionId(): string {
  return randomBytes(8).toString('hex');
}

function principalOf(identity: CallerIdentity): Principal {
  const { arn, account, type, rawName, policyName } = identity;
  return { arn, account, type, rawName, user: policyName };
}

export class LocalSessions implements DaemonSessions {
  readonly serverInstanceId = randomBytes(8).toString('hex');
  readonly startedAt: Date;
  readonly counters: DecisionCounters = newCounters();
  private config: Config;
  private policy: PolicyProvider;
  private vendor: Vendor;
  private ports: Ports;
  private readonly overrides: OverrideLookup;
  private readonly store: SessionStore;
  private readonly decisions: DecisionLog;
  private readonly sink: DecisionSink;
  private readonly tokens: TokenRegistry;
  private readonly log: OpLogger;
  private readonly newRequestId: () => string;
  private readonly now: () => Date;
  /** The same clock in epoch ms, without a Date per call when it is the system's. */
  private readonly nowMs: () => number;
  /** expires_at as last parsed: every warm request of a session compares the same string. */
  private expiry = { text: '', ms: 0 };
  private readonly isAlive: (pid: number) => boolean;
  private readonly stopSessionsMs: number;
  private readonly host = hostname();
  private readonly touches: SessionTouches;
  private readonly owners: OwnerWatch;

  /** Sessions this daemon opened that may still be active (ended on stop). */
  private readonly opened = new Set<string>();
  /** Who opened each of them, for which profile: a token request is decided for the principal its session was opened
   * by, and the records an override would use are read with its session. */
  private readonly openers = new Map<string, Opener>();
  /** (user, profile) → the implicit credential_process session. */
  private readonly implicit = new Map<string, string>();
  /** (user, profile) → the id an implicit session will have, and its record while it is being written. */
  private readonly implicitPending = new Map<string, { id: string; created?: Promise<Session> }>();
  private readonly expiries: ExpiryWatch;
  private stopped = false;

  constructor(parts: LocalSessionsParts) {
    this.config = parts.config;
    this.policy = parts.policy;
    this.store = parts.store;
    this.vendor = parts.vendor;
    this.decisions = parts.decisions;
    this.sink = countingSink(this.counters, () => this.decisions);
    this.overrides = parts.overrides ?? noOverrides;
    this.tokens = parts.tokens;
    this.log = parts.log;
    this.newRequestId = parts.newRequestId;
    this.now = parts.now ?? (() => new Date());
    const injected = parts.now;
    this.nowMs = injected ? () => injected().getTime() : Date.now;
    this.isAlive = parts.isAlive ?? pidAlive;
    this.stopSessionsMs = parts.stopSessionsMs ?? 10_000;
    this.expiries = new ExpiryWatch(this.nowMs, parts.expirySweepMs ?? EXPIRY_SWEEP_MS, (ids) => this.expired(ids));
    this.startedAt = this.now();
    this.touches = new SessionTouches(parts.store, parts.log, this.now, parts.touchFlushMs);
    this.owners = new OwnerWatch(this.isAlive, parts.pidPollMs ?? 2000, (id, pid) => this.ownerGone(id, pid));
    this.ports = this.buildPorts();
  }

  get storeKind(): SessionStore['kind'] {
    return this.store.kind;
  }

  get policyProvider(): PolicyProvider {
    return this.policy;
  }

  status(): SessionsStatus {
    return {
      policy: this.policy.status(),
      store: this.store.kind,
      session_table: this.store.kind === 'dynamodb' ? this.config.sessions.table : null,
      vendor: null,
    };
  }

  get activeTokens(): number {
    return this.tokens.size;
  }

  /** For callers that cache a token's digest per connection (the same token arrives on every keep-alive request). */
  get tokenRegistry(): TokenRegistry {
    return this.tokens;
  }

  /** SIGHUP: the parts that a new config may have replaced. */
  replaceParts(parts: { config?: Config; policy?: PolicyProvider; vendor?: Vendor }): void {
    if (parts.config) this.config = parts.config;
    if (parts.policy) this.policy = parts.policy;
    if (parts.vendor) this.vendor = parts.vendor;
    this.ports = this.buildPorts();
  }

  profiles(): Promise<ProfileInfo[]> {
    return this.vendor.profiles();
  }

  /** Throws ProfileUnknown (with close matches) for a profile the AWS config does not have. */
  profile(name: string): Promise<ProfileInfo> {
    return this.vendor.profile(name);
  }

  /** The identity this daemon serves for a profile (the requester of an approval request, DESIGN §10). */
  async identify(profile: string): Promise<{ arn: string; user: string }> {
    await this.vendor.profile(profile);
    const id = await this.vendor.identify(profile);
    return { arn: id.arn, user: id.policyName };
  }

  // --- opening a session -------------------------------------------------------------------------------------------

  async openSession(request: OpenRequest, peer: Peer): Promise<OpenedSession> {
    const entry = this.entry('session_open', peer, request.mode, request.profile);
    const { profile, principal } = await this.refusing(entry, async () => {
      this.assertRunning();
      if (request.pid !== undefined && !this.isAlive(request.pid)) {
        throw new SentinelError('BadRequest', `process ${request.pid} is not running, so it cannot own a session`, {
          hint: 'Pass the pid of the shell or process that will use the session (or none).',
        });
      }
      const profile = await this.vendor.profile(request.profile);
      return { profile, principal: principalOf(await this.vendor.identify(request.profile)) };
    });
    const id = newSessionId();
    // Credentials are issued now, so a problem (no role, STS down) shows when the session is opened rather than at the
    // first SDK call, and the record starts with the SourceIdentity, role and expiry of its credentials.
    const authorized = await authorize(
      this.requestFor(entry, principal, id, request.profile, request.mode),
      this.ports,
    );
    const now = this.now();
    const ttlMs = Math.min(request.ttlMs ?? this.config.sessions.ttlMs, this.config.sessions.ttlMs);
    let session: Session;
    try {
      session = await this.store.create(
        this.newSession(id, principal.user, request.profile, request.mode, now, ttlMs, {
          ...issuedFacts(authorized),
          pid: request.pid,
        }),
      );
    } catch (e) {
      // Allowed and issued, but not recorded: the caller gets nothing, and the log says why after the allow.
      this.vendor.forget(id);
      this.sink.write(refused({ ...entry, session_id: id }, e));
      throw e;
    }
    this.opened.add(id);
    this.remember(id, { principal, profile: request.profile }, session.expires_at);
    if (request.pid !== undefined) this.owners.watch(id, request.pid);
    const token = this.tokens.mint(id);
    this.counters.sessions_opened += 1;
    return { session, token, region: profile.region ?? this.config.region ?? null };
  }

  // --- one credential request (§3.4) ---------------------------------------------------------------------------------

  /** A request carrying a session token (GET /v1/credentials on either listener). A retired token (its session was
   * revoked or ended here) is answered with the session's state and never with credentials.
   *
   * This is nearly all of the daemon's traffic, so it is written flat: one async frame, one await for the session read
   * and one for authorize(); the entry for a refusal before authorize() is built only when there is one. */
  async credentials(match: TokenMatch, peer: Peer): Promise<CredentialsBody> {
    this.counters.credential_requests += 1;
    const requestId = this.newRequestId();
    const id = match.sessionId;
    let session: Session | undefined;
    let principal: Principal;
    let read: ReadSet | undefined;
    try {
      const found = await this.readSession(id); // step 2: the revocation read
      session = this.activeOrRefuse(id, found.session);
      read = found.read;
      if (match.retired) throw new SentinelError('SessionEnded', `session ${session.id} has ended`);
      principal = this.openers.get(id)?.principal ?? (await this.principalFor(session));
    } catch (e) {
      const entry = decisionEntry({ event: 'credentials', at: this.now(), requestId, peer, sessionId: id });
      if (session) {
        entry.user = session.user;
        entry.profile = session.profile;
        entry.mode = session.mode;
      }
      this.sink.write(refused(entry, e));
      throw e;
    }
    const authorized = await authorize(
      this.requestFor(
        { event: 'credentials', request_id: requestId, peer_pid: peer.pid, peer_uid: peer.uid },
        principal,
        id,
        session.profile,
        session.mode,
        read,
      ),
      this.ports,
    ); // steps 3–5
    this.touch(id, authorized);
    return credentialsBody(authorized.credentials);
  }

  /** POST /v1/credentials: the implicit session of (user, profile) that serves credential_process. The answer has the
   * container shape; `sentinel credentials` turns it into credential_process's Version 1. */
  async credentialProcess(profileName: string, peer: Peer): Promise<CredentialsBody> {
    this.counters.credential_process_requests += 1;
    const entry = this.entry('credential_process', peer, 'credential_process', profileName);
    const { principal, key, id, read } = await this.refusing(entry, async () => {
      this.assertRunning();
      await this.vendor.profile(profileName);
      const principal = principalOf(await this.vendor.identify(profileName));
      entry.user = principal.user;
      const key = `${principal.user}\u0000${profileName}`;
      const current = await this.currentImplicit(key, entry);
      return { principal, key, id: current?.session.id ?? this.reserveImplicit(key), read: current?.read };
    });
    const authorized = await authorize(
      this.requestFor(entry, principal, id, profileName, 'credential_process', read),
      this.ports,
    );
    if (this.implicit.get(key) !== id) {
      await this.refusing({ ...entry, session_id: id }, () => this.createImplicit(key, id, principal, profileName));
    }
    this.touch(id, authorized);
    return credentialsBody(authorized.credentials);
  }

  /** A refusal decided before a session was reached (peer check, token check); logged like any other decision. */
  recordRefusal(event: DecisionEntry['event'], peer: Peer, error: SentinelError): void {
    this.sink.write(refused(this.entry(event, peer, null, null), error));
  }

  recordCountedRefusals(counted: RefusalCount): void {
    this.sink.write(refusalCountEntry(counted, this.now(), this.newRequestId()));
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
    await this.touches.flush(id);
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
    this.owners.stop();
    this.expiries.stop();
    const work = (async () => {
      await this.touches.flushAll();
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

  // --- internals -----------------------------------------------------------------------------------------------------

  private buildPorts(): Ports {
    const vendor = this.vendor;
    return {
      policy: this.policy,
      overrides: this.overrides,
      issuer: { issue: (r) => vendor.credentials(r) },
      decisions: this.sink,
      clock: this.now,
      // No posture provider in the daemon yet (DESIGN §18): device conditions do not hold, and the log says so.
      settings: {
        credentialDurationMs: this.config.credentials.durationMs,
        sessionStore: this.store.kind,
        ...(this.store.kind === 'dynamodb' ? { sessionTable: this.config.sessions.table } : {}),
      },
    };
  }

  private entry(event: DecisionEntry['event'], peer: Peer, mode: Mode | null, profile: string | null): DecisionEntry {
    return decisionEntry({ event, at: this.now(), requestId: this.newRequestId(), profile, mode, peer });
  }

  /** `from`: the decision's event, request id and peer — its entry's, or the same facts before there is an entry. */
  private requestFor(
    from: Pick<DecisionEntry, 'event' | 'request_id' | 'peer_pid' | 'peer_uid'>,
    principal: Principal,
    sessionId: string,
    profile: string,
    mode: Mode,
    read?: ReadSet,
  ): AuthorizeRequest {
    // Built without a spread: this runs on every credential request.
    const request: AuthorizeRequest = {
      principal,
      profile,
      mode,
      sessionId,
      requestId: from.request_id,
      context: { event: from.event, peer_pid: from.peer_pid, peer_uid: from.peer_uid },
    };
    if (read) request.read = read;
    return request;
  }

  private refusing<T>(entry: DecisionEntry, step: () => Promise<T>): Promise<T> {
    return refusing(this.sink, entry, step);
  }

  /** A session this daemon no longer remembers the opener of (none today: tokens live only as long as the daemon). */
  private async principalFor(session: Session): Promise<Principal> {
    const principal = principalOf(await this.vendor.identify(session.profile));
    if (principal.user !== session.user) {
      throw new SentinelError('SessionUnknown', `session ${session.id} belongs to another user`);
    }
    this.remember(session.id, { principal, profile: session.profile }, session.expires_at);
    return principal;
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

  private expiresAtMs(text: string): number {
    if (text !== this.expiry.text) this.expiry = { text, ms: Date.parse(text) };
    return this.expiry.ms;
  }

  private withEffectiveStatus(session: Session): Session {
    if (session.status === 'active' && this.expiresAtMs(session.expires_at) <= this.nowMs()) {
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
  private activeOrRefuse(id: string, stored: Session | undefined): Session {
    if (!stored) throw unknownSession(id);
    const session = this.withEffectiveStatus(stored);
    if (session.status === 'active') return session;
    this.release(id);
    throw sessionRefusal(session);
  }

  /** The session, and with it (one consistent BatchGetItem, DESIGN §3.4) the records the override lookup would read
   * for its opener — the approved request it used last — so a request under an override costs one store call. */
  private async readSession(id: string): Promise<{ session?: Session; read?: ReadSet }> {
    const opener = this.openers.get(id);
    const reads = opener ? (this.overrides.reads?.(opener.principal, opener.profile) ?? []) : [];
    if (reads.length === 0 || !this.store.readWith) {
      const session = await this.store.get(id);
      return session ? { session } : {};
    }
    return this.store.readWith(id, reads);
  }

  /** The implicit session of (user, profile) if it can still serve; throws if it was revoked and would still be valid. */
  private async currentImplicit(
    key: string,
    entry: DecisionEntry,
  ): Promise<{ session: Session; read?: ReadSet } | undefined> {
    const id = this.implicit.get(key);
    if (id === undefined) return undefined;
    const { session: stored, read } = await this.readSession(id);
    if (!stored) return undefined;
    entry.session_id = id;
    const session = this.withEffectiveStatus(stored);
    if (session.status === 'active') return { session, ...(read ? { read } : {}) };
    this.release(id);
    // Revocation is not undone by asking again: while the revoked session would still have been valid, no new one.
    if (session.status === 'revoked' && Date.parse(session.expires_at) > this.now().getTime())
      throw sessionRefusal(session);
    this.implicit.delete(key);
    return undefined;
  }

  /** The id the next implicit session of (user, profile) will have: concurrent first requests share it (and so one
   * STS call and one record). */
  private reserveImplicit(key: string): string {
    let pending = this.implicitPending.get(key);
    if (!pending) {
      pending = { id: newSessionId() };
      this.implicitPending.set(key, pending);
    }
    return pending.id;
  }

  /** Records the implicit session once its first request was allowed; requests that arrive meanwhile wait for it. */
  private async createImplicit(key: string, id: string, principal: Principal, profile: string): Promise<void> {
    const pending = this.implicitPending.get(key);
    if (pending?.id !== id) return; // recorded already, or released while this request was being decided
    pending.created ??= this.store
      .create(
        this.newSession(id, principal.user, profile, 'credential_process', this.now(), this.config.sessions.ttlMs, {}),
      )
      .then(
        (session) => {
          this.implicit.set(key, id);
          this.implicitPending.delete(key);
          this.opened.add(id);
          this.remember(id, { principal, profile }, session.expires_at);
          this.counters.sessions_opened += 1;
          return session;
        },
        (e: unknown) => {
          this.implicitPending.delete(key);
          this.vendor.forget(id);
          throw e;
        },
      );
    await pending.created;
  }

  private touch(id: string, authorized: Authorized): void {
    this.touches.touch(id, authorized.fromCache ? undefined : issuedFacts(authorized));
  }

  /** Ends a session whose owning process is gone (the shell of `use`, the child of `exec`). */
  private async ownerGone(id: string, pid: number): Promise<void> {
    try {
      await this.end(id);
      this.log.info({ event: 'session_owner_gone', session_id: id, pid }, 'session ended: its process exited');
    } catch (e) {
      this.log.warn(
        { event: 'session_end_failed', session_id: id, code: errorCodeOf(e) },
        'could not end a session whose process exited',
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
          { event: 'session_end_failed', session_id: id, code: errorCodeOf(e) },
          'could not end a session at stop',
        );
      }
      return false;
    } finally {
      this.release(id);
    }
  }

  /** Holds a session's opener, and watches its expiry. */
  private remember(id: string, opener: Opener, expiresAt: string): void {
    this.openers.set(id, opener);
    if (!this.stopped) this.expiries.watch(id, expiresAt);
  }

  /** Releases held sessions past their expiry, and records each as expired (after its pending touch), as a request
   * for it would. */
  private expired(ids: string[]): void {
    for (const id of ids) {
      this.release(id);
      // Already ended, revoked or expired in the record (an admin, another request): nothing to change.
      void this.touches
        .flush(id)
        .then(() => this.store.expire(id))
        .catch(() => undefined);
    }
    this.log.debug({ event: 'sessions_expired', count: ids.length }, 'released sessions past their expiry');
  }

  private release(id: string): void {
    this.opened.delete(id);
    this.openers.delete(id);
    this.tokens.revoke(id);
    this.vendor.forget(id);
    this.owners.forget(id);
    this.expiries.forget(id);
  }
}
