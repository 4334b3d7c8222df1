// The vendor's interim notification status against the real outcome (DESIGN §12, §17). At its 2 s bound the vendor
// writes "no outcome within 2s" on the record before it answers; the sender writes the real outcome when delivery
// ends. Neither waits for the other, so the interim may arrive second: delivery ending just after the bound while the
// interim is in flight, or a close written since. The interim then must not replace what is there, and an
// invocation's delivery ending after the close must not replace the close's outcome either.
//
// The races are forced, not waited for: the notifier answers only when a test says so, and the events and requests
// stores (DynamoDB, on dynalite) hold a chosen write until the test releases it. Only the bound itself is real time.
import t from 'tap';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUEST_KIND, REQUEST_TABLE, type ApprovalRequest } from '../core/approvals/record.js';
import {
  BREAKGLASS_TABLE,
  EVENT_KIND,
  LOCK_KIND,
  SLOT_KIND,
  type BreakglassEvent,
  type BreakglassStores,
} from '../core/breakglass/record.js';
import { createLogger } from '../core/log.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { NOTIFY_WAIT_MS } from '../lambda/bounded.js';
import { createVendorBreakglass } from '../lambda/breakglass.js';
import type { VendorParts } from '../lambda/parts.js';
import { createVendorRequests } from '../lambda/requests.js';
import { startDynalite } from './support/dynalite.js';
import { requireApprovalProvider, userPrincipal } from './support/vendor-fixtures.js';
import { heldNotifier, instrument } from './support/held-writes.js';
import type { DeliveryResult } from '../core/notify/types.js';

const UNSETTLED = `failed: ops: no outcome within ${NOTIFY_WAIT_MS / 1000}s`;

const POLICY = `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod], users: [alice] } }
  - { name: nobody-else, effect: deny, conditions: { profiles: [prod] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], notify: [ops] }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [bob], notify: [ops] }
notifications:
  - { name: ops, webhook: { url: "https://hooks.example.com/sentinel" } }
profiles:
  - { name: prod, role_arn: "arn:aws:iam::111122223333:role/prod-admin", region: eu-west-1 }
`;
const { policy, provider } = requireApprovalProvider(POLICY);

const ALICE = userPrincipal('alice');
const BOB = userPrincipal('bob');
const INVOKE = {
  profile: 'prod',
  reason_code: 'incident',
  justification: 'database down, paging says prod is burning',
};

const delivered = (target = 'ops'): DeliveryResult[] => [
  { target, kind: 'webhook', ok: true, attempts: 1, deliveryId: 'd-1' },
];
const refused = (target = 'ops'): DeliveryResult[] => [
  { target, kind: 'webhook', ok: false, attempts: 1, deliveryId: 'd-2', error: 'HTTP 410' },
];

const isUnsettled = (c: { notification_status?: string }) => c.notification_status === UNSETTLED;

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDINTERIM', secretAccessKey: 'x' },
  maxAttempts: 1,
});
t.teardown(() => client.destroy());
let tables = 0;

function logger() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { log, notRecorded: () => lines.filter((l) => l.includes('not recorded')) };
}

