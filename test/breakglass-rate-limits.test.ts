// Break-glass rate limits across machines (DESIGN §11): two daemons share one dynalite table. A second invocation
// within the cooldown is 429 with Retry-After and the time it frees; a quota counts the events of both daemons; 20
// concurrent invocations from the two daemons racing for the last 2 slots of a quota → exactly 2 succeed (escalated
// at the threshold) and 18 are told when a slot frees.
import t from 'tap';
import { BASE_ACCESS_KEY, BASE_ARN, DEFAULT_AWS_CONFIG, startDaemon } from './support/daemon.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';
import { ensureTable } from '../core/records/table.js';
import { BREAKGLASS_TABLE } from '../core/breakglass/record.js';
import { startSts } from './support/sts-emulator.js';

const PROFILES = Array.from({ length: 26 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
const AWS_CONFIG =
  DEFAULT_AWS_CONFIG +
  PROFILES.map(
    (p, i) =>
      `\n[profile ${p}]\nrole_arn = arn:aws:iam::${String(600000000000 + i)}:role/${p}\nsource_profile = base\nregion = us-east-1\n`,
  ).join('');
const list = (ps: string[]) => `[${ps.join(', ')}]`;

const POLICY = `version: "1"
rules:
  - { name: all-frozen, effect: deny, conditions: { profiles: ${list(PROFILES)} } }
breakglass:
  - { name: emergency, profiles: ${list(PROFILES)}, users: [alice] }
rate_limits:
  - { name: slow, profiles: [p01, p02, p03], cooldown: 30m, max_per_user: 2, quota_window: 24h }
  - { name: race, profiles: ${list(PROFILES.slice(3))}, max_per_user: 5, quota_window: 24h, escalation_threshold: 4 }
`;

const JUSTIFICATION = 'payments API down, INC-77, rolling back';

async function refusal(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a refusal');
}

t.test('rate limits hold across two daemons sharing one table', async (t) => {
  const team = await startTeamTable(t);
  await ensureTable(team.client, BREAKGLASS_TABLE, 'team-bg', { pollMs: 5 });
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const options = {
    sts,
    policy: POLICY,
    awsConfig: AWS_CONFIG,
    config: teamConfig(undefined, 'breakglass: { table: team-bg }\n'),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  };
  const a = await startDaemon(t, options);
  const b = await startDaemon(t, options);
  const invoke = (d: typeof a, profile: string) =>
    d.client.post<Record<string, any>>('/v1/breakglass', {
      profile,
      reason_code: 'incident',
      justification: JUSTIFICATION,
    });

  await t.test('cooldown: 429 with Retry-After and when it frees', async (t) => {
    const first = await invoke(a, 'p01');
    await a.client.post(`/v1/breakglass/${first.id}/close`, { reason: 'done' });
    const r = await b.fetch({
      transport: 'unix',
      method: 'POST',
      path: '/v1/breakglass',
      body: { profile: 'p01', reason_code: 'incident', justification: JUSTIFICATION },
    });
    t.equal(r.status, 429, 'the other daemon sees the cooldown too');
    t.equal(r.json.code, 'RateLimited');
    const retry = Number(r.headers['retry-after']);
    t.ok(retry > 29 * 60 && retry <= 30 * 60, `Retry-After ${retry} s`);
    const frees = new Date(Date.parse(first.created_at) + 30 * 60_000).toISOString();
    t.match(r.json.message, frees.slice(0, 16), 'the message says when it frees');
  });

  await t.test('a quota counts the events of both daemons', async (t) => {
    await invoke(b, 'p02');
    const third = await refusal(invoke(a, 'p03'));
    t.equal(third.code, 'RateLimited', 'the second daemon used the last slot');
    t.match(third.message, /your quota of 2 break-glass events per 24h \(rate_limits "slow"\) is used up/);
  });

  await t.test('20 concurrent invocations from two daemons race for the last 2 slots', async (t) => {
    for (const p of ['p04', 'p05', 'p06']) t.equal((await invoke(a, p)).escalated, false, `${p} not escalated`);
    const racers = PROFILES.slice(6, 26);
    t.equal(racers.length, 20);
    const results = await Promise.allSettled(racers.map((p, i) => invoke(i % 2 ? a : b, p)));
    const won = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<any>).value);
    const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    t.equal(won.length, 2, 'exactly 2 succeed');
    t.same([...new Set(lost.map((e) => e.code))], ['RateLimited'], 'every other one is rate-limited');
    t.ok(
      won.every((e) => e.escalated === true),
      'the 4th and 5th events of the window are escalated',
    );
    const mine = await a.client.get<{ events: Array<{ profile: string }> }>('/v1/breakglass?mine');
    t.equal(mine.events.length, 7, 'p01, p02, p04-p06 and the 2 winners: nothing else was recorded');
  });
});
