// The break-glass service's own steps on dynalite (DESIGN §11): a failure after the lock and a slot were taken gives
// both back; MFA through the MfaSessions port (no port, no session and no code → MfaRequired; a refused code →
// MfaInvalid and nothing written; a verified code or a held session → mfa_verified); close by the invoker, by an
// approver of the profile, and not by anyone else; an event is re-checked against the entry in force.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { createNotifier } from '../core/notify/notifier.js';
import { parsePolicy } from '../core/policy/load.js';
import type { Policy } from '../core/policy/schema.js';
import type { PolicyProvider } from '../core/policy/types.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import type { RecordKind, StoredRecord } from '../core/records/kind.js';
import { setSkippedItemReporter, type SkippedItem } from '../core/records/skipped.js';
import type { MfaSessions } from '../core/breakglass/mfa.js';
import { eventStanding } from '../core/breakglass/override.js';
import {
  BREAKGLASS_TABLE,
  EVENT_KIND,
  LOCK_KIND,
  SLOT_KIND,
  type BreakglassStores,
} from '../core/breakglass/record.js';
import { createBreakglassService, type BreakglassDeps } from '../core/breakglass/service.js';
import { startDynalite } from './support/dynalite.js';
import { sentinelInProcess } from './support/cli.js';

const POLICY = `version: "1"
rules:
  - { name: frozen, effect: deny, conditions: { profiles: [prod, secure] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol] }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [alice, bob] }
  - { name: secure-mfa, profiles: [secure], users: [alice], mfa: required }
rate_limits:
  - { name: q, profiles: [prod], max_per_user: 3, max_per_profile: 3, quota_window: 24h }
`;
const parsed = (text: string): Policy => {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
};

const ACTORS = {
  alice: { arn: 'arn:aws:iam::123456789012:user/alice', user: 'alice' },
  bob: { arn: 'arn:aws:iam::123456789012:user/bob', user: 'bob' },
  carol: { arn: 'arn:aws:iam::123456789012:user/carol', user: 'carol' },
  aliceSso: { arn: 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a/alice', user: 'alice' },
};

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDBG', secretAccessKey: 'x' },
  maxAttempts: 1,
});
t.teardown(() => client.destroy());
let n = 0;

async function setup(over: Partial<BreakglassDeps> & { as?: keyof typeof ACTORS } = {}) {
  const table = `svc-${++n}`;
  await ensureTable(client, BREAKGLASS_TABLE, table, { pollMs: 5 });
  const store = <R extends StoredRecord>(kind: RecordKind<R>) =>
    new DynamoRecordStore(kind, { client, table, ownsClient: false });
  const stores: BreakglassStores = { events: store(EVENT_KIND), locks: store(LOCK_KIND), slots: store(SLOT_KIND) };
  let policy = parsed(POLICY);
  const who = { current: over.as ?? 'alice' };
  const provider = { policyFor: () => policy } as unknown as PolicyProvider;
  const service = createBreakglassService({
    stores,
    policy: () => provider,
    profileExists: async () => {},
    identify: async () => ACTORS[who.current],
    profiles: async () => ['prod', 'secure'],
    notifier: createNotifier({
      secret: async () => 'x',
      publish: async () => 'id',
    }),
    log: silentLogger(),
    ...over,
  });
  const counts = async () => ({
    events: (await stores.events.scan()).length,
    locks: (await stores.locks.scan()).length,
    live: (await stores.slots.scan()).filter((s) => s.freed_at > new Date().toISOString()).length,
  });
  return { stores, service, who, counts, table, setPolicy: (p: string) => (policy = parsed(p)) };
}

const input = (profile = 'prod', extra: Record<string, unknown> = {}) => ({
  profile,
  reason_code: 'incident',
  justification: 'the queue is stuck, INC-9000, draining it',
  ...extra,
});

async function refusal(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a refusal');
}

t.test('a failure after the lock and the slots were taken gives them back', async (t) => {
  const { stores, service, counts } = await setup();
  const create = stores.events.create.bind(stores.events);
  stores.events.create = async () => {
    throw new SentinelError('SessionStoreUnavailable', 'the table went away');
  };
  const r = await refusal(service.invoke(input()));
  t.equal(r.code, 'SessionStoreUnavailable');
  t.same(await counts(), { events: 0, locks: 0, live: 0 }, 'lock deleted, both slots freed');
  stores.events.create = create;
  const e = await service.invoke(input());
  t.equal(e.status, 'active', 'the next invocation gets the lock and the slots');
  t.same(await counts(), { events: 1, locks: 1, live: 2 });
});

