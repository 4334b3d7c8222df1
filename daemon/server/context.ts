// What the routes and hooks of both listeners share.
import type { DaemonSessions } from '../sessions/types.js';
import type { OpLogger } from '../../core/log.js';
import type { PolicyStatus } from '../../core/policy/types.js';
import type { FailureLimiter, PeerSources } from './auth.js';
import { RECORDED_PER_WINDOW, REFUSAL_WINDOW_MS, type PeerRefusals } from './peer-refusals.js';
import type { RequesterApi } from '../../core/approvals/requester.js';
import type { BreakglassService } from '../../core/breakglass/service.js';

/** Bounds that keep a slow or hostile client from holding the daemon (slowloris, huge requests). */
export interface Limits {
  bodyLimit: number;
  maxHeaderSize: number;
  /** Whole header block must arrive within this. */
  headersTimeoutMs: number;
  /** Whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** A connection with no traffic at all is closed after this. */
  idleTimeoutMs: number;
  /** How often node checks the two timeouts above (their resolution). */
  timeoutCheckMs: number;
  /** Refusals of another user's requests recorded in full per peer and window; the rest are counted (peer-refusals.ts). */
  refusalsRecordedPerPeer: number;
  refusalWindowMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  bodyLimit: 64 * 1024,
  maxHeaderSize: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  timeoutCheckMs: 1_000,
  refusalsRecordedPerPeer: RECORDED_PER_WINDOW,
  refusalWindowMs: REFUSAL_WINDOW_MS,
};

/** What the control API asks of the running daemon (run.ts). */
export interface DaemonControl {
  status(): Record<string, unknown>;
  reloadPolicy(): Promise<PolicyStatus>;
  /** Config, policy and AWS config again (what SIGHUP does); says whether the config and the policy loaded. */
  reload(): Promise<unknown>;
  /** Starts a graceful stop; returns at once. */
  shutdown(): void;
  /** `http://127.0.0.1:<port>/v1/credentials`, for the session answer. */
  credentialUrl(): string;
}

export interface ServerContext {
  sessions: DaemonSessions;
  log: OpLogger;
  daemonUid: number;
  sources: PeerSources;
  tcpUidCheck: boolean;
  limiter: FailureLimiter;
  /** Shared by both listeners: a peer's budget is the same whichever port it floods. */
  refusals: PeerRefusals;
  limits: Limits;
  control: DaemonControl;
  /** Approval requests (`/v1/requests`); absent in daemons built without them (tests). */
  requests?: RequesterApi;
  /** Break-glass (`/v1/breakglass`); absent in daemons built without it (tests). */
  breakglass?: BreakglassService;
}
