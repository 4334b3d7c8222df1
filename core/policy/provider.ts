// The daemon's policy provider: the source config.policy names (DESIGN §5.4), behind the PolicyProvider interface.
// AWS clients are created only when the SSM source is used, with Sentinel's own profile and region (config
// aws_profile / region); clients passed in by the caller are the caller's to destroy.
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { join } from 'node:path';
import { boundedClientConfig } from '../aws-http.js';
import type { Config } from '../config.js';
import type { OpLogger } from '../log.js';
import { stateDir } from '../paths.js';
import { createSerialState } from './serial-state.js';
import { createFilePolicySource } from './source-file.js';
import { createSsmPolicySource } from './source-ssm.js';
import type { PolicyProvider } from './types.js';

export interface PolicyProviderDeps {
  log: OpLogger;
  ssm?: () => SSMClient;
  kms?: () => KMSClient;
  /** Where the accepted signature serials are kept (default: the state directory, checked as a trusted directory; one
   * given here is not: the vendor's Lambda sandbox). */
  stateDir?: string;
  /** Per SSM or KMS attempt (default POLICY_FETCH_ATTEMPT_MS). */
  awsAttemptMs?: number;
  /** How long start() waits for the first SSM listing (default: until it ends). The daemon sets it: see
   * POLICY_START_WAIT_MS. */
  startWaitMs?: number;
  /** The retry until a first SSM listing succeeds, and after KMS failed to give the signing key (default
   * FIRST_LOAD_RETRY_MS). */
  firstLoadRetryMs?: number;
}

/** Per SSM or KMS attempt, three at most. An endpoint that never answers would otherwise hold the first load (the
 * daemon never starts) or a refresh (and every refresh after it, which waits its turn) forever; with it, the load
 * fails with the policy's usual error and the next refresh tries again. */
export const POLICY_FETCH_ATTEMPT_MS = 5_000;

/** The daemon's wait for the first SSM listing. Three attempts of 5 s outlast `sentinel daemon start`'s 15 s wait for
 * an answer, so a silent SSM would make the start look failed; after this, the daemon answers, denying every request
 * until the policy lands. */
export const POLICY_START_WAIT_MS = 5_000;

/** The file, in the state directory, that remembers the highest signature serial accepted per policy. */
export const SERIAL_STATE_FILE = 'policy-serials.json';

function clientConfig(config: Config, attemptMs: number) {
  return boundedClientConfig({ region: config.region, profile: config.awsProfile }, { timeoutMs: attemptMs });
}

/** Creates the client once, on first use. A refusal (AWS files the SDK would misread: boundedClientConfig) is not
 * kept: the next fetch tries again, so renaming the section is enough, without a restart. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((e: unknown) => {
      made = undefined;
      throw e;
    }));
}

export function createPolicyProvider(config: Config, deps: PolicyProviderDeps): PolicyProvider {
  const log = deps.log.child({ component: 'policy' });
  // The user's state directory is checked like every place Sentinel keeps what decides (another user could lower a
  // serial); a directory given explicitly is the vendor's Lambda sandbox, which no other user shares.
  const serials = createSerialState(join(deps.stateDir ?? stateDir(), SERIAL_STATE_FILE), {
    trustDirectory: deps.stateDir === undefined,
  });
  const owned: Array<{ destroy(): void }> = [];
  const attemptMs = deps.awsAttemptMs ?? POLICY_FETCH_ATTEMPT_MS;
  const ssm = deps.ssm
    ? once(async () => deps.ssm!())
    : once(async () => {
        const { SSMClient } = await import('@aws-sdk/client-ssm');
        const client = new SSMClient(clientConfig(config, attemptMs));
        owned.push(client);
        return client;
      });
  const kms = deps.kms
    ? once(async () => deps.kms!())
    : once(async () => {
        const { KMSClient } = await import('@aws-sdk/client-kms');
        const client = new KMSClient(clientConfig(config, attemptMs));
        owned.push(client);
        return client;
      });
  const source =
    config.policy.source === 'file'
      ? createFilePolicySource({
          file: config.policy.file,
          log,
          signingKey: config.policy.signingKey,
          kms,
          serials,
          sessionStore: config.sessions.store,
          ...(deps.firstLoadRetryMs !== undefined ? { keyRetryMs: deps.firstLoadRetryMs } : {}),
        })
      : createSsmPolicySource({
          root: config.policy.ssmRoot,
          refreshMs: config.policy.refreshMs,
          log,
          ssm,
          signingKey: config.policy.signingKey,
          kms,
          serials,
          sessionStore: config.sessions.store,
          ...(deps.startWaitMs !== undefined ? { startWaitMs: deps.startWaitMs } : {}),
          ...(deps.firstLoadRetryMs !== undefined ? { firstLoadRetryMs: deps.firstLoadRetryMs } : {}),
        });
  return {
    start: () => source.start(),
    decide: (request) => source.decide(request),
    policyFor: (profile) => source.policyFor?.(profile) ?? null,
    documents: () => source.documents?.() ?? [],
    reload: () => source.reload(),
    status: () => source.status(),
    async close() {
      await source.close();
      for (const c of owned) c.destroy();
    },
  };
}
