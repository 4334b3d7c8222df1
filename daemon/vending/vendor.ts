// Credential vending (DESIGN §3.4 step 4, §4), composed in one place: the AWS config as the CLI reads it, the base
// credentials of a profile's source, the caller's identity, and SourceIdentity-stamped AssumeRole behind a per-session
// cache with single flight. Nothing here knows about HTTP, sessions or policy: the caller has decided already.
import type { Config } from '../../core/config.js';
import { SentinelError } from '../../core/errors.js';
import { buildSourceIdentity, isRequestId, MARKERS, roleSessionName } from '../../core/identity/source-identity.js';
import { SESSION_ID } from '../../core/sessions/types.js';
import type { OpLogger } from '../../core/log.js';
import { assumeRole, getSessionToken } from './assume-role.js';
import { awsConfigFiles, createAwsConfig, type AwsProfile } from './aws-config.js';
import {
  baseSourceOf,
  createBaseCredentialResolver,
  type BaseCredentials,
  type BaseSource,
} from './base-credentials.js';
import { CredentialCache, type CacheParams, type Issued } from '../../core/issuer/credential-cache.js';
import { createIdentifier } from './identify.js';
import { preloadVendingSdk } from '../../core/issuer/sdk.js';
import { createStsClients, type StsClientOptions } from './sts-client.js';
import type { IssuedCredentials, Vendor, VendRequest } from '../../core/issuer/types.js';

/** STS's bounds for AssumeRole DurationSeconds. Below 900 STS refuses; the caller's cap is raised to it. */
export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;
const DEFAULT_REGION = 'us-east-1';
/** The AWS SDK is imported this long after the vendor is made (the daemon has normally sent READY=1 by then), unless
 * a request needs it sooner; start-up does not wait for it and the first session open mostly does not either. */
export const SDK_PRELOAD_DELAY_MS = 1000;

export interface VendorDeps {
  log: OpLogger;
  /** Where the AWS config files are found (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, HOME) and the source of
   * `credential_source = Environment`. The SDK's clients read endpoint settings from process.env themselves. */
  env?: NodeJS.ProcessEnv;
  /** Clock and randomness for the cache (tests). */
  now?: () => number;
  random?: () => number;
  sts?: StsClientOptions;
  /** Import the AWS SDK in the background after SDK_PRELOAD_DELAY_MS (default true). */
  preloadSdk?: boolean;
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
  const durationSeconds = Math.min(
    MAX_DURATION_SECONDS,
    Math.max(MIN_DURATION_SECONDS, Math.floor(request.durationSeconds)),
  );
  return { profile: request.profile, user: request.user, marker: request.marker, durationSeconds };
}

/** Which session an AssumeRole is for (its SourceIdentity) and which decision caused it (its RoleSessionName). */
type IssueCause = Pick<VendRequest, 'sessionId' | 'requestId'>;

function notStampable(p: AwsProfile): SentinelError {
  const name = p.info.name;
  if (p.settings.has('web_identity_token_file')) {
    return new SentinelError(
      'NotStampable',
      `profile "${name}" assumes its role with a web identity token, which Sentinel cannot stamp with a SourceIdentity`,
    );
  }
  if (p.info.sourceProfile !== undefined && p.credentialSource !== undefined) {
    return new SentinelError(
      'NotStampable',
      `profile "${name}" sets both source_profile and credential_source; the AWS CLI refuses that too`,
      {
        hint: 'Keep one of them in ~/.aws/config.',
      },
    );
  }
  if (p.roleWithoutSource) {
    return new SentinelError(
      'NotStampable',
      `profile "${name}" has role_arn but no source_profile or credential_source to assume it from`,
      {
        hint: 'Add source_profile = <profile with the base credentials> to the profile in ~/.aws/config.',
      },
    );
  }
  return new SentinelError(
    'NotStampable',
    `profile "${name}" has no role_arn, so its credentials cannot be stamped with a SourceIdentity`,
  );
}

