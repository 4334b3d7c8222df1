// The record layer's contract (core/records/), run against both stores: memory, and DynamoDB on dynalite through the
// real SDK client. Two record kinds declared here the way approvals and break-glass will declare theirs: a request
// with a status machine in one table, and a rate-limit slot sharing a second table with an event kind.
import t from 'tap';
import { DynamoDBClient, PutItemCommand, type ServiceInputTypes } from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../core/errors.js';
import { readTogether } from '../core/records/batch.js';
import { NOT_EXISTS, type Condition } from '../core/records/condition.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { toItem, type Item, type RecordKind } from '../core/records/kind.js';
import { logSkippedItems, setSkippedItemReporter, type SkippedItem } from '../core/records/skipped.js';
import { MemoryRecordStore } from '../core/records/memory.js';
import type { TableShape } from '../core/records/shape.js';
import type { RecordStore } from '../core/records/store.js';
import { ensureTable, shapeProblems } from '../core/records/table.js';
import { startDynalite } from './support/dynalite.js';

// --- two tables, three kinds ------------------------------------------------------------------------------------

interface Request {
  id: string;
  requester: string;
  profile: string;
  status: 'pending' | 'approved' | 'denied' | 'cancelled' | 'revoked';
  count: number;
  auto_approved?: boolean;
  notification_status?: Record<string, string>;
  comment?: string;
  created_at: string;
  updated_at: string;
  ttl: number;
}

const access = { daemon: ['dynamodb:GetItem'], admin: ['dynamodb:GetItem'] };

const REQUEST_TABLE: TableShape = {
  noun: 'request',
  init: 'approvals',
  defaultName: 'test-requests',
  partitionKey: 'id',
  indexes: [
    { name: 'gsi-requester', hash: 'requester', range: 'created_at' },
    { name: 'gsi-status', hash: 'status', range: 'created_at' },
  ],
  ttlAttribute: 'ttl',
  ttlNote: 'test',
  unavailable: 'SessionStoreUnavailable',
  access,
};

const REQUEST: RecordKind<Request> = {
  noun: 'request',
  table: REQUEST_TABLE,
  idPattern: /^[0-9a-f]{16}$/,
  fields: {
    id: 'string',
    requester: 'string',
    profile: 'string',
    status: 'string',
    count: 'number',
    auto_approved: 'boolean',
    notification_status: 'json',
    comment: 'string',
    created_at: 'string',
    updated_at: 'string',
    ttl: 'number',
  },
  required: ['id', 'requester', 'profile', 'status', 'count', 'created_at', 'updated_at', 'ttl'],
  status: {
    field: 'status',
    transitions: {
      pending: ['approved', 'denied', 'cancelled'],
      approved: ['revoked'],
      denied: [],
      cancelled: [],
      revoked: [],
    },
  },
  unknown: (id) => new SentinelError('BadRequest', `no request ${id}`, { details: { id } }),
  illegalTransition: (id, from) =>
    new SentinelError('Conflict', `request ${id} is ${from}`, { details: { id, status: from } }),
};

interface Slot {
  id: string;
  owner: string;
  freed_at: string;
  updated_at: string;
  ttl: number;
}

interface Event {
  id: string;
  invoker: string;
  status: 'active' | 'closed';
  created_at: string;
  updated_at: string;
  ttl: number;
}

const BREAKGLASS_TABLE: TableShape = {
  ...REQUEST_TABLE,
  noun: 'break-glass',
  init: 'breakglass',
  indexes: [{ name: 'gsi-invoker', hash: 'invoker', range: 'created_at' }],
};

const SLOT: RecordKind<Slot> = {
  noun: 'rate-limit slot',
  table: BREAKGLASS_TABLE,
  idPattern: /^rl#[a-z0-9-]{1,64}#u#[a-z0-9]{1,20}#\d{1,3}$/,
  fields: { id: 'string', owner: 'string', freed_at: 'string', updated_at: 'string', ttl: 'number' },
  required: ['id', 'owner', 'freed_at', 'updated_at', 'ttl'],
  unknown: (id) => new SentinelError('BadRequest', `no slot ${id}`),
  illegalTransition: (id) => new SentinelError('Conflict', `slot ${id}`),
};

