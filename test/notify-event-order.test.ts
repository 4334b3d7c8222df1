// Which event a record's notification_status is about (DESIGN §10–§12). Each event's sender records its outcome when
// delivery ends, and deliveries can take ~10 s, so an earlier event's outcome can arrive after a later event's was
// recorded. A status check cannot tell them apart when both leave the record in one status (an auto-approved
// request is `approved` for request.created and request.approved alike), so the record names its latest event
// (`notification_event`) and an outcome goes on only while the record still names the outcome's event.
//
// The races are forced: the notifier answers only when a test says so, on a real DynamoDB table (dynalite). The
// vendor's 2 s bound is the only real time waited for.
import t from 'tap';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Principal } from '../core/authorize/types.js';
import { REQUEST_KIND, REQUEST_TABLE, type ApprovalRequest } from '../core/approvals/record.js';
import { createRequesterApi } from '../core/approvals/requester.js';
import { decideRequest } from '../core/approvals/service.js';
import {
  BREAKGLASS_TABLE,
  EVENT_KIND,
  LOCK_KIND,
  SLOT_KIND,
  type BreakglassEvent,
  type BreakglassStores,
} from '../core/breakglass/record.js';
import { createBreakglassService } from '../core/breakglass/service.js';
import { createLogger } from '../core/log.js';
import type { DeliveryResult } from '../core/notify/types.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { createVendorBreakglass } from '../lambda/breakglass.js';
import type { VendorParts } from '../lambda/parts.js';
import { createVendorRequests } from '../lambda/requests.js';
import { startDynalite } from './support/dynalite.js';
import { requireApprovalProvider, userPrincipal } from './support/vendor-fixtures.js';
import { heldNotifier, instrument } from './support/held-writes.js';

const FAILED = 'failed: ops: HTTP 410';

