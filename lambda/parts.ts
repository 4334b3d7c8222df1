// The vendor composed once per Lambda container (cold start): its configuration, the policy source, the DynamoDB
// stores, the credential issuer with the execution role's credentials, the approvals override and the decision log
// on stdout (CloudWatch Logs). Tests replace the clock, the decision sink, the logger or the config text; every AWS
// client is the real SDK's, pointed at emulators only through AWS_ENDPOINT_URL_<SERVICE>.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createApprovalLookup } from '../core/approvals/override.js';
import { REQUEST_KIND, type ApprovalRequest } from '../core/approvals/record.js';
import { composeOverrides } from '../core/authorize/overrides.js';
import type { DecisionSink, OverrideLookup } from '../core/authorize/types.js';
import { createBreakglassLookup } from '../core/breakglass/override.js';
import { EVENT_KIND, LOCK_KIND, SLOT_KIND, type BreakglassStores } from '../core/breakglass/record.js';
import { loadConfig, parseConfigText, type Config } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { createCredentialIssuer, type CredentialIssuer } from '../core/issuer/issuer.js';
import type { BaseCredentials } from '../core/issuer/types.js';
import { createLogger, type OpLogger } from '../core/log.js';
import { logSkippedItems } from '../core/records/skipped.js';
import { awsNotifierPorts } from '../core/notify/aws-ports.js';
import { createNotifier, type Notifier } from '../core/notify/notifier.js';
import { createPolicyProvider } from '../core/policy/provider.js';
import type { PolicyProvider } from '../core/policy/types.js';
import { createTableClient } from '../core/records/client.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import type { RecordStore } from '../core/records/store.js';
import { DynamoSessionStore } from '../core/sessions/dynamodb.js';
import type { SessionStore } from '../core/sessions/types.js';
import { pooledRequestIds } from '../core/authorize/request-ids.js';
import { createStsClients, type StsClientOptions } from '../core/issuer/sts-clients.js';
import { requireProfile } from './profiles.js';

export interface VendorOptions {
  /** Environment (default process.env): SENTINEL_CONFIG_YAML or SENTINEL_CONFIG, AWS_* credentials and region. */
  env?: NodeJS.ProcessEnv;
  /** The configuration itself, instead of reading it from the environment. */
  config?: Config;
  now?: () => Date;
  /** Where decisions go (default: one JSON line each on stdout, which Lambda sends to CloudWatch Logs). */
  decisions?: DecisionSink;
  log?: OpLogger;
  /** A DynamoDB client of the caller's (not destroyed by the vendor). */
  dynamodb?: () => DynamoDBClient;
  sts?: StsClientOptions;
}

export interface VendorParts {
  config: Config;
  policy: PolicyProvider;
  sessions: SessionStore;
  requests: RecordStore<ApprovalRequest>;
  breakglass: BreakglassStores;
  /** Webhooks and SNS, with the execution role's credentials (made on first use). */
  notifier(): Notifier;
  issuer: CredentialIssuer;
  overrides: OverrideLookup;
  decisions: DecisionSink;
  log: OpLogger;
  now: () => Date;
  newId: () => string;
  /** This container's id, recorded on the sessions it opens. */
  instanceId: string;
  startedAt: Date;
  close(): Promise<void>;
}

/** How long a cold start waits for the first SSM listing (and the signing key) before it answers. Without a bound it
 * waited for three 5 s attempts of each, past the 5 s that a daemon or the admin CLI gives one call to the vendor and
 * towards the function's timeout, so a silent SSM was VendorUnavailable (or API Gateway's own 5xx) instead of the
 * vendor's PolicyUnavailable. After it, the first listing goes on in the background, as in a daemon. */
export const VENDOR_POLICY_START_WAIT_MS = 2_000;

/** One AssumeRole attempt at the vendor, and no second: the daemon's default (two attempts of 5 s) outlasted the 5 s a
 * daemon gives one vendor call, so a silent STS reached users as VendorUnavailable, never as the vendor's
 * StsUnavailable, and the bridge's retries queued behind the same hung call. The bridge retries a read itself. */
export const VENDOR_STS_ATTEMPT_MS = 3_000;

/** Per DynamoDB attempt (two at most): a silent table is SessionStoreUnavailable in about 3 s, with room left in the
 * bridge's 5 s for API Gateway and the network; the daemon's 2 s attempts left almost none. */
export const VENDOR_DYNAMODB_ATTEMPT_MS = 1_500;

/** The vendor's configuration: the text of SENTINEL_CONFIG_YAML (what the template sets), else the file that
 * SENTINEL_CONFIG names. One of them must be set: a vendor never runs on guessed defaults. */
