// Who is told about an approval request, and what the record keeps of it (DESIGN §12): the entry's `notify` targets
// from the policy in force; the payload carries the record as readers see it.
import type { Notifier } from '../notify/notifier.js';
import { notificationStatus, type DeliveryResult, type NotificationEvent } from '../notify/types.js';
import type { ApprovalEntry, Policy } from '../policy/schema.js';
import type { RecordStore } from '../records/store.js';
import { writeOutcome } from '../notify/record-status.js';
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

/** Records `event`'s outcome on the request, while the request still names that event (`request` is the record as the
 * announcing transition left it); a later event's status stands (`false`). A failure to record it is only logged by
 * the caller (never fails the action). */
export async function recordNotificationStatus(
  store: RecordStore<ApprovalRequest>,
  event: NotificationEvent,
  request: ApprovalRequest,
  results: readonly DeliveryResult[],
): Promise<boolean> {
  if (results.length === 0) return false;
  const about = { event, status: request.status };
  return (await writeOutcome(store, request.id, notificationStatus(results), about)).written;
}