async function breakglass() {
  const table = `bg-interim-${++tables}`;
  await ensureTable(client, BREAKGLASS_TABLE, table, { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, { client, table, ownsClient: false });
  const stores: BreakglassStores = {
    events,
    locks: new DynamoRecordStore(LOCK_KIND, { client, table, ownsClient: false }),
    slots: new DynamoRecordStore(SLOT_KIND, { client, table, ownsClient: false }),
  };
  const store = instrument<BreakglassEvent>(events);
  const notes = heldNotifier();
  const { log, notRecorded } = logger();
  const vendor = createVendorBreakglass({
    stores,
    policy: provider,
    notifier: () => notes.notifier,
    log,
    trustedSessionRoles: [],
    now: () => new Date(),
  });
  return { vendor, events, store, notes, notRecorded };
}

t.test('break-glass: an outcome that lands while the interim write is in flight stays on the record', async (t) => {
  const { vendor, events, store, notes, notRecorded } = await breakglass();
  // The interim has read the record as the invocation wrote it and is about to write; the outcome lands first.
  const interim = store.holdWrite(isUnsettled);
  const answer = vendor.invoke(BOB, INVOKE);
  const invoked = await notes.next();
  t.equal(invoked.payload.type, 'breakglass.invoked');
  const read = await interim.arrived;
  t.equal(read.notification_status, undefined, 'the interim read the record before any outcome');
  invoked.answer(delivered());
  await store.landedStatus('delivered');
  interim.release();
  const event = await answer;
  const stored = await events.get(event.id);
  t.equal(stored?.notification_status, 'delivered', 'the real outcome stays');
  t.equal(event.notification_status, 'delivered', 'and the answer says so');
  t.notOk(
    store.landed.some((l) => l.status === UNSETTLED),
    'the interim was never written',
  );
  t.same(notRecorded(), [], 'a superseded interim is not logged as a failure');
});

t.test('break-glass: an interim that reads the record after the outcome landed leaves it', async (t) => {
  const { vendor, events, store, notes, notRecorded } = await breakglass();
  const answer = vendor.invoke(BOB, INVOKE);
  const invoked = await notes.next();
  // The next update is the vendor's interim (the service's own write waits for the delivery held above).
  const interim = store.holdNextUpdate();
  await interim.arrived;
  invoked.answer(refused());
  await store.landedStatus('failed: ops: HTTP 410');
  interim.release();
  const event = await answer;
  t.equal((await events.get(event.id))?.notification_status, 'failed: ops: HTTP 410', 'the real outcome stays');
  t.equal(event.notification_status, 'failed: ops: HTTP 410');
  t.same(notRecorded(), []);
});

t.test('break-glass: an invocation late in every way leaves the close’s outcome on the record', async (t) => {
  const { vendor, events, store, notes, notRecorded } = await breakglass();
  const interim = store.holdWrite(isUnsettled);
  const answer = vendor.invoke(BOB, INVOKE);
  const invoked = await notes.next();
  await interim.arrived; // the bound passed; the invocation's interim is on its way, its delivery still going
  const id = (invoked.payload.breakglass as { id: string }).id;

  const closing = vendor.close(BOB, id, 'over');
  const closeNote = await notes.next();
  t.equal(closeNote.payload.type, 'breakglass.closed');
  closeNote.answer(refused());
  t.equal((await closing).status, 'closed');
  t.equal((await events.get(id))?.notification_status, 'failed: ops: HTTP 410', 'the close’s outcome, in time');

  interim.release(); // the invocation's interim now writes onto a record the close has changed
  const event = await answer;
  t.equal(event.notification_status, UNSETTLED, 'the invocation’s answer says what was true of it at the bound');
  t.equal((await events.get(id))?.notification_status, 'failed: ops: HTTP 410', 'not over the close’s outcome');

  invoked.answer(delivered()); // and its delivery ends, long after
  await store.settled();
  const stored = await events.get(id);
  t.equal(stored?.status, 'closed');
  t.equal(stored?.notification_status, 'failed: ops: HTTP 410', 'the invocation’s late outcome does not replace it');
  t.notOk(
    store.landed.some((l) => l.status === UNSETTLED || l.status === 'delivered'),
    'neither was written',
  );
  t.same(notRecorded(), []);
});

t.test('requests: an outcome already being written at the bound is not overwritten by the interim', async (t) => {
  const table = `rq-interim-${++tables}`;
  await ensureTable(client, REQUEST_TABLE, table, { pollMs: 5 });
  const requests = new DynamoRecordStore(REQUEST_KIND, { client, table, ownsClient: false });
  const store = instrument<ApprovalRequest>(requests);
  const notes = heldNotifier();
  const { log, notRecorded } = logger();
  const vendor = createVendorRequests({
    config: { identity: { trustedSessionRoles: [] } },
    policy: provider,
    requests,
    notifier: () => notes.notifier,
    log,
    now: () => new Date(),
  } as unknown as VendorParts);

  // Delivery ends at once, but writing its outcome takes past the bound (a slow DynamoDB answer).
  const outcome = store.holdWrite((c) => c.notification_status === 'delivered');
  const interim = store.holdWrite(isUnsettled);
  const answer = vendor.create(ALICE, { profile: 'prod', justification: 'incident 4711 needs prod now' });
  (await notes.next()).answer(delivered());
  await outcome.arrived;
  // At the bound the interim either declines at once (the answer comes) or reaches its write (held).
  const first = await Promise.race([answer.then(() => 'answered'), interim.arrived.then(() => 'interim held')]);
  outcome.release();
  await store.landedStatus('delivered');
  interim.release();
  const filed = await answer;
  t.equal(first, 'answered', 'the interim did not try to write');
  t.equal((await requests.get(filed.id))?.notification_status, 'delivered', 'the real outcome stays');
  t.same(notRecorded(), []);
});
