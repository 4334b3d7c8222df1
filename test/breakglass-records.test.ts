// Break-glass records on the record layer (DESIGN §11), against the memory store and dynalite alike: events with their
// one legal transition and `expired` derived on read; the lock that refuses a second active event (Conflict naming
// it) and a cooldown (RateLimited with when it frees); quota slots taken by conditional writes, refused with the
// earliest free time, given back on failure; and `sentinel init breakglass` creating the table with its indexes,
// idempotent, leaving a table of another shape alone.
import t from 'tap';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { MemoryRecordStore } from '../core/records/memory.js';
import { ensureTable } from '../core/records/table.js';
import type { RecordKind, StoredRecord } from '../core/records/kind.js';
import {
  BREAKGLASS_TABLE,
  EVENT_KIND,
  LOCK_KIND,
  SLOT_KIND,
  effectiveEventStatus,
  slotId,
  type BreakglassEvent,
  type BreakglassStores,
} from '../core/breakglass/record.js';
import { quotasFor, takeLock, takeSlots } from '../core/breakglass/limits.js';
import { awsEnv } from './support/aws-env.js';
import { startDynalite } from './support/dynalite.js';
import { sentinelInProcess, tempDir } from './support/cli.js';

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDBG', secretAccessKey: 'x' },
  maxAttempts: 1,
});
t.teardown(() => client.destroy());
let tables = 0;

async function dynamoStores(): Promise<BreakglassStores> {
  const table = `bg-${++tables}`;
  await ensureTable(client, BREAKGLASS_TABLE, table, { pollMs: 5 });
  const store = <R extends StoredRecord>(kind: RecordKind<R>) =>
    new DynamoRecordStore(kind, { client, table, ownsClient: false });
  return { events: store(EVENT_KIND), locks: store(LOCK_KIND), slots: store(SLOT_KIND) };
}

function memoryStores(): BreakglassStores {
  return {
    events: new MemoryRecordStore(EVENT_KIND),
    locks: new MemoryRecordStore(LOCK_KIND),
    slots: new MemoryRecordStore(SLOT_KIND),
  };
}

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000);

function event(id: string, over: Partial<BreakglassEvent> = {}): BreakglassEvent {
  return {
    id,
    invoker: 'alice',
    invoker_arn: 'arn:aws:iam::123456789012:user/alice',
    profile: 'prod',
    reason_code: 'incident',
    justification: 'database on fire, INC-1234 paging',
    status: 'active',
    rule: 'prod-emergency',
    mfa_verified: false,
    escalated: false,
    created_at: at(0).toISOString(),
    updated_at: at(0).toISOString(),
    expires_at: at(60).toISOString(),
    ttl: Math.floor(T0 / 1000) + 86400 * 31,
    ...over,
  };
}

async function refusal(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a refusal');
}

