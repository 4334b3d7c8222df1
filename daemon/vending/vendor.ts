// Credential vending for the local daemon (DESIGN §3.4 step 4, §4), composed in one place: the AWS config as the CLI
// reads it, the base credentials of a profile's source, the caller's identity (the principal resolver), and the core
// credential issuer (stamped AssumeRole, cache, single flight) fed with what a profile means here.
import type { Config } from '../../core/config.js';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import { awsConfigFiles, createAwsConfig, type AwsProfile } from './aws-config.js';
import { baseSourceOf, createBaseCredentialResolver, type BaseSource } from './base-credentials.js';
import { createIdentifier } from './identify.js';
import { createMfaSessions } from './mfa-sessions.js';
import { createCredentialIssuer, type IssueTarget } from '../../core/issuer/issuer.js';
import { preloadVendingSdk } from '../../core/issuer/sdk.js';
import { createStsClients, type StsClientOptions } from '../../core/issuer/sts-clients.js';
import type { BaseCredentials, Vendor } from '../../core/issuer/types.js';

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
  /** How often a warm request looks at the AWS files (default AWS_CONFIG_CHECK_MS; tests: 0, every request). */
  awsConfigCheckMs?: number;
}

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
  const awsConfig = createAwsConfig(awsConfigFiles(env), log, {
    ...(deps.awsConfigCheckMs !== undefined ? { checkEveryMs: deps.awsConfigCheckMs } : {}),
  });
  const sts = createStsClients({ log, ...deps.sts });
  const bases = createBaseCredentialResolver({
    awsConfig,
    sts,
    env,
    log,
    now,
    region: config.region ?? DEFAULT_REGION,
  });
  const identifier = createIdentifier(sts, config.identity.trustedSessionRoles);
  const preload = deps.preloadSdk === false ? undefined : setTimeout(preloadVendingSdk, SDK_PRELOAD_DELAY_MS).unref();

  const regionOf = (p: AwsProfile) => p.info.region ?? config.region ?? DEFAULT_REGION;

  async function baseOf(p: AwsProfile): Promise<{ source: BaseSource; credentials: BaseCredentials }> {
    return { source: baseSourceOf(p), credentials: await bases.resolve(p) };
  }

  /** STS refused the base credentials: resolve them afresh next time (a new SSO token, a new aws-vault session). */
  function forgetRejectedBase(e: unknown, source: BaseSource): void {
    if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') bases.forget(source.key);
  }

  const mfa = createMfaSessions({
    awsConfig,
    baseOf: async (p) => (await baseOf(p)).credentials,
    regionOf,
    sts,
    log,
    now,
  });

  /** The role a profile's credentials are for: its role_arn, or null when (allow_unstamped) its own are served. */
  function roleOf(p: AwsProfile): string | null {
    if (!p.info.stampable && (!config.credentials.allowUnstamped || p.roleWithoutSource)) throw notStampable(p);
    return p.info.stampable ? p.info.roleArn! : null;
  }

  /** What a profile of the AWS config means to the issuer: a role to stamp, or (allow_unstamped) its own keys. */
  async function target(name: string): Promise<IssueTarget> {
    const p = await awsConfig.profile(name);
    const roleArn = roleOf(p);
    const source = baseSourceOf(p);
    return {
      profile: p.info.name,
      region: regionOf(p),
      roleArn,
      ...(p.info.stampable && p.info.externalId !== undefined ? { externalId: p.info.externalId } : {}),
      base: async () => (await baseOf(p)).credentials,
      rejected: () => bases.forget(source.key),
      mfaSession: async () => mfa.credentials(p.info.name, new Date(now())),
      mfaRejected: () => mfa.forget(p.info.name),
    };
  }

  /** The role a profile names as the AWS config reads now (DESIGN §3.4 step 4). A warm request reads nothing and stats
   * the two files at most once a second (awsConfig.unchanged); when either changed, the profile is looked up again
   * (read, trust-checked) before the cache is consulted. So an edited role_arn is assumed within a second instead of
   * the old role's cached credentials being served until their refresh; a profile gone from the files, a file others
   * can now write or one that cannot be read refuses requests with its own code, whatever is cached. */
  function roleInForce(name: string): string | null | Promise<string | null> {
    const p = awsConfig.unchanged(name);
    return p !== undefined ? roleOf(p) : awsConfig.profile(name).then(roleOf);
  }

  const issuer = createCredentialIssuer({ target, roleInForce, sts, log, now, random: deps.random ?? Math.random });

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
    credentials: (request) => issuer.issue(request),
    mfa,
    forget(sessionId) {
      issuer.forget(sessionId);
    },
    reload() {
      awsConfig.reload();
      bases.clear();
    },
    close() {
      if (preload) clearTimeout(preload);
      issuer.clear();
      mfa.clear();
      sts.close();
    },
  };
}
