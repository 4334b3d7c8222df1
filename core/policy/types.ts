// What the rest of the daemon sees of the policy engine (DESIGN §5). Decisions are pure and synchronous: loading,
// SSM and KMS never run per request.
import type { DevicePosture, Mode, SessionStoreKind } from '../types.js';
import type { Policy } from './schema.js';

export type Effect = 'allow' | 'deny' | 'require_approval' | 'require_server' | 'require_server_session';
export const EFFECTS: readonly Effect[] = [
  'allow',
  'deny',
  'require_approval',
  'require_server',
  'require_server_session',
];

export interface DecisionRequest {
  user: string; // policy user name (DESIGN §5.3)
  profile: string;
  time: Date;
  mode: Mode;
  device?: DevicePosture;
  sessionStore: SessionStoreKind;
  /** The DynamoDB table sessions are kept in (sessions.table), with sessionStore dynamodb: a require_server_session rule
   * that names its session_table allows only that table. */
  sessionTable?: string;
}

export type DenialCode = 'PolicyDenied' | 'ApprovalRequired' | 'ServerModeRequired' | 'PolicyUnavailable';

/** Why a policy file was refused: a missing file is created, KMS is waited for, the rest is fixed in the file. */
export type PolicyFileRefusal =
  'unsafe' | 'missing' | 'unreadable' | 'invalid' | 'signing_key_unavailable' | 'signature';

export interface Decision {
  allowed: boolean;
  /** The deciding rule's effect, or `default_deny` when no rule matched (or no policy is loaded). */
  effect: Effect | 'default_deny';
  rule: string | null;
  ruleIndex: number; // -1 when no rule matched
  reason: string;
  /** Set when allowed is false: which catalogue error to answer with. */
  errorCode?: DenialCode;
  /** From the deciding rule's max_server_duration. */
  maxDurationMs?: number;
  sessionTable?: string;
  /** Rules that matched on everything but a `device` condition, passed over because no device posture was known. */
  skippedForPosture?: string[];
  /** With PolicyUnavailable from a policy file: why no policy is in force, for a hint that fits (authorize()). */
  unavailable?: PolicyFileRefusal;
  /** What would have to change for an allow (for messages and `policy test`). */
  requires?: { approval?: boolean; serverMode?: boolean; serverSessionStore?: boolean; sessionTable?: string };
  policySource: string; // e.g. `file:/home/a/.config/sentinel/policy.yaml` or `ssm:/sentinel/policies/prod`
  policyVersion: string | null; // sha256 prefix of the bytes (file) or the parameter version (ssm)
}

export interface PolicyStatus {
  /** `vendor`: a daemon that serves through the server-side vendor, where the policy is (DESIGN §17). */
  source: 'file' | 'ssm' | 'vendor';
  location: string;
  version: string | null;
  loadedAt: string | null; // RFC 3339
  rules: number;
  /** The last load problem; the last good policy (if any) stays in force. */
  lastError: string | null;
  /** Non-fatal lint findings of the policy in force. */
  warnings: string[];
}

export interface PolicyProvider {
  /** Initial load (a failure leaves the provider denying everything, with lastError set), then watchers/timers. */
  start(): Promise<void>;
  /** Pure and synchronous. With no good policy loaded: allowed false, errorCode PolicyUnavailable. */
  decide(request: DecisionRequest): Decision;
  /** The validated document in force for a profile (its approvals and notifications sections), or null. */
  policyFor?(profile: string): Policy | null;
  /** Every validated document in force (one for a file source, one per profile for SSM): the vendor lists the
   * profiles they define (DESIGN §17). */
  documents?(): Policy[];
  /** Loads now; never throws for a bad policy (keeps the last good one and records lastError). */
  reload(): Promise<PolicyStatus>;
  status(): PolicyStatus;
  close(): Promise<void>;
}