const POLICY = `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod], users: [alice, dave] } }
  - { name: nobody-else, effect: deny, conditions: { profiles: [prod] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], auto_approve: { users: [dave] }, notify: [ops] }
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
const CAROL = userPrincipal('carol');
const DAVE = userPrincipal('dave');
const FILE = { profile: 'prod', justification: 'incident 4711 needs prod now' };
const INVOKE = {
  profile: 'prod',
  reason_code: 'incident',
  justification: 'database down, paging says prod is burning',
};

const delivered = (): DeliveryResult[] => [
  { target: 'ops', kind: 'webhook', ok: true, attempts: 1, deliveryId: 'd-1' },
];
const refused = (): DeliveryResult[] => [
  { target: 'ops', kind: 'webhook', ok: false, attempts: 4, deliveryId: 'd-2', error: 'HTTP 410' },
];

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDORDER', secretAccessKey: 'x' },
  maxAttempts: 1,
});
t.teardown(() => client.destroy());
let tables = 0;

function logger() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { log, notRecorded: () => lines.filter((l) => l.includes('not recorded')) };
}

async function requestsTable() {
  const table = `rq-order-${++tables}`;
  await ensureTable(client, REQUEST_TABLE, table, { pollMs: 5 });
  const requests = new DynamoRecordStore(REQUEST_KIND, { client, table, ownsClient: false });
  return { requests, store: instrument<ApprovalRequest>(requests) };
}

async function breakglassTable() {
  const table = `bg-order-${++tables}`;
  await ensureTable(client, BREAKGLASS_TABLE, table, { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, { client, table, ownsClient: false });
  const stores: BreakglassStores = {
    events,
    locks: new DynamoRecordStore(LOCK_KIND, { client, table, ownsClient: false }),
    slots: new DynamoRecordStore(SLOT_KIND, { client, table, ownsClient: false }),
  };
  return { stores, events, store: instrument<BreakglassEvent>(events) };
}

async function vendorRequests() {
  const { requests, store } = await requestsTable();
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
  return { vendor, requests, store, notes, notRecorded };
}

async function daemonRequests(requester: Principal) {
  const { requests, store } = await requestsTable();
  const notes = heldNotifier();
  const { log, notRecorded } = logger();
  const api = createRequesterApi({
    store: requests,
    policy: () => provider,
    identify: async () => ({ arn: requester.arn, user: requester.user }),
    profiles: async () => ['prod'],
    notifier: notes.notifier,
    log,
  });
  return { api, requests, store, notes, notRecorded };
}

t.test('vendor: an auto-approved request’s late request.created outcome leaves request.approved’s', async (t) => {
  const { vendor, requests, store, notes, notRecorded } = await vendorRequests();
  const answer = vendor.create(DAVE, FILE);
  const created = await notes.next();
  t.equal(created.payload.type, 'request.created');
  // request.created's receiver is slow: past the vendor's bound, request.approved is announced and delivered.
  const approved = await notes.next();
  t.equal(approved.payload.type, 'request.approved');
  approved.answer(delivered());
  const filed = await answer;
  t.equal(filed.status, 'approved');
  t.equal(filed.notification_status, 'delivered', 'the answer carries request.approved’s outcome');
  let stored = await requests.get(filed.id);
  t.equal(stored?.notification_status, 'delivered', 'request.approved’s outcome is recorded');
  t.equal(stored?.notification_event, 'request.approved', 'and the record says which event it is about');

  created.answer(refused()); // request.created's delivery gives up, long after
  await store.settled();
  stored = await requests.get(filed.id);
  t.equal(stored?.notification_status, 'delivered', 'request.approved’s outcome stands');
  t.equal(stored?.notification_event, 'request.approved');
  t.notOk(
    store.landed.some((l) => l.status === FAILED),
    'request.created’s outcome was never written',
  );
  t.same(notRecorded(), [], 'a superseded outcome is not logged as a failure');
});

t.test('daemon: an auto-approved request’s late request.created outcome leaves request.approved’s', async (t) => {
  const { api, requests, store, notes, notRecorded } = await daemonRequests(DAVE);
  const filed = await api.create(FILE);
  t.equal(filed.status, 'approved');
  const created = await notes.next();
  const approved = await notes.next();
  t.equal(created.payload.type, 'request.created');
  t.equal(approved.payload.type, 'request.approved');
  approved.answer(delivered());
  await store.landedStatus('delivered');
  created.answer(refused());
  await api.idle();
  const stored = await requests.get(filed.id);
  t.equal(stored?.status, 'approved');
  t.equal(stored?.notification_status, 'delivered', 'request.approved’s outcome stands');
  t.equal(stored?.notification_event, 'request.approved');
  t.notOk(
    store.landed.some((l) => l.status === FAILED),
    'request.created’s outcome was never written',
  );
  t.same(notRecorded(), []);
});

t.test('daemon: a filing’s late outcome leaves the outcome an approver recorded for the decision', async (t) => {
  const { api, requests, store, notes } = await daemonRequests(ALICE);
  const filed = await api.create(FILE);
  t.equal(filed.status, 'pending');
  const created = await notes.next(); // the daemon's delivery of request.created, slow
  // An approver decides straight against the table (as `sentinel approve` does) and records the decision's outcome.
  const { request } = await decideRequest(
    requests,
    async () => policy,
    { approver: { arn: CAROL.arn, user: 'carol' }, id: filed.id, decision: 'approve' },
    () => new Date(),
  );
  t.equal(request.notification_event, 'request.approved', 'the decision names its event');
  t.equal(request.notification_status, undefined, 'and leaves no status of the filing behind');
  await requests.update(filed.id, () => ({ notification_status: 'delivered' }));
  created.answer(refused());
  await api.idle();
  const stored = await requests.get(filed.id);
  t.equal(stored?.notification_status, 'delivered', 'the decision’s outcome stands');
  t.notOk(
    store.landed.some((l) => l.status === FAILED),
    'request.created’s outcome was never written',
  );
});

t.test('vendor: a break-glass close answers with the close’s outcome, not the invocation’s', async (t) => {
  const { stores, events } = await breakglassTable();
  const notes = heldNotifier();
  const vendor = createVendorBreakglass({
    stores,
    policy: provider,
    notifier: () => notes.notifier,
    log: logger().log,
    trustedSessionRoles: [],
    now: () => new Date(),
  });
  const invoking = vendor.invoke(BOB, INVOKE);
  (await notes.next()).answer(delivered());
  const invoked = await invoking;
  t.equal(invoked.notification_status, 'delivered', 'the invocation’s answer carries its outcome');
  const closing = vendor.close(BOB, invoked.id, 'over');
  const closeNote = await notes.next();
  t.equal(closeNote.payload.type, 'breakglass.closed');
  closeNote.answer(refused()); // within the bound
  const closed = await closing;
  t.equal(closed.status, 'closed');
  t.equal(closed.notification_status, FAILED, 'the close’s own outcome');
  t.equal(closed.notification_event, 'breakglass.closed');
  const stored = await events.get(invoked.id);
  t.equal(stored?.notification_status, FAILED);
  t.equal(stored?.notification_event, 'breakglass.closed');
});

t.test('records written before notification_event was kept still get their statuses', async (t) => {
  t.test('an approval request, decided through the vendor', async (t) => {
    const { vendor, requests, notes } = await vendorRequests();
    const at = new Date();
    const old: ApprovalRequest = {
      id: '0123456789abcdef',
      requester: 'alice',
      requester_arn: ALICE.arn,
      profile: 'prod',
      justification: 'filed before the upgrade',
      duration: 3600,
      status: 'pending',
      rule: 'prod-approvers',
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
      expires_at: new Date(at.getTime() + 3_600_000).toISOString(),
      auto_approved: false,
      notification_status: 'delivered',
      ttl: Math.floor(at.getTime() / 1000) + 86_400,
    };
    await requests.create(old);
    t.equal((await requests.get(old.id))?.notification_event, undefined, 'the old record names no event');
    const deciding = vendor.decide(CAROL, old.id, 'approve');
    (await notes.next()).answer(refused());
    const decided = await deciding;
    t.equal(decided.notification_status, FAILED);
    const stored = await requests.get(old.id);
    t.equal(stored?.status, 'approved');
    t.equal(stored?.notification_status, FAILED, 'the decision’s outcome is written');
    t.equal(stored?.notification_event, 'request.approved');
  });

  t.test('a break-glass event, closed through a daemon', async (t) => {
    const { stores, events } = await breakglassTable();
    const notes = heldNotifier();
    const service = createBreakglassService({
      stores,
      policy: () => provider,
      profileExists: async () => {},
      identify: async () => ({ arn: BOB.arn, user: 'bob' }),
      profiles: async () => ['prod'],
      notifier: notes.notifier,
      log: logger().log,
    });
    const at = new Date();
    const old: BreakglassEvent = {
      id: 'fedcba9876543210',
      invoker: 'bob',
      invoker_arn: BOB.arn,
      profile: 'prod',
      reason_code: 'incident',
      justification: 'invoked before the upgrade, prod down',
      status: 'active',
      rule: 'prod-emergency',
      mfa_verified: false,
      escalated: false,
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
      expires_at: new Date(at.getTime() + 3_600_000).toISOString(),
      notification_status: 'delivered',
      ttl: Math.floor(at.getTime() / 1000) + 86_400,
    };
    await events.create(old);
    t.equal((await events.get(old.id))?.notification_event, undefined, 'the old record names no event');
    await service.close(old.id, 'over');
    (await notes.next()).answer(refused());
    await service.idle();
    const stored = await events.get(old.id);
    t.equal(stored?.status, 'closed');
    t.equal(stored?.notification_status, FAILED, 'the close’s outcome is written');
    t.equal(stored?.notification_event, 'breakglass.closed');
  });
});
