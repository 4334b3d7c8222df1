// The base credentials of a profile: what the principal that calls AssumeRole signs with. They are resolved as the AWS
// CLI resolves the profile's source, and Sentinel walks the source_profile chain itself: each role on the way is
// assumed here, a credential_process anywhere in it is run here (`credential_process = aws-vault export --format=json
// <profile>` is how aws-vault plugs in), and the SDK's `fromIni` is asked only for the one profile that ends the chain
// when that is SSO or web identity — never for a chain, whose credential_process the SDK would run without a timeout or
// a kill. Results are cached per profile of the chain until shortly before they expire, one resolution at a time each.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { STS_BUDGET_MS, boundedRequestHandler } from '../../core/aws-http.js';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import type { Env } from '../../core/paths.js';
import { describeCause } from '../../core/audit/redact.js';
import { assertTrustedDirectory, statIfPresent } from '../../core/path-trust.js';
import { awsHome, type AwsConfig, type AwsProfile } from './aws-config.js';
import { assumeSourceRole } from '../../core/issuer/assume-role.js';
import { loadCredentialProviders } from '../../core/issuer/sdk.js';
import { SingleFlight } from '../../core/issuer/single-flight.js';
import type { BaseCredentials, StsClients } from '../../core/issuer/types.js';
import { waitingFor } from '../../core/upstream-waits.js';

export type { BaseCredentials };

/** Where a profile's base credentials come from. `key` identifies the source for caching. */
export interface BaseSource {
  key: string;
  /** The profile whose settings yield the credentials (the source profile, or the profile itself). */
  profile: string;
  kind: 'profile' | 'own-keys' | 'credential_source';
  credentialSource?: string;
}

/** Base credentials are reused until this long before they expire (the SDKs' own refresh window). */
const EXPIRY_MARGIN_MS = 5 * 60_000;
/** Credentials without an expiry (static keys) are re-read this often, so rotated keys are picked up. */
const STATIC_TTL_MS = 5 * 60_000;
/** A credential_process waiting for a prompt nobody will answer must not hold every waiter forever. */
const RESOLVE_TIMEOUT_MS = 30_000;
/** Profiles in one source_profile chain. The AWS CLI has no limit but cycles; real chains have two or three, and each
 * role costs an STS call of up to STS_BUDGET_MS inside the one resolve bound, so a longer one cannot be meant. */
const MAX_CHAIN_PROFILES = 10;

export function baseSourceOf(p: AwsProfile): BaseSource {
  const name = p.info.name;
  const source = p.info.sourceProfile;
  if (p.info.roleArn !== undefined && source !== undefined) {
    // A role profile that names itself as source uses its own static keys (the AWS CLI's rule); resolving it as a
    // source would assume the role instead.
    if (source === name) return { key: `own:${name}`, profile: name, kind: 'own-keys' };
    return { key: `profile:${source}`, profile: source, kind: 'profile' };
  }
  if (p.info.roleArn !== undefined && p.credentialSource !== undefined) {
    return {
      key: `source:${p.credentialSource}`,
      profile: name,
      kind: 'credential_source',
      credentialSource: p.credentialSource,
    };
  }
  // Not a role profile: its own credentials are the base (served unstamped when the config allows it).
  return { key: `profile:${name}`, profile: name, kind: 'profile' };
}

export interface BaseCredentialResolver {
  /** The base credentials of `p`'s source (baseSourceOf). Throws BaseCredentialsUnavailable. */
  resolve(p: AwsProfile): Promise<BaseCredentials>;
  /** Drops cached credentials of a source (STS refused them). */
  forget(sourceKey: string): void;
  clear(): void;
}

export interface BaseCredentialDeps {
  /** Where source profiles are looked up (checked and re-read as for any lookup), and the files fromIni reads. */
  awsConfig: AwsConfig;
  /** For the AssumeRole of each role in a source_profile chain. */
  sts: StsClients;
  env: Env;
  log: OpLogger;
  now: () => number;
  /** Region of the STS calls of a chain's roles whose profile names none, and of the SDK's SSO and STS clients. */
  region: string;
  /** Per attempt of the calls of the clients fromIni makes itself (SSO, web identity; default STS_BUDGET_MS). */
  attemptMs?: number;
  /** How long one resolution may take (default RESOLVE_TIMEOUT_MS). */
  resolveTimeoutMs?: number;
}

