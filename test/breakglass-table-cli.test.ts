// `sentinel breakglass close|list|show --table` without a daemon (DESIGN §11): alice invokes through her daemon; on
// other machines, with their own keys and the team's policy, bob (a stranger) is refused with NotApprover (exit 3)
// and the event stays active; carol (an approver) closes one event and alice (the invoker, her own keys) the other,
// each recorded under the closer's identity as STS reports it, with the breakglass.closed webhook delivered before the
// command exits; a second close is Conflict (exit 1); and alice's daemon refuses the next credential request under the
// closed event. Bad input is a usage error before anything is read.
import t from 'tap';
import { BREAKGLASS_TABLE, EVENT_KIND } from '../core/breakglass/record.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { sentinel, userEnv } from './support/cli.js';
import { BASE_ARN, startDaemon } from './support/daemon.js';
import { personEnv, startTeamTable, teamConfig } from './support/team-sessions.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const REASON = 'checkout is down, INC-4242, restarting workers';
const TABLE = 'team-bg';

const policy = (hook: string) => `version: "1"
rules:
  - { name: frozen, effect: deny, conditions: { profiles: [prod, dev] }, reason: change freeze }
breakglass:
  - { name: emergency, profiles: [prod, dev], users: [alice], allowed_reason_codes: [incident], max_duration: 2h, notify: [ops-hook] }
approvals:
  - { name: approvers, profiles: [prod, dev], approvers: [carol] }
notifications:
  - { name: ops-hook, webhook: { url: "${hook}" } }
`;

const PEOPLE = {
  bob: { key: 'AKIAPERSONBOB0000001', arn: 'arn:aws:iam::123456789012:user/bob' },
  carol: { key: 'AKIAPERSONCAROL00001', arn: 'arn:aws:iam::123456789012:user/carol' },
  alice: { key: 'AKIAPERSONALICE00001', arn: BASE_ARN },
};

