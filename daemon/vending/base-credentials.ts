// The base credentials of a profile: what the principal that calls AssumeRole signs with. They are resolved exactly as
// the AWS CLI resolves the profile's source — `fromIni` on the source profile handles static keys, source_profile
// chains, SSO and credential_process (`credential_process = aws-vault export --format=json <profile>` is how
// aws-vault plugs in). Results are cached until shortly before they expire, one resolution at a time per source.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { STS_BUDGET_MS, boundedRequestHandler } from '../../core/aws-http.js';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import type { Env } from '../../core/paths.js';
import { describeCause } from '../../core/audit/redact.js';
import { assertTrustedDirectory, statIfPresent } from '../../core/path-trust.js';
import { awsHome, type AwsConfigFiles, type AwsProfile } from './aws-config.js';
import { loadCredentialProviders } from '../../core/issuer/sdk.js';
import { SingleFlight } from '../../core/issuer/single-flight.js';
import type { BaseCredentials } from '../../core/issuer/types.js';
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

export function baseSourceOf(p: AwsProfile): BaseSource {
  const name = p.info.name;
  const source = p.info.sourceProfile;
  if (p.info.roleArn !== undefined && source !== undefined) {
    // A role profile that names itself as source uses its own static keys (the AWS CLI's rule); fromIni on it
    // would assume the role instead.
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
  /** The profile's `settings` decide hints; `source` says where to look. Throws BaseCredentialsUnavailable. */
  resolve(source: BaseSource, sourceSettings: ReadonlyMap<string, string> | undefined): Promise<BaseCredentials>;
  /** Drops cached credentials of a source (STS refused them). */
  forget(sourceKey: string): void;
  clear(): void;
}

export interface BaseCredentialDeps {
  files: AwsConfigFiles;
  env: Env;
  log: OpLogger;
  now: () => number;
  /** Region for the STS calls of source_profile chains that fromIni makes itself. */
  region: string;
  /** Per attempt of those calls, and of SSO's (default STS_BUDGET_MS). */
  attemptMs?: number;
  /** How long one resolution may take (default RESOLVE_TIMEOUT_MS). */
  resolveTimeoutMs?: number;
}

function hintFor(source: BaseSource, settings: ReadonlyMap<string, string> | undefined): string {
  const p = source.profile;
  if (source.kind === 'credential_source') {
    return `Check that the ${source.credentialSource} credential source is available to the daemon.`;
  }
  if (settings?.has('sso_session') || settings?.has('sso_start_url'))
    return `Run \`aws sso login --profile ${p}\`, then try again.`;
  if (settings?.has('credential_process')) {
    return `Check that the credential_process of profile ${p} works: \`aws sts get-caller-identity --profile ${p}\` (aws-vault: is the session unlocked?).`;
  }
  if (settings?.has('mfa_serial')) {
    return `Profile ${p} needs an MFA code, which the daemon cannot prompt for; use aws-vault through credential_process instead.`;
  }
  return `Check that \`aws sts get-caller-identity --profile ${p}\` works.`;
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
 * Whether fromIni would resolve the profile through its credential_process (the SDK's order: a role, static keys and
 * web identity come first). Those profiles are run here rather than by the SDK, whose exec has no timeout and no
 * kill: a command waiting for a prompt nobody sees outlived every resolution that gave up on it, one more each time.
 */
function runsOwnProcess(settings: ReadonlyMap<string, string> | undefined): settings is ReadonlyMap<string, string> {
  if (!settings?.get('credential_process')) return false;
  const role = settings.has('role_arn') && (settings.has('source_profile') || settings.has('credential_source'));
  const keys = settings.has('aws_access_key_id') && settings.has('aws_secret_access_key');
  return !role && !keys && !settings.has('web_identity_token_file');
}

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
function checkSsoCache(env: Env, settings: ReadonlyMap<string, string> | undefined): void {
  const chained = settings?.has('role_arn') || settings?.has('sso_session') || settings?.has('sso_start_url');
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

function fromOwnKeys(settings: ReadonlyMap<string, string> | undefined): BaseCredentials {
  const accessKeyId = settings?.get('aws_access_key_id');
  const secretAccessKey = settings?.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey)
    throw new Error('the profile names itself as source_profile but has no static keys');
  const sessionToken = settings?.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export function createBaseCredentialResolver(deps: BaseCredentialDeps): BaseCredentialResolver {
  const cache = new LRUCache<string, { credentials: BaseCredentials; until: number }>({ max: 256 });
  const flights = new SingleFlight<BaseCredentials>();
  const resolveMs = deps.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS;

  async function load(source: BaseSource, settings: ReadonlyMap<string, string> | undefined): Promise<BaseCredentials> {
    switch (source.kind) {
      case 'own-keys':
        return fromOwnKeys(settings);
      case 'credential_source':
        switch (source.credentialSource) {
          case 'Environment':
            return fromEnvironment(deps.env);
          case 'Ec2InstanceMetadata':
            return (await loadCredentialProviders()).fromInstanceMetadata({ timeout: 1000, maxRetries: 1 })();
          case 'EcsContainer':
            return (await loadCredentialProviders()).fromContainerMetadata({ timeout: 1000, maxRetries: 1 })();
          default:
            throw new Error('unsupported credential_source');
        }
      case 'profile':
        checkSsoCache(deps.env, settings);
        if (runsOwnProcess(settings)) {
          return fromProcess(settings.get('credential_process')!, deps.env, resolveMs);
        }
        return (await loadCredentialProviders()).fromIni({
          profile: source.profile,
          filepath: deps.files.credentialsFile,
          configFilepath: deps.files.configFile,
          // The SDK caches file contents process-wide; the user may have edited them since.
          ignoreCache: true,
          // For the clients fromIni makes itself (STS for source_profile chains, SSO and SSO OIDC): the resolve's own
          // timeout answers the waiters, but without a budget per attempt a call that is never answered would keep
          // its socket open for good, one more at every later try.
          clientConfig: {
            region: deps.region,
            requestHandler: boundedRequestHandler({ timeoutMs: deps.attemptMs ?? STS_BUDGET_MS }),
          },
        })();
    }
  }

  return {
    async resolve(source, settings) {
      const cached = cache.get(source.key);
      if (cached && cached.until > deps.now()) return cached.credentials;
      return flights.run(source.key, async () => {
        let credentials: BaseCredentials;
        try {
          const got = await waitingFor(`the base credentials of profile ${source.profile}`, () =>
            withTimeout(load(source, settings), resolveMs),
          );
          if (
            typeof got?.accessKeyId !== 'string' ||
            got.accessKeyId === '' ||
            typeof got.secretAccessKey !== 'string' ||
            got.secretAccessKey === ''
          ) {
            throw new Error('the source returned no access key');
          }
          credentials = {
            accessKeyId: got.accessKeyId,
            secretAccessKey: got.secretAccessKey,
            ...(got.sessionToken ? { sessionToken: got.sessionToken } : {}),
            ...(got.expiration instanceof Date && !Number.isNaN(got.expiration.getTime())
              ? { expiration: got.expiration }
              : {}),
          };
        } catch (e) {
          // Refusals of Sentinel's own (a file others can change) already say what is wrong and how to fix it.
          if (e instanceof SentinelError && e.code === 'BaseCredentialsUnavailable') throw e;
          deps.log.debug(
            { profile: source.profile, source: source.kind, cause: causeOf(e) },
            'base credentials could not be resolved',
          );
          const via =
            source.kind === 'credential_source'
              ? `credential_source ${source.credentialSource}`
              : `profile "${source.profile}"`;
          throw new SentinelError(
            'BaseCredentialsUnavailable',
            `the base credentials from ${via} could not be resolved`,
            {
              hint: hintFor(source, settings),
              details: { profile: source.profile },
            },
          );
        }
        const now = deps.now();
        const until = credentials.expiration
          ? credentials.expiration.getTime() - EXPIRY_MARGIN_MS
          : now + STATIC_TTL_MS;
        if (until > now) cache.set(source.key, { credentials, until });
        return credentials;
      });
    },
    forget(sourceKey) {
      cache.delete(sourceKey);
    },
    clear() {
      cache.clear();
    },
  };
}
