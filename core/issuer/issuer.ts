// The credential issuer (DESIGN §3.4 step 4, §4): SourceIdentity-stamped AssumeRole, or the unstamped path a config
// allows, behind the per-session cache with single flight. What a profile means (its role, region, base credentials)
// is the front end's business and arrives through `target`: the daemon reads the AWS shared config, a Lambda would
// read the policy document's profiles. Nothing here knows about HTTP, sessions or policy: the caller has decided.
import { SentinelError } from '../errors.js';
import { buildSourceIdentity, isRequestId, MARKERS, roleSessionName } from '../identity/source-identity.js';
import type { OpLogger } from '../log.js';
import { SESSION_ID } from '../sessions/types.js';
import { assumeRole, getSessionToken } from './assume-role.js';
import { CredentialCache, type CacheParams, type Issued } from './credential-cache.js';
import { clampStsDuration } from './sts-duration.js';
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
  if (typeof request.sessionId !== 'string' || !SESSION_ID.test(request.sessionId)) throw badRequest('session id');
  if (!isRequestId(request.requestId)) throw badRequest('request id');
  if (typeof request.profile !== 'string') throw badRequest('profile');
  if (typeof request.user !== 'string' || !/[A-Za-z0-9]/.test(request.user)) throw badRequest('user');
  if (!MARKERS.includes(request.marker)) throw badRequest('marker');
  if (typeof request.durationSeconds !== 'number' || !Number.isFinite(request.durationSeconds))
    throw badRequest('duration');
  const durationSeconds = clampStsDuration(request.durationSeconds);
  return { profile: request.profile, user: request.user, marker: request.marker, durationSeconds };
}

export function createCredentialIssuer(deps: CredentialIssuerDeps): CredentialIssuer {
  const { log, now, sts } = deps;
  const cache = new CredentialCache({ now, random: deps.random, log });

  async function stamped(t: IssueTarget, roleArn: string, params: CacheParams, cause: VendRequest): Promise<Issued> {
    const base = await t.base();
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
        },
        'credentials issued',
      );
      return { credentials, sourceIdentity, roleArn, issueRequestId: cause.requestId };
    } catch (e) {
      forgetRejectedBase(e, t);
      log.warn(
        {
          profile: t.profile,
          role_arn: roleArn,
          code: (e as SentinelError).code,
          details: (e as SentinelError).details,
        },
        'AssumeRole failed',
      );
      throw e;
    }
  }

  /** The profile's own credentials, with a session token and an expiry SDKs accept. */
  async function unstamped(t: IssueTarget, params: CacheParams, cause: VendRequest): Promise<Issued> {
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
      try {
        params = cacheParams(request);
      } catch (e) {
        return Promise.reject(e);
      }
      return cache.get(request.sessionId, params, () => issueNow(params, request));
    },
    forget(sessionId) {
      cache.forget(sessionId);
    },
    clear() {
      cache.clear();
    },
  };
}

function forgetRejectedBase(e: unknown, t: IssueTarget): void {
  if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') t.rejected();
}
