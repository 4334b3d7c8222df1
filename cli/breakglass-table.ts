// The reviewer's side of break-glass (DESIGN §11) without a daemon: `breakglass close|list|show --table` run with the
// caller's own AWS identity (sts:GetCallerIdentity, never a typed name) straight against the break-glass table, through
// the same service the daemon's routes use (core/breakglass/service.ts): the same checks (the invoker, or an approver
// of the profile by the policy in force from the configured source), the same conditional transition, the same
// `breakglass.closed` notification, delivered before the command exits (bounded) with a warning when it fails.
// Loaded lazily: it pulls in the AWS SDK.
import { createLogger } from '../core/log.js';
import {
  BREAKGLASS_TABLE,
  EVENT_KIND,
  LOCK_KIND,
  SLOT_KIND,
  type BreakglassStores,
  type EventView,
} from '../core/breakglass/record.js';
import {
  breakglassNotifyTargets,
  createBreakglassService,
  type BreakglassService,
} from '../core/breakglass/service.js';
import { loadConfig } from '../core/config.js';
import { createNotifier, unsettledStatus, within } from '../core/notify/notifier.js';
import { awsNotifierPorts } from '../core/notify/aws-ports.js';
import { writeStatusIf } from '../core/notify/record-status.js';
import { createTableClient } from '../core/records/client.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { CLI_NOTIFY_BOUND_MS } from './approvals-table.js';
import type { TableFlags } from './table-flags.js';
import { assertTableKind, explainNotFound } from './table-kind.js';
import { resolveAwsTarget } from './aws-target.js';
import type { GlobalOptions } from './program.js';

export interface BreakglassTable {
  service: BreakglassService;
  /** Aborted at the command's bound: the notifier's webhook deliveries end then, and say so. */
  deadline: AbortController;
  /** The targets the event's entry notifies under the policy in force. */
  notifyTargets(event: { profile: string; rule: string }): readonly string[];
  stores: BreakglassStores;
  /** Refuses when the table is another kind of Sentinel table (a listing would answer "nothing matches"). */
  assertKind(): Promise<void>;
}

/** Runs `work` with the service over the table, then closes everything it opened. `policy`: load the policy first
 * (closing checks the closer against it; reading does not). */
export async function withBreakglassTable<T>(
  flags: TableFlags,
  globals: GlobalOptions,
  options: { policy: boolean },
  work: (table: BreakglassTable) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ configFlag: globals.config });
  const target = await resolveAwsTarget(flags, globals);
  const client = createTableClient(target);
  const table = flags.table ?? config.breakglass.table;
  const stores: BreakglassStores = {
    events: new DynamoRecordStore(EVENT_KIND, { client, table }),
    locks: new DynamoRecordStore(LOCK_KIND, { client, table, ownsClient: false }),
    slots: new DynamoRecordStore(SLOT_KIND, { client, table, ownsClient: false }),
  };
  const { createPolicyProvider } = await import('../core/policy/provider.js');
  const provider = createPolicyProvider(config, { log: createLogger({ level: 'silent' }) });
  const ports = awsNotifierPorts(target);
  let me: Promise<{ arn: string; user: string }> | undefined;
  const identify = () =>
    (me ??= import('./whoami.js').then(async ({ whoami }) => {
      const id = await whoami({ profile: target.profile, region: target.region }, globals);
      return { arn: id.arn, user: id.policyName };
    }));
  const deadline = new AbortController();
  try {
    if (options.policy) await provider.start();
    const service = createBreakglassService({
      stores,
      policy: () => provider,
      // Only invoke asks whether a profile exists, and invoking goes through a daemon.
      profileExists: async () => {},
      // The caller is one identity whatever the profile: the credentials this command runs with.
      identify: () => identify(),
      profiles: async () => [''],
      notifier: createNotifier({ ...ports, webhook: { signal: deadline.signal } }),
      log: createLogger({ level: 'silent' }),
      trustedSessionRoles: config.identity.trustedSessionRoles,
    });
    const notifyTargets = (e: { profile: string; rule: string }) => breakglassNotifyTargets(provider, e);
    const assertKind = () => assertTableKind(client, BREAKGLASS_TABLE, table);
    return await explainNotFound(client, BREAKGLASS_TABLE, table, () =>
      work({ service, stores, deadline, notifyTargets, assertKind }),
    );
  } finally {
    ports.destroy();
    await provider.close();
    await Promise.all([stores.events.close(), stores.locks.close(), stores.slots.close()]);
  }
}

/** Closes the event, then waits (bounded) for its notification and says when it failed or did not finish. */
export async function close(
  table: BreakglassTable,
  id: string,
  reason: string,
): Promise<{ event: EventView; warning: string | null }> {
  const event = await table.service.close(id, reason);
  const finished = await within(
    table.service.idle().then(() => true),
    CLI_NOTIFY_BOUND_MS,
    table.deadline,
  );
  if (!finished) {
    // Never leave the invocation's status on the event: it would say `delivered` for this close. Only onto the version
    // the close wrote, though: an outcome the service recorded meanwhile (a delivery ending just now) stands.
    const unsettled = unsettledStatus(table.notifyTargets(event), CLI_NOTIFY_BOUND_MS);
    const mark = await writeStatusIf(
      table.stores.events,
      event.id,
      unsettled,
      (c) => c.updated_at === event.updated_at,
    ).catch(() => null);
    const status = (mark && !mark.written && mark.record.notification_status) || unsettled;
    event.notification_status = status;
    return { event, warning: status.startsWith('failed') ? `notification ${status}` : null };
  }
  const recorded = await table.stores.events.get(event.id).catch(() => undefined);
  const status = recorded?.notification_status;
  if (status) event.notification_status = status;
  return { event, warning: status?.startsWith('failed') ? `notification ${status}` : null };
}
