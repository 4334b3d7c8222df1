// Writing what came of an event's notifications onto the record the event is about. Several writers can set a
// record's `notification_status` for one event, or for successive ones, and none of them waits for the others: the
// sender records the outcome when delivery ends, a bounded caller (the vendor, a CLI command) records an interim
// "no outcome yet" at its bound, and a later event (a close, a decision) records its own. Each such write is therefore
// conditioned on the record still being the one it is about; when it has moved on, the newer state stands and the
// write is skipped — which is not a failure, and is not logged as one.
import type { Changes, RecordStore } from '../records/store.js';
import type { StoredRecord } from '../records/kind.js';

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
