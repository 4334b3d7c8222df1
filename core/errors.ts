// The one error catalogue (DESIGN §3.4). Every refusal Sentinel can produce is declared here once, with its HTTP
// status, its CLI exit code and the hint shown to the user. Routes and commands throw by code; they never invent a
// status, an exit code or a hint inline. This module must stay dependency-free: the light CLI path imports it.

export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  denied: 3,
  daemonNotRunning: 4,
} as const;

interface CatalogueEntry {
  status: number;
  exit: number;
  message: string;
  hint: string;
}

const catalogue = {
  PeerNotAllowed: {
    status: 403,
    exit: EXIT.error,
    message: 'the calling process does not belong to the user who runs this daemon',
    hint: 'Each user runs their own daemon; start yours with `sentinel daemon start`.',
  },
  TokenInvalid: {
    status: 403,
    exit: EXIT.error,
    message: 'missing or invalid session token',
    hint:
      'Open a session with `sentinel use <profile>` or `sentinel exec <profile> -- <cmd>` ' +
      '(a restarted daemon knows no token from before its start).',
  },
  SessionUnknown: {
    status: 403,
    exit: EXIT.error,
    message: 'no such session',
    hint: 'List sessions with `sentinel server sessions`; open a new one with `sentinel use <profile>`.',
  },
  SessionRevoked: {
    status: 403,
    exit: EXIT.error,
    message: 'this session was revoked',
    hint: 'Ask the person who revoked it why (`sentinel server session <id>`), then open a new session.',
  },
  SessionExpired: {
    status: 403,
    exit: EXIT.error,
    message: 'this session has expired',
    hint: 'Open a new session with `sentinel use <profile>`.',
  },
  SessionEnded: {
    status: 403,
    exit: EXIT.error,
    message: 'this session has ended',
    hint: 'Open a new session with `sentinel use <profile>`.',
  },
  PolicyDenied: {
    status: 403,
    exit: EXIT.denied,
    message: 'denied by policy',
    hint: 'See which rule decided with `sentinel policy test <policy> --profile <p> --user <u>`.',
  },
  ApprovalRequired: {
    status: 403,
    exit: EXIT.denied,
    message: 'this access requires an approved request',
    hint: 'Request access with `sentinel request <profile> --reason "..."` and wait for an approver.',
  },
  NotApprover: {
    status: 403,
    exit: EXIT.denied,
    message: 'you may not decide this request',
    hint: 'Only an approver listed in the approvals entry for the profile may decide, and never for their own request; `sentinel policy test` shows who may approve.',
  },
  ServerModeRequired: {
    status: 403,
    exit: EXIT.denied,
    message: 'policy allows this profile only through a daemon session',
    hint: 'Use `sentinel use <profile>` or `sentinel exec <profile> -- <cmd>` instead of raw credentials.',
  },
  ProfileUnknown: {
    status: 404,
    exit: EXIT.error,
    message: 'no such profile in the AWS config',
    hint: 'List profiles with `aws configure list-profiles`; Sentinel reads the same ~/.aws/config.',
  },
  NotStampable: {
    status: 403,
    exit: EXIT.error,
    message: 'this profile has no role_arn, so its credentials cannot be stamped with a SourceIdentity',
    hint: 'Use a profile with role_arn, or set credentials.allow_unstamped: true in config.yaml to serve it unstamped.',
  },
  RateLimited: {
    status: 429,
    exit: EXIT.error,
    message: 'too many failed attempts; slow down',
    hint: 'Wait for the Retry-After interval, then try again with a valid token.',
  },
  BadRequest: {
    status: 400,
    exit: EXIT.usage,
    message: 'malformed request',
    hint: "Check the command's --help (or, for the HTTP API, docs/daemon.md).",
  },
  NotFound: {
    status: 404,
    exit: EXIT.error,
    message: 'no such endpoint',
    hint: 'See docs/daemon.md for the endpoints this daemon serves.',
  },
  PayloadTooLarge: {
    status: 413,
    exit: EXIT.usage,
    message: 'request too large',
    hint: 'Requests to the daemon are small JSON documents; check what is being sent.',
  },
  SessionNotActive: {
    status: 409,
    exit: EXIT.error,
    message: 'the session is not active',
    hint: 'Only active sessions can be revoked or ended; `sentinel server session <id>` shows its state.',
  },
  Conflict: {
    status: 409,
    exit: EXIT.error,
    message: 'the record changed while it was being updated',
    hint: 'Another writer changed it first; run the command again to act on the current state.',
  },
  SessionStoreUnavailable: {
    status: 503,
    exit: EXIT.error,
    message: 'the session store cannot be reached, so revocation cannot be checked',
    hint: "Check network access to DynamoDB and the daemon's AWS profile; credentials are refused until it answers.",
  },
  StsUnavailable: {
    status: 502,
    exit: EXIT.error,
    message: 'AWS STS did not issue credentials',
    hint: 'Check network access to STS and that the role trusts your base identity with sts:SetSourceIdentity; try again shortly.',
  },
  BaseCredentialsUnavailable: {
    status: 502,
    exit: EXIT.error,
    message: 'the base credentials for this profile could not be resolved',
    hint: 'Check that `aws sts get-caller-identity --profile <source profile>` works (SSO login, aws-vault, keys).',
  },
  PolicyUnavailable: {
    status: 503,
    exit: EXIT.error,
    message: 'no valid policy is loaded, so every request is denied',
    hint: 'Fix the policy (`sentinel policy validate <file>`), then `sentinel daemon reload`.',
  },
  MfaRequired: {
    status: 403,
    exit: EXIT.denied,
    message: 'this needs a one-time MFA code verified by AWS',
    hint: 'Run it again on a terminal (Sentinel asks for the code) or pass --mfa-code with the current code from your MFA device.',
  },
  MfaInvalid: {
    status: 403,
    exit: EXIT.error,
    message: 'AWS refused the MFA code',
    hint: 'Wait for the next code on your MFA device and try again; codes are single-use and valid for 30 seconds.',
  },
  BreakGlassRefused: {
    status: 403,
    exit: EXIT.denied,
    message: 'break-glass is not allowed here',
    hint: '`sentinel policy test <policy file> --profile <profile> --user <user> --session-store dynamodb` shows whether and how you may break glass (`sentinel whoami` shows your user); docs/breakglass.md explains the checks.',
  },
  VendorUnavailable: {
    status: 502,
    exit: EXIT.error,
    message: 'the Sentinel vendor did not answer',
    hint: 'Check vendor.url in config.yaml and your network; in vendor mode no credentials are issued without it.',
  },
  AuditUnavailable: {
    status: 503,
    exit: EXIT.error,
    message: 'decisions cannot be recorded, so credentials are refused',
    hint: '`sentinel daemon status` says what is wrong: the decision log (its file, directory or disk) or, with audit.cloudwatch.required, forwarding to CloudWatch Logs. Credentials are served again once decisions are recorded (and forwarded) again.',
  },
  PolicyInvalid: {
    status: 400,
    exit: EXIT.error,
    message: 'the policy is not valid',
    hint: 'Run `sentinel policy validate <file>` for the line and column of each problem.',
  },
  PolicyTooLarge: {
    status: 413,
    exit: EXIT.error,
    message: 'the policy is too large for an SSM parameter',
    hint: 'SSM holds at most 8,192 bytes (Advanced tier): remove comments, merge rules, or keep one policy per profile.',
  },
  SignatureInvalid: {
    status: 403,
    exit: EXIT.error,
    message: 'the policy signature is not valid',
    hint: 'Sign the policy again with `sentinel policy sign` (or `policy push --sign`) using the configured key.',
  },
  PermissionsMissing: {
    status: 403,
    exit: EXIT.error,
    message: 'the caller lacks permissions Sentinel needs',
    hint: 'Attach the statements `sentinel permissions --role <role>` prints to the caller, then check again.',
  },
  AwsCallFailed: {
    status: 502,
    exit: EXIT.error,
    message: 'an AWS call failed',
    hint: 'Check --profile/--region, your permissions (`sentinel permissions check`) and network access to AWS.',
  },
  ConfigInvalid: {
    status: 500,
    exit: EXIT.error,
    message: 'the configuration is not valid',
    hint: 'Fix config.yaml (see docs/daemon.md, "Configuration").',
  },
  DaemonNotRunning: {
    status: 503,
    exit: EXIT.daemonNotRunning,
    message: 'the Sentinel daemon is not running',
    hint: 'Start it with `sentinel daemon start` (or `sentinel service install` to run it at login).',
  },
  DaemonAlreadyRunning: {
    status: 409,
    exit: EXIT.error,
    message: 'a Sentinel daemon is already running for this runtime directory',
    hint: 'Check it with `sentinel daemon status`; stop it with `sentinel daemon stop`.',
  },
  UnsafePath: {
    status: 500,
    exit: EXIT.error,
    message: 'a runtime path is owned by another user or is accessible to others',
    hint: 'Fix its owner and mode (0700 for directories, 0600 for the socket), or move it away if nothing needs it, then start again.',
  },
  NativeAddonMissing: {
    status: 500,
    exit: EXIT.error,
    message: "Sentinel's native addon is not built or does not load",
    hint:
      'Build it as the message says (`npm rebuild` in the package directory; node-gyp needs make, a C++ compiler and Python 3). ' +
      'Without it the daemon does not start and commands send nothing to its socket: only the addon can tell whose process listens there.',
  },
  Unsupported: {
    status: 501,
    exit: EXIT.error,
    message: 'not supported on this platform',
    hint: 'Sentinel supports Linux and macOS.',
  },
  RoleUnknown: {
    status: 404,
    exit: EXIT.error,
    message: 'no such IAM role',
    hint: 'Check the role name or ARN (`aws iam get-role --role-name <name>`) and the account your profile points at.',
  },
  AwsAccessDenied: {
    status: 403,
    exit: EXIT.error,
    message: 'AWS refused the call: the credentials lack a permission',
    hint: 'docs/enforcement.md lists the IAM permissions each enforce and audit command needs.',
  },
  IamUnavailable: {
    status: 502,
    exit: EXIT.error,
    message: 'AWS IAM did not answer',
    hint: 'Check network access to IAM and your credentials (`aws sts get-caller-identity`), then try again.',
  },
  InlinePolicyBudgetExceeded: {
    status: 409,
    exit: EXIT.error,
    message: "the role's inline policies would exceed IAM's 10,240-character budget",
    hint: 'Remove inline policies the role no longer needs, or run `sentinel enforce prune` once revoked sessions lapse.',
  },
  AwsRevocationFailed: {
    status: 502,
    exit: EXIT.error,
    message: 'the session is revoked in the store, but the AWS-side revocation was not written',
    hint: 'Credentials already issued keep working in AWS until they expire; fix the cause and run the revoke with --aws again.',
  },
  CloudTrailUnavailable: {
    status: 502,
    exit: EXIT.error,
    message: 'AWS CloudTrail did not answer',
    hint: 'Check network access to CloudTrail and the region; LookupEvents allows 2 requests per second per region.',
  },
  ServiceManagerFailed: {
    status: 503,
    exit: EXIT.error,
    message: 'the service manager (systemd or launchd) did not carry out a command',
    hint: 'Check `systemctl --user status sentinel` (Linux) or `launchctl print gui/$(id -u)/dev.sentinel.agent` (macOS).',
  },
  UsageError: {
    status: 400,
    exit: EXIT.usage,
    message: 'invalid usage',
    hint: 'Run the command with --help for its usage and examples.',
  },
  InternalError: {
    status: 500,
    exit: EXIT.error,
    message: 'internal error',
    hint: 'This is a bug; the daemon log (stderr / journalctl --user -u sentinel) has details.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof catalogue;

export const ERROR_CODES = Object.keys(catalogue) as ErrorCode[];

export function describe(code: ErrorCode): CatalogueEntry {
  return catalogue[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(catalogue, value);
}

export interface SentinelErrorOptions {
  hint?: string;
  /** Safe, structured facts for logs and JSON bodies (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Seconds, for RateLimited. */
  retryAfter?: number;
}

export class SentinelError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly exit: number;
  readonly hint: string;
  readonly details?: Record<string, unknown>;
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message?: string, options: SentinelErrorOptions = {}) {
    const entry = catalogue[code];
    super(message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SentinelError';
    this.code = code;
    this.status = entry.status;
    this.exit = entry.exit;
    this.hint = options.hint ?? entry.hint;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }

  /** The wire shape of DESIGN §3.2: both spellings, because SDKs read one or the other. */
  toBody(): ErrorBody {
    return {
      Code: this.code,
      Message: this.message,
      code: this.code,
      message: this.message,
      hint: this.hint,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export interface ErrorBody {
  Code: ErrorCode;
  Message: string;
  code: ErrorCode;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

export function isSentinelError(e: unknown): e is SentinelError {
  return e instanceof SentinelError;
}

/** Rebuilds a SentinelError from a daemon's JSON error body (CLI side); anything unrecognised is InternalError. */
export function fromBody(body: unknown): SentinelError {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const code = b.Code ?? b.code;
    const message = b.Message ?? b.message;
    if (isErrorCode(code)) {
      return new SentinelError(code, typeof message === 'string' ? message : undefined, {
        hint: typeof b.hint === 'string' ? b.hint : undefined,
        details: b.details && typeof b.details === 'object' ? (b.details as Record<string, unknown>) : undefined,
      });
    }
  }
  return new SentinelError('InternalError', 'the daemon sent an unrecognised error');
}
