// The session store contract (DESIGN §6), run against both stores: memory, and DynamoDB on dynalite through the real
// SDK client. One suite, two factories: whatever one store does, the other must do too.
import t from 'tap';
import { createHash } from 'node:crypto';
import { BatchWriteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../core/errors.js';
import { DynamoSessionStore } from '../core/sessions/dynamodb.js';
import { toItem } from '../core/sessions/item.js';
import { MemorySessionStore } from '../core/sessions/memory.js';
import { ensureSessionTable } from '../core/sessions/table.js';
import {
  HISTORY_MS,
  type NewSession,
  type Session,
  type SessionQuery,
  type SessionStatus,
  type SessionStore,
} from '../core/sessions/types.js';
import { startDynalite } from './support/dynalite.js';

interface Clock {
  ms: number;
  now: () => Date;
}

interface Harness {
  store: SessionStore;
  clock: Clock;
  /** Puts complete records in place as if they had been written over time (status, counters and all). */
  seed(sessions: Session[]): Promise<void>;
  /** Writes a raw item, bypassing the store (for hostile-record tests); undefined for the memory store. */
  putRaw?: (item: Record<string, unknown>) => Promise<void>;
}

type Factory = () => Promise<Harness>;

const START = Date.parse('2031-03-01T10:00:00.000Z');
const creds = { accessKeyId: 'AKIDCONTRACT', secretAccessKey: 'secret' };

function makeClock(): Clock {
  const clock: Clock = { ms: START, now: () => new Date(clock.ms) };
  return clock;
}

function idOf(n: number | string): string {
  return createHash('sha256').update(String(n)).digest('hex').slice(0, 16);
}

function newSession(n: number | string, over: Partial<NewSession> = {}): NewSession {
  return {
    id: idOf(n),
    user: 'alice',
    profile: 'prod',
    mode: 'server',
    started_at: new Date(START).toISOString(),
    expires_at: new Date(START + 3_600_000).toISOString(),
    ...over,
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof SentinelError ? e.code : `non-sentinel: ${(e as Error).message}`;
  }
}

// --- the contract ---------------------------------------------------------------------------------------------------

function contract(name: string, factory: Factory): void {
  t.test(`${name}: create writes an active record with derived fields`, async (t) => {
    const { store, clock } = await factory();
    const created = await store.create(
      newSession(1, {
        pid: 4242,
        host: 'laptop',
        server_instance_id: 'srv-a',
        source_identity: 'sentinel-alice-direct-0123456789abcdef',
      }),
    );
    t.equal(created.status, 'active');
    t.equal(created.request_count, 0);
    t.equal(created.created_at, new Date(clock.ms).toISOString());
    t.equal(created.updated_at, created.created_at);
    t.equal(
      created.ttl,
      Math.floor((START + 3_600_000 + HISTORY_MS) / 1000),
      'ttl is expires_at + 30 days in epoch seconds',
    );
    t.match(created.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'RFC 3339 UTC with milliseconds');
    const read = await store.get(created.id);
    t.same(read, created, 'get returns what create returned');

    const bare = await store.create(newSession(2));
    const readBare = await store.get(bare.id);
    for (const f of [
      'pid',
      'host',
      'server_instance_id',
      'source_identity',
      'last_access_at',
      'revoked_by',
      'revoked_reason',
    ] as const) {
      t.notOk(readBare && f in readBare, `absent ${f} stays absent`);
    }
    t.equal(await store.get(idOf('missing')), undefined, 'unknown id → undefined');

    // Empty optional values are "unknown": left out, never written as empty strings (they would be index keys).
    const empty = await store.create(newSession(3, { host: '', server_instance_id: '', source_identity: '' }));
    const readEmpty = await store.get(empty.id);
    t.notOk(
      readEmpty && ('host' in readEmpty || 'server_instance_id' in readEmpty || 'source_identity' in readEmpty),
      'empty optional values are omitted',
    );
    t.same(
      (await store.list({ server_instance_id: 'srv-a' })).items.map((x) => x.id),
      [created.id],
      'only the session with a server instance is in that index',
    );
  });

  t.test(`${name}: create refuses an id that exists and leaves the first record alone`, async (t) => {
    const { store } = await factory();
    const first = await store.create(newSession(1));
    t.equal(await code(store.create(newSession(1, { user: 'mallory', profile: 'other' }))), 'Conflict');
    t.same(await store.get(first.id), first);
  });

  t.test(`${name}: create refuses malformed sessions`, async (t) => {
    const { store } = await factory();
    const bad: Array<[string, unknown]> = [
      ['id not hex', newSession(1, { id: 'XYZ0123456789abc' })],
      ['id upper case', newSession(1, { id: idOf(1).toUpperCase() })],
      ['id too long', newSession(1, { id: idOf(1) + '0' })],
      ['id a number', { ...newSession(1), id: 12345 }],
      ['empty user', newSession(1, { user: '' })],
      ['huge user', newSession(1, { user: 'a'.repeat(10_000) })],
      ['control char in profile', newSession(1, { profile: 'prod\n' })],
      ['unknown mode', { ...newSession(1), mode: 'root' }],
      ['expires before start', newSession(1, { expires_at: new Date(START - 1).toISOString() })],
      ['expires not a date', newSession(1, { expires_at: 'tomorrow' })],
      ['negative pid', newSession(1, { pid: -1 })],
      ['fractional pid', newSession(1, { pid: 1.5 })],
      ['host with a control character', newSession(1, { host: 'a\u001bb' })],
      ['server_instance_id not a string', { ...newSession(1), server_instance_id: 7 }],
      ['not an object', null],
    ];
    for (const [why, input] of bad) t.equal(await code(store.create(input as NewSession)), 'BadRequest', why);
    t.equal(await store.get(idOf(1)), undefined, 'nothing was written');
  });

  for (const [op, to] of [
    ['revoke', 'revoked'],
    ['end', 'ended'],
    ['expire', 'expired'],
  ] as const) {
    t.test(`${name}: legal transition active → ${to}`, async (t) => {
      const { store, clock } = await factory();
      const s = await store.create(newSession(1));
      const out = op === 'revoke' ? await store.revoke(s.id, 'bob', 'laptop stolen') : await store[op](s.id);
      t.equal(out.status, to);
      t.ok(out.updated_at > s.updated_at, 'updated_at moves forward even when the clock does not');
      t.equal(clock.ms, START, 'the clock did not move');
      const read = await store.get(s.id);
      t.same(read, out);
      if (to === 'revoked') {
        t.equal(read!.revoked_by, 'bob');
        t.equal(read!.revoked_reason, 'laptop stolen');
      } else {
        t.notOk('revoked_by' in read!);
      }
    });
  }

  t.test(`${name}: every transition out of a final state is refused and changes nothing`, async (t) => {
    const { store } = await factory();
    const finals: SessionStatus[] = ['revoked', 'ended', 'expired'];
    for (const from of finals) {
      const s = await store.create(newSession(`final-${from}`));
      if (from === 'revoked') await store.revoke(s.id, 'bob', 'first');
      else if (from === 'ended') await store.end(s.id);
      else await store.expire(s.id);
      const before = await store.get(s.id);
      const attempts: Array<[string, () => Promise<unknown>]> = [
        ['revoke', () => store.revoke(s.id, 'eve', 'second')],
        ['end', () => store.end(s.id)],
        ['expire', () => store.expire(s.id)],
        ['touch', () => store.touch(s.id, new Date(START + 5000), 3)],
      ];
      for (const [op, run] of attempts) {
        const err = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        t.ok(err instanceof SentinelError && err.code === 'SessionNotActive', `${from} → ${op} refused`);
        t.match((err as Error).message, new RegExp(`is ${from}`), 'the message names the current state');
        t.equal((err as SentinelError).details?.status, from);
      }
      t.same(await store.get(s.id), before, `${from} record unchanged`);
    }
  });

  t.test(`${name}: operations on an unknown session`, async (t) => {
    const { store } = await factory();
    const id = idOf('nobody');
    t.equal(await code(store.revoke(id, 'bob', 'x')), 'SessionUnknown');
    t.equal(await code(store.end(id)), 'SessionUnknown');
    t.equal(await code(store.expire(id)), 'SessionUnknown');
    t.equal(await code(store.touch(id, new Date(START), 1)), 'SessionUnknown');
    t.equal(await store.get(id), undefined, 'nothing was created by the attempts');
    for (const bad of ['', 'abc', '0123456789ABCDEF', '0123456789abcdef0', '../../etc/passwd', 42]) {
      t.equal(await code(store.get(bad as string)), 'BadRequest', `get(${JSON.stringify(bad)})`);
      t.equal(await code(store.revoke(bad as string, 'bob', 'x')), 'BadRequest', `revoke(${JSON.stringify(bad)})`);
    }
  });

  t.test(`${name}: touch counts requests and keeps last_access_at monotonic`, async (t) => {
    const { store, clock } = await factory();
    const s = await store.create(newSession(1));
    await store.touch(s.id, new Date(START + 10_000), 3);
    clock.ms += 1;
    await store.touch(s.id, new Date(START + 5_000), 2); // a delayed flush from earlier
    const read = await store.get(s.id);
    t.equal(read!.request_count, 5);
    t.equal(read!.last_access_at, new Date(START + 10_000).toISOString());
    t.equal(read!.status, 'active');
    t.ok(read!.updated_at > s.updated_at);
    for (const [why, at, n] of [
      ['negative', new Date(START), -1],
      ['fraction', new Date(START), 0.5],
      ['bad date', new Date(NaN), 1],
      ['not a number', new Date(START), '3'],
    ] as const) {
      t.equal(await code(store.touch(s.id, at, n as number)), 'BadRequest', why);
    }
    t.equal((await store.get(s.id))!.request_count, 5, 'refused touches counted nothing');
  });

  t.test(`${name}: revoke validates who and why`, async (t) => {
    const { store } = await factory();
    const s = await store.create(newSession(1));
    t.equal(await code(store.revoke(s.id, 'bob', '')), 'BadRequest', 'empty reason');
    t.equal(await code(store.revoke(s.id, 'bob', 'x'.repeat(1025))), 'BadRequest', 'reason over 1024');
    t.equal(await code(store.revoke(s.id, 'bob', 'line1\nline2')), 'BadRequest', 'control characters');
    t.equal(await code(store.revoke(s.id, '', 'ok')), 'BadRequest', 'empty revoked_by');
    t.equal((await store.get(s.id))!.status, 'active', 'still active');
    t.equal((await store.revoke(s.id, 'bob', 'x'.repeat(1024))).revoked_reason?.length, 1024, '1024 is allowed');
  });

  t.test(`${name}: concurrent revoke versus touch — the revoke wins, no update is lost`, async (t) => {
    const { store } = await factory();
    const rounds = 12;
    let touchesLost = 0;
    for (let r = 0; r < rounds; r++) {
      const s = await store.create(newSession(`race-${r}`));
      const jitter = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
      // Four touches and a revoke, started in a different order each round.
      const touches = [1, 2, 3, 4].map((n) => ({
        n: n * 10 + r,
        p: jitter().then(() => store.touch(s.id, new Date(START + n), n * 10 + r)),
      }));
      const revoke = jitter().then(() => store.revoke(s.id, 'secops', `round ${r}`));
      const [revoked, ...settled] = await Promise.allSettled([revoke, ...touches.map((x) => x.p)]);
      t.equal(revoked!.status, 'fulfilled', `round ${r}: the revoke succeeded`);
      let expected = 0;
      settled.forEach((res, i) => {
        if (res.status === 'fulfilled') expected += touches[i]!.n;
        else {
          touchesLost++;
          t.equal(
            (res.reason as SentinelError).code,
            'SessionNotActive',
            `round ${r}: a touch that lost says the session is not active`,
          );
        }
      });
      const final = await store.get(s.id);
      t.equal(final!.status, 'revoked', `round ${r}: still revoked`);
      t.equal(final!.revoked_by, 'secops');
      t.equal(final!.revoked_reason, `round ${r}`);
      t.equal(final!.request_count, expected, `round ${r}: request_count counts exactly the touches that succeeded`);
    }
    t.comment(`${touchesLost} touches arrived after the revoke and were refused`);
  });

  t.test(`${name}: concurrent touches all count; concurrent final transitions — exactly one wins`, async (t) => {
    const { store } = await factory();
    const s = await store.create(newSession(1));
    await Promise.all([1, 2, 3, 4, 5].map((n) => store.touch(s.id, new Date(START + n), n)));
    t.equal((await store.get(s.id))!.request_count, 15);

    // last_access_at is computed from the record read, so only the optimistic lock keeps a slower writer carrying an
    // older time from overwriting a newer one.
    for (let r = 0; r < 8; r++) {
      const x = await store.create(newSession(`access-race-${r}`));
      const times = [5, 1, 4, 2, 3].map((k) => START + ((k + r) % 5) * 1000 + r);
      await Promise.all(
        times.map((ms, i) =>
          new Promise((resolve) => setTimeout(resolve, i % 2)).then(() => store.touch(x.id, new Date(ms), 1)),
        ),
      );
      const final = (await store.get(x.id))!;
      t.equal(
        final.last_access_at,
        new Date(Math.max(...times)).toISOString(),
        `round ${r}: last_access_at is the latest touch`,
      );
      t.equal(final.request_count, 5);
    }

    for (let r = 0; r < 8; r++) {
      const x = await store.create(newSession(`final-race-${r}`));
      const ops = [store.revoke(x.id, 'secops', 'race'), store.end(x.id), store.expire(x.id)];
      const results = await Promise.allSettled(ops);
      const won = results.filter((res) => res.status === 'fulfilled');
      t.equal(won.length, 1, `round ${r}: one transition won`);
      const final = (await store.get(x.id))!;
      t.equal((won[0] as PromiseFulfilledResult<Session>).value.status, final.status, 'the stored state is the winner');
      for (const res of results) {
        if (res.status === 'rejected') {
          t.equal((res.reason as SentinelError).code, 'SessionNotActive');
          t.equal((res.reason as SentinelError).details?.status, final.status, "the loser names the winner's state");
        }
      }
    }
  });

  t.test(`${name}: sessions past expires_at are reported expired though nothing reaped them`, async (t) => {
    const { store, clock } = await factory();
    const s = await store.create(newSession(1, { expires_at: new Date(START + 60_000).toISOString() }));
    const other = await store.create(newSession(2));
    clock.ms = START + 60_000; // the exact expiry instant counts as expired
    t.equal((await store.get(s.id))!.status, 'active', 'get returns the record as stored');
    const all = await store.list({});
    t.equal(all.items.find((x) => x.id === s.id)?.status, 'expired');
    t.equal(all.items.find((x) => x.id === other.id)?.status, 'active');
    t.same(
      (await store.list({ status: 'active' })).items.map((x) => x.id),
      [other.id],
    );
    t.same(
      (await store.list({ status: 'expired' })).items.map((x) => x.id),
      [s.id],
    );
    t.same(
      (await store.list({ status: 'expired', user: 'alice' })).items.map((x) => x.id),
      [s.id],
    );
    const expired = await store.expire(s.id);
    t.equal(expired.status, 'expired');
    t.same(
      (await store.list({ status: 'expired' })).items.map((x) => x.id),
      [s.id],
      'recorded expiry lists once',
    );
  });

  t.test(`${name}: a closed store refuses everything (fail closed)`, async (t) => {
    const { store } = await factory();
    const s = await store.create(newSession(1));
    await store.close();
    await store.close();
    t.equal(await code(store.get(s.id)), 'SessionStoreUnavailable');
    t.equal(await code(store.touch(s.id, new Date(START), 1)), 'SessionStoreUnavailable');
    t.equal(await code(store.revoke(s.id, 'bob', 'x')), 'SessionStoreUnavailable');
    t.equal(await code(store.create(newSession(2))), 'SessionStoreUnavailable');
    t.equal(await code(store.list({})), 'SessionStoreUnavailable');
  });

  t.test(`${name}: list refuses malformed queries and cursors`, async (t) => {
    const { store } = await factory();
    const bad: Array<[string, unknown]> = [
      ['limit 0', { limit: 0 }],
      ['limit 1001', { limit: 1001 }],
      ['limit fractional', { limit: 1.5 }],
      ['limit a string', { limit: '10' }],
      ['unknown status', { status: 'paused' }],
      ['since garbage', { since: 'last tuesday' }],
      ['since a number', { since: 12 }],
      ['empty user', { user: '' }],
      ['huge profile', { profile: 'p'.repeat(300) }],
      ['cursor garbage', { cursor: '!!!' }],
      ['cursor base64 of junk', { cursor: Buffer.from('{"v":1}').toString('base64url') }],
      ['cursor huge', { cursor: 'a'.repeat(100_000) }],
    ];
    for (const [why, q] of bad) t.equal(await code(store.list(q as SessionQuery)), 'BadRequest', why);
  });

  t.test(`${name}: list filters and paginates 1,000 sessions newest first`, async (t) => {
    const { store, clock, seed } = await factory();
    const sessions = population(1000);
    await seed(sessions);
    clock.ms = QUERY_TIME;
    const queries: SessionQuery[] = [
      {},
      { user: 'user3' },
      { profile: 'p1' },
      { status: 'active' },
      { status: 'revoked' },
      { status: 'ended' },
      { status: 'expired' },
      { server_instance_id: 'srv-1' },
      { server_instance_id: 'srv-0', status: 'active' },
      { server_instance_id: 'srv-0', status: 'expired' },
      { user: 'user1', status: 'expired', since: iso(START + 200 * 1000) },
      { profile: 'p2', since: iso(START + 250 * 1000) },
      { status: 'revoked', since: iso(START + 400 * 1000), profile: 'p0' },
      { status: 'expired', since: iso(START + 100 * 1000) },
      { user: 'nobody' },
    ];
    for (const q of queries) {
      const want = expected(sessions, q);
      const got = await collect(store, q, 97);
      const label = JSON.stringify(q);
      t.equal(got.items.length, want.length, `${label}: count (${want.length})`);
      t.same(new Set(got.items.map((s) => s.id)), new Set(want.map((s) => s.id)), `${label}: the same sessions`);
      t.equal(new Set(got.items.map((s) => s.id)).size, got.items.length, `${label}: no duplicates across pages`);
      t.ok(
        got.items.every((s, i) => i === 0 || got.items[i - 1]!.created_at >= s.created_at),
        `${label}: newest first`,
      );
      const wantStatus = new Map(want.map((s) => [s.id, s.status]));
      t.ok(
        got.items.every((s) => wantStatus.get(s.id) === s.status),
        `${label}: statuses as a reader sees them`,
      );
      t.equal(got.pages, Math.max(1, Math.ceil(want.length / 97)), `${label}: no empty trailing page`);
    }
    const one = await store.list({ limit: 1000 });
    t.equal(one.items.length, 1000);
    t.equal(one.cursor, undefined, 'everything fits: no cursor');
    const first = await store.list({ user: 'user2', limit: 5 });
    t.equal(first.items.length, 5);
    t.ok(first.cursor);
    t.equal(
      await code(store.list({ user: 'user3', limit: 5, cursor: first.cursor })),
      'BadRequest',
      'a cursor only fits its own query',
    );
    const next = await store.list({ user: 'user2', limit: 7, cursor: first.cursor });
    t.same(
      next.items.map((s) => s.id),
      expected(sessions, { user: 'user2' })
        .slice(5, 12)
        .map((s) => s.id),
      'page size may change between pages',
    );
  });
}

// --- a population of sessions for the list tests ----------------------------------------------------------------------

const QUERY_TIME = START + 2_000_000;
const iso = (ms: number) => new Date(ms).toISOString();

function population(n: number): Session[] {
  const out: Session[] = [];
  for (let i = 0; i < n; i++) {
    // Pairs share a created_at so that ties are exercised; a few active sessions are past their expiry.
    const created = START + Math.floor(i / 2) * 1000;
    const kind = i % 7;
    const status: SessionStatus = kind <= 3 ? 'active' : kind === 4 ? 'revoked' : kind === 5 ? 'ended' : 'expired';
    const lapsed = i % 11 === 0;
    const expires = lapsed ? QUERY_TIME - 1000 : QUERY_TIME + 3_600_000;
    const s: Session = {
      id: idOf(`pop-${i}`),
      user: `user${i % 5}`,
      profile: `p${i % 4}`,
      mode: i % 2 ? 'server' : 'credential_process',
      status,
      started_at: iso(created),
      expires_at: iso(expires),
      request_count: i % 13,
      created_at: iso(created),
      updated_at: iso(created + 1),
      ttl: Math.floor((expires + HISTORY_MS) / 1000),
    };
    if (i % 3 !== 2) s.server_instance_id = `srv-${i % 3}`;
    if (status === 'revoked') {
      s.revoked_by = 'secops';
      s.revoked_reason = `reason ${i}`;
    }
    out.push(s);
  }
  return out;
}

function effective(s: Session, now: number): SessionStatus {
  return s.status === 'active' && Date.parse(s.expires_at) <= now ? 'expired' : s.status;
}

function expected(all: Session[], q: SessionQuery): Session[] {
  return all
    .map((s) => ({ ...s, status: effective(s, QUERY_TIME) }))
    .filter(
      (s) =>
        (q.user === undefined || s.user === q.user) &&
        (q.profile === undefined || s.profile === q.profile) &&
        (q.server_instance_id === undefined || s.server_instance_id === q.server_instance_id) &&
        (q.status === undefined || s.status === q.status) &&
        (q.since === undefined || s.created_at >= q.since),
    )
    .sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
}

async function collect(
  store: SessionStore,
  q: SessionQuery,
  limit: number,
): Promise<{ items: Session[]; pages: number }> {
  const items: Session[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...q, limit, cursor });
    pages++;
    items.push(...page.items);
    cursor = page.cursor;
    if (pages > 100) throw new Error('pagination does not end');
  } while (cursor);
  return { items, pages };
}

