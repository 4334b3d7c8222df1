// Forcing the order of notifications and of the writes that record them, for tests of who wins when they race: a
// notifier whose deliveries answer only when a test says so, and a DynamoDB record store (real, on dynalite) whose
// chosen writes wait until the test releases them. Only what the test holds is held; everything else runs.
import type { Notifier } from '../../core/notify/notifier.js';
import type { DeliveryResult, NotificationPayload } from '../../core/notify/types.js';
import type { DynamoRecordStore } from '../../core/records/dynamodb.js';
import type { StoredRecord } from '../../core/records/kind.js';
import type { Changes } from '../../core/records/store.js';

export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A notifier whose every delivery waits until the test answers it. */
export function heldNotifier() {
  const waiting: Array<(d: Sent) => void> = [];
  const queued: Sent[] = [];
  interface Sent {
    payload: Omit<NotificationPayload, 'id' | 'timestamp'>;
    answer(results: DeliveryResult[]): void;
  }
  const notifier: Notifier = {
    notify: (_targets, _declared, payload) =>
      new Promise<DeliveryResult[]>((answer) => {
        const sent = { payload, answer };
        const w = waiting.shift();
        if (w) w(sent);
        else queued.push(sent);
      }),
  };
  /** The next delivery sent (already sent or still to come). */
  const next = () => (queued.length ? Promise.resolve(queued.shift()!) : new Promise<Sent>((r) => waiting.push(r)));
  return { notifier, next };
}

/** A DynamoDB record store whose writes the test can hold back, and whose landed writes it can wait for. */
export function instrument<R extends StoredRecord & { notification_status?: string }>(store: DynamoRecordStore<R>) {
  const holds: Array<{ match: (c: Changes<R>) => boolean; arrived: (current: R) => void; release: Promise<void> }> = [];
  let nextUpdate: { arrived: () => void; release: Promise<void> } | null = null;
  const landed: Array<{ status: string | undefined; record: R }> = [];
  const watchers: Array<() => void> = [];
  const inFlight = new Set<Promise<unknown>>();

  const updateIf = store.updateIf.bind(store);
  store.updateIf = async (current, changes) => {
    const i = holds.findIndex((h) => h.match(changes));
    if (i >= 0) {
      const [h] = holds.splice(i, 1);
      h!.arrived(current);
      await h!.release;
    }
    const record = await updateIf(current, changes);
    landed.push({ status: (changes as { notification_status?: string }).notification_status, record });
    for (const w of watchers.splice(0)) w();
    return record;
  };
  const update = store.update.bind(store);
  store.update = async (id, decide) => {
    const held = nextUpdate;
    nextUpdate = null;
    const p = (async () => {
      if (held) {
        held.arrived();
        await held.release;
      }
      return update(id, decide);
    })();
    inFlight.add(p);
    void p.then(
      () => inFlight.delete(p),
      () => inFlight.delete(p),
    );
    return p;
  };

  return {
    landed,
    /** Holds the next write whose changes match, after its read: `arrived` gives the record it read. */
    holdWrite(match: (c: Changes<R>) => boolean) {
      const arrived = deferred<R>();
      const release = deferred();
      holds.push({ match, arrived: arrived.resolve, release: release.promise });
      return { arrived: arrived.promise, release: () => release.resolve() };
    },
    /** Holds the next update before it reads anything. */
    holdNextUpdate() {
      const arrived = deferred();
      const release = deferred();
      nextUpdate = { arrived: () => arrived.resolve(), release: release.promise };
      return { arrived: arrived.promise, release: () => release.resolve() };
    },
    /** Resolves once a write setting `status` has landed. */
    async landedStatus(status: string) {
      while (!landed.some((l) => l.status === status)) await new Promise<void>((r) => watchers.push(r));
    },
    /** Every update started so far (and any a settled delivery starts now) has settled. */
    async settled() {
      await new Promise((r) => setImmediate(r));
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