t.test('close, list and show with --table: invoker, approver, stranger, Conflict, then refused', async (t) => {
  const hook = await startWebhookReceiver();
  t.teardown(() => hook.close());
  const POLICY = policy(`${hook.url}/hook`);
  const team = await startTeamTable(t);
  await ensureTable(team.client, BREAKGLASS_TABLE, TABLE, { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, { client: team.client, table: TABLE, ownsClient: false });
  const d = await startDaemon(t, {
    policy: POLICY,
    config: teamConfig(undefined, `breakglass: { table: ${TABLE} }\n`),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
    pidPollMs: 100,
  });
  const alice = userEnv(d);
  // A reviewer's machine: own keys, the team's policy in force, the table named in config.yaml or by --table.
  const person = (who: keyof typeof PEOPLE) =>
    personEnv(t, d.sts, team.url, PEOPLE[who], {
      '.config/sentinel/config.yaml': `region: us-east-1\nbreakglass: { table: ${TABLE} }\n`,
      '.config/sentinel/policy.yaml': POLICY,
    });
  const [bob, carol, aliceOwnKeys] = [person('bob'), person('carol'), person('alice')];
  const exportCreds = (profile: string) =>
    sentinel(t, ['exec', profile, '--', '/usr/bin/aws', 'configure', 'export-credentials', '--format', 'process'], {
      env: alice,
    });
  const invoke = async (profile: string) => {
    const r = await sentinel(
      t,
      ['breakglass', 'invoke', profile, '--reason-code', 'incident', '--reason', REASON, '--json'],
      { env: alice },
    );
    t.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { id: string };
  };
  const closedHooks = () =>
    hook.received.map((r) => JSON.parse(r.body)).filter((b: { type: string }) => b.type === 'breakglass.closed');

  const prod = await invoke('prod');
  const dev = await invoke('dev');
  t.equal((await exportCreds('prod')).code, 0, 'prod is served under the event');

  await t.test('bad input is refused before anything is read', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['breakglass', 'close', 'NOT-AN-ID', '--reason', 'x', '--table', TABLE], /not a break-glass event id/],
      [['breakglass', 'close', prod.id, '--reason', 'two\nlines', '--table', TABLE], /control characters/],
      [['breakglass', 'close', prod.id, '--reason', 'x'.repeat(1025), '--table', TABLE], /1-1024 characters/],
      [['breakglass', 'close', prod.id, '--reason', 'x', '--table', 'a b'], /not a DynamoDB table name/],
      [['breakglass', 'close', prod.id, '--reason', 'x', '--profile', 'approver'], /without --table/],
      [['breakglass', 'show', prod.id, '--region', 'eu-west-1'], /without --table/],
    ];
    const runs = await Promise.all(cases.map(([args]) => sentinel(t, args, { env: carol })));
    runs.forEach((r, i) => {
      t.equal(r.code, 2, `${cases[i]![0].join(' ')}: usage`);
      t.match(r.stderr, cases[i]![1]);
    });
    t.equal((await events.get(prod.id))?.status, 'active', 'nothing was closed');
  });

  await t.test('a stranger is refused, and the event stays active', async (t) => {
    const r = await sentinel(t, ['breakglass', 'close', prod.id, '--reason', 'not mine', '--table', TABLE, '--json'], {
      env: bob,
    });
    t.equal(r.code, 3, r.stderr);
    t.equal(JSON.parse(r.stderr).error.code, 'NotApprover');
    t.match(JSON.parse(r.stderr).error.message, /only the invoker or an approver of prod/);
    const stored = await events.get(prod.id);
    t.equal(stored?.status, 'active');
    t.equal(stored?.closed_by, undefined);
  });

  await t.test('readers list and show from the table without a daemon', async (t) => {
    const [list, show, mine] = await Promise.all([
      sentinel(t, ['breakglass', 'list', '--status', 'active', '--json'], { env: carol }),
      sentinel(t, ['breakglass', 'show', prod.id, '--table', TABLE], { env: bob }),
      sentinel(t, ['breakglass', 'list', '--mine', '--table', TABLE, '--json'], { env: aliceOwnKeys }),
    ]);
    // `list` without --table goes to a daemon, and carol runs none.
    t.equal(list.code, 4, 'no --table: the daemon path, and no daemon runs');
    t.equal(show.code, 0, show.stderr);
    t.match(show.stdout, /status\s+active until/);
    t.match(show.stdout, /invoker\s+alice/);
    t.equal(mine.code, 0, mine.stderr);
    t.same(
      (JSON.parse(mine.stdout).events as Array<{ id: string }>).map((e) => e.id).sort(),
      [prod.id, dev.id].sort(),
      "--mine: the events of the caller's own identity",
    );
    const byProfile = await sentinel(t, ['breakglass', 'list', '--table', TABLE, '--for-profile', 'dev', '--json'], {
      env: bob,
    });
    t.same(
      (JSON.parse(byProfile.stdout).events as Array<{ id: string }>).map((e) => e.id),
      [dev.id],
    );
  });

  await t.test('an approver closes: recorded as carol, notified before exit, access ends', async (t) => {
    const before = closedHooks().length;
    const r = await sentinel(t, ['breakglass', 'close', prod.id, '--reason', 'incident resolved', '--table', TABLE], {
      env: carol,
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, `Closed break-glass ${prod.id} on prod.\n`);
    t.equal(r.stderr, '', 'no warning: the notification was delivered');
    const stored = await events.get(prod.id);
    t.equal(stored?.status, 'closed');
    t.equal(stored?.closed_by, 'carol', 'the closer as STS reports her, not a typed name');
    t.equal(stored?.closed_by_arn, PEOPLE.carol.arn);
    t.equal(stored?.closed_reason, 'incident resolved');
    t.match(stored?.notification_status, /^delivered/, 'the outcome is recorded on the event');
    const shown = await sentinel(t, ['breakglass', 'show', prod.id, '--table', TABLE], { env: carol });
    t.equal(shown.code, 0, shown.stderr);
    t.match(shown.stdout, /^notifications +delivered \(breakglass\.closed\)$/m, 'show says which event it is about');
    const sent = closedHooks();
    t.equal(sent.length, before + 1, 'breakglass.closed was delivered before the command exited');
    t.equal(sent.at(-1).actor, PEOPLE.carol.arn);
    t.equal(sent.at(-1).breakglass.id, prod.id);
    const refused = await exportCreds('prod');
    t.equal(refused.code, 3, 'the next credential request under the closed event is refused');
    t.match(refused.stderr, /change freeze/);
  });

  await t.test('the invoker closes her own with her own keys; a second close is Conflict', async (t) => {
    const r = await sentinel(t, ['breakglass', 'close', dev.id, '--reason', 'done', '--table', TABLE, '--json'], {
      env: aliceOwnKeys,
    });
    t.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout);
    t.equal(answer.id, dev.id);
    t.equal(answer.status, 'closed');
    t.equal(answer.closed_by, 'alice');
    t.equal((await events.get(dev.id))?.closed_by_arn, BASE_ARN);
    const [again, byCarol] = await Promise.all([
      sentinel(t, ['breakglass', 'close', dev.id, '--reason', 'again', '--table', TABLE], { env: aliceOwnKeys }),
      sentinel(t, ['breakglass', 'close', prod.id, '--reason', 'again', '--table', TABLE, '--json'], { env: carol }),
    ]);
    t.equal(again.code, 1, 'Conflict exits 1');
    t.match(again.stderr, /Error: break-glass event [0-9a-f]{16} is closed, so it cannot be closed/);
    t.equal(byCarol.code, 1);
    t.equal(JSON.parse(byCarol.stderr).error.code, 'Conflict');
    t.equal((await events.get(prod.id))?.closed_reason, 'incident resolved', 'the first close stands');
    t.equal((await exportCreds('dev')).code, 3, 'dev is refused again too');
  });
});
