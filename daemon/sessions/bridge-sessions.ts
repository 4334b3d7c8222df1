// The daemon as the SigV4 bridge to the server-side vendor (DESIGN §17): sessions are opened, served, revoked and ended
// by the vendor, which decides (policy, overrides, STS) and records; this side keeps what only a local daemon has — the
// tokens that bind a local caller to a vendor session, the owner processes whose exit ends a session, single flight
// for concurrent callers of one session, and the decision-log line of every local refusal. Every credential request
// goes to the vendor, so a revocation there takes effect at the next request; nothing here falls back to STS.
import { randomBytes } from 'node:crypto';
import type { DecisionEntry, DecisionLog } from '../../core/audit/types.js';
import {
  decisionEntry,
  errorCodeOf,
  refusalCountEntry,
  refused,
  refusing,
  type RefusalCount,
} from '../../core/authorize/decision-entry.js';
import type { DecisionSink } from '../../core/authorize/types.js';
import type { VendorConfig } from '../../core/config.js';
import { SentinelError, isSentinelError } from '../../core/errors.js';
import { isValidProfileName } from '../../core/profile-name.js';
import type { ProfileInfo } from '../../core/issuer/types.js';
import { SingleFlight } from '../../core/issuer/single-flight.js';
import type { OpLogger } from '../../core/log.js';
import type { Session, SessionPage, SessionQuery } from '../../core/sessions/types.js';
import type { Mode } from '../../core/types.js';
import { notA, objectAnswer as record, recordAnswer } from '../../core/vendor/answers.js';
import type { VendorClient } from '../../core/vendor/client.js';
import { countingSink, newCounters, type DecisionCounters } from '../decision-counters.js';
import { pidAlive } from '../runtime/pid.js';
import { formatExpiration, type CredentialsBody } from '../../core/issuer/credentials-body.js';
import type { TokenMatch, TokenRegistry } from '../tokens.js';
import { OwnerWatch } from './owners.js';
import { EXPIRY_SWEEP_MS, ExpiryWatch } from './expiries.js';
import type { DaemonSessions, OpenRequest, OpenedSession, Peer, SessionsStatus } from './types.js';
import { isHex16 } from '../../core/text/hex-id.js';

export interface BridgeSessionsParts {
  vendor: VendorConfig;
  client: VendorClient;
  decisions: DecisionLog;
  tokens: TokenRegistry;
  log: OpLogger;
  newRequestId: () => string;
  now?: () => Date;
  isAlive?: (pid: number) => boolean;
  pidPollMs?: number;
  /** How long a stop waits for the vendor to end this daemon's sessions. */
  stopSessionsMs?: number;
  /** How often sessions past their expiry are released (default EXPIRY_SWEEP_MS). */
  expirySweepMs?: number;
}

/** The refusals that mean a session can serve no more: its token is retired here too. */
const SESSION_OVER = new Set(['SessionRevoked', 'SessionExpired', 'SessionEnded', 'SessionUnknown']);

export class BridgeSessions implements DaemonSessions {
  readonly serverInstanceId = randomBytes(8).toString('hex');
  readonly startedAt: Date;
  readonly counters: DecisionCounters = newCounters();
  private readonly sink: DecisionSink;
  private readonly flights = new SingleFlight<CredentialsBody>();
  private readonly owners: OwnerWatch;
  private readonly now: () => Date;
  private readonly isAlive: (pid: number) => boolean;
  /** Vendor sessions this daemon opened and has not seen end. */
  private readonly opened = new Set<string>();
  private readonly expiries: ExpiryWatch;
  private stopped = false;

  constructor(private readonly parts: BridgeSessionsParts) {
    this.now = parts.now ?? (() => new Date());
    this.isAlive = parts.isAlive ?? pidAlive;
    this.startedAt = this.now();
    this.sink = countingSink(this.counters, () => parts.decisions);
    this.owners = new OwnerWatch(this.isAlive, parts.pidPollMs ?? 2000, (id, pid) => this.ownerGone(id, pid));
    // The vendor records the expiry itself; here only what this daemon holds for the session is let go.
    this.expiries = new ExpiryWatch(
      () => this.now().getTime(),
      parts.expirySweepMs ?? EXPIRY_SWEEP_MS,
      (ids) => ids.forEach((id) => this.release(id)),
    );
  }

  get activeTokens(): number {
    return this.parts.tokens.size;
  }

  get tokenRegistry(): TokenRegistry {
    return this.parts.tokens;
  }

