// What the listeners and the lifecycle ask of the session side of a daemon. Two implementations: LocalSessions decides
// here (policy, store, STS); BridgeSessions forwards to the server-side vendor (DESIGN §17). Peer checks, tokens and
// the routes in front of them are the same for both.
import type { DecisionEntry } from '../../core/audit/types.js';
import type { RefusalCount } from '../../core/authorize/decision-entry.js';
import type { SentinelError } from '../../core/errors.js';
import type { ProfileInfo } from '../../core/issuer/types.js';
import type { PolicyStatus } from '../../core/policy/types.js';
import type { Session, SessionPage, SessionQuery } from '../../core/sessions/types.js';
import type { Mode } from '../../core/types.js';
import type { DecisionCounters } from '../decision-counters.js';
import type { CredentialsBody } from '../../core/issuer/credentials-body.js';
import type { TokenMatch, TokenRegistry } from '../tokens.js';

/** Who is asking, as the listener established it (DESIGN §3.1). */
export interface Peer {
  transport: 'unix' | 'tcp';
  pid: number | null;
  uid: number | null;
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
  session: Pick<Session, 'id' | 'profile' | 'expires_at'>;
  token: string;
  region: string | null;
}

/** Where decisions are made and sessions kept, for `daemon status`. */
export interface SessionsStatus {
  policy: PolicyStatus;
  store: string;
  session_table: string | null;
  /** Set when a server-side vendor decides (DESIGN §17). */
  vendor: { url: string; region: string; profile: string | null } | null;
}

export interface DaemonSessions {
  readonly serverInstanceId: string;
  readonly startedAt: Date;
  readonly counters: DecisionCounters;
  readonly activeTokens: number;
  readonly tokenRegistry: TokenRegistry;
  status(): SessionsStatus;
  profiles(): Promise<ProfileInfo[]>;
  /** The identity this daemon serves for a profile (the requester of an approval request, DESIGN §10). */
  identify(profile: string): Promise<{ arn: string; user: string }>;
  openSession(request: OpenRequest, peer: Peer): Promise<OpenedSession>;
  credentials(match: TokenMatch, peer: Peer): Promise<CredentialsBody>;
  credentialProcess(profile: string, peer: Peer): Promise<CredentialsBody>;
  recordRefusal(event: DecisionEntry['event'], peer: Peer, error: SentinelError): void;
  /** Refusals of another user's requests that were counted rather than recorded (daemon/server/peer-refusals.ts). */
  recordCountedRefusals(counted: RefusalCount): void;
  getSession(id: string): Promise<Session>;
  listSessions(query: SessionQuery): Promise<SessionPage>;
  revoke(id: string, by: string, reason: string): Promise<Session>;
  end(id: string): Promise<Session>;
  stop(): Promise<void>;
}