export function createVendor(config: Config, deps: VendorDeps): Vendor {
  const { log } = deps;
  const env = deps.env ?? process.env;
  const now = deps.now ?? Date.now;
  const files = awsConfigFiles(env);
  const awsConfig = createAwsConfig(files, log);
  const sts = createStsClients(deps.sts);
  const bases = createBaseCredentialResolver({ files, env, log, now, region: config.region ?? DEFAULT_REGION });
  const identifier = createIdentifier(sts);
  const cache = new CredentialCache({ now, random: deps.random ?? Math.random, log });
  const preload = deps.preloadSdk === false ? undefined : setTimeout(preloadVendingSdk, SDK_PRELOAD_DELAY_MS).unref();

  const regionOf = (p: AwsProfile) => p.info.region ?? config.region ?? DEFAULT_REGION;

  async function baseOf(p: AwsProfile): Promise<{ source: BaseSource; credentials: BaseCredentials }> {
    const source = baseSourceOf(p);
    let settings = p.settings;
    if (source.profile !== p.info.name) {
      try {
        settings = (await awsConfig.profile(source.profile)).settings;
      } catch (e) {
        if (!(e instanceof SentinelError) || (e.code !== 'ProfileUnknown' && e.code !== 'BadRequest')) throw e;
        throw new SentinelError(
          'BaseCredentialsUnavailable',
          e.code === 'ProfileUnknown'
            ? `profile "${p.info.name}" names source_profile "${source.profile}", which is not in the AWS config`
            : `profile "${p.info.name}" names a source_profile whose name Sentinel does not accept`,
          {
            hint: 'Fix source_profile in ~/.aws/config (`aws configure list-profiles` lists the names).',
            details: { profile: p.info.name },
          },
        );
      }
    }
    return { source, credentials: await bases.resolve(source, settings) };
  }

  /** STS refused the base credentials: resolve them afresh next time (a new SSO token, a new aws-vault session). */
  function forgetRejectedBase(e: unknown, source: BaseSource): void {
    if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') bases.forget(source.key);
  }

  async function issueStamped(p: AwsProfile, params: CacheParams, cause: IssueCause): Promise<Issued> {
    const { source, credentials: base } = await baseOf(p);
    const { sessionId, requestId } = cause;
    const sourceIdentity = buildSourceIdentity(params.user, params.marker, sessionId);
    const roleArn = p.info.roleArn!;
    try {
      const credentials = await assumeRole(
        sts,
        base,
        {
          profile: p.info.name,
          region: regionOf(p),
          roleArn,
          roleSessionName: roleSessionName(params.user, requestId),
          sourceIdentity,
          durationSeconds: params.durationSeconds,
          ...(p.info.externalId !== undefined ? { externalId: p.info.externalId } : {}),
        },
        now,
      );
      log.info(
        {
          profile: p.info.name,
          role_arn: roleArn,
          source_identity: sourceIdentity,
          expires_at: credentials.Expiration.toISOString(),
        },
        'credentials issued',
      );
      return { credentials, sourceIdentity, roleArn, issueRequestId: requestId };
    } catch (e) {
      forgetRejectedBase(e, source);
      log.warn(
        {
          profile: p.info.name,
          role_arn: roleArn,
          code: (e as SentinelError).code,
          details: (e as SentinelError).details,
        },
        'AssumeRole failed',
      );
      throw e;
    }
  }

  /** credentials.allow_unstamped: the profile's own credentials, with a session token and an expiry SDKs accept. */
  async function issueUnstamped(p: AwsProfile, params: CacheParams, cause: IssueCause): Promise<Issued> {
    const { source, credentials: base } = await baseOf(p);
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
          { profile: p.info.name, region: regionOf(p), durationSeconds: params.durationSeconds },
          now,
        );
      } catch (e) {
        forgetRejectedBase(e, source);
        throw e;
      }
    }
    log.info(
      { profile: p.info.name, expires_at: credentials.Expiration.toISOString() },
      'unstamped credentials served (credentials.allow_unstamped)',
    );
    return { credentials, sourceIdentity: null, roleArn: null, issueRequestId: cause.requestId };
  }

  async function issue(params: CacheParams, cause: IssueCause): Promise<Issued> {
    const p = await awsConfig.profile(params.profile);
    if (p.info.stampable) return issueStamped(p, params, cause);
    if (!config.credentials.allowUnstamped || p.roleWithoutSource) throw notStampable(p);
    return issueUnstamped(p, params, cause);
  }

  return {
    profiles: () => awsConfig.profiles(),
    async profile(name) {
      return { ...(await awsConfig.profile(name)).info };
    },
    async identify(name) {
      const p = await awsConfig.profile(name);
      const { source, credentials } = await baseOf(p);
      try {
        return await identifier.identify(credentials, { profile: name, region: regionOf(p) });
      } catch (e) {
        forgetRejectedBase(e, source);
        throw e;
      }
    },
    // Not async: a cache hit is handed straight through (an async wrapper returning a promise costs extra ticks).
    credentials(request) {
      let params: CacheParams;
      try {
        params = cacheParams(request);
      } catch (e) {
        return Promise.reject(e);
      }
      return cache.get(request.sessionId, params, () => issue(params, request));
    },
    forget(sessionId) {
      cache.forget(sessionId);
    },
    reload() {
      awsConfig.reload();
      bases.clear();
    },
    close() {
      if (preload) clearTimeout(preload);
      cache.clear();
      sts.close();
    },
  };
}
