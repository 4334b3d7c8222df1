// The one place admin commands (those that call AWS themselves: whoami, init, permissions check, policy pull/push/
// sign/verify) configure an AWS SDK client: the profile and region resolveAwsTarget decided, a bounded number of
// attempts, and a time limit on every attempt (an endpoint that never answers ends the command with an error instead
// of hanging it). Endpoints are the SDK's own resolution (AWS_ENDPOINT_URL_<SERVICE> in tests), never named here.
// Light: the SDK client classes are passed in by the caller, which imports them lazily.
import { boundedClientConfig } from '../core/aws-http.js';
import type { AwsTarget } from './aws-target.js';

/** Administration calls (CreateTable, SimulatePrincipalPolicy, KMS Sign) are slower than the daemon's item reads. */
export const ADMIN_ATTEMPT_MS = 15_000;
export const ADMIN_ATTEMPTS = 3;

export interface AdminClientOptions {
  /** Overrides the target's region (a command with its own fallback, e.g. us-east-1 for STS). */
  region?: string;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Credentials already resolved (whoami resolves them itself to name a missing profile); else the target's profile. */
  credentials?: unknown;
}

/** SDK client options for `target`. */
export function adminClientConfig(target: Pick<AwsTarget, 'profile' | 'region'>, options: AdminClientOptions = {}) {
  return {
    ...boundedClientConfig(
      // Credentials already resolved take the place of the profile.
      { region: options.region ?? target.region, profile: options.credentials ? undefined : target.profile },
      { timeoutMs: options.timeoutMs ?? ADMIN_ATTEMPT_MS, maxAttempts: options.maxAttempts ?? ADMIN_ATTEMPTS },
    ),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}

/** `new Client(adminClientConfig(target, options))`, for any SDK v3 client class. */
export function adminClient<C, Config>(
  Client: new (...args: [] | [Config]) => C,
  target: Pick<AwsTarget, 'profile' | 'region'>,
  options: AdminClientOptions = {},
): C {
  return new Client(adminClientConfig(target, options) as Config);
}