const EVENT: RecordKind<Event> = {
  noun: 'break-glass event',
  table: BREAKGLASS_TABLE,
  idPattern: /^[0-9a-f]{16}$/,
  fields: {
    id: 'string',
    invoker: 'string',
    status: 'string',
    created_at: 'string',
    updated_at: 'string',
    ttl: 'number',
  },
  required: ['id', 'invoker', 'status', 'created_at', 'updated_at', 'ttl'],
  status: { field: 'status', transitions: { active: ['closed'], closed: [] } },
  unknown: (id) => new SentinelError('BadRequest', `no event ${id}`),
  illegalTransition: (id, from) => new SentinelError('Conflict', `event ${id} is ${from}`),
};

// --- helpers ----------------------------------------------------------------------------------------------------

const START = Date.parse('2031-03-01T10:00:00.000Z');
const TTL = Math.floor(START / 1000) + 86_400 * 60;
const creds = { accessKeyId: 'AKIDRECORDS', secretAccessKey: 'secret' };

function hex(n: number): string {
  return n.toString(16).padStart(16, '0');
}

function request(n: number, over: Partial<Request> = {}): Request {
  const at = new Date(START + n * 1000).toISOString();
  return {
    id: hex(n),
    requester: 'alice',
    profile: 'prod',
    status: 'pending',
    count: 0,
    created_at: at,
    updated_at: at,
    ttl: TTL,
    ...over,
  };
}

function slot(n: number, freedAt: number, owner = 'alice'): Slot {
  return {
    id: `rl#prod-bg#u#alice#${n}`,
    owner,
    freed_at: new Date(freedAt).toISOString(),
    updated_at: new Date(START).toISOString(),
    ttl: TTL,
  };
}

/** rate-limit slot: free when there is none, or when the last holder's hold has lapsed. */
const slotFree = (now: number): Condition => ({
  anyOf: [NOT_EXISTS, { field: 'freed_at', lessThan: new Date(now).toISOString() }],
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof SentinelError ? e.code : `non-sentinel: ${(e as Error).message}`;
  }
}

interface Stores {
  requests: RecordStore<Request>;
  slots: RecordStore<Slot>;
  events: RecordStore<Event>;
  clock: { ms: number };
  /** The same requests table behind a store whose optimistic lock has been removed (to prove the tests catch it). */
  unlocked: RecordStore<Request>;
  /** Commands the DynamoDB client sent since the last call (undefined for memory). */
  sent?: () => Array<{ name: string; input: ServiceInputTypes }>;
  putRaw?: (item: Record<string, unknown>) => Promise<void>;
  /** Puts an item into the requests table as it is, whatever it holds (memory: plantItem). */
  plant: (item: Record<string, unknown>) => Promise<void>;
  /** The requests table's name (undefined for memory). */
  requestsTable?: string;
}

type Factory = () => Promise<Stores>;

// --- the contract -----------------------------------------------------------------------------------------------

