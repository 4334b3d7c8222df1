// What a Sentinel session does to an environment (DESIGN §8), in one place: `use` emits it as shell code, `exec` applies
// it to its child. Every SDK resolves explicit keys, profiles and config files before the container provider, so
// anything that would win over the daemon is cleared, the credentials file points at /dev/null and the config file at
// an allowlisted copy (session-aws-config.ts), so that a `[default]` profile with keys or credential_process cannot
// bypass it either (container-credentials.md, "Design implications").
import { parseDuration } from '../core/duration.js';
import { SentinelError } from '../core/errors.js';
import { isValidProfileName } from '../core/profile-name.js';
import type { DaemonClient } from './client.js';
import { hasControlCharacters } from '../core/text/printable.js';
import { HEX16, isHex16 } from '../core/text/hex-id.js';

/** Variables that would take precedence over (or compete with) AWS_CONTAINER_CREDENTIALS_FULL_URI. */
export const CLEARED_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  // Web identity from the environment (EKS IRSA, CI runners) comes before the container provider in botocore, the JS
  // and the Go SDKs; AWS_CREDENTIAL_FILE (the old EC2 tools' key file) in botocore and the AWS CLI.
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_CREDENTIAL_FILE',
] as const;

/** Variables a session sets (the region pair only when the daemon knows the profile's region). */
export const SESSION_VARS = [
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'SENTINEL_SESSION',
  'SENTINEL_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'BOTO_CONFIG',
] as const;

/** `exec --env` puts these in the child instead of the container pair. */
export const RAW_CREDENTIAL_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
] as const;

/** Everything a session may change; `use` saves each of these it touches and `use --off` restores them. */
export const MANAGED_VARS: readonly string[] = [
  ...new Set<string>([...SESSION_VARS, ...CLEARED_VARS, ...RAW_CREDENTIAL_VARS]),
];

export const NULL_FILE = '/dev/null';

/** The daemon's answer to `POST /v1/sessions` (DESIGN §3.3), checked before any of it reaches a shell. */
export interface OpenedSession {
  id: string;
  token: string;
  url: string;
  region: string | null;
  expires_at: string;
  profile: string;
}

export interface RawCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
}

/** One ordered change set: variables to set (in this order) and variables to remove. */
export interface EnvChanges {
  set: Array<[name: string, value: string]>;
  unset: string[];
}

export const SESSION_ID = HEX16;
// Tokens are base64url (DESIGN §3.1); the SDKs send them verbatim as a header, so no whitespace or CR/LF ever.
const TOKEN = /^[A-Za-z0-9_-]{16,512}$/;
// Every SDK, including Debian's awscli 2.9.19, accepts http://127.0.0.1 and http://localhost (container-credentials.md §1).
const CREDENTIAL_URL = /^http:\/\/(127\.0\.0\.1|localhost):\d{1,5}\/[A-Za-z0-9/_.-]*$/;
const REGION = /^[a-z0-9-]{1,64}$/;
const MAX_PROFILE_LENGTH = 256;

/** A profile name as the user typed it: anything printable, bounded (the daemon decides whether it exists). */
export function checkProfileName(profile: unknown): string {
  if (typeof profile !== 'string' || profile.length === 0) {
    throw new SentinelError('UsageError', 'a profile name is required', {
      hint: 'List profiles with `aws configure list-profiles`.',
    });
  }
  if (profile.length > MAX_PROFILE_LENGTH || hasControlCharacters(profile)) {
    throw new SentinelError('UsageError', 'the profile name is too long or contains control characters', {
      hint: 'Profile names are the section names of ~/.aws/config, e.g. `dev` for [profile dev].',
    });
  }
  return profile;
}

/** `--ttl`: a duration such as 30m or 2h; the daemon caps it at config sessions.ttl. */
export function checkTtl(ttl: string | undefined): string | undefined {
  if (ttl === undefined) return undefined;
  const ms = parseDuration(ttl);
  if (ms === undefined || ms < 60_000) {
    throw new SentinelError('UsageError', `--ttl: "${ttl.slice(0, 32)}" is not a duration of at least 1m`, {
      hint: 'Give a duration such as 30m, 2h or 1h30m.',
    });
  }
  return ttl;
}

function malformed(what: string): SentinelError {
  return new SentinelError('InternalError', `the daemon answered a session with ${what}`, {
    hint: 'The CLI and the daemon may be different versions; restart the daemon (`sentinel daemon stop && sentinel daemon start`).',
  });
}

/** Validates the daemon's session answer; anything unexpected is refused rather than exported into a shell. */
export function parseOpenedSession(body: unknown): OpenedSession {
  if (!body || typeof body !== 'object') throw malformed('no body');
  const b = body as Record<string, unknown>;
  if (!isHex16(b.id)) throw malformed('a malformed id');
  if (typeof b.token !== 'string' || !TOKEN.test(b.token)) throw malformed('a malformed token');
  if (typeof b.url !== 'string' || !CREDENTIAL_URL.test(b.url))
    throw malformed('a credential URL that SDKs would not accept');
  if (typeof b.expires_at !== 'string' || Number.isNaN(Date.parse(b.expires_at))) throw malformed('a malformed expiry');
  // Exported and printed in every prompt by sentinel_prompt: a name the daemon would refuse in a request (escape
  // sequences, newlines) is not put into the shell either.
  if (!isValidProfileName(b.profile)) throw malformed('a malformed profile name');
  const region = typeof b.region === 'string' && REGION.test(b.region) ? b.region : null;
  return { id: b.id, token: b.token, url: b.url, region, expires_at: b.expires_at, profile: b.profile };
}

