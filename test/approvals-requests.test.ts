// Approval requests on the record layer (DESIGN §10), on the memory store and on dynalite: filing (decision must be
// require_approval, bad input refused with nothing written), auto-approval, deciding with approver checks, racing
// approvers, approve against cancel, revoke, derived expiry, and the override lookup the daemon uses.
import t from 'tap';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { parsePolicy } from '../core/policy/load.js';
import { evaluate } from '../core/policy/evaluate.js';
import type { Policy } from '../core/policy/schema.js';
import { MemoryRecordStore } from '../core/records/memory.js';
import type { Item } from '../core/records/kind.js';
import { setSkippedItemReporter, type SkippedItem } from '../core/records/skipped.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import type { RecordStore } from '../core/records/store.js';
import { REQUEST_KIND, REQUEST_TABLE, effectiveStatus, type ApprovalRequest } from '../core/approvals/record.js';
import {
  cancelRequest,
  createRequest,
  decideRequest,
  revokeRequest,
  type DecideNow,
} from '../core/approvals/service.js';
import { createApprovalLookup, whyNotHonoured } from '../core/approvals/override.js';
import { startDynalite } from './support/dynalite.js';

const POLICY = `version: "1"
rules:
  - { name: prod, effect: require_approval, conditions: { profiles: [prod] } }
  - { name: dev, effect: allow, conditions: { profiles: [dev] } }
  - { name: secret, effect: deny, conditions: { profiles: [secret] } }
  - { name: orphan, effect: require_approval, conditions: { profiles: [orphan] } }
approvals:
  - name: prod-approvers
    profiles: [prod, secret]
    approvers: [carol, "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_*/dave@example.com"]
    max_duration: 4h
    auto_approve:
      users: [zoe]
      time: { days: [monday], hours: { start: "09:00", end: "17:00" }, timezone: UTC }
      max_duration: 1h
`;

function load(text = POLICY): Policy {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

const ALICE = { arn: 'arn:aws:iam::111111111111:user/alice', user: 'alice' };
const ZOE = { arn: 'arn:aws:iam::111111111111:user/zoe', user: 'zoe' };
const CAROL = { arn: 'arn:aws:iam::111111111111:user/carol', user: 'carol' };
const DAVE = {
  arn: 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_9/dave@example.com',
  user: 'daveexamplecom',
};
const BOB = { arn: 'arn:aws:iam::111111111111:user/bob', user: 'bob' };
const FAKE_CAROL = { arn: 'arn:aws:sts::111111111111:assumed-role/deploy/carol', user: 'deploy' };
const MONDAY_NOON = new Date('2026-12-07T12:00:00Z');
const SUNDAY = new Date('2026-12-06T12:00:00Z');

interface Fixture {
  store: RecordStore<ApprovalRequest>;
  /** Puts an item into the table as it is (what anyone with PutItem on it can write). */
  plant: (item: Item) => Promise<void>;
  clock: { ms: number };
  policy: { current: Policy };
}

const decideNowFor =
  (policy: { current: Policy }): DecideNow =>
  (user, profile, time) =>
    evaluate(
      policy.current,
      { user, profile, time, mode: 'server', sessionStore: 'dynamodb' },
      { source: 't', version: null },
    );

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return 'resolved';
}

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
t.teardown(() => client.destroy());
let tables = 0;

const backends: Array<[string, () => Promise<Fixture>]> = [
  [
    'memory',
    async () => {
      const clock = { ms: SUNDAY.getTime() };
      const store = new MemoryRecordStore(REQUEST_KIND, { now: () => new Date(clock.ms) });
      return {
        store,
        plant: async (item) => store.plantItem(item),
        clock,
        policy: { current: load() },
      };
    },
  ],
  [
    'dynamodb',
    async () => {
      const table = `sentinel-requests-${++tables}`;
      await ensureTable(client, REQUEST_TABLE, table, { pollMs: 5 });
      const clock = { ms: SUNDAY.getTime() };
      const store = new DynamoRecordStore(REQUEST_KIND, {
        client,
        table,
        ownsClient: false,
        now: () => new Date(clock.ms),
      });
      const plant = async (item: Item) => {
        await client.send(new PutItemCommand({ TableName: table, Item: item }));
      };
      return { store, plant, clock, policy: { current: load() } };
    },
  ],
];

