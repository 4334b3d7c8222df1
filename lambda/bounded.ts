import { unsettledStatus } from '../core/notify/notifier.js';
import { writeStatusIf, type StatusWrite } from '../core/notify/record-status.js';
import type { StoredRecord } from '../core/records/kind.js';
import type { RecordStore } from '../core/records/store.js';

// A Lambda container may be frozen as soon as the handler answers, so work that must happen (notifications and the
// record of their outcome) is awaited before answering — but never for longer than a bound, so a receiver that does
// not answer cannot hold the caller. What is not done by then stays in flight and runs if the container thaws.

/** How long an answer waits for its notifications. Well inside the daemon bridge's and the admin CLI's budget for one
 * vendor call (VENDOR_ATTEMPT_MS, 5 s, in core/vendor/client.ts): a sent POST is never repeated, so an answer that
 * came later than that budget would report an invocation or a decision that took effect as VendorUnavailable. */
export const NOTIFY_WAIT_MS = 2000;

/** True when `work` settled within `ms`; false when the bound came first (the work goes on). */
export async function waitAtMost(work: Promise<unknown>, ms: number = NOTIFY_WAIT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

/** What a record says when its notifications had no outcome by the bound: never the status of the event before this
 * one (`delivered` for request.created, say, while request.approved is still unanswered). Written before the answer;
 * the real outcome replaces it if the container runs on. */
export const unsettledAtBound = (targets: readonly string[]) => unsettledStatus(targets, NOTIFY_WAIT_MS);

/** Writes `unsettledAtBound(targets)` on the record at the bound, but only while `ours(current)`: the sender's real
 * outcome may land first (delivery ending just after the bound, while this write is on its way or before it reads),
 * and a later event (a close, a decision) may have written the record since; either stands, and this write is skipped
 * (`written: false`, not a failure). Other failures reject. */
export function markUnsettled<R extends StoredRecord & { notification_status?: string }>(
  store: Pick<RecordStore<R>, 'update'>,
  id: string,
  targets: readonly string[],
  ours: (current: R) => boolean,
): Promise<StatusWrite<R>> {
  return writeStatusIf(store, id, unsettledAtBound(targets), ours);
}