export function parseRawCredentials(body: unknown): RawCredentials {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const key of ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'] as const) {
    if (typeof b[key] !== 'string' || (b[key] as string).length === 0 || /[\r\n]/.test(b[key] as string)) {
      throw new SentinelError('InternalError', `the daemon answered credentials without a usable ${key}`);
    }
  }
  return {
    AccessKeyId: b.AccessKeyId as string,
    SecretAccessKey: b.SecretAccessKey as string,
    Token: b.Token as string,
    Expiration: b.Expiration as string,
  };
}

/**
 * The change set of a session. With `raw` (exec --env) the child gets the keys themselves instead of the container
 * pair; everything else is identical, so the two modes differ in exactly one place. `configFile` is the session's
 * allowlisted copy of the user's AWS config (sessionAwsConfig).
 */
export function sessionChanges(
  session: OpenedSession,
  raw?: RawCredentials,
  configFile: string = NULL_FILE,
): EnvChanges {
  const set: Array<[string, string]> = raw
    ? [
        ['AWS_ACCESS_KEY_ID', raw.AccessKeyId],
        ['AWS_SECRET_ACCESS_KEY', raw.SecretAccessKey],
        ['AWS_SESSION_TOKEN', raw.Token],
        ['AWS_CREDENTIAL_EXPIRATION', raw.Expiration],
      ]
    : [
        ['AWS_CONTAINER_CREDENTIALS_FULL_URI', session.url],
        ['AWS_CONTAINER_AUTHORIZATION_TOKEN', session.token],
      ];
  set.push(['SENTINEL_SESSION', session.id], ['SENTINEL_PROFILE', session.profile]);
  if (session.region) set.push(['AWS_REGION', session.region], ['AWS_DEFAULT_REGION', session.region]);
  // botocore and the AWS CLI read keys from boto's config (BOTO_CONFIG, else /etc/boto.cfg and ~/.boto) before the
  // container provider; /dev/null is not a file to them, so none is read.
  set.push(['AWS_CONFIG_FILE', configFile], ['AWS_SHARED_CREDENTIALS_FILE', NULL_FILE], ['BOTO_CONFIG', NULL_FILE]);
  const setNames = new Set(set.map(([name]) => name));
  const unset = [
    ...CLEARED_VARS,
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'AWS_CREDENTIAL_EXPIRATION',
  ].filter((name) => !setNames.has(name));
  return { set, unset: [...new Set(unset)] };
}

/** A copy of `env` with the changes applied (for a child process). */
export function applyChanges(env: NodeJS.ProcessEnv, changes: EnvChanges): NodeJS.ProcessEnv {
  const next: NodeJS.ProcessEnv = { ...env };
  for (const name of changes.unset) delete next[name];
  for (const [name, value] of changes.set) next[name] = value;
  return next;
}

/** The refusal both `use` and `exec` give when the environment already carries a session. */
export function refuseNesting(env: NodeJS.ProcessEnv, nest: boolean | undefined, command: string): void {
  const current = env.SENTINEL_SESSION;
  if (!current || nest) return;
  throw new SentinelError(
    'UsageError',
    `this environment already uses Sentinel session ${SESSION_ID.test(current) ? current : '(unknown id)'} (profile ${env.SENTINEL_PROFILE ?? 'unknown'})`,
    {
      hint:
        command === 'use'
          ? 'End it first with `sentinel use --off`, or pass --nest to open a session inside it.'
          : 'Run it outside the session (`sentinel use --off`), or pass --nest to open a session inside it.',
    },
  );
}

export interface OpenRequest {
  profile: string;
  mode: 'server' | 'cli';
  pid: number;
  ttl?: string;
}

/** POST /v1/sessions, validated; a session the CLI cannot use is ended again before the error is thrown. */
export async function openSession(client: DaemonClient, request: OpenRequest): Promise<OpenedSession> {
  const body = await client.post('/v1/sessions', request);
  try {
    return parseOpenedSession(body);
  } catch (err) {
    const id = (body as { id?: unknown } | undefined)?.id;
    if (isHex16(id)) await endSession(client, id).catch(() => undefined);
    throw err;
  }
}

/**
 * The daemon's status of a session (active, revoked, expired, ended), or 'unknown' when it has no such session (a
 * restarted daemon with the memory store has forgotten it). Other failures propagate: fail closed.
 */
export async function sessionStatus(client: DaemonClient, id: string): Promise<string> {
  if (!SESSION_ID.test(id)) return 'unknown';
  try {
    const body = await client.get<{ status?: unknown }>(`/v1/sessions/${id}`);
    return typeof body?.status === 'string' && /^[a-z_]{1,32}$/.test(body.status) ? body.status : 'unknown';
  } catch (err) {
    // The daemon answers SessionUnknown (403) for a session it has no record of; NotFound is an older daemon's answer.
    if (err instanceof SentinelError && (err.code === 'SessionUnknown' || err.code === 'NotFound')) return 'unknown';
    throw err;
  }
}

/** DELETE /v1/sessions/:id. A session that is no longer active is left as it is by the daemon. */
export async function endSession(client: DaemonClient, id: string): Promise<void> {
  if (!SESSION_ID.test(id)) throw new SentinelError('UsageError', 'SENTINEL_SESSION does not hold a session id');
  await client.delete(`/v1/sessions/${id}`);
}

/** GET /v1/credentials on the Unix socket with the session's token: how `exec --env` gets raw keys (DESIGN §3.2). */
export async function fetchRawCredentials(client: DaemonClient, session: OpenedSession): Promise<RawCredentials> {
  return parseRawCredentials(await client.call('GET', '/v1/credentials', undefined, { authorization: session.token }));
}
