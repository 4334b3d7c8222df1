// The seam every credential server shares (DESIGN §3.5): what a front end (the local daemon, the Lambda vendor) hands
// to authorize(), and the narrow ports authorize() works through. Approvals and break-glass implement OverrideLookup;
// the Lambda vendor builds a Principal from API Gateway's verified caller. Keep these shapes stable: others code
// against them.
import type { DecisionEntry } from '../audit/types.js';
import type { CredentialIssuer } from '../issuer/issuer.js';
import type { IssuedCredentials, Marker } from '../issuer/types.js';
import type { Decision, PolicyProvider } from '../policy/types.js';
import type { Read, ReadSet } from '../records/read-set.js';
import type { DevicePosture, Mode, SessionStoreKind } from '../types.js';

/** Who is asking: the principal that will call AssumeRole (daemon: GetCallerIdentity on the profile's base
 * credentials; Lambda: the API's IAM caller). */
export interface Principal {
  arn: string;
  account: string;
  type: 'user' | 'root' | 'assumed-role' | 'federated-user';
  /** The name from the ARN, untruncated (approvers are matched on it, DESIGN §5.3). */
  rawName: string;
  /** The policy user name (DESIGN §5.3): what rules, SourceIdentity and the decision log name. */
  user: string;
}

/** Which kind of decision this is, as the decision log names it. */
export type DecisionEvent = DecisionEntry['event'];

export interface AuthorizeRequest {
  principal: Principal;
  profile: string;
  mode: Mode;
  /** The session the credentials are for (16 lowercase hex): the cache key and the SourceIdentity's last part. */
  sessionId: string;
  /** This decision (16 lowercase hex): its decision-log line, and the RoleSessionName of an AssumeRole it causes. */
  requestId: string;
  /** Device posture when the front end knows it; otherwise the posture port is asked. */
  device?: DevicePosture | null;
  /** What the front end read together with the session (the reads OverrideLookup.reads asked for): lookups take
   * their records from here instead of reading them again. */
  read?: ReadSet;
  /** Front-end facts for the decision log only. */
  context?: { event?: DecisionEvent; peer_pid?: number | null; peer_uid?: number | null };
}

export type OverrideKind = 'approved' | 'breakglass';

export interface Override {
  kind: OverrideKind;
  /** The approved request's or break-glass event's id (decision log: approved_request_id / break_glass_event_id). */
  id: string;
  /** Credentials never outlive this by more than 15 minutes (STS's minimum lifetime). */
  notAfter: Date;
  /** A break-glass event whose MFA AWS verified (`mfa_verified`): every AssumeRole under it is made with the front
   * end's MFA session and asks at most an hour (DESIGN §11); without that session the request is MfaRequired. */
  mfa?: boolean;
}

export interface OverrideLookup {
  /** Consulted only when the policy decision is `require_approval` (approvals) or `deny`/`require_approval`
   * (break-glass). Returns the override to apply, or null. Throws SentinelError (e.g. SessionStoreUnavailable):
   * the request is then refused with that error (fail closed). */
  find(request: AuthorizeRequest, decision: Decision, now: Date): Promise<Override | null>;
  /** The records find() would read for this principal and profile, when it knows them before the decision: the
   * front end reads them together with the session (one consistent BatchGetItem, DESIGN §3.4) and hands them back
   * in AuthorizeRequest.read. */
  reads?(principal: Principal, profile: string): Array<Read<any>>;
}

/** The policy as authorize() uses it: a pure, synchronous decision from the validated policy in force, and the
 * document behind it (for saying why a default deny decided). */
export type PolicyDecider = Pick<PolicyProvider, 'decide' | 'policyFor'>;

/** Where decisions are recorded (the decision log, DESIGN §7): one entry per decision, allowed or not. */
export interface DecisionSink {
  write(entry: DecisionEntry): void;
  /** Null while decisions are being recorded; otherwise why not (no credentials leave unrecorded, DESIGN §14). A
   * field read, never I/O. Absent means always recording. */
  unavailable?(): string | null;
}

/** Device posture of the caller's machine (DESIGN §18). With none, `device` conditions do not hold, and the decision
 * log says so. */
export interface PosturePort {
  posture(request: AuthorizeRequest): DevicePosture | null;
}

/** What a front end's configuration says about every request. */
export interface AuthorizeSettings {
  /** config credentials.duration: the lifetime asked of STS before any cap. */
  credentialDurationMs: number;
  /** Where sessions are kept; `require_server_session` needs one that is not memory. */
  sessionStore: SessionStoreKind;
  /** With sessionStore dynamodb: its table (sessions.table), which a require_server_session rule may name. */
  sessionTable?: string;
  /** Who decides: the user's daemon, or the server-side vendor (whose state `sentinel daemon status` cannot show and
   * whose policy no `daemon reload` reloads): what a refusal's hint may tell the user to run. Default the daemon. */
  server?: 'daemon' | 'vendor';
}

export interface Ports {
  policy: PolicyDecider;
  overrides: OverrideLookup;
  issuer: Pick<CredentialIssuer, 'issue'>;
  decisions: DecisionSink;
  clock: () => Date;
  posture?: PosturePort;
  settings: AuthorizeSettings;
}

export interface Authorized {
  /** Shared with every cache hit on the same credentials: never change it. */
  credentials: IssuedCredentials;
  /** null when served unstamped (credentials.allow_unstamped and a profile without role_arn). */
  sourceIdentity: string | null;
  roleArn: string | null;
  marker: Marker;
  override: Override | null;
  decision: Decision;
  /** The lifetime asked of STS (after every cap, within STS's bounds). */
  durationSeconds: number;
  /** true when the credentials came from the issuer's cache (nothing new to record on the session). */
  fromCache: boolean;
}
