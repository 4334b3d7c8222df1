// One decision-log line (DESIGN §7). Never a secret, token or key.
import type { ErrorCode } from '../errors.js';
import type { Mode } from '../types.js';

export interface DecisionEntry {
  timestamp: string; // RFC 3339 UTC
  /** What was asked for; `peer_refusals` is not a request but a count of refusals not written one by one (below). */
  event: 'session_open' | 'credentials' | 'credential_process' | 'peer_refusals';
  outcome: 'allow' | 'deny';
  error_code?: ErrorCode;
  user: string | null;
  profile: string | null;
  effect: string | null;
  rule: string | null;
  rule_index: number | null;
  reason: string | null;
  policy_source: string | null;
  policy_version: string | null;
  mode: Mode | null;
  session_id: string | null;
  request_id: string;
  source_identity: string | null;
  role_arn: string | null;
  duration_seconds: number | null;
  peer_pid: number | null;
  peer_uid: number | null;
  approved_request_id?: string;
  break_glass_event_id?: string;
  /** peer_refusals only: requests of one peer that is not the daemon's user (peer_uid; null when the owner of the
   * connection could not be found), refused on `transport` between first_timestamp and last_timestamp, and counted
   * instead of written one by one (daemon/server/peer-refusals.ts). */
  transport?: 'unix' | 'tcp';
  count?: number;
  first_timestamp?: string;
  last_timestamp?: string;
}

export interface DecisionLog {
  /** Appends one line; never blocks the response on disk I/O. */
  write(entry: DecisionEntry): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Null while decisions are being recorded (and, with forwarding required, forwarded in time); otherwise why not.
   * Read on every credential request: a field read, never I/O. Absent means always recording (test doubles). */
  unavailable?(): string | null;
  /** For /v1/status (core/audit/trail.ts). */
  status?(): unknown;
}
