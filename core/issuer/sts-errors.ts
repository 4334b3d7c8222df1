// STS failures in Sentinel's vocabulary. The AWS error code (an identifier such as `Throttling`) may appear in a
// message and in details; AWS's own message text never does — it can quote ARNs, policies and request parameters.
import { SentinelError } from '../errors.js';

export type StsAction = 'AssumeRole' | 'GetCallerIdentity' | 'GetSessionToken';

export interface StsContext {
  action: StsAction;
  profile: string;
  roleArn?: string;
  /** GetSessionToken with an MFA code: AccessDenied is AWS refusing the code. */
  mfa?: boolean;
}

// The caller's own credentials were refused: resolving them again (a new SSO token, a fresh aws-vault session) helps.
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'AuthFailure',
]);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const SAFE_CODE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

export function awsErrorCode(e: unknown): string {
  const err = e as { name?: unknown; code?: unknown; Code?: unknown } | null;
  for (const candidate of [err?.code, err?.Code, err?.name]) {
    if (typeof candidate === 'string' && SAFE_CODE.test(candidate) && candidate !== 'Error') return candidate;
  }
  return 'unknown';
}

function httpStatus(e: unknown): number | undefined {
  const status = (e as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export const TRUST_POLICY_HINT =
  'The role must trust your base identity for both sts:AssumeRole and sts:SetSourceIdentity, with the condition ' +
  'StringLike sts:SourceIdentity "sentinel-*" (see docs/credentials.md); `sentinel whoami --profile <source>` shows that identity.';

/** Maps any failure of an STS call to BaseCredentialsUnavailable or StsUnavailable, with a message safe to show. */
export function stsFailure(e: unknown, ctx: StsContext): SentinelError {
  if (e instanceof SentinelError) return e;
  const code = awsErrorCode(e);
  const status = httpStatus(e);
  const details = {
    profile: ctx.profile,
    aws_action: ctx.action,
    aws_error: code,
    ...(status !== undefined ? { http_status: status } : {}),
  };
  const on = ctx.roleArn ? ` on ${ctx.roleArn}` : '';
  // No `cause`: pino's error serializer would append the raw AWS message to the log line.
  const opts = (hint?: string) => ({ details, ...(hint ? { hint } : {}) });

  if (BAD_CREDENTIALS.has(code)) {
    return new SentinelError(
      'BaseCredentialsUnavailable',
      `STS rejected the base credentials of profile "${ctx.profile}" (${code})`,
      opts('Refresh the source credentials (`aws sso login`, a new aws-vault session, rotated keys), then try again.'),
    );
  }
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    if (ctx.mfa) {
      return new SentinelError('MfaInvalid', `AWS refused the MFA code for profile "${ctx.profile}"`, opts());
    }
    if (ctx.action === 'AssumeRole') {
      return new SentinelError(
        'StsUnavailable',
        `STS refused AssumeRole${on} for profile "${ctx.profile}" (AccessDenied)`,
        opts(TRUST_POLICY_HINT),
      );
    }
    return new SentinelError(
      'StsUnavailable',
      `STS refused ${ctx.action} for profile "${ctx.profile}" (AccessDenied)`,
      opts(),
    );
  }
  if (THROTTLED.has(code) || status === 429) {
    return new SentinelError(
      'StsUnavailable',
      `STS is throttling requests (${ctx.action} for profile "${ctx.profile}")`,
      opts('Wait a moment and try again.'),
    );
  }
  if (code === 'RegionDisabledException') {
    return new SentinelError(
      'StsUnavailable',
      `STS is not activated in the region of profile "${ctx.profile}" (RegionDisabledException)`,
      opts('Activate STS for the region in IAM account settings, or set another region for the profile.'),
    );
  }
  if (code === 'ValidationError') {
    return new SentinelError(
      'StsUnavailable',
      `STS refused ${ctx.action}${on} for profile "${ctx.profile}" as invalid (ValidationError)`,
      opts(
        "Usual causes: a credential duration above the role's MaxSessionDuration (1 hour when the source is itself a role session), or a malformed external_id.",
      ),
    );
  }
  if (
    NETWORK.has(code) ||
    code === 'TimeoutError' ||
    code === 'RequestTimeout' ||
    code === 'AbortError' ||
    status === undefined
  ) {
    return new SentinelError(
      'StsUnavailable',
      `STS could not be reached (${ctx.action} for profile "${ctx.profile}")`,
      opts(),
    );
  }
  return new SentinelError(
    'StsUnavailable',
    `STS did not answer ${ctx.action}${on} for profile "${ctx.profile}" (${code})`,
    opts(),
  );
}