t.test('MFA through the port', async (t) => {
  const none = await setup();
  t.equal((await refusal(none.service.invoke(input('secure')))).code, 'MfaRequired', 'no MFA sessions here');
  t.equal(
    (await refusal(none.service.invoke(input('secure', { mfa_code: '123456' })))).code,
    'MfaRequired',
    'a code that nobody here can verify',
  );
  const verified: string[] = [];
  let held = false;
  const mfa: MfaSessions = {
    async verify(profile, code) {
      if (code !== '246810') throw new SentinelError('MfaInvalid', 'AWS refused the MFA code');
      verified.push(profile);
      held = true;
    },
    holds: () => held,
  };
  const s = await setup({ mfa });
  t.equal((await refusal(s.service.invoke(input('secure')))).code, 'MfaRequired', 'no session, no code');
  t.equal((await refusal(s.service.invoke(input('secure', { mfa_code: '111111' })))).code, 'MfaInvalid');
  t.same(await s.counts(), { events: 0, locks: 0, live: 0 }, 'a refused code writes nothing');
  const preview = await s.service.preview(input('secure'));
  t.match(preview, { mfa: 'required', mfa_session: false });
  const e = await s.service.invoke(input('secure', { mfa_code: '246810' }));
  t.equal(e.mfa_verified, true);
  t.same(verified, ['secure']);
  await s.service.close(e.id, 'done');
  const again = await s.service.invoke(input('secure'));
  t.equal(again.mfa_verified, true, 'a held MFA session needs no new code');
  const plain = await s.service.invoke(input('prod'));
  t.equal(plain.mfa_verified, false, 'an entry without mfa does not ask');
});

t.test('close: the invoker or an approver of the profile, nobody else', async (t) => {
  const s = await setup();
  const e = await s.service.invoke(input());
  s.who.current = 'bob';
  const bob = await refusal(s.service.close(e.id, 'not mine'));
  t.equal(bob.code, 'NotApprover');
  s.who.current = 'carol';
  const closed = await s.service.close(e.id, 'incident over');
  t.match(closed, { status: 'closed', closed_by: 'carol', closed_reason: 'incident over' });
  t.equal((await refusal(s.service.close(e.id, 'again'))).code, 'Conflict');
  t.equal((await refusal(s.service.close('zz', 'x'))).code, 'BadRequest');
  t.equal((await refusal(s.service.close(e.id, 'bad\u0007reason'))).code, 'BadRequest');
  s.who.current = 'alice';
  const own = await s.service.invoke(input());
  t.equal((await s.service.close(own.id, 'mine')).closed_by, 'alice');
  t.equal((await s.service.list({ status: 'closed' })).length, 2);
  // Alice under her SSO identity: the same policy user, whose lock the event holds, may close it too.
  s.setPolicy(`version: "1"
rules:
  - { name: frozen, effect: deny, conditions: { profiles: [prod] } }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [alice, bob] }
`);
  const third = await s.service.invoke(input());
  s.who.current = 'aliceSso';
  t.equal((await s.service.close(third.id, 'closing from SSO')).status, 'closed');
  // And bob's refusal, where no approvals entry covers the profile, names who may close it.
  s.who.current = 'alice';
  const fourth = await s.service.invoke(input());
  s.who.current = 'bob';
  const hint = (await refusal(s.service.close(fourth.id, 'not mine'))).hint;
  t.match(hint, /only its invoker, alice, may close it/);
});

t.test(
  'an invisible or combining-only justification opens nothing; an invisible close reason closes nothing',
  async (t) => {
    const s = await setup();
    for (const [justification, want] of [
      ['\u200b'.repeat(20), /^the justification holds U\+200B \(an invisible formatting character\)/],
      ['a' + '\u0301'.repeat(19), /^the justification must be 20-1000 characters \(got 1\)/],
      ['deploy hotfix \u202eINC-1 evil, the queue is stuck', /^the justification holds U\+202E /],
      ['deploy hotfix \ud800 INC-1, the queue is stuck', /^the justification holds U\+D800 /],
    ] as const) {
      const e = await refusal(s.service.invoke(input('prod', { justification })));
      t.equal(e.code, 'BadRequest');
      t.match(e.message, want);
    }
    t.same(await s.counts(), { events: 0, locks: 0, live: 0 }, 'nothing was written');
    const e = await s.service.invoke(
      input('prod', { justification: 'INC-9000: the queue is stuck, 部署 rollback 🚑' }),
    );
    const bad = await refusal(s.service.close(e.id, 'done \u2066isolated\u2069'));
    t.equal(bad.code, 'BadRequest');
    t.match(bad.message, /^the reason holds U\+2066 /);
    t.equal((await s.service.close(e.id, 'incident over')).status, 'closed');
  },
);

