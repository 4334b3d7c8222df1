// The credentials requests to the vendor are signed with: the caller's own, resolved as the AWS CLI resolves them
// (`vendor.profile`, else the SDK's default chain: environment, shared config, SSO, credential_process, …). They are
// reused until shortly before they expire, and resolved once however many requests wait.
import { STS_BUDGET_MS, boundedRequestHandler } from '../aws-http.js';
import { SentinelError } from '../errors.js';
import { assertSdkCanReadAwsFiles } from '../aws-shared-files.js';
import { loadCredentialProviders } from '../issuer/sdk.js';
import { SingleFlight } from '../issuer/single-flight.js';
import type { SigningCredentials } from './client.js';

/** The SDKs' own refresh window. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
/** Keys without an expiry are re-read this often, so rotated keys are picked up. */
const STATIC_TTL_MS = 5 * 60_000;
/** A credential_process or SSO prompt that nobody answers must not hold every request. */
const RESOLVE_TIMEOUT_MS = 30_000;

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

export function signingCredentials(
  profile: string | null,
  now: () => number = Date.now,
): () => Promise<SigningCredentials> {
  let cached: { credentials: SigningCredentials; until: number } | undefined;
  const flight = new SingleFlight<SigningCredentials>();
  const resolve = async (): Promise<SigningCredentials> => {
    const { fromNodeProviderChain } = await loadCredentialProviders();
    // The chain reads the AWS files (a cache miss: at most every few minutes, never per request).
    assertSdkCanReadAwsFiles();
    let c;
    try {
      // A named profile wins over AWS_ACCESS_KEY_ID in the environment; the SDK would say so on the console.
      // The budget is for the clients the chain makes itself (STS for source_profile, SSO): see base-credentials.ts.
      const clientConfig = { requestHandler: boundedRequestHandler({ timeoutMs: STS_BUDGET_MS }) };
      c = await fromNodeProviderChain(profile ? { profile, logger: QUIET, clientConfig } : { clientConfig })();
    } catch (e) {
      throw new SentinelError(
        'BaseCredentialsUnavailable',
        `no AWS credentials${profile ? ` for profile "${profile}"` : ''} to sign requests to the vendor with`,
        {
          hint: 'Set vendor.profile in config.yaml to a profile with credentials (`aws sts get-caller-identity --profile <it>`).',
          cause: e,
        },
      );
    }
    const credentials: SigningCredentials = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      ...(c.expiration ? { expiration: c.expiration } : {}),
    };
    const until = c.expiration ? c.expiration.getTime() - EXPIRY_MARGIN_MS : now() + STATIC_TTL_MS;
    cached = { credentials, until };
    return credentials;
  };
  return async () => {
    if (cached && cached.until > now()) return cached.credentials;
    return flight.run('signing', resolve, {
      ms: RESOLVE_TIMEOUT_MS,
      error: () =>
        new SentinelError('BaseCredentialsUnavailable', 'resolving the AWS credentials to sign with took too long'),
    });
  };
}