for (const [backend, make] of backends) {
  t.test(`${backend}: filing, deciding, cancelling, revoking`, async (t) => {
    const { store, clock, policy } = await make();
    const now = () => new Date(clock.ms);
    const policyFor = async () => policy.current;
    const decideNow = decideNowFor(policy);
    const file = (input: Partial<Parameters<typeof createRequest>[3]> = {}) =>
      createRequest(
        store,
        policy.current,
        decideNow,
        { requester: ALICE, profile: 'prod', justification: 'deploy the hotfix for INC-42', ...input },
        now(),
      );

    await t.test('bad input is refused and nothing is written', async (t) => {
      const cases: Array<[Partial<Parameters<typeof createRequest>[3]>, RegExp]> = [
        [{ justification: 'short' }, /^BadRequest: the justification must be 10-500 characters/],
        [{ justification: 'x'.repeat(501) }, /^BadRequest: the justification must be 10-500/],
        [{ justification: 'fine text\nwith a break' }, /^BadRequest: .*control characters/],
        [{ justification: 'fine text \u001b[31m red' }, /^BadRequest: .*control characters/],
        [{ justification: 42 as unknown as string }, /^BadRequest: the justification must be text/],
        [{ justification: '\u200b'.repeat(10) }, /^BadRequest: the justification holds U\+200B \(an invisible/],
        [{ justification: 'deploy hotfix \u202eINC-1 evil' }, /^BadRequest: the justification holds U\+202E /],
        [{ justification: 'deploy hotfix \ud800 INC-1' }, /^BadRequest: the justification holds U\+D800 /],
        [
          { justification: 'a' + '\u0301'.repeat(9) },
          /^BadRequest: the justification must be 10-500 characters \(got 1\)/,
        ],
        [
          { duration: 5 * 3600 },
          /^BadRequest: the duration 5h is over the limit of approvals entry "prod-approvers" \(4h\)/,
        ],
        [{ duration: 1.5 }, /^BadRequest: duration must be a whole number/],
        [{ duration: 10 }, /^BadRequest: the duration must be at least 60/],
        [{ profile: 'dev' }, /^PolicyDenied: you already have access to dev/],
        [{ profile: 'secret' }, /^PolicyDenied: secret cannot be requested: denied by rule "secret"/],
        [{ profile: 'nosuch' }, /^PolicyDenied: nosuch cannot be requested: no matching rule/],
        [{ profile: 'orphan' }, /^PolicyDenied: no approvals entry covers orphan/],
      ];
      for (const [input, want] of cases) t.match(await codeOf(file(input)), want, JSON.stringify(input).slice(0, 60));
      t.same(await store.scan(), [], 'nothing was written');
    });

    const r = (await file({ duration: 7200 })).request;
    t.equal(r.status, 'pending');
    t.equal(r.auto_approved, false);
    t.equal(r.rule, 'prod-approvers');
    t.equal(r.requester_arn, ALICE.arn);
    t.equal(Date.parse(r.expires_at) - clock.ms, 24 * 3600_000, 'a pending request lapses after 24 h');

    const decide = (who: typeof CAROL, decision: 'approve' | 'deny', id = r.id) =>
      decideRequest(store, policyFor, { approver: who, id, decision }, now);
    t.match(
      await codeOf(decide(BOB, 'approve')),
      /^NotApprover: you are not an approver in approvals entry "prod-approvers"/,
    );
    t.match(await codeOf(decide(FAKE_CAROL, 'approve')), /^NotApprover: /, 'a role session named carol is not carol');
    t.match(await codeOf(decide(ALICE, 'approve')), /^NotApprover: you cannot approve your own request/);
    t.match(await codeOf(decide(CAROL, 'approve', 'nothex')), /^BadRequest: not a valid request id/);
    t.match(
      await codeOf(decide(CAROL, 'approve', '0123456789abcdef')),
      /^NotFound: no approval request 0123456789abcdef/,
    );
    t.equal((await store.get(r.id))!.status, 'pending', 'refusals wrote nothing');

    clock.ms += 60_000;
    const approved = (
      await decideRequest(store, policyFor, { approver: CAROL, id: r.id, decision: 'approve', comment: 'ok, go' }, now)
    ).request;
    t.equal(approved.status, 'approved');
    t.equal(approved.approver, 'carol');
    t.equal(approved.approver_comment, 'ok, go');
    t.equal(
      approved.window_start,
      new Date(clock.ms).toISOString(),
      'the window starts at the approval, not the request',
    );
    t.equal(Date.parse(approved.window_end!) - clock.ms, 7200_000);
    t.match(
      await codeOf(decide(DAVE, 'deny')),
      /^Conflict: request [0-9a-f]{16} is approved by carol, so it cannot be denied/,
    );
    const late = await decide(DAVE, 'deny').then(
      () => undefined,
      (e: { hint?: string }) => e.hint,
    );
    t.equal(late, `Show it with \`sentinel requests show ${r.id}\`.`, 'the hint names the request, to run as written');

    // The override lookup: alice, prod, require_approval → approved until window_end.
    const lookup = createApprovalLookup({ store, policy: () => policy.current });
    const who = { principal: ALICE, profile: 'prod' };
    const found = await lookup.find(who, { effect: 'require_approval' }, now());
    t.same(found, { kind: 'approved', id: r.id, notAfter: new Date(approved.window_end!) });
    t.equal(await lookup.find(who, { effect: 'deny' }, now()), null, 'a deny is never overridden');
    t.equal(await lookup.find({ principal: BOB, profile: 'prod' }, { effect: 'require_approval' }, now()), null);
    t.equal(
      await lookup.find(
        { principal: { ...FAKE_CAROL, user: 'alice' }, profile: 'prod' },
        { effect: 'require_approval' },
        now(),
      ),
      null,
      'the requester is the principal ARN, not the name',
    );

    // A shorter max_duration in force shortens the window at the next request.
    policy.current = load(
      POLICY.replace('max_duration: 4h', 'max_duration: 30m').replace('max_duration: 1h', 'max_duration: 30m'),
    );
    t.same(
      (await lookup.find(who, { effect: 'require_approval' }, now()))?.notAfter,
      new Date(Date.parse(approved.window_start!) + 1800_000),
    );
    // The approver removed from the policy in force: the approval stops working.
    policy.current = load(POLICY.replace('approvers: [carol, ', 'approvers: ['));
    t.equal(await lookup.find(who, { effect: 'require_approval' }, now()), null);
    policy.current = load();
    t.ok(await lookup.find(who, { effect: 'require_approval' }, now()));

    // Revocation: only an approver; then the next lookup refuses.
    const revoke = (by: typeof CAROL) =>
      revokeRequest(store, policyFor, { approver: by, id: r.id, reason: 'incident over' }, now);
    t.match(await codeOf(revoke(BOB)), /^NotApprover/);
    const revoked = (await revoke(DAVE)).request;
    t.equal(revoked.status, 'revoked');
    t.equal(revoked.approver, 'carol', 'who approved is kept');
    t.equal(revoked.approver_comment, 'revoked by dave@example.com: incident over');
    t.equal(
      await lookup.find(who, { effect: 'require_approval' }, now()),
      null,
      'revoked → refused at the next request',
    );
    t.match(await codeOf(revoke(DAVE)), /^Conflict: .* is revoked/);

    // Windows end; pending requests lapse (derived, never written).
    const second = (await file()).request;
    await decideRequest(store, policyFor, { approver: CAROL, id: second.id, decision: 'approve' }, now);
    t.ok(await lookup.find(who, { effect: 'require_approval' }, now()));
    clock.ms += 3600_000;
    t.equal(await lookup.find(who, { effect: 'require_approval' }, now()), null, 'an ended window is refused');
    t.equal(effectiveStatus((await store.get(second.id))!, now()), 'expired');
    t.equal((await store.get(second.id))!.status, 'approved', 'expired is derived, never written');
    const lapsing = (await file()).request;
    clock.ms += 24 * 3600_000;
    t.match(await codeOf(decide(CAROL, 'approve', lapsing.id)), /^Conflict: .* is expired/);

    // Cancel: only the requester, only while pending; deny.
    const third = (await file()).request;
    t.match(await codeOf(cancelRequest(store, BOB, third.id, now)), /^NotFound/, "someone else's request is not found");
    t.equal((await cancelRequest(store, ALICE, third.id, now)).status, 'cancelled');
    t.match(await codeOf(cancelRequest(store, ALICE, third.id, now)), /^Conflict: .* is cancelled/);
    const fourth = (await file()).request;
    t.equal((await decide(CAROL, 'deny', fourth.id)).request.status, 'denied');
    t.equal(await lookup.find(who, { effect: 'require_approval' }, now()), null);
  });

  t.test(`${backend}: no one approves their own request as another identity of theirs`, async (t) => {
    const { store, clock, policy } = await make();
    const now = () => new Date(clock.ms);
    const policyFor = async () => policy.current;
    const file = async () =>
      (
        await createRequest(
          store,
          policy.current,
          decideNowFor(policy),
          { requester: CAROL, profile: 'prod', justification: 'carol needs prod for INC-7' },
          now(),
        )
      ).request;
    const r = await file();
    const CAROL_SSO = { arn: 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_9/carol', user: 'carol' };
    const CAROL_ELSEWHERE = { arn: 'arn:aws:iam::999999999999:user/carol', user: 'carol' };
    for (const who of [CAROL_SSO, CAROL_ELSEWHERE])
      t.match(
        await codeOf(decideRequest(store, policyFor, { approver: who, id: r.id, decision: 'approve' }, now)),
        /^NotApprover: you cannot approve your own request: this identity is the policy user "carol" too/,
        who.arn,
      );
    t.equal((await store.get(r.id))!.status, 'pending', 'nothing written');

    // Records approved that way anyway (written around the check, by hand) grant nothing; one approved by dave does.
    const approveAs = (id: string, arn: string) =>
      store.update(id, () => ({
        status: 'approved',
        approver: 'x',
        approver_arn: arn,
        decided_at: now().toISOString(),
        window_start: now().toISOString(),
        window_end: new Date(clock.ms + 3600_000).toISOString(),
      }));
    await approveAs(r.id, CAROL_SSO.arn);
    const lookup = createApprovalLookup({ store, policy: () => policy.current });
    const carolProd = { principal: CAROL, profile: 'prod' };
    t.equal(await lookup.find(carolProd, { effect: 'require_approval' }, now()), null, 'self-approved: no override');
    const other = await file();
    await approveAs(other.id, DAVE.arn);
    t.equal((await lookup.find(carolProd, { effect: 'require_approval' }, now()))?.id, other.id, 'dave: override');

    // What the requester's view says beside "approved by …": the record alone does not make access.
    const why = async (id: string) => whyNotHonoured((await store.get(id))!, policy.current, now());
    t.equal(await why(r.id), 'it was approved by the requester');
    t.equal(await why(other.id), null);
    policy.current = load(
      POLICY.replace('"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_*/dave@example.com"', 'nobody'),
    );
    t.equal(await why(other.id), 'x is not an approver in entry "prod-approvers" in the policy in force');
    policy.current = load(POLICY.replace('profiles: [prod, secret]', 'profiles: [secret]'));
    t.equal(await why(other.id), 'no approvals entry covers prod in the policy in force');
    policy.current = load();
    clock.ms += 2 * 3600_000;
    t.equal(await why(other.id), null, 'a request whose window ended is expired, not approved: nothing to say');
  });

  t.test(`${backend}: a malformed item in alice's partition neither blocks nor grants`, async (t) => {
    const { store, plant, clock, policy } = await make();
    const reports: SkippedItem[] = [];
    t.teardown(setSkippedItemReporter((s) => reports.push(s)));
    const now = () => new Date(clock.ms);
    const policyFor = async () => policy.current;
    const { request } = await createRequest(
      store,
      policy.current,
      decideNowFor(policy),
      { requester: ALICE, profile: 'prod', justification: 'deploy the hotfix for INC-42' },
      now(),
    );
    await decideRequest(store, policyFor, { approver: CAROL, id: request.id, decision: 'approve' }, now);
    // The tester's item: approved, naming alice, with most required fields missing.
    const bad = '00000000000000b1';
    await plant({
      id: { S: bad },
      requester: { S: 'alice' },
      status: { S: 'approved' },
      created_at: { S: now().toISOString() },
    });
    const lookup = createApprovalLookup({ store, policy: () => policy.current });
    const found = await lookup.find({ principal: ALICE, profile: 'prod' }, { effect: 'require_approval' }, now());
    t.equal(found?.id, request.id, "alice's approved request still grants");
    t.same(
      reports.map((r) => r.id),
      [bad],
      'the skipped item is reported, with its id',
    );
    t.equal(await lookup.find({ principal: BOB, profile: 'prod' }, { effect: 'require_approval' }, now()), null);
    t.match(
      await codeOf(store.get(bad)),
      new RegExp(`^SessionStoreUnavailable: .* malformed approval request record ${bad} `),
    );
  });

  t.test(`${backend}: auto-approval inside the window and duration, pending outside`, async (t) => {
    const { store, clock, policy } = await make();
    const file = (duration: number) =>
      createRequest(
        store,
        policy.current,
        decideNowFor(policy),
        { requester: ZOE, profile: 'prod', justification: 'routine maintenance', duration },
        new Date(clock.ms),
      );
    clock.ms = MONDAY_NOON.getTime();
    const auto = (await file(3600)).request;
    t.same([auto.status, auto.auto_approved, auto.approver], ['approved', true, undefined]);
    t.equal(auto.window_start, MONDAY_NOON.toISOString());
    t.equal((await file(7200)).request.status, 'pending', 'over auto_approve.max_duration');
    clock.ms = SUNDAY.getTime();
    t.equal((await file(600)).request.status, 'pending', 'outside auto_approve.time');
    const lookup = createApprovalLookup({ store, policy: () => policy.current });
    clock.ms = MONDAY_NOON.getTime() + 60_000;
    t.equal(
      (await lookup.find({ principal: ZOE, profile: 'prod' }, { effect: 'require_approval' }, new Date(clock.ms)))?.id,
      auto.id,
    );
    policy.current = load(POLICY.replace('users: [zoe]', 'users: [someone]'));
    t.equal(
      await lookup.find({ principal: ZOE, profile: 'prod' }, { effect: 'require_approval' }, new Date(clock.ms)),
      null,
      'auto-approval withdrawn by the policy in force',
    );
  });

  t.test(`${backend}: races produce one outcome and one clear refusal`, async (t) => {
    const { store, clock, policy } = await make();
    const now = () => new Date(clock.ms);
    const policyFor = async () => policy.current;
    for (let round = 0; round < 5; round++) {
      const r = (
        await createRequest(
          store,
          policy.current,
          decideNowFor(policy),
          { requester: ALICE, profile: 'prod', justification: 'race condition test' },
          now(),
        )
      ).request;
      const two = await Promise.allSettled([
        decideRequest(store, policyFor, { approver: CAROL, id: r.id, decision: 'approve' }, now),
        decideRequest(store, policyFor, { approver: DAVE, id: r.id, decision: round % 2 ? 'deny' : 'approve' }, now),
      ]);
      const ok = two.filter((x) => x.status === 'fulfilled');
      const refused = two.filter((x) => x.status === 'rejected') as PromiseRejectedResult[];
      t.equal(ok.length, 1, `round ${round}: one decision`);
      t.equal(refused[0]?.reason?.code, 'Conflict');
      t.match(refused[0]?.reason?.message, /is (approved|denied) by (carol|dave@example\.com)/);
      const stored = (await store.get(r.id))!;
      t.equal(
        stored.approver_arn,
        (ok[0] as PromiseFulfilledResult<{ request: ApprovalRequest }>).value.request.approver_arn,
      );

      const s = (
        await createRequest(
          store,
          policy.current,
          decideNowFor(policy),
          { requester: ALICE, profile: 'prod', justification: 'race condition test' },
          now(),
        )
      ).request;
      const vs = await Promise.allSettled([
        decideRequest(store, policyFor, { approver: CAROL, id: s.id, decision: 'approve' }, now),
        cancelRequest(store, ALICE, s.id, now),
      ]);
      t.equal(vs.filter((x) => x.status === 'fulfilled').length, 1, `round ${round}: approve vs cancel, one wins`);
      t.equal((vs.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason.code, 'Conflict');
    }
  });
}

t.test('a denied profile a breakglass entry covers: the refusal says how to break glass instead', async (t) => {
  const text = POLICY + 'breakglass:\n  - { name: secret-glass, profiles: [secret], users: [alice] }\n';
  const policy = { current: load(text) };
  const store = new MemoryRecordStore(REQUEST_KIND, { now: () => MONDAY_NOON });
  const ask = (requester: typeof ALICE) =>
    createRequest(
      store,
      policy.current,
      decideNowFor(policy),
      { requester, profile: 'secret', justification: 'the vault is sealed, INC-77' },
      MONDAY_NOON,
    ).catch((e: { code: string; hint: string }) => e);
  const alice = await ask(ALICE);
  t.match(alice, {
    code: 'PolicyDenied',
    hint: /breakglass entry "secret-glass" covers you.*sentinel breakglass invoke secret/,
  });
  const bob = await ask(BOB);
  t.match(
    bob,
    { code: 'PolicyDenied', hint: /^Only access that a require_approval rule governs/ },
    'not listed: no such hint',
  );
});