function contract(name: string, factory: Factory): void {
  t.test(`${name}: create, consistent get, and create-if-new`, async (t) => {
    const { requests } = await factory();
    const r = request(1, { auto_approved: false, notification_status: { 'ops-webhook': 'sent' }, comment: '' });
    const created = await requests.create(r);
    t.notOk('comment' in created, 'an empty string is stored as absent');
    t.same(await requests.get(r.id), created, 'get returns what create returned');
    t.equal(created.auto_approved, false, 'booleans round-trip');
    t.same(created.notification_status, { 'ops-webhook': 'sent' }, 'json round-trips');
    const dup = await requests.create(request(1, { requester: 'mallory' })).catch((e: unknown) => e);
    t.ok(dup instanceof SentinelError && dup.code === 'Conflict', 'a second create with the id is Conflict');
    t.match((dup as Error).message, /a request with id 0+1 already exists/);
    t.same(await requests.get(r.id), created, 'the first record is untouched');
    t.equal(await requests.get(hex(99)), undefined, 'an unknown id is undefined');
    for (const bad of ['', 'XYZ', hex(0xabc).toUpperCase(), '../etc', `${hex(1)}\n`, 7, 'a'.repeat(10_000)]) {
      t.equal(await code(requests.get(bad as string)), 'BadRequest', `get(${JSON.stringify(bad).slice(0, 20)})`);
      t.equal(await code(requests.create({ ...r, id: bad as string })), 'BadRequest', 'create refuses the id');
    }
  });

  t.test(`${name}: updates move updated_at forward and follow the declared transitions`, async (t) => {
    const { requests } = await factory();
    const r = await requests.create(request(1));
    const approved = await requests.update(r.id, () => ({ status: 'approved', comment: 'ok' }));
    t.equal(approved.status, 'approved');
    t.ok(approved.updated_at > r.updated_at, 'updated_at moved forward though the clock did not');
    t.same(await requests.get(r.id), approved);
    const cleared = await requests.update(r.id, () => ({ comment: undefined }));
    t.notOk('comment' in cleared, 'a field set to undefined is removed');
    t.notOk('comment' in (await requests.get(r.id))!, 'and stays removed');
    for (const to of ['pending', 'denied', 'cancelled', 'approved'] as const) {
      const err = await requests.update(r.id, () => ({ status: to })).catch((e: unknown) => e);
      t.ok(err instanceof SentinelError && err.details?.status === 'approved', `approved → ${to} refused`);
    }
    t.equal((await requests.update(r.id, () => ({ status: 'revoked' }))).status, 'revoked', 'approved → revoked');
    for (const to of ['pending', 'approved', 'revoked'] as const) {
      t.equal(await code(requests.update(r.id, () => ({ status: to }))), 'Conflict', `revoked is final (→ ${to})`);
    }
    t.equal((await requests.get(r.id))!.status, 'revoked');
    t.equal(await code(requests.update(hex(42), () => ({ count: 1 }))), 'BadRequest', "the kind's unknown-id error");
    t.equal(await requests.get(hex(42)), undefined, 'an update never creates');
    t.equal(
      await code(requests.update(r.id, () => ({ id: hex(2) }) as never)),
      'InternalError',
      'the id is not a field an update can change',
    );
    t.equal(
      await code(requests.update(r.id, () => ({ count: 1.5 }))),
      'InternalError',
      'a value of the wrong type is refused, not stored',
    );
  });

  t.test(`${name}: the optimistic lock refuses a write based on a stale read`, async (t) => {
    const { requests } = await factory();
    const r = await requests.create(request(1));
    const read = (await requests.get(r.id))!;
    await requests.update(r.id, (c) => ({ count: c.count + 10 })); // another writer, after our read
    const err = await requests.updateIf(read, { count: read.count + 1 }).catch((e: unknown) => e);
    t.ok(err instanceof SentinelError && err.code === 'Conflict', 'the stale write is Conflict');
    t.equal((await requests.get(r.id))!.count, 10, "the other writer's change survives");
    const fresh = (await requests.get(r.id))!;
    t.equal((await requests.updateIf(fresh, { count: fresh.count + 1 })).count, 11, 'a fresh read writes');
  });

  t.test(`${name}: the lock test fails when the lock is broken`, async (t) => {
    // The same scenario against a store whose lock condition was removed: the stale write goes through and the other
    // writer's change is lost. So the test above can fail, and would catch a store that does not lock.
    const { requests, unlocked } = await factory();
    const r = await requests.create(request(1));
    const read = (await unlocked.get(r.id))!;
    await requests.update(r.id, (c) => ({ count: c.count + 10 }));
    t.equal(await code(unlocked.updateIf(read, { count: read.count + 1 })), 'resolved', 'no Conflict without a lock');
    t.equal((await requests.get(r.id))!.count, 1, 'and the update of the other writer is lost');
  });

  t.test(`${name}: concurrent read-modify-write updates all count`, async (t) => {
    const { requests } = await factory();
    const r = await requests.create(request(1));
    await Promise.all([1, 2, 3, 4].map((n) => requests.update(r.id, (c) => ({ count: c.count + n }))));
    t.equal((await requests.get(r.id))!.count, 10, 'no increment lost: losers read again and retried');
    const decided = await Promise.allSettled(
      (['approved', 'denied', 'cancelled'] as const).map((s) => requests.update(r.id, () => ({ status: s }))),
    );
    const won = decided.filter((d) => d.status === 'fulfilled');
    t.equal(won.length, 1, 'exactly one decision wins');
    const final = (await requests.get(r.id))!;
    t.equal((won[0] as PromiseFulfilledResult<Request>).value.status, final.status);
    for (const d of decided) {
      if (d.status === 'rejected') t.equal((d.reason as SentinelError).details?.status, final.status, 'losers name it');
    }
  });

  t.test(`${name}: rate-limit slots: conditional put and delete`, async (t) => {
    const { slots, clock } = await factory();
    const now = clock.ms;
    t.equal(await slots.putIf(slot(1, now + 60_000), slotFree(now)), true, 'a slot that does not exist is taken');
    t.equal(await slots.putIf(slot(1, now + 60_000, 'bob'), slotFree(now)), false, 'a held slot is not taken again');
    t.equal((await slots.get(slot(1, 0).id))!.owner, 'alice', 'and the holder is unchanged');
    const later = now + 120_000;
    t.equal(await slots.putIf(slot(1, later + 60_000, 'bob'), slotFree(later)), true, 'a lapsed slot is retaken');
    t.equal((await slots.get(slot(1, 0).id))!.owner, 'bob');
    // Two takers race for the last slot: exactly one gets it.
    const race = await Promise.all([
      slots.putIf(slot(2, now + 60_000, 'carol'), slotFree(now)),
      slots.putIf(slot(2, now + 60_000, 'dave'), slotFree(now)),
    ]);
    t.same(race.filter(Boolean).length, 1, 'one of two simultaneous takers wins');
    // Release only what you hold.
    const mine: Condition = { field: 'owner', equals: 'bob' };
    t.equal(await slots.deleteIf(slot(2, 0).id, mine), false, "bob cannot release someone else's slot");
    t.equal(await slots.deleteIf(slot(1, 0).id, mine), true, 'bob releases his own');
    t.equal(await slots.get(slot(1, 0).id), undefined);
    t.equal(await slots.deleteIf(slot(1, 0).id, mine), false, 'a slot that is gone is not deleted twice');
    t.equal(await code(slots.putIf({ ...slot(1, 0), id: 'rl#x#u#alice#1\u0000' }, NOT_EXISTS)), 'BadRequest');
  });

  t.test(`${name}: two kinds in one table stay apart`, async (t) => {
    const { slots, events } = await factory();
    await slots.putIf(slot(1, START), NOT_EXISTS);
    const ev = await events.create({
      id: hex(5),
      invoker: 'alice',
      status: 'active',
      created_at: new Date(START).toISOString(),
      updated_at: new Date(START).toISOString(),
      ttl: TTL,
    });
    t.same(
      (await events.scan()).map((e) => e.id),
      [ev.id],
      'a scan of events skips slots',
    );
    t.same(
      (await slots.scan()).map((s) => s.id),
      [slot(1, 0).id],
      'a scan of slots skips events',
    );
    t.same((await events.queryAll(BREAKGLASS_TABLE.indexes[0]!, 'alice')).length, 1, 'slots are not in the index');
    t.equal(await code(events.get(slot(1, 0).id)), 'BadRequest', 'a slot id is not an event id');
  });

  t.test(`${name}: consistent batch reads, of one kind and of two kinds in two tables`, async (t) => {
    const { requests, events, sent } = await factory();
    for (let n = 1; n <= 3; n++) await requests.create(request(n));
    const ev = await events.create({
      id: hex(9),
      invoker: 'alice',
      status: 'active',
      created_at: new Date(START).toISOString(),
      updated_at: new Date(START).toISOString(),
      ttl: TTL,
    });
    await requests.update(hex(2), () => ({ status: 'approved' }));
    sent?.();
    const many = await requests.getMany([hex(1), hex(2), hex(7), hex(2)]);
    t.same([...many.keys()].sort(), [hex(1), hex(2)], 'found ids only, duplicates once');
    t.equal(many.get(hex(2))!.status, 'approved', 'the write just made is seen');
    const [req, event, none] = await readTogether([
      { store: requests, id: hex(2) },
      { store: events, id: ev.id },
      { store: requests, id: hex(8) },
    ] as const);
    t.equal(req?.status, 'approved');
    t.same(event, ev);
    t.equal(none, undefined);
    if (sent) {
      const calls = sent();
      t.same(
        calls.map((c) => c.name),
        ['BatchGetItemCommand', 'BatchGetItemCommand'],
        'getMany is one BatchGetItem, and the read of two kinds in two tables another single one',
      );
      for (const c of calls) {
        const items = (c.input as { RequestItems: Record<string, { ConsistentRead?: boolean }> }).RequestItems;
        for (const [table, read] of Object.entries(items)) t.equal(read.ConsistentRead, true, `${table} consistent`);
      }
      t.equal(
        Object.keys((calls[1]!.input as { RequestItems: object }).RequestItems).length,
        2,
        'both tables in the one call',
      );
    }
    t.equal(await code(requests.getMany(['nope'])), 'BadRequest');
    t.equal(await code(readTogether([{ store: events, id: '../x' }])), 'BadRequest');
  });

  t.test(`${name}: index queries page with cursors, newest first, filters in code`, async (t) => {
    const { requests, sent } = await factory();
    const all: Request[] = [];
    for (let n = 1; n <= 60; n++) {
      all.push(
        await requests.create(
          request(n, {
            requester: n % 3 === 0 ? 'bob' : 'alice',
            status: n % 2 ? 'pending' : 'approved',
            count: n % 5,
          }),
        ),
      );
    }
    sent?.();
    const status = REQUEST_TABLE.indexes[1]!;
    const q = {
      sources: [
        { index: status, value: 'pending' },
        { index: status, value: 'approved' },
      ],
      filter: (r: Request) => r.count !== 0,
      rangeFrom: new Date(START + 10_000).toISOString(),
      fingerprint: 'count!=0',
    };
    const want = all
      .filter((r) => r.count !== 0 && r.created_at >= q.rangeFrom)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
      .map((r) => r.id);
    const got: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await requests.query({ ...q, limit: 7, ...(cursor ? { cursor } : {}) });
      t.ok(page.items.length <= 7);
      if (page.cursor) t.equal(page.items.length, 7, 'a page is short only at the end');
      got.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
      if (++pages > 20) throw new Error('paging does not end');
    } while (cursor);
    t.same(got, want, 'every match once, newest first, across two partitions');
    if (sent) {
      const queries = sent().filter((c) => c.name === 'QueryCommand');
      t.ok(queries.length > 0);
      t.notOk(
        queries.some((c) => 'FilterExpression' in (c.input as object)),
        'never a FilterExpression (with Limit)',
      );
    }
    const first = await requests.query({ ...q, limit: 5 });
    for (const [why, c] of [
      ['another query', { ...q, fingerprint: 'other', cursor: first.cursor }],
      ['garbage', { ...q, cursor: '!!!' }],
      ['huge', { ...q, cursor: 'a'.repeat(100_000) }],
      ['junk json', { ...q, cursor: Buffer.from('{"v":1,"q":"count!=0","p":[{"k":1},{}]}').toString('base64url') }],
    ] as const) {
      t.equal(await code(requests.query({ ...c, limit: 5 })), 'BadRequest', `cursor: ${why}`);
    }
    t.same(
      (await requests.queryAll(REQUEST_TABLE.indexes[0]!, 'bob')).map((r) => r.id).sort(),
      all
        .filter((r) => r.requester === 'bob')
        .map((r) => r.id)
        .sort(),
      'queryAll reads a whole partition',
    );
  });

  t.test(
    `${name}: a malformed item in a partition is skipped by queries, reported once, and fails closed by id`,
    async (t) => {
      const { requests, plant, requestsTable } = await factory();
      const reports: SkippedItem[] = [];
      t.teardown(setSkippedItemReporter((s) => reports.push(s)));
      // What the daemon and the vendor Lambda install: a warn line of the operational log.
      const warned: Array<{ fields: Record<string, unknown>; message: string }> = [];
      t.teardown(
        logSkippedItems({
          warn: (fields, message) => warned.push({ fields: fields as Record<string, unknown>, message }),
        }),
      );
      await requests.create(request(1, { status: 'approved' }));
      await requests.create(request(3));
      const bad = 'b1' + hex(0).slice(2);
      // What anyone with PutItem on the table can write: required fields missing.
      await plant({
        id: { S: bad },
        requester: { S: 'alice' },
        status: { S: 'approved' },
        created_at: { S: new Date(START + 2000).toISOString() },
      });
      const ids = (rs: Request[]) => rs.map((r) => r.id).sort();
      const index = REQUEST_TABLE.indexes[0]!;
      const byStatus = REQUEST_TABLE.indexes[1]!;
      t.same(ids(await requests.queryAll(index, 'alice')), [hex(1), hex(3)], 'queryAll: the good records');
      t.same(ids(await requests.queryAll(byStatus, 'approved')), [hex(1)], 'queryAll of another partition');
      t.same(await requests.queryAllCounted(index, 'alice'), {
        records: await requests.queryAll(index, 'alice'),
        skipped: 1,
      });
      const pages: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await requests.query({
          sources: [{ index, value: 'alice' }],
          limit: 1,
          fingerprint: 'f',
          ...(cursor ? { cursor } : {}),
        });
        pages.push(...page.items.map((r) => r.id));
        cursor = page.cursor;
      } while (cursor);
      t.same(pages, [hex(3), hex(1)], 'query pages: the good records, in order');
      t.same(ids(await requests.scan()), [hex(1), hex(3)], 'scan');
      t.equal(reports.length, 0, 'the reporter installed last receives the reports');
      t.equal(warned.length, 1, 'one warn line per item and process, however many queries skipped it');
      t.match(warned[0]!.fields, {
        event: 'record_skipped',
        kind: 'request',
        id: bad,
        reason: 'missing required fields profile, count, updated_at, ttl',
      });
      t.equal(warned[0]!.fields.table, requestsTable);
      t.match(warned[0]!.message, `malformed request record ${bad} `);

      const err = (await requests.get(bad).catch((e: unknown) => e)) as SentinelError;
      t.equal(err.code, 'SessionStoreUnavailable', 'a read by id fails closed');
      t.equal(
        err.message,
        `the request table ${requestsTable ?? '(in memory)'} holds a malformed request record ${bad} (missing required fields profile, count, updated_at, ttl)`,
      );
      if (requestsTable) {
        t.match(err.hint, `aws dynamodb delete-item --table-name ${requestsTable} --key '{"id":{"S":"${bad}"}}'`);
      }
      t.match(await code(requests.getMany([hex(1), bad])), 'SessionStoreUnavailable', 'getMany fails closed');
      t.match(await code(requests.update(bad, () => ({ count: 1 }))), 'SessionStoreUnavailable', 'update fails closed');
    },
  );

  t.test(`${name}: a closed store refuses everything`, async (t) => {
    const { requests } = await factory();
    await requests.create(request(1));
    await requests.close();
    for (const [op, p] of [
      ['get', requests.get(hex(1))],
      ['create', requests.create(request(2))],
      ['update', requests.update(hex(1), () => ({ count: 1 }))],
      ['query', requests.query({ sources: [], limit: 1, fingerprint: 'x' })],
      ['scan', requests.scan()],
    ] as const) {
      t.equal(await code(p), 'SessionStoreUnavailable', op);
    }
  });
}

