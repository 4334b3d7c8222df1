// config.yaml (DESIGN §2): every key optional, unknown keys refused by name, durations parsed once here.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_CONFIG_BYTES, readConfigText } from './config-file.js';
import { parseDuration } from './duration.js';
import { SentinelError } from './errors.js';
import * as paths from './paths.js';
import { MAX_PROFILE_NAME, isValidProfileName } from './profile-name.js';
import { normalizeVendorUrl, vendorUrlProblem } from './vendor/url.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => parseDuration(v) !== undefined, { message: 'expected a duration such as 15m, 1h or 1h30m' });

const schema = z
  .object({
    aws_profile: z.string().min(1).nullable().default(null),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region such as eu-west-1')
      .nullable()
      .default(null),
    runtime_dir: z.string().min(1).nullable().default(null),
    http: z
      .object({
        host: z.enum(['127.0.0.1', 'localhost']).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(0),
      })
      .strict()
      .prefault({}),
    policy: z
      .object({
        source: z.enum(['file', 'ssm']).default('file'),
        file: z.string().min(1).nullable().default(null),
        ssm_root: z
          .string()
          .regex(/^\/[A-Za-z0-9_.\-/]*$/, 'expected an SSM path such as /sentinel/policies')
          .default('/sentinel/policies'),
        signing_key: z.string().min(1).nullable().default(null),
        refresh: duration('5m'),
      })
      .strict()
      .prefault({}),
    sessions: z
      .object({
        store: z.enum(['memory', 'dynamodb']).default('memory'),
        table: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name')
          .default('sentinel-sessions'),
        ttl: duration('12h'),
      })
      .strict()
      .prefault({}),
    credentials: z
      .object({
        duration: duration('15m'),
        allow_unstamped: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    requests: z
      .object({
        table: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name')
          .default('sentinel-requests'),
      })
      .strict()
      .prefault({}),
    breakglass: z
      .object({
        table: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name')
          .default('sentinel-breakglass'),
      })
      .strict()
      .prefault({}),
    // The server-side vendor (DESIGN §17): with it, this daemon is the SigV4 bridge to the vendor's API.
    vendor: z
      .object({
        url: z.string().superRefine((v, ctx) => {
          const problem = vendorUrlProblem(v);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected the API's AWS region such as eu-west-1"),
        // The AWS profile whose credentials sign requests to the vendor; null: the SDK's default chain.
        profile: z
          .string()
          .max(MAX_PROFILE_NAME)
          .refine(isValidProfileName, 'expected an AWS profile name (letters, digits and _ . @ + -)')
          .nullable()
          .default(null),
      })
      .strict()
      .nullable()
      .default(null),
    identity: z
      .object({
        // Glob patterns (`*`, `?`) on role names whose session names name a person (DESIGN §5.3).
        trusted_session_roles: z
          .array(
            z.string().regex(/^[\w+=,.@*?-]{1,64}$/, 'expected a role name pattern (IAM name characters, * and ?)'),
          )
          .max(100)
          .default(['AWSReservedSSO_*']),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        file: z.string().min(1).nullable().default(null),
        hmac_key_file: z.string().min(1).nullable().default(null),
        cloudwatch: z
          .object({
            // CloudWatch Logs' own rules for names (1-512 characters; streams may not contain ':' or '*').
            log_group: z
              .string()
              .regex(/^[.\-_/#A-Za-z0-9]{1,512}$/, 'expected a log group name (letters, digits and . - _ / #)'),
            log_stream: z
              .string()
              .regex(/^[^:*\u0000-\u001f\u007f]{1,512}$/, 'expected a log stream name (no : or *, one line)')
              .nullable()
              .default(null),
            region: z
              .string()
              .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region such as eu-west-1')
              .nullable()
              .default(null),
            required: z.boolean().default(false),
          })
          .strict()
          .nullable()
          .default(null),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RawConfig = z.infer<typeof schema>;

/** The schema itself, for `config validate` (which reports every problem with its line and column). */
export const configSchema = schema;

/** The validated configuration with defaults applied, paths expanded and durations in milliseconds. */
export interface Config {
  file: string;
  awsProfile: string | null;
  region: string | null;
  runtimeDir: string;
  socketPath: string;
  http: { host: string; port: number };
  policy: {
    source: 'file' | 'ssm';
    file: string;
    ssmRoot: string;
    signingKey: string | null;
    refreshMs: number;
  };
  sessions: { store: 'memory' | 'dynamodb'; table: string; ttlMs: number };
  credentials: { durationMs: number; allowUnstamped: boolean };
  /** Approval requests (DESIGN §10); shared only with sessions.store: dynamodb. */
  requests: { table: string };
  /** Break-glass events, locks and rate-limit slots (DESIGN §11); needs sessions.store: dynamodb. */
  breakglass: { table: string };
  audit: { file: string; hmacKeyFile: string | null; cloudwatch: CloudWatchConfig | null };
  /** Roles whose session names are trusted as user names (DESIGN §5.3). */
  identity: { trustedSessionRoles: readonly string[] };
  /** The server-side vendor this daemon serves through (DESIGN §17), or null: decisions are made here. */
  vendor: VendorConfig | null;
}

export interface VendorConfig {
  /** The API's invoke URL, stage included, without a trailing slash. */
  url: string;
  region: string;
  /** The AWS profile whose credentials sign; null: the SDK's default chain. */
  profile: string | null;
}

/** audit.cloudwatch (DESIGN §14): where the forwarder sends the decision log. */
export interface CloudWatchConfig {
  logGroup: string;
  /** null: `<host>-<policy user>` of Sentinel's own AWS identity. */
  logStream: string | null;
  region: string | null;
  /** A forwarding lag past the bound refuses credentials. */
  required: boolean;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (where ? `${where}.${k}` : k));
        return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${where || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}

export function resolveConfig(raw: unknown, file: string, env: paths.Env = process.env, socketFlag?: string): Config {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new SentinelError('ConfigInvalid', `${file}: ${describeIssues(parsed.error)}`);
  }
  const c = parsed.data;
  const runtimeDir = paths.runtimeDir(env, c.runtime_dir);
  return {
    file,
    awsProfile: c.aws_profile,
    region: c.region,
    runtimeDir,
    socketPath: paths.socketPath(env, c.runtime_dir, socketFlag),
    http: { host: c.http.host, port: c.http.port },
    policy: {
      source: c.policy.source,
      file: c.policy.file ? paths.expandHome(c.policy.file, env) : paths.defaultPolicyFile(env),
      ssmRoot: c.policy.ssm_root.replace(/\/+$/, '') || '/',
      signingKey: c.policy.signing_key,
      refreshMs: parseDuration(c.policy.refresh)!,
    },
    sessions: { store: c.sessions.store, table: c.sessions.table, ttlMs: parseDuration(c.sessions.ttl)! },
    credentials: {
      durationMs: parseDuration(c.credentials.duration)!,
      allowUnstamped: c.credentials.allow_unstamped,
    },
    requests: { table: c.requests.table },
    breakglass: { table: c.breakglass.table },
    identity: { trustedSessionRoles: c.identity.trusted_session_roles },
    vendor: c.vendor
      ? { url: normalizeVendorUrl(c.vendor.url), region: c.vendor.region, profile: c.vendor.profile }
      : null,
    audit: {
      file: c.audit.file ? paths.expandHome(c.audit.file, env) : paths.defaultDecisionLog(env),
      hmacKeyFile: c.audit.hmac_key_file ? paths.expandHome(c.audit.hmac_key_file, env) : null,
      cloudwatch: c.audit.cloudwatch
        ? {
            logGroup: c.audit.cloudwatch.log_group,
            logStream: c.audit.cloudwatch.log_stream,
            region: c.audit.cloudwatch.region,
            required: c.audit.cloudwatch.required,
          }
        : null,
    },
  };
}

/**
 * Loads config.yaml. A missing file means defaults (every key is optional); an unreadable, oversized or invalid file
 * is an error that names the problem, never a silent fallback.
 */
export function loadConfig(options: { env?: paths.Env; configFlag?: string; socketFlag?: string } = {}): Config {
  const env = options.env ?? process.env;
  const file = paths.configFile(env, options.configFlag);
  // A config named explicitly must exist; the default one is optional.
  const text = readConfigText(file, Boolean(options.configFlag || env.SENTINEL_CONFIG));
  return parseConfigText(text, file, env, options.socketFlag);
}

/** config.yaml's text (undefined or blank: every default) → the validated configuration; `file` names it in errors. */
export function parseConfigText(
  text: string | undefined,
  file: string,
  env: paths.Env = process.env,
  socketFlag?: string,
): Config {
  let raw: unknown = {};
  if (text !== undefined && text.trim().length > 0) {
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES)
      throw new SentinelError('ConfigInvalid', `${file} is larger than 1 MiB`);
    try {
      raw = parseYaml(text, { maxAliasCount: 100, prettyErrors: true, uniqueKeys: true });
    } catch (e) {
      throw new SentinelError('ConfigInvalid', `${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return resolveConfig(raw, file, env, socketFlag);
}