  status(): SessionsStatus {
    const { url, region, profile } = this.parts.vendor;
    return {
      policy: {
        source: 'vendor',
        location: url,
        version: null,
        loadedAt: null,
        rules: 0,
        lastError: null,
        warnings: [],
      },
      store: 'vendor',
      session_table: null,
      vendor: { url, region, profile },
    };
  }

  async profiles(): Promise<ProfileInfo[]> {
    const answer = record(await this.call({ method: 'GET', path: '/v1/profiles' }));
    if (!Array.isArray(answer.profiles)) throw notA('a profile list');
    const profiles = answer.profiles.map((p: unknown) => record(p));
    if (profiles.some((r) => typeof r.name !== 'string')) throw notA('a profile list');
    // Names go on to shells (completion, the prompt): only what a profile name may be, as the local config reader
    // keeps; the vendor's own policy cannot hold anything else, so anything else did not come from it.
    return profiles
      .filter((r) => isValidProfileName(r.name as string))
      .map((r) => {
        return {
          name: r.name as string,
          ...(typeof r.region === 'string' ? { region: r.region } : {}),
          ...(typeof r.role_arn === 'string' ? { roleArn: r.role_arn } : {}),
          stampable: r.stampable !== false,
        };
      });
  }

  /** The vendor names the caller it verified; the profile does not change who that is. */
  async identify(): Promise<{ arn: string; user: string }> {
    const caller = record(record(await this.call({ method: 'GET', path: '/v1/status' })).caller);
    if (typeof caller.arn !== 'string' || typeof caller.user !== 'string') throw notA('a status');
    return { arn: caller.arn, user: caller.user };
  }

  async openSession(request: OpenRequest, peer: Peer): Promise<OpenedSession> {
    const entry = this.entry('session_open', peer, request.mode, request.profile);
    const opened = await this.refusing(entry, async () => {
      this.assertRunning();
      if (request.pid !== undefined && !this.isAlive(request.pid)) {
        throw new SentinelError('BadRequest', `process ${request.pid} is not running, so it cannot own a session`, {
          hint: 'Pass the pid of the shell or process that will use the session (or none).',
        });
      }
      const body = {
        profile: request.profile,
        mode: request.mode,
        ...(request.ttlMs !== undefined ? { ttl: Math.max(60, Math.floor(request.ttlMs / 1000)) } : {}),
      };
      const answer = record(await this.call({ method: 'POST', path: '/v1/sessions', body }));
      const { id, profile, expires_at: expiresAt, region } = answer;
      if (!isHex16(id) || typeof expiresAt !== 'string') {
        throw notA('a session');
      }
      return {
        session: { id, profile: typeof profile === 'string' ? profile : request.profile, expires_at: expiresAt },
        region: typeof region === 'string' ? region : null,
      };
    });
    const { id } = opened.session;
    this.opened.add(id);
    this.expiries.watch(id, opened.session.expires_at);
    if (request.pid !== undefined) this.owners.watch(id, request.pid);
    this.counters.sessions_opened += 1;
    return { ...opened, token: this.parts.tokens.mint(id) };
  }

  async credentials(match: TokenMatch, peer: Peer): Promise<CredentialsBody> {
    this.counters.credential_requests += 1;
    const entry = this.entry('credentials', peer, null, null);
    entry.session_id = match.sessionId;
    return this.refusing(entry, async () => {
      if (match.retired) throw new SentinelError('SessionEnded', `session ${match.sessionId} has ended`);
      try {
        return await this.flights.run(`session:${match.sessionId}`, () =>
          this.fetchCredentials({ session: match.sessionId }),
        );
      } catch (e) {
        if (isSentinelError(e) && SESSION_OVER.has(e.code)) this.release(match.sessionId);
        throw e;
      }
    });
  }

  async credentialProcess(profile: string, peer: Peer): Promise<CredentialsBody> {
    this.counters.credential_process_requests += 1;
    const entry = this.entry('credential_process', peer, 'credential_process', profile);
    return this.refusing(entry, async () => {
      this.assertRunning();
      return this.flights.run(`profile:${profile}`, () => this.fetchCredentials({ profile }));
    });
  }

  recordRefusal(event: DecisionEntry['event'], peer: Peer, error: SentinelError): void {
    this.sink.write(refused(this.entry(event, peer, null, null), error));
  }

  recordCountedRefusals(counted: RefusalCount): void {
    this.sink.write(refusalCountEntry(counted, this.now(), this.parts.newRequestId()));
  }

  async getSession(id: string): Promise<Session> {
    return recordAnswer<Session>(await this.call({ method: 'GET', path: `/v1/sessions/${id}` }), 'a session', id);
  }

