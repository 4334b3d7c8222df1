// The credential issuer (DESIGN §3.4 step 4, §4): SourceIdentity-stamped AssumeRole, or the unstamped path a config
// allows, behind the per-session cache with single flight. What a profile means (its role, region, base credentials)
// is the front end's business and arrives through `target`: the daemon reads the AWS shared config, a Lambda would
// read the policy document's profiles. Nothing here knows about HTTP, sessions or policy: the caller has decided.
import { SentinelError } from '../errors.js';
import { buildSourceIdentity, isRequestId, MARKERS, roleSessionName } from '../identity/source-identity.js';
import type { OpLogger } from '../log.js';
import { isHex16 } from '../text/hex-id.js';
import { assumeRole, getSessionToken } from './assume-role.js';
import { CredentialCache, type CacheParams, type Issued } from './credential-cache.js';
import { clampStsDuration, STS_CHAINED_MAX_SECONDS } from './sts-duration.js';
import type { BaseCredentials, IssuedCredentials, StsClients, Vended, VendRequest } from './types.js';

/** How credentials for one profile are made, as the front end resolved it. */
export interface IssueTarget {
  profile: string;
  region: string;
  /** The role to assume with a SourceIdentity; null: serve the base credentials unstamped (the front end has
   * already refused this unless its configuration allows it). */
  roleArn: string | null;
  externalId?: string;
  /** The base credentials that call STS (resolved lazily: a cache hit never needs them). */
  base(): Promise<BaseCredentials>;
  /** STS refused the base credentials: resolve them afresh next time (a new SSO token, a new aws-vault session). */
  rejected(): void;
  /** The MFA session this front end holds for the profile (DESIGN §11), for requests made under a break-glass event
   * whose MFA AWS verified. Absent (a front end that keeps none), or throwing MfaRequired when none is held: such a
   * request is refused, never served with the plain base credentials. */
  mfaSession?(): Promise<BaseCredentials>;
  /** STS refused the MFA session (expired, revoked): drop it, so `holds` answers false from now on. */
  mfaRejected?(): void;
}

export interface CredentialIssuer {
  /** Cached per session while more than 10 minutes remain; single flight per session; refresh jittered. Throws
   * BadRequest for a malformed request, and what `target` or STS throw (NotStampable, BaseCredentialsUnavailable,
   * StsUnavailable, ProfileUnknown). */
  issue(request: VendRequest): Promise<Vended>;
  /** Drops a session's cached credentials (revoked, ended). */
  forget(sessionId: string): void;
  /** Drops everything cached. */
  clear(): void;
}

export interface CredentialIssuerDeps {
  target(profile: string): Promise<IssueTarget>;
  /**
   * The role the profile names now (null: its own credentials are served unstamped), asked on every request before the
   * cache, so it must be cheap when nothing changed; a promise when the front end has to look the profile up again.
   * Credentials cached for another role are never served, not even when a refresh fails: the next ones come from
   * `target`. Throws (or rejects) when the profile cannot be served now (ProfileUnknown, NotStampable, a config that
   * cannot be trusted or read): the request is refused, whatever is cached. Absent: the cache alone decides.
   */
  roleInForce?(profile: string): string | null | Promise<string | null>;
  sts: StsClients;
  log: OpLogger;
  now: () => number;
  random: () => number;
}

function badRequest(what: string): SentinelError {
  return new SentinelError('BadRequest', `invalid credential request: ${what}`);
}

/** The request's parts, checked; DurationSeconds floored to an integer within STS's bounds. */
export function cacheParams(request: VendRequest): CacheParams {
  if (!request || typeof request !== 'object') throw badRequest('not an object');
  if (!isHex16(request.sessionId)) throw badRequest('session id');
  if (!isRequestId(request.requestId)) throw badRequest('request id');
  if (typeof request.profile !== 'string') throw badRequest('profile');
  if (typeof request.user !== 'string' || !/[A-Za-z0-9]/.test(request.user)) throw badRequest('user');
  if (!MARKERS.includes(request.marker)) throw badRequest('marker');
  if (typeof request.durationSeconds !== 'number' || !Number.isFinite(request.durationSeconds))
    throw badRequest('duration');
  if (request.mfa !== undefined && typeof request.mfa !== 'boolean') throw badRequest('mfa');
  const mfa = request.mfa === true;
  const clamped = clampStsDuration(request.durationSeconds);
  const durationSeconds = mfa ? Math.min(clamped, STS_CHAINED_MAX_SECONDS) : clamped;
  return { profile: request.profile, user: request.user, marker: request.marker, durationSeconds, mfa };
}

