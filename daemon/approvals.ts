// The daemon's approvals parts: the requests table (only with the DynamoDB session store — approvals a restart would
// forget, or that no approver can see, are no approvals), the notifier with Sentinel's own AWS profile and region,
// and the requester API the `/v1/requests` routes serve.
import type { Config } from '../core/config.js';
import type { OpLogger } from '../core/log.js';
import type { PolicyProvider } from '../core/policy/types.js';
import { createRequesterApi, type RequesterApi } from '../core/approvals/requester.js';
import { REQUEST_KIND, type ApprovalRequest } from '../core/approvals/record.js';
import { createNotifier } from '../core/notify/notifier.js';
import type { RecordStore } from '../core/records/store.js';
import type { LocalSessions } from './sessions/local-sessions.js';

export interface DaemonApprovals {
  store: RecordStore<ApprovalRequest> | null;
  api: RequesterApi;
  close(): Promise<void>;
}

export async function createDaemonApprovals(
  config: Config,
  sessions: LocalSessions,
  policy: () => PolicyProvider,
  log: OpLogger,
): Promise<DaemonApprovals> {
  const aws = {
    ...(config.region ? { region: config.region } : {}),
    ...(config.awsProfile ? { profile: config.awsProfile } : {}),
  };
  let store: RecordStore<ApprovalRequest> | null = null;
  if (config.sessions.store === 'dynamodb') {
    const [{ DynamoRecordStore }, { createTableClient }] = await Promise.all([
      import('../core/records/dynamodb.js'),
      import('../core/records/client.js'),
    ]);
    store = new DynamoRecordStore(REQUEST_KIND, { client: createTableClient(aws), table: config.requests.table });
  }
  const { awsNotifierPorts } = await import('../core/notify/aws-ports.js');
  const ports = awsNotifierPorts(aws);
  const api = createRequesterApi({
    store,
    policy,
    identify: (profile) => sessions.identify(profile),
    profiles: async () => (await sessions.profiles()).map((p) => p.name),
    notifier: createNotifier(ports),
    log: log.child({ component: 'approvals' }),
  });
  return {
    store,
    api,
    async close() {
      await api.idle();
      ports.destroy();
      await store?.close();
    },
  };
}
