// One decision-log line (DESIGN §7). Never a secret, token or key.
import type { ErrorCode } from '../errors.js';
import type { Mode } from '../types.js';

export interface DecisionEntry {
  timestamp: string; // RFC 3339 UTC
  event: 'session_open' | 'credentials' | 'credential_process';
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