// --- the two backends -------------------------------------------------------------------------------------------

class UnlockedMemory extends MemoryRecordStore<Request> {
  protected override lockHolds(): boolean {
    return true;
  }
}

contract('memory', async () => {
  const clock = { ms: START };
  const now = () => new Date(clock.ms);
  const requests = new MemoryRecordStore(REQUEST, { now });
  const unlocked = new UnlockedMemory(REQUEST, { now });
  // One memory "table" behind two stores: the broken store reads and writes the same records.
  (unlocked as unknown as { records: unknown }).records = (requests as unknown as { records: unknown }).records;
  return {
    requests,
    unlocked,
    slots: new MemoryRecordStore(SLOT, { now }),
    events: new MemoryRecordStore(EVENT, { now }),
    clock,
    plant: async (item) => requests.plantItem(item as Item),
  };
});

class UnlockedDynamo extends DynamoRecordStore<Request> {
  protected override lockCondition(): undefined {
    return undefined;
  }
}

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({ endpoint: dynalite.url, region: 'us-east-1', credentials: creds, maxAttempts: 2 });
t.teardown(() => client.destroy());
const log: Array<{ name: string; input: ServiceInputTypes }> = [];
client.middlewareStack.add(
  (next, context) => async (args) => {
    log.push({ name: String(context.commandName), input: args.input as ServiceInputTypes });
    return next(args);
  },
  { step: 'initialize', name: 'recordCommands' },
);
let tables = 0;