for (const [name, make] of [
  ['memory', async () => memoryStores()],
  ['dynamodb', dynamoStores],
] as const) {
  t.test(`${name}: events, locks and slots`, async (t) => {
    const s = await make();
    const e1 = await s.events.create(event('00000000000000a1'));
    t.equal(effectiveEventStatus(e1, at(30)), 'active');
    t.equal(effectiveEventStatus(e1, at(61)), 'expired', 'expired is derived on read');
    const closed = await s.events.update(e1.id, () => ({ status: 'closed', closed_by: 'alice' }));
    t.equal(closed.status, 'closed');
    const again = await refusal(s.events.update(e1.id, () => ({ status: 'active' })));
    t.equal(again.code, 'Conflict', 'closed is final');
    t.equal((await refusal(s.events.get('lock#alice#prod'))).code, 'BadRequest', 'a lock id is not an event id');

    // The lock: one active event, then the cooldown.
    const lock = await takeLock(
      s,
      {
        invoker: 'alice',
        profile: 'prod',
        eventId: '00000000000000b1',
        expiresAt: at(60).getTime(),
        cooldownMs: 30 * 60_000,
      },
      at(0),
    );
    await s.events.create(event('00000000000000b1'));
    const second = await refusal(
      takeLock(
        s,
        { invoker: 'alice', profile: 'prod', eventId: '00000000000000b2', expiresAt: at(70).getTime(), cooldownMs: 0 },
        at(10),
      ),
    );
    t.equal(second.code, 'Conflict');
    t.match(second.message, /00000000000000b1/, 'the Conflict names the active event');
    await s.events.update('00000000000000b1', () => ({ status: 'closed' }));
    const cooling = await refusal(
      takeLock(
        s,
        { invoker: 'alice', profile: 'prod', eventId: '00000000000000b2', expiresAt: at(80).getTime(), cooldownMs: 0 },
        at(20),
      ),
    );
    t.equal(cooling.code, 'RateLimited', 'closed early, but the cooldown still runs');
    t.equal(cooling.retryAfter, 600, 'frees 10 minutes later');
    t.match(cooling.message, /2026-12-01T10:30:00.000Z/);
    await takeLock(
      s,
      { invoker: 'alice', profile: 'prod', eventId: '00000000000000b3', expiresAt: at(90).getTime(), cooldownMs: 0 },
      at(31),
    );
    t.equal((await s.locks.get('lock#alice#prod'))?.event_id, '00000000000000b3', 'taken over after the cooldown');
    await lock.release().then(
      () => t.fail('a lock taken over by another event is not given back'),
      (e) => t.equal(e.code, 'Conflict'),
    );
    t.ok(
      await takeLock(
        s,
        { invoker: 'bob', profile: 'prod', eventId: '00000000000000c1', expiresAt: at(90).getTime(), cooldownMs: 0 },
        at(31),
      ),
      'another invoker is not locked',
    );

    // Quota slots: max 2 per user in 24h; the third is refused with when the first frees.
    const quotas = quotasFor([{ name: 'q#1', max_per_user: 2, quota_window: '24h' }], 'alice', 'prod');
    await takeSlots(s, quotas, '00000000000000d1', () => at(0));
    await takeSlots(s, quotas, '00000000000000d2', () => at(5));
    const full = await refusal(takeSlots(s, quotas, '00000000000000d3', () => at(10)));
    t.equal(full.code, 'RateLimited');
    t.equal(full.retryAfter, 24 * 3600 - 600, 'retry after the earliest slot frees');
    t.match(full.message, /your quota of 2 break-glass events per 24h/);
    const later = await takeSlots(s, quotas, '00000000000000d4', () => at(24 * 60 + 1));
    t.equal(later.slots[0]!.id, slotId('q#1', 'u', 'alice', 0), 'a slot whose window passed is taken again');
    await later.release();
    const back = await s.slots.get(slotId('q#1', 'u', 'alice', 0));
    t.ok(back!.freed_at <= new Date().toISOString(), 'released: freed_at is now');
    // All or nothing: a user slot taken before a refused profile quota is given back.
    const both = quotasFor(
      [{ name: 'both', max_per_user: 5, max_per_profile: 1, quota_window: '1h' }],
      'carol',
      'prod',
    );
    await takeSlots(s, both, '00000000000000e1', () => new Date());
    const refused = await refusal(
      takeSlots(
        s,
        quotasFor([{ name: 'both', max_per_user: 5, max_per_profile: 1, quota_window: '1h' }], 'dave', 'prod'),
        '00000000000000e2',
        () => new Date(),
      ),
    );
    t.equal(refused.code, 'RateLimited');
    const daveSlot = await s.slots.get(slotId('both', 'u', 'dave', 0));
    t.ok(daveSlot && daveSlot.freed_at < new Date(Date.now() + 1000).toISOString(), "dave's user slot was given back");
    t.same(
      (await s.events.scan()).map((e) => e.id).sort(),
      ['00000000000000a1', '00000000000000b1'],
      'a scan of events sees no locks or slots',
    );
  });
}

t.test('sentinel init breakglass creates the table, again is a no-op, another shape is left alone', async (t) => {
  const home = tempDir(t, 'sentinel-bg-init-');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: `${home}/config`,
    AWS_CONFIG_FILE: `${home}/none`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/none`,
    ...awsEnv({ dynamodb: dynalite.url }),
    AWS_ACCESS_KEY_ID: 'AKIDINIT',
    AWS_SECRET_ACCESS_KEY: 'x',
  };
  const args = ['init', 'breakglass', '--table', 'team-bg', '--region', 'us-east-1', '-y', '--json'];
  const first = await sentinelInProcess(args, { env });
  t.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout);
  t.equal(report.action, 'created');
  const again = await sentinelInProcess(args, { env });
  t.equal(JSON.parse(again.stdout).action, 'exists');
  const wrong = await sentinelInProcess(['init', 'breakglass', '--table', 'bg-1', '--region', 'us-east-1', '-y'], {
    env,
  });
  t.equal(wrong.code, 0, 'a table of the right shape made by the tests is accepted');
  await client.send(
    new CreateTableCommand({
      TableName: 'bg-odd',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  const odd = await sentinelInProcess(['init', 'breakglass', '--table', 'bg-odd', '--region', 'us-east-1', '-y'], {
    env,
  });
  t.equal(odd.code, 1);
  t.match(odd.stderr, /index gsi-invoker \(invoker, created_at\) is missing/);
  const plan = await sentinelInProcess(['init', 'breakglass', '--region', 'us-east-1', '--plan'], { env });
  t.equal(plan.code, 0);
  t.match(plan.stdout, /sentinel-breakglass/);
  t.match(plan.stdout, /gsi-status/);
});
