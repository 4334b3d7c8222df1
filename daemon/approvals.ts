// The daemon's approvals parts: the requests table (only with the DynamoDB session store — approvals a restart would
// forget, or that no approver can see, are no approvals), the override lookup authorize() consults for
// `require_approval`, the notifier with Sentinel's own AWS profile and region, and the requester API the
// `/v1/requests` routes serve.
import type { Config } from '../core/config.js';
import type { OpLogger } from '../core/log.js';
import type { PolicyProvider } from '../core/policy/types.js';
import type { OverrideLookup } from '../core/authorize/types.js';
import { noOverrides } from '../core/authorize/overrides.js';
import { createRequesterApi, type RequesterApi } from '../core/approvals/requester.js';
import { REQUEST_KIND, type ApprovalRequest } from '../core/approvals/record.js';
import { createApprovalLookup } from '../core/approvals/override.js';
import { createNotifier, drain } from '../core/notify/notifier.js';
import type { RecordStore } from '../core/records/store.js';
import type { SessionStore } from '../core/sessions/types.js';

export interface DaemonApprovals {
  store: RecordStore<ApprovalRequest> | null;
  overrides: OverrideLookup;
  /** The requester API, once the session manager that resolves identities exists. */
  api(identities: {
    identify(profile: string): Promise<{ arn: string; user: string }>;
    profiles(): Promise<Array<{ name: string }>>;
  }): RequesterApi;
  close(): Promise<void>;
}

export async function createDaemonApprovals(
  config: Config,
  policy: () => PolicyProvider,
  log: OpLogger,
  sessions: SessionStore,
): Promise<DaemonApprovals> {
  const aws = {
    ...(config.region ? { region: config.region } : {}),
    ...(config.awsProfile ? { profile: config.awsProfile } : {}),
  };
  let store: RecordStore<ApprovalRequest> | null = null;
  if (config.sessions.store === 'dynamodb' && sessions.sibling) {
    // On the session table's client, so a credential request reads the session and its approval in one BatchGetItem.
    store = sessions.sibling(REQUEST_KIND, config.requests.table);
  } else if (config.sessions.store === 'dynamodb') {
    const [{ DynamoRecordStore }, { createTableClient }] = await Promise.all([
      import('../core/records/dynamodb.js'),
      import('../core/records/client.js'),
    ]);
    store = new DynamoRecordStore(REQUEST_KIND, { client: createTableClient(aws), table: config.requests.table });
  }
  const overrides: OverrideLookup = store
    ? createApprovalLookup({
        store,
        policy: (profile) => policy().policyFor?.(profile) ?? null,
        trustedSessionRoles: config.identity.trustedSessionRoles,
      })
    : noOverrides;
  const { awsNotifierPorts } = await import('../core/notify/aws-ports.js');
  const ports = awsNotifierPorts(aws);
  let api: RequesterApi | undefined;
  const deadline = new AbortController();
  return {
    store,
    overrides,
    api(identities) {
      api ??= createRequesterApi({
        store,
        policy,
        identify: (profile) => identities.identify(profile),
        profiles: async () => (await identities.profiles()).map((p) => p.name),
        notifier: createNotifier({ ...ports, webhook: { signal: deadline.signal } }),
        log: log.child({ component: 'approvals' }),
        trustedSessionRoles: config.identity.trustedSessionRoles,
      });
      return api;
    },
    async close() {
      await drain(api?.idle(), deadline);
      ports.destroy();
      await store?.close();
    },
  };
}