  /** The vendor lists no sessions to callers (its tables are for administrators): these are this daemon's, as the
   * vendor has them now. */
  async listSessions(query: SessionQuery): Promise<SessionPage> {
    const sessions = await Promise.all([...this.opened].map((id) => this.getSession(id)));
    const items = sessions
      .filter((s) => (query.status === undefined || s.status === query.status) && matches(s, query))
      .slice(0, query.limit ?? 1000);
    return { items };
  }

  async revoke(id: string, _by: string, reason: string): Promise<Session> {
    const session = recordAnswer<Session>(
      await this.call({ method: 'POST', path: `/v1/sessions/${id}/revoke`, body: { reason } }),
      'a session',
      id,
    );
    this.release(id);
    this.parts.log.info({ event: 'session_revoked', session_id: id }, 'session revoked at the vendor');
    return session;
  }

  async end(id: string): Promise<Session> {
    const session = recordAnswer<Session>(
      await this.call({ method: 'DELETE', path: `/v1/sessions/${id}` }),
      'a session',
      id,
    );
    this.release(id);
    return session;
  }

  /** Ends, at the vendor, the sessions this daemon opened; bounded, because a vendor that does not answer must not
   * hold the stop (those sessions then lapse at their expiry). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.owners.stop();
    this.expiries.stop();
    const work = Promise.all(
      [...this.opened].map((id) =>
        this.end(id).then(
          () => true,
          () => false,
        ),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.stopMs).unref()));
    const outcome = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      this.parts.log.warn({ event: 'session_end_timeout', ms: this.stopMs }, 'the vendor did not end every session');
  }

  // --- internals -----------------------------------------------------------------------------------------------------

  private get stopMs(): number {
    return this.parts.stopSessionsMs ?? 10_000;
  }

  private call(request: Parameters<VendorClient['call']>[0]): Promise<unknown> {
    return this.parts.client.call(request);
  }

  private async fetchCredentials(query: Record<string, string>): Promise<CredentialsBody> {
    const b = record(await this.call({ method: 'GET', path: '/v1/credentials', query }));
    const fields = ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'] as const;
    if (!fields.every((f) => typeof b[f] === 'string' && b[f] !== '')) throw notA('credentials');
    // SDKs read Expiration strictly (the JS SDK only as UTC with `Z`, and refuses one already past), so whatever date
    // the vendor wrote is served in the one form every SDK reads, and credentials that have expired are not served.
    const expires = Date.parse(b.Expiration);
    if (Number.isNaN(expires)) throw notA('credentials');
    if (expires <= this.now().getTime()) {
      throw new SentinelError(
        'VendorUnavailable',
        `the Sentinel vendor answered with credentials that had already expired (${formatExpiration(new Date(expires))})`,
        { hint: "Check the vendor's clock and its decision log; `sentinel daemon status` shows the vendor's address." },
      );
    }
    return {
      AccessKeyId: b.AccessKeyId,
      SecretAccessKey: b.SecretAccessKey,
      Token: b.Token,
      Expiration: formatExpiration(new Date(expires)),
      ...(typeof b.AccountId === 'string' ? { AccountId: b.AccountId } : {}),
    };
  }

  private entry(event: DecisionEntry['event'], peer: Peer, mode: Mode | null, profile: string | null): DecisionEntry {
    return decisionEntry({ event, at: this.now(), requestId: this.parts.newRequestId(), profile, mode, peer });
  }

  /** A refusal (local or the vendor's) is logged here too, so the user's own log shows what they were told. */
  private refusing<T>(entry: DecisionEntry, step: () => Promise<T>): Promise<T> {
    return refusing(this.sink, entry, step);
  }

  private assertRunning(): void {
    if (this.stopped) throw new SentinelError('DaemonNotRunning', 'the daemon is stopping');
  }

  private async ownerGone(id: string, pid: number): Promise<void> {
    try {
      await this.end(id);
      this.parts.log.info({ event: 'session_owner_gone', session_id: id, pid }, 'session ended: its process exited');
    } catch (e) {
      this.release(id);
      this.parts.log.warn(
        { event: 'session_end_failed', session_id: id, code: errorCodeOf(e) },
        'could not end a session whose process exited',
      );
    }
  }

  private release(id: string): void {
    this.opened.delete(id);
    this.parts.tokens.revoke(id);
    this.owners.forget(id);
    this.expiries.forget(id);
  }
}

function matches(s: Session, q: SessionQuery): boolean {
  return (q.user === undefined || s.user === q.user) && (q.profile === undefined || s.profile === q.profile);
}