export function vendorConfig(env: NodeJS.ProcessEnv): Config {
  const text = env.SENTINEL_CONFIG_YAML;
  if (text !== undefined && text.trim() !== '') return parseConfigText(text, 'SENTINEL_CONFIG_YAML', env);
  if (env.SENTINEL_CONFIG) return loadConfig({ env });
  throw new SentinelError('ConfigInvalid', 'the vendor has no configuration', {
    hint: 'Set SENTINEL_CONFIG_YAML (the config.yaml text) or SENTINEL_CONFIG (its path) on the function.',
  });
}

/** The execution role's credentials, which Lambda puts in the environment; read at each use (a cache hit needs none). */
export function executionRoleCredentials(env: NodeJS.ProcessEnv): BaseCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new SentinelError('BaseCredentialsUnavailable', "the vendor's execution role credentials are missing", {
      hint: 'Lambda sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; check the function role.',
    });
  }
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** One JSON line per decision on stdout. Entries carry no secrets (DESIGN §7); a failed write is never fatal. */
export function stdoutDecisions(): DecisionSink {
  return {
    write(entry) {
      try {
        process.stdout.write(`${JSON.stringify(entry)}\n`);
      } catch {
        // stdout gone: Lambda's own runtime log capture is broken, nothing here can fix it.
      }
    },
  };
}

export async function createVendorParts(options: VendorOptions = {}): Promise<VendorParts> {
  const env = options.env ?? process.env;
  const config = options.config ?? vendorConfig(env);
  const log = options.log ?? createLogger({ name: 'sentinel-vendor' });
  // Items the record layer's queries skip (malformed, or not written by Sentinel) are warn lines of this log.
  logSkippedItems(log);
  const now = options.now ?? (() => new Date());
  const region = config.region ?? env.AWS_REGION ?? null;
  const policy = createPolicyProvider(
    { ...config, region },
    // Lambda's only writable directory; the serial state lives as long as the container (docs/vendor.md).
    { log, stateDir: join(tmpdir(), 'sentinel-vendor'), startWaitMs: VENDOR_POLICY_START_WAIT_MS },
  );
  await policy.start();
  const client = options.dynamodb
    ? options.dynamodb()
    : createTableClient({ region, timeoutMs: VENDOR_DYNAMODB_ATTEMPT_MS });
  const owns = !options.dynamodb;
  const sessions = new DynamoSessionStore({ client, table: config.sessions.table, now, ownsClient: false });
  const requests = new DynamoRecordStore(REQUEST_KIND, {
    client,
    table: config.requests.table,
    now,
    ownsClient: false,
  });
  const sts = createStsClients({ log, maxAttempts: 1, requestTimeoutMs: VENDOR_STS_ATTEMPT_MS, ...options.sts });
  const issuer = createCredentialIssuer({
    sts,
    log,
    now: () => now().getTime(),
    random: Math.random,
    async target(name) {
      const p = requireProfile(policy, name);
      return {
        profile: p.name,
        region: p.region,
        roleArn: p.role_arn,
        ...(p.external_id !== undefined ? { externalId: p.external_id } : {}),
        base: async () => executionRoleCredentials(env),
        rejected: () => undefined,
      };
    },
    // Cached credentials are for the role the profile named when they were issued. A policy that re-points the profile
    // (or drops it) takes effect at the next request: the old role's credentials are not served on from the cache
    // until they near expiry (up to 50 minutes with a 1 h credential duration), in every warm container.
    roleInForce: (name) => requireProfile(policy, name).role_arn,
  });
  const table = config.breakglass.table;
  const breakglass: BreakglassStores = {
    events: new DynamoRecordStore(EVENT_KIND, { client, table, now, ownsClient: false }),
    locks: new DynamoRecordStore(LOCK_KIND, { client, table, now, ownsClient: false }),
    slots: new DynamoRecordStore(SLOT_KIND, { client, table, now, ownsClient: false }),
  };
  const policyFor = (profile: string) => policy.policyFor?.(profile) ?? null;
  // Approvals first, then break-glass, as in the daemon.
  const overrides = composeOverrides(
    createApprovalLookup({
      store: requests,
      policy: policyFor,
      trustedSessionRoles: config.identity.trustedSessionRoles,
    }),
    createBreakglassLookup({ stores: breakglass, policy: policyFor }),
  );
  let ports: ReturnType<typeof awsNotifierPorts> | undefined;
  let notifier: Notifier | undefined;
  return {
    config,
    policy,
    sessions,
    requests,
    breakglass,
    notifier: () => (notifier ??= createNotifier((ports ??= awsNotifierPorts(region ? { region } : {})))),
    issuer,
    overrides,
    decisions: options.decisions ?? stdoutDecisions(),
    log,
    now,
    newId: pooledRequestIds(),
    instanceId: randomBytes(8).toString('hex'),
    startedAt: now(),
    async close() {
      issuer.clear();
      sts.close();
      await policy.close();
      ports?.destroy();
      if (owns) client.destroy();
    },
  };
}