/**
 * One profile of a source chain and how it yields credentials there: a role assumed with the credentials of the next
 * link, or the chain's end — static keys, a credential_process, a credential_source, or what only the SDK resolves
 * (SSO, web identity). `key` caches the link's credentials.
 */
interface Link {
  kind: 'role' | 'keys' | 'process' | 'credential_source' | 'sdk';
  key: string;
  profile: AwsProfile;
}

/**
 * How a profile yields credentials as the source of another, in the SDK's order: static keys win over a role there
 * (which is what lets a role profile be its own source), then a role with one source, a credential_source of its own,
 * web identity, credential_process; whatever is left (SSO) is the SDK's. A profile the chain hands to the SDK thus
 * never has a credential_process the SDK would run, nor a role whose source it would resolve.
 */
function linkOf(q: AwsProfile): Link {
  const s = q.settings;
  const link = (kind: Link['kind']): Link => ({ kind, key: `profile:${q.info.name}`, profile: q });
  if (s.has('aws_access_key_id') && s.has('aws_secret_access_key')) return link('keys');
  const role = q.info.roleArn !== undefined;
  if (role && (q.info.sourceProfile !== undefined) !== (q.credentialSource !== undefined)) return link('role');
  if (!role && q.credentialSource !== undefined) return link('credential_source');
  if (role && s.has('web_identity_token_file')) return link('sdk');
  if (s.has('credential_process')) return link('process');
  return link('sdk');
}

function hintFor(link: Link): string {
  const p = link.profile.info.name;
  const settings = link.profile.settings;
  if (link.kind === 'credential_source') {
    return `Check that the ${link.profile.credentialSource} credential source is available to the daemon.`;
  }
  if (settings.has('sso_session') || settings.has('sso_start_url'))
    return `Run \`aws sso login --profile ${p}\`, then try again.`;
  if (link.kind === 'process') {
    return `Check that the credential_process of profile ${p} works: \`aws sts get-caller-identity --profile ${p}\` (aws-vault: is the session unlocked?).`;
  }
  return `Check that \`aws sts get-caller-identity --profile ${p}\` works.`;
}

const CHAIN_HINT =
  'Fix source_profile in ~/.aws/config so that the chain ends at a profile with credentials (keys, SSO, credential_process); `aws configure list-profiles` lists the names.';

function chainRefused(profile: string, message: string, hint = CHAIN_HINT): SentinelError {
  return new SentinelError('BaseCredentialsUnavailable', message, { hint, details: { profile } });
}

// Node's exec error for a credential_process that failed: "Command failed: <command line>\n<its stderr>". Both are the
// user's, free-form, and hold what no redaction pattern recognises (a keychain passphrase on the command line, a
// password in a prompt's error): only the fact is logged, never the text.
const FAILED_COMMAND = /^Command failed:/;

function causeOf(e: unknown): Record<string, unknown> {
  const cause = describeCause(e);
  if (typeof (e as { message?: unknown })?.message === 'string' && FAILED_COMMAND.test((e as Error).message)) {
    cause.message = 'a credential_process exited with an error (its command line and stderr are not logged)';
  }
  return cause;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function fromEnvironment(env: Env): BaseCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error('AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set');
  const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
  };
}

/** What the SDKs let a credential_process print (the JS SDK's exec maxBuffer). */
const MAX_PROCESS_OUTPUT = 1024 * 1024;

/**
 * Runs `command` as the SDKs do (`/bin/sh -c`, the daemon's environment) in a process group of its own, so that at the
 * deadline the command and whatever it started (a child still holding its output open) are killed together. Its
 * stderr is not read: it may hold a prompt's answer, and nothing of it is ever shown or logged.
 */
