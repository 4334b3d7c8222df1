// What the daemon needs from credential vending (DESIGN §3.4 step 4, §4).
import type { STSClient } from '@aws-sdk/client-sts';
import type { MfaSessions } from '../breakglass/mfa.js';

/** The credentials that call STS: a profile's source, as the front end resolved them. */
export interface BaseCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** STS clients bound to a set of base credentials (SDK v3 binds credentials to a client); the front end owns the
 * transport (keep-alive agents, timeouts). */
export interface StsClients {
  client(region: string, credentials: BaseCredentials): Promise<STSClient>;
  close(): void;
}

/** A profile from the user's AWS shared config, as far as Sentinel cares. */
export interface ProfileInfo {
  name: string;
  region?: string;
  roleArn?: string;
  sourceProfile?: string;
  externalId?: string;
  /** true when there is a role_arn to assume with a SourceIdentity. */
  stampable: boolean;
}

/** The principal behind a profile's base credentials (the one that will call AssumeRole). */
export interface CallerIdentity {
  arn: string;
  account: string;
  type: 'user' | 'root' | 'assumed-role' | 'federated-user';
  rawName: string;
  policyName: string;
}

export interface IssuedCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: Date;
  AccountId?: string;
}

export type Marker = 'direct' | 'approved' | 'breakglass';

export interface VendRequest {
  /** The session (16 lowercase hex): the cache key, and the last part of the SourceIdentity (DESIGN §4). */
  sessionId: string;
  /** The decision asking (16 lowercase hex); an AssumeRole it causes carries it in RoleSessionName. */
  requestId: string;
  profile: string;
  user: string; // policy user name, for SourceIdentity and RoleSessionName
  marker: Marker;
  durationSeconds: number; // already capped by policy; >= 900
  /** Made under a break-glass event whose MFA AWS verified (DESIGN §11): AssumeRole must be made with this front
   * end's MFA session, never with the plain base credentials, and asks at most an hour (role chaining). */
  mfa?: boolean;
}

export interface Vended {
  credentials: IssuedCredentials;
  /** null when served unstamped (credentials.allow_unstamped and a profile without role_arn). */
  sourceIdentity: string | null;
  roleArn: string | null;
  /** The request id in the RoleSessionName of the STS call that produced these (the decision that caused it). */
  issueRequestId: string;
  fromCache: boolean;
}

export interface Vendor {
  /** Profiles of the AWS config as the daemon reads it (for /v1/profiles, completions and `use`). */
  profiles(): Promise<ProfileInfo[]>;
  /** Throws SentinelError ProfileUnknown (with close matches in the message) when absent. */
  profile(name: string): Promise<ProfileInfo>;
  /** GetCallerIdentity on the base credentials of the profile's source; cached per base identity. Throws
   * BaseCredentialsUnavailable / StsUnavailable. */
  identify(profile: string): Promise<CallerIdentity>;
  /** Cached per session while more than 10 minutes remain; single flight per key; refresh jittered. Throws
   * NotStampable, BaseCredentialsUnavailable, StsUnavailable, ProfileUnknown. */
  credentials(request: VendRequest): Promise<Vended>;
  /** Drops a session's cached credentials (revoked, ended). */
  forget(sessionId: string): void;
  /** Break-glass MFA sessions verified by AWS, held by this process only (DESIGN §11); `credentials()` uses them for
   * requests made with `mfa`. */
  readonly mfa: MfaSessions;
  /** Re-reads the AWS config files (SIGHUP). */
  reload(): void;
  close(): void;
}