export function createCredentialIssuer(deps: CredentialIssuerDeps): CredentialIssuer {
  const { log, now, sts } = deps;
  const cache = new CredentialCache({ now, random: deps.random, log });

  async function stamped(t: IssueTarget, roleArn: string, params: CacheParams, cause: VendRequest): Promise<Issued> {
    const base = params.mfa ? await mfaSessionOf(t) : await t.base();
    const sourceIdentity = buildSourceIdentity(params.user, params.marker, cause.sessionId);
    try {
      const credentials = await assumeRole(
        sts,
        base,
        {
          profile: t.profile,
          region: t.region,
          roleArn,
          roleSessionName: roleSessionName(params.user, cause.requestId),
          sourceIdentity,
          durationSeconds: params.durationSeconds,
          ...(t.externalId !== undefined ? { externalId: t.externalId } : {}),
        },
        now,
      );
      log.info(
        {
          profile: t.profile,
          role_arn: roleArn,
          source_identity: sourceIdentity,
          expires_at: credentials.Expiration.toISOString(),
          ...(params.mfa ? { mfa: true } : {}),
        },
        'credentials issued',
      );
      return { credentials, sourceIdentity, roleArn, issueRequestId: cause.requestId };
    } catch (e) {
      const failure = params.mfa ? mfaSessionRefused(e, t) : e;
      if (!params.mfa) forgetRejectedBase(e, t);
      log.warn(
        {
          profile: t.profile,
          role_arn: roleArn,
          code: (failure as SentinelError).code,
          details: (failure as SentinelError).details,
          ...(params.mfa ? { mfa: true } : {}),
        },
        'AssumeRole failed',
      );
      throw failure;
    }
  }

  /** The profile's own credentials, with a session token and an expiry SDKs accept. */
  async function unstamped(t: IssueTarget, params: CacheParams, cause: VendRequest): Promise<Issued> {
    // Serving the MFA session itself would hand a 12-hour credential to the client; there is no role to chain into.
    if (params.mfa) {
      throw new SentinelError(
        'NotStampable',
        `profile "${t.profile}" has no role_arn to assume with the MFA session that break-glass verified`,
        { hint: 'An `mfa: required` break-glass entry needs profiles with role_arn (DESIGN §11).' },
      );
    }
    const base = await t.base();
    let credentials: IssuedCredentials;
    if (base.sessionToken) {
      credentials = {
        AccessKeyId: base.accessKeyId,
        SecretAccessKey: base.secretAccessKey,
        Token: base.sessionToken,
        // Session credentials read from a file carry no expiry; announcing one makes SDKs come back for a fresh copy.
        Expiration: base.expiration ?? new Date(now() + params.durationSeconds * 1000),
      };
    } else {
      try {
        credentials = await getSessionToken(
          sts,
          base,
          { profile: t.profile, region: t.region, durationSeconds: params.durationSeconds },
          now,
        );
      } catch (e) {
        forgetRejectedBase(e, t);
        throw e;
      }
    }
    log.info(
      { profile: t.profile, expires_at: credentials.Expiration.toISOString() },
      'unstamped credentials served (credentials.allow_unstamped)',
    );
    return { credentials, sourceIdentity: null, roleArn: null, issueRequestId: cause.requestId };
  }

  async function issueNow(params: CacheParams, cause: VendRequest): Promise<Issued> {
    const t = await deps.target(params.profile);
    return t.roleArn !== null ? stamped(t, t.roleArn, params, cause) : unstamped(t, params, cause);
  }

  return {
    // Not async: a cache hit is handed straight through (an async wrapper returning a promise costs extra ticks).
    issue(request) {
      let params: CacheParams;
      let role: string | null | Promise<string | null> | undefined;
      try {
        params = cacheParams(request);
        role = deps.roleInForce?.(params.profile);
      } catch (e) {
        return Promise.reject(e);
      }
      const issue = () => issueNow(params, request);
      if (role instanceof Promise) return role.then((r) => cache.get(request.sessionId, params, issue, r));
      return cache.get(request.sessionId, params, issue, role);
    },
    forget(sessionId) {
      cache.forget(sessionId);
    },
    clear() {
      cache.clear();
    },
  };
}

async function mfaSessionOf(t: IssueTarget): Promise<BaseCredentials> {
  if (!t.mfaSession) {
    throw new SentinelError('MfaRequired', `no MFA session is held here for profile "${t.profile}"`, {
      details: { profile: t.profile },
    });
  }
  return t.mfaSession();
}

/** A failed AssumeRole with the MFA session. Credentials STS no longer accepts mean the session is gone: MfaRequired
 * (the plain base credentials are never tried instead); anything else keeps its own code. */
function mfaSessionRefused(e: unknown, t: IssueTarget): unknown {
  if (!(e instanceof SentinelError) || e.code !== 'BaseCredentialsUnavailable') return e;
  t.mfaRejected?.();
  return new SentinelError('MfaRequired', `AWS no longer accepts the MFA session for profile "${t.profile}"`, {
    details: { profile: t.profile },
  });
}

function forgetRejectedBase(e: unknown, t: IssueTarget): void {
  if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') t.rejected();
}