function fromProcess(command: string, env: Env, timeoutMs: number): Promise<BaseCredentials> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env });
    const chunks: Buffer[] = [];
    let size = 0;
    let failure: Error | undefined;
    const stop = (why: string) => {
      failure ??= new Error(why);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      child.stdout.destroy();
    };
    const timer = setTimeout(() => stop('the credential_process did not finish in time'), timeoutMs);
    timer.unref();
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PROCESS_OUTPUT) stop('the credential_process printed more than 1 MiB');
      else chunks.push(chunk);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code !== 0) return reject(new Error(`the credential_process exited with ${signal ?? `status ${code}`}`));
      try {
        resolve(processCredentials(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html, checked as the JS SDK checks it. */
function processCredentials(stdout: string): BaseCredentials {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(stdout.trim()) as Record<string, unknown>;
  } catch {
    throw new Error('the credential_process printed no JSON');
  }
  if (data?.Version !== 1) throw new Error('the credential_process did not print Version 1');
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = data;
  if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string') {
    throw new Error('the credential_process printed no keys');
  }
  const expiration = Expiration ? new Date(Expiration as string) : undefined;
  if (expiration && !(expiration.getTime() > Date.now())) {
    throw new Error('the credential_process printed expired credentials');
  }
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    ...(typeof SessionToken === 'string' && SessionToken !== '' ? { sessionToken: SessionToken } : {}),
    ...(expiration ? { expiration } : {}),
  };
}

/**
 * The SDK reads SSO tokens from ~/.aws/sso/cache (its getSSOTokenFilepath) for any profile a source_profile chain
 * reaches. Whoever can write there picks the SSO session the daemon signs in with (her token, her identity), and a FIFO
 * left there would hold one of Node's file-system threads for good; so the directory must be as private as the config.
 */
function checkSsoCache(env: Env, settings: ReadonlyMap<string, string>): void {
  const chained = settings.has('role_arn') || settings.has('sso_session') || settings.has('sso_start_url');
  if (!chained) return;
  const cache = join(awsHome(env), '.aws', 'sso', 'cache');
  try {
    if (statIfPresent(cache) !== undefined) assertTrustedDirectory(cache);
  } catch (e) {
    if (!(e instanceof SentinelError)) throw e;
    throw new SentinelError('BaseCredentialsUnavailable', `the SSO token cache ${cache} is refused: ${e.message}`, {
      hint: e.hint,
    });
  }
}

function hasOwnKeys(p: AwsProfile): boolean {
  return Boolean(p.settings.get('aws_access_key_id') && p.settings.get('aws_secret_access_key'));
}

function ownKeys(settings: ReadonlyMap<string, string>): BaseCredentials {
  const sessionToken = settings.get('aws_session_token');
  return {
    accessKeyId: settings.get('aws_access_key_id')!,
    secretAccessKey: settings.get('aws_secret_access_key')!,
    ...(sessionToken ? { sessionToken } : {}),
  };
}