// --- the two stores ---------------------------------------------------------------------------------------------------

contract('memory', async () => {
  const clock = makeClock();
  const store = new MemorySessionStore({ now: clock.now });
  return {
    store,
    clock,
    async seed(sessions) {
      for (const s of sessions) {
        clock.ms = Date.parse(s.created_at);
        await store.create({
          id: s.id,
          user: s.user,
          profile: s.profile,
          mode: s.mode,
          started_at: s.started_at,
          expires_at: s.expires_at,
          ...(s.server_instance_id ? { server_instance_id: s.server_instance_id } : {}),
        });
        if (s.request_count) await store.touch(s.id, new Date(clock.ms), s.request_count);
        if (s.status === 'revoked') await store.revoke(s.id, s.revoked_by!, s.revoked_reason!);
        if (s.status === 'ended') await store.end(s.id);
        if (s.status === 'expired') await store.expire(s.id);
      }
    },
  };
});

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({ endpoint: dynalite.url, region: 'us-east-1', credentials: creds, maxAttempts: 2 });
t.teardown(() => client.destroy());
let tables = 0;

contract('dynamodb', async () => {
  const table = `sessions-${++tables}`;
  await ensureSessionTable(client, table, { pollMs: 5 });
  const clock = makeClock();
  const store = new DynamoSessionStore({ client, table, now: clock.now, ownsClient: false });
  return {
    store,
    clock,
    async seed(sessions) {
      const batches: Session[][] = [];
      for (let i = 0; i < sessions.length; i += 25) batches.push(sessions.slice(i, i + 25));
      for (let i = 0; i < batches.length; i += 4) {
        await Promise.all(
          batches.slice(i, i + 4).map(async (batch) => {
            let request = { [table]: batch.map((s) => ({ PutRequest: { Item: toItem(s) } })) };
            while (request[table]?.length) {
              const out = await client.send(new BatchWriteItemCommand({ RequestItems: request }));
              request = (out.UnprocessedItems ?? {}) as typeof request;
            }
          }),
        );
      }
    },
  };
});

