// Time budgets for Sentinel's own AWS calls (DESIGN §3.4): STS 5 s, DynamoDB 2 s per attempt. The SDK's HTTP handler
// takes `requestTimeout` only as a threshold for a warning unless `throwOnRequestTimeout` is set — a call to an
// endpoint that accepts the connection and never answers then hangs for as long as the socket lives. With it, the
// attempt fails with a TimeoutError at the budget and its socket is destroyed. The handler's own warnings (socket
// pool exhaustion) would go to console.warn as plain text; they go to the operational log instead, or nowhere.
import type { OpLogger } from './log.js';
import { assertSdkCanReadAwsFiles } from './aws-shared-files.js';

export const STS_BUDGET_MS = 5_000;
export const DYNAMODB_ATTEMPT_BUDGET_MS = 2_000;
/** Three attempts at most (DESIGN §3.4); callers may ask for fewer. */
export const MAX_ATTEMPTS = 3;

export interface SdkLogger {
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

/** The SDK's logger interface, writing warnings and errors as JSON lines of the operational log (or dropping them). */
export function sdkLogger(log?: OpLogger): SdkLogger {
  const drop = () => undefined;
  if (!log) return { debug: drop, info: drop, warn: drop, error: drop };
  const line =
    (level: 'warn' | 'error') =>
    (...content: unknown[]) =>
      log[level]({ event: 'aws_sdk_message', sdk_message: content.map(String).join(' ').slice(0, 500) }, 'AWS SDK');
  return { debug: drop, info: drop, warn: line('warn'), error: line('error') };
}

export interface BoundedHandlerOptions {
  /** Per attempt: connecting, and the whole request. */
  timeoutMs: number;
  log?: OpLogger;
  httpAgent?: unknown;
  httpsAgent?: unknown;
}

/**
 * The SDK found no credentials at all, so nothing was sent to AWS: the fix is a profile or a sign-in, not the network,
 * the region or a permission, which is what "failed (CredentialsProviderError)" and the callers' generic hints said.
 */
export function noCredentialsFound(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'CredentialsProviderError';
}

export const NO_CREDENTIALS_HINT =
  'Name a profile that has credentials (--profile, AWS_PROFILE or aws_profile in config.yaml), or sign in (`aws sso login --profile <name>`).';

/** Whose credentials and which region a client uses; absent or null: the SDK's own resolution. */
export interface ClientTarget {
  region?: string | null;
  profile?: string | null;
}

/**
 * The options every AWS SDK client Sentinel builds starts from: the target's profile and region when given, the
 * attempts (the SDK's default of 3 when not given) and a budget for each of them. One place, so that no client is
 * built with the SDK's `requestTimeout` alone, which only warns, nor from AWS files the SDK would misread (throws
 * BaseCredentialsUnavailable: assertSdkCanReadAwsFiles).
 */
export function boundedClientConfig(
  target: ClientTarget,
  budget: { timeoutMs: number; maxAttempts?: number; log?: OpLogger },
) {
  // The client will read ~/.aws/config and ~/.aws/credentials for its settings and credentials: refused here, before
  // it exists, when that reading would write onto JavaScript's built-in objects in this process (sdkHazard).
  assertSdkCanReadAwsFiles();
  return {
    ...(target.region ? { region: target.region } : {}),
    ...(target.profile ? { profile: target.profile } : {}),
    ...(budget.maxAttempts !== undefined ? { maxAttempts: budget.maxAttempts } : {}),
    requestHandler: boundedRequestHandler({ timeoutMs: budget.timeoutMs, log: budget.log }),
  };
}

/** `requestHandler` options for an SDK v3 client whose attempts end at `timeoutMs`, whatever the endpoint does. */
export function boundedRequestHandler(options: BoundedHandlerOptions) {
  return {
    connectionTimeout: options.timeoutMs,
    requestTimeout: options.timeoutMs,
    throwOnRequestTimeout: true,
    logger: sdkLogger(options.log),
    ...(options.httpAgent ? { httpAgent: options.httpAgent } : {}),
    ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}),
  };
}