/** duration_seconds as botocore reads it: a whole number, or STS's default when it is not one. */
function durationOf(settings: ReadonlyMap<string, string>): number | undefined {
  const value = settings.get('duration_seconds');
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/** What a resolution handed back, reduced to the four fields and checked. */
function checked(got: BaseCredentials | undefined): BaseCredentials {
  if (
    typeof got?.accessKeyId !== 'string' ||
    got.accessKeyId === '' ||
    typeof got.secretAccessKey !== 'string' ||
    got.secretAccessKey === ''
  ) {
    throw new Error('the source returned no access key');
  }
  return {
    accessKeyId: got.accessKeyId,
    secretAccessKey: got.secretAccessKey,
    ...(got.sessionToken ? { sessionToken: got.sessionToken } : {}),
    ...(got.expiration instanceof Date && !Number.isNaN(got.expiration.getTime())
      ? { expiration: got.expiration }
      : {}),
  };
}

export function createBaseCredentialResolver(deps: BaseCredentialDeps): BaseCredentialResolver {
  const cache = new LRUCache<string, { credentials: BaseCredentials; until: number }>({ max: 256 });
  const flights = new SingleFlight<BaseCredentials>();
  const resolveMs = deps.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS;

  const cached = (key: string) => {
    const hit = cache.get(key);
    return hit && hit.until > deps.now() ? hit.credentials : undefined;
  };

  /** The profile `from` names as source_profile; one the AWS config lacks is refused here, at any depth. */
  async function sourceProfile(from: string, name: string): Promise<AwsProfile> {
    try {
      return await deps.awsConfig.profile(name);
    } catch (e) {
      if (!(e instanceof SentinelError) || (e.code !== 'ProfileUnknown' && e.code !== 'BadRequest')) throw e;
      throw chainRefused(
        from,
        e.code === 'ProfileUnknown'
          ? `profile "${from}" names source_profile "${name}", which is not in the AWS config`
          : `profile "${from}" names a source_profile whose name Sentinel does not accept`,
      );
    }
  }

  /**
   * The links from `p`'s source down to where its credentials start, read from the config before anything runs: a
   * cycle, an over-long chain, an unknown source_profile or a role that needs an MFA code is refused without a call.
   */
  async function chainOf(p: AwsProfile, source: BaseSource): Promise<Link[]> {
    const name = p.info.name;
    const selfWithoutKeys = (q: string) =>
      chainRefused(
        name,
        `profile "${q}" names itself as source_profile but has no aws_access_key_id / aws_secret_access_key`,
        'A role profile can be its own source only with static keys; name the profile that has the credentials in source_profile.',
      );
    if (source.kind === 'own-keys') {
      if (!hasOwnKeys(p)) throw selfWithoutKeys(name);
      return [{ kind: 'keys', key: source.key, profile: p }];
    }
    if (source.kind === 'credential_source') return [{ kind: 'credential_source', key: source.key, profile: p }];
    const links: Link[] = [];
    let q = source.profile === name ? p : await sourceProfile(name, source.profile);
    for (;;) {
      const link = linkOf(q);
      links.push(link);
      if (link.kind !== 'role') return links;
      const here = q.info.name;
      // The daemon cannot prompt. (The stamped profile's own mfa_serial is not on this chain: docs/credentials.md §4.)
      if (q.settings.has('mfa_serial')) {
        throw chainRefused(
          name,
          `profile "${here}" on the source_profile chain of profile "${name}" needs an MFA code (mfa_serial)`,
          `Profile ${here} needs an MFA code, which the daemon cannot prompt for; use aws-vault through credential_process instead.`,
        );
      }
      const next = q.info.sourceProfile;
      if (next === undefined) {
        return [...links, { kind: 'credential_source', key: `source:${q.credentialSource}`, profile: q }];
      }
      if (next === here) throw selfWithoutKeys(here);
      const path = links.map((l) => l.profile.info.name);
      if (path.includes(next)) {
        throw chainRefused(
          name,
          `the source_profile chain of profile "${name}" is a cycle: ${[...path, next].join(' → ')}`,
        );
      }
      if (links.length >= MAX_CHAIN_PROFILES) {
        throw chainRefused(
          name,
          `the source_profile chain of profile "${name}" is longer than ${MAX_CHAIN_PROFILES} profiles`,
        );
      }
      q = await sourceProfile(here, next);
    }
  }

  /** A failure of one link, in words safe to show: never the provider's text, a command line or its stderr. */
  function unavailable(link: Link, e: unknown): SentinelError {
    // Refusals of Sentinel's own (a file others can change, STS rejecting the credentials below) already say it all.
    if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') return e;
    const profile = link.profile.info.name;
    deps.log.debug({ profile, source: link.kind, cause: causeOf(e) }, 'base credentials could not be resolved');
    const via =
      link.kind === 'credential_source' ? `credential_source ${link.profile.credentialSource}` : `profile "${profile}"`;
    // An STS failure of a role on the chain is already in Sentinel's words (stsFailure).
    const sts = e instanceof SentinelError ? e : undefined;
    return new SentinelError(
      'BaseCredentialsUnavailable',
      `the base credentials from ${via} could not be resolved${sts ? `: ${sts.message}` : ''}`,
      { hint: hintFor(link), details: { ...sts?.details, profile } },
    );
  }

  /** One link's credentials: cached, one call at a time, its failure named after it. */
  function linkCredentials(link: Link, produce: () => Promise<BaseCredentials>): Promise<BaseCredentials> {
    const hit = cached(link.key);
    if (hit) return Promise.resolve(hit);
    return flights.run(link.key, async () => {
      let credentials: BaseCredentials;
      try {
        credentials = checked(await produce());
      } catch (e) {
        throw unavailable(link, e);
      }
      const now = deps.now();
      const until = credentials.expiration ? credentials.expiration.getTime() - EXPIRY_MARGIN_MS : now + STATIC_TTL_MS;
      if (until > now) cache.set(link.key, { credentials, until });
      return credentials;
    });
  }

  /** Where the chain starts. `deadline` (Date.now() time) is when the resolution gives up. */
  async function start(link: Link, deadline: number): Promise<BaseCredentials> {
    const q = link.profile;
    switch (link.kind) {
      case 'keys':
        return ownKeys(q.settings);
      case 'process':
        return fromProcess(q.settings.get('credential_process')!, deps.env, Math.max(0, deadline - Date.now()));
      case 'credential_source':
        switch (q.credentialSource) {
          case 'Environment':
            return fromEnvironment(deps.env);
          case 'Ec2InstanceMetadata':
            return (await loadCredentialProviders()).fromInstanceMetadata({ timeout: 1000, maxRetries: 1 })();
          case 'EcsContainer':
            return (await loadCredentialProviders()).fromContainerMetadata({ timeout: 1000, maxRetries: 1 })();
          default:
            throw new Error('unsupported credential_source');
        }
      case 'sdk': {
        // A file the SDK misreads (sdkHazard) is not handed to it; the refusal names the section in the way.
        const refusal = deps.awsConfig.sdkRefusal();
        if (refusal) throw refusal;
        return (await loadCredentialProviders()).fromIni({
          profile: q.info.name,
          filepath: deps.awsConfig.files.credentialsFile,
          configFilepath: deps.awsConfig.files.configFile,
          // The SDK caches file contents process-wide; the user may have edited them since.
          ignoreCache: true,
          // For the clients fromIni makes itself (SSO and SSO OIDC, STS for web identity): the resolve's own timeout
          // answers the waiters, but without a budget per attempt a call that is never answered would keep its socket
          // open for good, one more at every later try.
          clientConfig: {
            region: deps.region,
            requestHandler: boundedRequestHandler({ timeoutMs: deps.attemptMs ?? STS_BUDGET_MS }),
          },
        })();
      }
      case 'role':
        throw new Error('a role does not start a chain');
    }
  }

  /** The role of `link`, assumed as the AWS CLI does with the profile's own settings and the credentials below it. */
  async function assume(link: Link, below: Link, base: BaseCredentials): Promise<BaseCredentials> {
    const q = link.profile;
    const duration = durationOf(q.settings);
    try {
      const c = await assumeSourceRole(
        deps.sts,
        base,
        {
          profile: q.info.name,
          region: q.info.region ?? deps.region,
          roleArn: q.info.roleArn!,
          roleSessionName: q.settings.get('role_session_name') ?? `sentinel-source-${Math.floor(deps.now() / 1000)}`,
          ...(duration !== undefined ? { durationSeconds: duration } : {}),
          ...(q.info.externalId !== undefined ? { externalId: q.info.externalId } : {}),
        },
        deps.now,
      );
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.Token,
        expiration: c.Expiration,
      };
    } catch (e) {
      // STS refused the credentials below (expired, revoked): the next resolution gets them afresh.
      if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') cache.delete(below.key);
      throw e;
    }
  }

  async function resolveChain(p: AwsProfile, source: BaseSource): Promise<BaseCredentials> {
    const deadline = Date.now() + resolveMs;
    const links = await chainOf(p, source);
    if (source.kind === 'profile') checkSsoCache(deps.env, links[0]!.profile.settings);
    // From where the credentials start up to the source; `at` is the link being waited for, which a timeout names.
    let at = links.length - 1;
    const walk = async () => {
      let credentials = await linkCredentials(links[at]!, () => start(links[at]!, deadline));
      while (at > 0) {
        const below = links[at]!;
        const base = credentials;
        const link = links[--at]!;
        credentials = await linkCredentials(link, () => assume(link, below, base));
      }
      return credentials;
    };
    try {
      return await withTimeout(walk(), Math.max(0, deadline - Date.now()));
    } catch (e) {
      throw unavailable(links[at]!, e);
    }
  }

  return {
    async resolve(p) {
      const source = baseSourceOf(p);
      return (
        cached(source.key) ??
        waitingFor(`the base credentials of profile ${source.profile}`, () => resolveChain(p, source))
      );
    },
    forget(sourceKey) {
      cache.delete(sourceKey);
    },
    clear() {
      cache.clear();
    },
  };
}