t.test('an event is re-checked against the entry in force', async (t) => {
  const s = await setup();
  const e = await s.service.invoke(input());
  const stored = (await s.stores.events.get(e.id))!;
  const now = new Date();
  const policy = parsed(POLICY);
  t.ok(eventStanding(stored, ACTORS.alice.arn, 'prod', policy, now), 'stands under the policy it was invoked under');
  t.equal(eventStanding(stored, ACTORS.bob.arn, 'prod', policy, now), null, 'not for another principal');
  const dropped = parsed(POLICY.replace('users: [alice, bob] }', 'users: [bob] }'));
  t.equal(eventStanding(stored, ACTORS.alice.arn, 'prod', dropped, now), null, 'a user no longer listed');
  const mfaNow = parsed(POLICY.replace('users: [alice, bob] }', 'users: [alice, bob], mfa: required }'));
  t.equal(eventStanding(stored, ACTORS.alice.arn, 'prod', mfaNow, now), null, 'an entry that now requires MFA');
  const shorter = parsed(POLICY.replace('users: [alice, bob] }', 'users: [alice, bob], max_duration: 30m }'));
  t.equal(
    eventStanding(stored, ACTORS.alice.arn, 'prod', shorter, now),
    Date.parse(stored.created_at) + 30 * 60_000,
    'a shorter max_duration shortens it',
  );
});

t.test('a malformed item in the table: list skips and reports it, escalation counts it', async (t) => {
  const reports: SkippedItem[] = [];
  t.teardown(setSkippedItemReporter((s) => reports.push(s)));
  const { service, table, setPolicy } = await setup();
  setPolicy(POLICY.replace('quota_window: 24h }', 'quota_window: 24h, escalation_threshold: 2 }'));
  // The tester's item: active, naming alice, with most required fields missing.
  const bad = '00000000000000b2';
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        id: { S: bad },
        invoker: { S: 'alice' },
        status: { S: 'active' },
        profile: { S: 'prod' },
        created_at: { S: new Date().toISOString() },
      },
    }),
  );
  const event = await service.invoke(input());
  // Escalation guards scrutiny: the unreadable item may be an event of the window, so it counts.
  t.equal(event.escalated, true, 'the malformed item counts towards the escalation threshold');
  t.same(
    (await service.list({})).map((e) => e.id),
    [event.id],
    'list: the good event',
  );
  t.same(
    (await service.list({ mine: true })).map((e) => e.id),
    [event.id],
    'list --mine',
  );
  t.same(
    (await service.list({ profile: 'prod' })).map((e) => e.id),
    [event.id],
    'list --profile',
  );
  t.same(
    reports.map((r) => [r.table, r.id]),
    [[table, bad]],
    'reported once, with the table and the id',
  );
  const err = await refusal(service.show(bad));
  t.equal(err.code, 'SessionStoreUnavailable', 'show by id fails closed');
  t.match(err.message, `the break-glass table ${table} holds a malformed break-glass event record ${bad}`);
});

/** The words of a shell command as POSIX sh reads them (plain words, single quotes and backslash escapes: what
 * hints use). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const m of command.matchAll(/(?:[^\s'\\]+|'[^']*'|\\.)+/g)) {
    words.push(m[0].replace(/'([^']*)'|\\(.)/g, (_all, quoted?: string, escaped?: string) => quoted ?? escaped ?? ''));
  }
  return words;
}

t.test('a refusal hints at a policy test command that runs as written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-bg-hint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "team's policy.yaml");
  writeFileSync(file, POLICY);
  const provider = {
    policyFor: () => parsed(POLICY),
    status: () => ({ source: 'file', location: file }),
  } as unknown as PolicyProvider;
  const { service } = await setup({ as: 'bob', policy: () => provider });
  const err = await refusal(service.invoke(input('secure')));
  t.equal(err.code, 'BreakGlassRefused');
  const command = /`([^`]+)`/.exec(err.hint)?.[1] ?? '';
  const words = shellWords(command);
  t.same(words.slice(0, 3), ['sentinel', 'policy', 'test']);
  t.same(
    words.slice(3),
    [file, '--profile', 'secure', '--user', 'bob', '--session-store', 'dynamodb'],
    'the policy file in force, the profile and the user, and the store break-glass needs (the policy has rate_limits)',
  );
  const ran = await sentinelInProcess(words.slice(1));
  t.equal(ran.code, 3, 'it runs: the rule denies, and break-glass is shown beside it (not a usage error, exit 2)');
  t.match(ran.stdout, /Break-glass: not allowed now: user "bob" is not listed in breakglass entry "secure-mfa"/);
});
