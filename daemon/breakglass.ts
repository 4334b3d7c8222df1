// The daemon's break-glass parts (DESIGN §11): the break-glass table (only with the DynamoDB session store — events
// that a restart would forget or that nobody else can review are no record, and limits that reset are no limits), the
// override lookup authorize() consults after approvals, and the service the `/v1/breakglass` routes serve.
import type { Config } from '../core/config.js';
import type { OpLogger } from '../core/log.js';
import type { PolicyProvider } from '../core/policy/types.js';
import type { OverrideLookup } from '../core/authorize/types.js';
import { noOverrides } from '../core/authorize/overrides.js';
import type { MfaSessions } from '../core/breakglass/mfa.js';
import { createBreakglassLookup } from '../core/breakglass/override.js';
import { EVENT_KIND, LOCK_KIND, SLOT_KIND, type BreakglassStores } from '../core/breakglass/record.js';
import { createBreakglassService, type BreakglassService } from '../core/breakglass/service.js';
import { createNotifier, drain } from '../core/notify/notifier.js';
import type { SessionStore } from '../core/sessions/types.js';

export interface DaemonBreakglass {
  stores: BreakglassStores | null;
  overrides: OverrideLookup;
  /** The service, once the session manager that resolves identities exists. */
  api(identities: {
    identify(profile: string): Promise<{ arn: string; user: string }>;
    profiles(): Promise<Array<{ name: string }>>;
    profile(name: string): Promise<unknown>;
  }): BreakglassService;
  close(): Promise<void>;
}

export async function createDaemonBreakglass(
  config: Config,
  policy: () => PolicyProvider,
  log: OpLogger,
  mfa?: MfaSessions,
  sessions?: SessionStore,
): Promise<DaemonBreakglass> {
  const aws = {
    ...(config.region ? { region: config.region } : {}),
    ...(config.awsProfile ? { profile: config.awsProfile } : {}),
  };
  let stores: BreakglassStores | null = null;
  const table = config.breakglass.table;
  if (config.sessions.store === 'dynamodb' && sessions?.sibling) {
    // On the session table's client, so a credential request reads the session, the lock and the event together.
    stores = {
      events: sessions.sibling(EVENT_KIND, table),
      locks: sessions.sibling(LOCK_KIND, table),
      slots: sessions.sibling(SLOT_KIND, table),
    };
  } else if (config.sessions.store === 'dynamodb') {
    const [{ DynamoRecordStore }, { createTableClient }] = await Promise.all([
      import('../core/records/dynamodb.js'),
      import('../core/records/client.js'),
    ]);
    const client = createTableClient(aws);
    stores = {
      events: new DynamoRecordStore(EVENT_KIND, { client, table }),
      locks: new DynamoRecordStore(LOCK_KIND, { client, table, ownsClient: false }),
      slots: new DynamoRecordStore(SLOT_KIND, { client, table, ownsClient: false }),
    };
  }
  const found = stores;
  const overrides: OverrideLookup = found
    ? createBreakglassLookup({ stores: found, policy: (profile) => policy().policyFor?.(profile) ?? null })
    : noOverrides;
  const { awsNotifierPorts } = await import('../core/notify/aws-ports.js');
  const ports = awsNotifierPorts(aws);
  let api: BreakglassService | undefined;
  const deadline = new AbortController();
  return {
    stores,
    overrides,
    api(identities) {
      api ??= createBreakglassService({
        stores,
        policy,
        profileExists: async (profile) => void (await identities.profile(profile)),
        identify: (profile) => identities.identify(profile),
        profiles: async () => (await identities.profiles()).map((p) => p.name),
        ...(mfa ? { mfa } : {}),
        notifier: createNotifier({ ...ports, webhook: { signal: deadline.signal } }),
        log: log.child({ component: 'breakglass' }),
        trustedSessionRoles: config.identity.trustedSessionRoles,
      });
      return api;
    },
    async close() {
      await drain(api?.idle(), deadline);
      ports.destroy();
      await Promise.all([stores?.events.close(), stores?.locks.close(), stores?.slots.close()]);
    },
  };
}