contract('dynamodb', async () => {
  const n = ++tables;
  await ensureTable(client, REQUEST_TABLE, `requests-${n}`, { pollMs: 5 });
  await ensureTable(client, BREAKGLASS_TABLE, `breakglass-${n}`, { pollMs: 5 });
  const clock = { ms: START };
  const now = () => new Date(clock.ms);
  const options = { client, now, ownsClient: false };
  return {
    requests: new DynamoRecordStore(REQUEST, { ...options, table: `requests-${n}` }),
    unlocked: new UnlockedDynamo(REQUEST, { ...options, table: `requests-${n}` }),
    slots: new DynamoRecordStore(SLOT, { ...options, table: `breakglass-${n}` }),
    events: new DynamoRecordStore(EVENT, { ...options, table: `breakglass-${n}` }),
    clock,
    sent: () => log.splice(0),
    putRaw: async (item) => {
      await client.send(new PutItemCommand({ TableName: `requests-${n}`, Item: item as never }));
    },
    plant: async (item) => {
      await client.send(new PutItemCommand({ TableName: `requests-${n}`, Item: item as never }));
    },
    requestsTable: `requests-${n}`,
  };
});

// --- DynamoDB only ------------------------------------------------------------------------------------------------

t.test('dynamodb: malformed items fail closed, with the kind named', async (t) => {
  const table = `requests-${++tables}`;
  await ensureTable(client, REQUEST_TABLE, table, { pollMs: 5 });
  const store = new DynamoRecordStore(REQUEST, { client, table, ownsClient: false });
  const good = toItem(REQUEST, request(1));
  const variants: Array<[string, Record<string, unknown>]> = [
    ['unknown status', { ...good, id: { S: hex(11) }, status: { S: 'superapproved' } }],
    ['count not a number', { ...good, id: { S: hex(12) }, count: { S: 'many' } }],
    ['boolean as a string', { ...good, id: { S: hex(13) }, auto_approved: { S: 'true' } }],
    ['json that does not parse', { ...good, id: { S: hex(14) }, notification_status: { S: '{' } }],
    [
      'no updated_at',
      Object.fromEntries(Object.entries({ ...good, id: { S: hex(15) } }).filter(([k]) => k !== 'updated_at')),
    ],
  ];
  const reasons: Record<string, string> = {
    'unknown status': 'status is not a known status',
    'count not a number': 'field count is not stored as a number',
    'boolean as a string': 'field auto_approved is not stored as a boolean',
    'json that does not parse': 'field notification_status is not stored as JSON text',
  };
  for (const [why, item] of variants) {
    await client.send(new PutItemCommand({ TableName: table, Item: item as never }));
    const id = (item.id as { S: string }).S;
    const err = await store.get(id).catch((e: unknown) => e);
    t.ok(err instanceof SentinelError && err.code === 'SessionStoreUnavailable', `get: ${why}`);
    t.equal(
      (err as Error).message,
      `the request table ${table} holds a malformed request record ${id} (${why === 'no updated_at' ? 'missing required field updated_at' : reasons[why]})`,
    );
    t.equal(await code(store.update(id, () => ({ count: 1 }))), 'SessionStoreUnavailable', `update: ${why}`);
    t.equal(await code(store.getMany([id])), 'SessionStoreUnavailable', `getMany: ${why}`);
  }
});

