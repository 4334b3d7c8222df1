// Writing what came of an event's notifications onto the record the event is about. Several writers can set a
// record's `notification_status` for one event, or for successive ones, and none of them waits for the others: the
// sender records the outcome when delivery ends, a bounded caller (the vendor, a CLI command) records an interim
// "no outcome yet" at its bound, and a later event (a close, a decision) records its own. Each such write is therefore
// conditioned on the record still being the one it is about; when it has moved on, the newer state stands and the
// write is skipped — which is not a failure, and is not logged as one.
//
// Which event a record's status is about is on the record: every transition that announces an event names it in
// `notification_event` and removes the status left by the event before (core/approvals/service.ts,
// core/breakglass/service.ts). A status alone cannot tell events apart — request.created and request.approved of an
// auto-approved request both leave it `approved` — so a sender's outcome goes on only while the record still names
// that sender's event.
import type { Changes, RecordStore } from '../records/store.js';
import type { StoredRecord } from '../records/kind.js';
import type { NotificationEvent } from './types.js';

/** A record whose notifications are recorded on it. `notification_event` is absent on records written before it was
 * kept (they name no event, so no outcome is taken as theirs until their next transition names one). */
export interface Notified extends StoredRecord {
  status: string;
  notification_status?: string;
  notification_event?: string;
}

/** What a transition writes with its new status: the event it announces, and no status yet (the one there was the
 * previous event's, and would read as this one's). */
export function announcing(event: NotificationEvent): {
  notification_event: NotificationEvent;
  notification_status: undefined;
} {
  return { notification_event: event, notification_status: undefined };
}

/** True while `current` still names `event` as its latest, in the status the announcing transition left. The status
 * as well: a writer of an older version that moves the record on without naming its event (a mixed fleet during an
 * upgrade) still leaves a status this event's outcome must not be written over. */
export function stillAbout(current: Notified, about: { event: NotificationEvent; status: string }): boolean {
  return current.notification_event === about.event && current.status === about.status;
}

/** A decide function's refusal that means "the record has moved on, nothing to write". Never leaves this module. */
class Superseded extends Error {}

export interface StatusWrite<R> {
  /** False when `ours` declined: the record had moved on, and is left as it is. */
  written: boolean;
  /** The record as written, or as last read when the write was declined. */
  record: R;
}

/** Sets `notification_status` to `status` with the store's read-decide-write (retried on a lost race, each time on
 * what is stored then), only while `ours(current)` holds. Other failures reject, as the store's update does. */
export async function writeStatusIf<R extends StoredRecord & { notification_status?: string }>(
  store: Pick<RecordStore<R>, 'update'>,
  id: string,
  status: string,
  ours: (current: R) => boolean,
): Promise<StatusWrite<R>> {
  let seen: R | undefined;
  try {
    const record = await store.update(id, (current) => {
      seen = current;
      if (!ours(current)) throw new Superseded();
      return { notification_status: status } as Changes<R>;
    });
    return { written: true, record };
  } catch (e) {
    if (e instanceof Superseded) return { written: false, record: seen! };
    throw e;
  }
}

/** Records an event's delivery outcome on its record, only while the record still names that event
 * (`stillAbout`). `written: false` when a later event has been announced since: its status stands. */
export function writeOutcome<R extends Notified>(
  store: Pick<RecordStore<R>, 'update'>,
  id: string,
  status: string,
  about: { event: NotificationEvent; status: string },
): Promise<StatusWrite<R>> {
  return writeStatusIf(store, id, status, (current) => stillAbout(current, about));
}
