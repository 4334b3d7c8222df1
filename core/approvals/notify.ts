// Who is told about an approval request, and what the record keeps of it (DESIGN §12): the entry's `notify` targets
// from the policy in force; the payload carries the record as readers see it.
import type { Notifier } from '../notify/notifier.js';
import { notificationStatus, type DeliveryResult, type NotificationEvent } from '../notify/types.js';
import type { ApprovalEntry, Policy } from '../policy/schema.js';
import type { RecordStore } from '../records/store.js';
import type { ApprovalRequest } from './record.js';
import { view } from './service.js';

export function notifyRequest(
  notifier: Notifier,
  policy: Policy,
  entry: ApprovalEntry,
  event: NotificationEvent,
  actor: string,
  request: ApprovalRequest,
  now: Date,
): Promise<DeliveryResult[]> {
  return notifier.notify(entry.notify ?? [], policy.notifications ?? [], {
    type: event,
    actor,
    request: view(request, now),
  });
}

/** Records the outcome on the request; a failure to record it is only logged by the caller (never fails the action). */
export async function recordNotificationStatus(
  store: RecordStore<ApprovalRequest>,
  id: string,
  results: readonly DeliveryResult[],
): Promise<void> {
  if (results.length === 0) return;
  await store.update(id, () => ({ notification_status: notificationStatus(results) }));
}