t.test('dynamodb: a missing table names the init command that creates it', async (t) => {
  const store = new DynamoRecordStore(REQUEST, { client, table: 'no-such-requests', ownsClient: false });
  const err = await store.get(hex(1)).catch((e: unknown) => e);
  t.ok(err instanceof SentinelError);
  t.equal((err as Error).message, 'the request table no-such-requests does not exist');
  t.match((err as SentinelError).hint, /sentinel init approvals --table no-such-requests/);
  const batch = await readTogether([{ store, id: hex(1) }]).catch((e: unknown) => e);
  t.equal((batch as Error).message, 'the request table no-such-requests does not exist', 'batch reads too');
});

t.test('ensureTable creates any shape, is idempotent, and leaves a wrong-shaped table alone', async (t) => {
  const lines: string[] = [];
  const made = await ensureTable(client, BREAKGLASS_TABLE, 'shape-bg', { pollMs: 5, onProgress: (l) => lines.push(l) });
  t.equal(made.action, 'created');
  t.equal((await ensureTable(client, BREAKGLASS_TABLE, 'shape-bg', { pollMs: 5 })).action, 'exists', 'again: exists');
  const desc = (
    await client.send(new (await import('@aws-sdk/client-dynamodb')).DescribeTableCommand({ TableName: 'shape-bg' }))
  ).Table!;
  t.same(shapeProblems(BREAKGLASS_TABLE, desc), []);
  t.match(shapeProblems(REQUEST_TABLE, desc), [/gsi-requester .* is missing/, /gsi-status .* is missing/]);
  const err = await ensureTable(client, REQUEST_TABLE, 'shape-bg', { pollMs: 5 }).catch((e: unknown) => e);
  t.ok(err instanceof SentinelError && err.code === 'Conflict', 'the requests shape on the break-glass table: refused');
  t.match((err as Error).message, /exists with a different shape/);
  const after = (
    await client.send(new (await import('@aws-sdk/client-dynamodb')).DescribeTableCommand({ TableName: 'shape-bg' }))
  ).Table!;
  t.same(
    after.GlobalSecondaryIndexes?.map((g) => g.IndexName),
    ['gsi-invoker'],
    'and nothing about it changed',
  );
});

t.test('memory: records past their TTL are dropped, as DynamoDB would', async (t) => {
  const clock = { ms: START };
  const store = new MemoryRecordStore(REQUEST, { now: () => new Date(clock.ms) });
  await store.create(request(1, { ttl: Math.floor(START / 1000) + 10 }));
  await store.create(request(2));
  clock.ms = START + 120_000;
  await store.create(request(3));
  t.equal(await store.get(hex(1)), undefined, 'past its ttl: gone');
  t.ok(await store.get(hex(2)), 'within its ttl: kept');
});