// --- DynamoDB only: failing closed ----------------------------------------------------------------------------------

t.test('dynamodb: an unreachable store answers SessionStoreUnavailable, with no AWS text', async (t) => {
  const own = await startDynalite();
  t.teardown(() => own.close());
  const c = new DynamoDBClient({
    endpoint: own.url,
    region: 'us-east-1',
    credentials: creds,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 2000 },
  });
  t.teardown(() => c.destroy());
  await ensureSessionTable(c, 'gone', { pollMs: 5 });
  const store = new DynamoSessionStore({ client: c, table: 'gone', now: () => new Date(START), ownsClient: false });
  const s = await store.create(newSession(1));
  await own.close();
  for (const [op, run] of [
    ['get', () => store.get(s.id)],
    ['touch', () => store.touch(s.id, new Date(START), 1)],
    ['revoke', () => store.revoke(s.id, 'bob', 'why')],
    ['create', () => store.create(newSession(2))],
    ['list', () => store.list({ user: 'alice' })],
    ['scan', () => store.list({})],
  ] as const) {
    const err = await (run as () => Promise<unknown>)().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof SentinelError && err.code === 'SessionStoreUnavailable', `${op} fails closed`);
    t.equal(
      (err as SentinelError).message,
      'the session table gone cannot be reached',
      `${op}: our message, not the SDK's`,
    );
  }
});

t.test('dynamodb: a missing table and a malformed record fail closed', async (t) => {
  const missing = new DynamoSessionStore({ client, table: 'no-such-table', ownsClient: false });
  const err = await missing.get(idOf(1)).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SentinelError && err.code === 'SessionStoreUnavailable');
  t.equal((err as SentinelError).message, 'the session table no-such-table does not exist');
  t.match((err as SentinelError).hint, /sentinel init sessions/);

  const table = `sessions-${++tables}`;
  await ensureSessionTable(client, table, { pollMs: 5 });
  const store = new DynamoSessionStore({ client, table, now: () => new Date(START), ownsClient: false });
  const good = await store.create(newSession(1));
  const raw = toItem(good);
  const variants: Array<[string, Record<string, unknown>]> = [
    ['unknown status', { ...raw, id: { S: idOf('m1') }, status: { S: 'superactive' } }],
    ['unknown mode', { ...raw, id: { S: idOf('m2') }, mode: { S: 'god' } }],
    [
      'no updated_at',
      Object.fromEntries(Object.entries({ ...raw, id: { S: idOf('m3') } }).filter(([k]) => k !== 'updated_at')),
    ],
    ['request_count not a number', { ...raw, id: { S: idOf('m4') }, request_count: { S: 'many' } }],
  ];
  for (const [why, item] of variants) {
    await client.send(new PutItemCommand({ TableName: table, Item: item as never }));
    const id = (item.id as { S: string }).S;
    t.equal(await code(store.get(id)), 'SessionStoreUnavailable', `get: ${why}`);
    t.equal(await code(store.revoke(id, 'bob', 'x')), 'SessionStoreUnavailable', `revoke: ${why}`);
  }
});

t.test('createSessionStore picks the store config.yaml names', async (t) => {
  const { createSessionStore } = await import('../core/sessions/factory.js');
  const { resolveConfig } = await import('../core/config.js');
  const memory = createSessionStore(resolveConfig({}, 'config.yaml', { HOME: '/nonexistent' }));
  t.equal(memory.kind, 'memory');
  const table = `sessions-${++tables}`;
  await ensureSessionTable(client, table, { pollMs: 5 });
  let built = 0;
  const own = () => {
    built++;
    return new DynamoDBClient({ endpoint: dynalite.url, region: 'us-east-1', credentials: creds });
  };
  const store = createSessionStore(
    resolveConfig({ sessions: { store: 'dynamodb', table } }, 'config.yaml', { HOME: '/nonexistent' }),
    { dynamodb: own },
  );
  t.equal(store.kind, 'dynamodb');
  t.equal(built, 1);
  const s = await store.create(newSession('factory'));
  t.same(await store.get(s.id), s, 'reads and writes the configured table');
  await store.close();
  t.equal(await code(store.get(s.id)), 'SessionStoreUnavailable', 'a closed store answers nothing');
});
