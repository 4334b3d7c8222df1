// The breakglass and rate_limits sections (DESIGN §11): what validates, what is refused with line:column and a hint
// (hostile input included), which entry lets a user break glass and which check refuses, and rate limits refused
// where the daemon's session store is memory.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sentinelInProcess } from './support/cli.js';
import { parsePolicy, type Problem } from '../core/policy/load.js';
import { matchBreakglass } from '../core/policy/breakglass-section.js';
import { rateLimitsFor } from '../core/policy/rate-limits-section.js';
import { parsePolicyOffThread } from '../core/policy/parse-off-thread.js';

const RULES = `version: "1"
rules:
  - name: prod
    effect: deny
    conditions: { profiles: [prod] }
`;

const SECTIONS = `breakglass:
  - name: prod-emergency
    profiles: [prod]
    users: [alice, bob]
    allowed_reason_codes: [incident, security]
    time: { days: [monday, tuesday, wednesday, thursday, friday], hours: { start: "08:00", end: "20:00" }, timezone: UTC }
    max_duration: 2h
    mfa: required
    notify: [security-topic]
  - name: prod-oncall
    profiles: [prod, stage]
    users: [carol]
rate_limits:
  - name: prod-breakglass
    profiles: [prod]
    cooldown: 30m
    max_per_user: 3
    max_per_profile: 10
    quota_window: 24h
    escalation_threshold: 2
  - name: everywhere
    cooldown: 5m
notifications:
  - name: security-topic
    sns: { topic_arn: "arn:aws:sns:eu-west-1:111111111111:sentinel-security" }
`;

function problems(text: string, sessionStore?: 'memory' | 'dynamodb'): Problem[] {
  const r = parsePolicy(text, sessionStore ? { sessionStore } : {});
  if (r.ok) throw new Error('expected the policy to be refused');
  return r.problems;
}

function policy(text = RULES + SECTIONS) {
  const r = parsePolicy(text, { sessionStore: 'dynamodb' });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

const WEDNESDAY_NOON = new Date('2026-12-02T12:00:00Z');

t.test('the DESIGN §11 example validates', async (t) => {
  const p = policy();
  t.equal(p.breakglass?.length, 2);
  t.equal(p.rate_limits?.length, 2);
  t.same(
    rateLimitsFor(p, 'prod').map((e) => e.name),
    ['prod-breakglass', 'everywhere'],
    'an entry without profiles counts every profile',
  );
  t.same(
    rateLimitsFor(p, 'stage').map((e) => e.name),
    ['everywhere'],
  );
});

t.test('which entry lets a user break glass, and which check refuses', async (t) => {
  const p = policy();
  const ask = { user: 'alice', profile: 'prod', now: WEDNESDAY_NOON, reasonCode: 'incident', durationMs: 3_600_000 };
  const ok = matchBreakglass(p, ask);
  t.ok(ok.ok);
  t.equal(ok.ok && ok.entry.name, 'prod-emergency');
  const carol = matchBreakglass(p, { ...ask, user: 'carol', reasonCode: 'maintenance', durationMs: 3_600_000 });
  t.equal(carol.ok && carol.entry.name, 'prod-oncall', 'the first entry that lists the user; empty codes = all');
  const refused = (over: Partial<typeof ask>) => {
    const r = matchBreakglass(p, { ...ask, ...over });
    if (r.ok) throw new Error('expected a refusal');
    return r;
  };
  t.match(refused({ profile: 'dev' }), { check: 'profile', reason: /no breakglass entry covers profile "dev"/ });
  t.match(refused({ user: 'mallory' }), { check: 'user', reason: /user "mallory" is not listed/ });
  t.match(refused({ reasonCode: 'maintenance' }), {
    check: 'reason_code',
    reason: /"maintenance" is not allowed .*allowed: incident, security/,
  });
  t.match(refused({ now: new Date('2026-12-06T12:00:00Z') }), { check: 'time', reason: /outside the time.days/ });
  t.match(refused({ now: new Date('2026-12-02T21:00:00Z') }), { check: 'time', reason: /outside the time.hours/ });
  t.match(refused({ durationMs: 2 * 3_600_000 + 1 }), { check: 'duration', reason: /max_duration 2h/ });
  t.match(refused({ user: 'carol', durationMs: 3_600_001 }), {
    check: 'duration',
    reason: /max_duration 1h/,
  });
});

t.test('bad sections are refused with line, column and a hint', async (t) => {
  const cases: Array<{ name: string; text: string; message: RegExp; line: number; column: number; hint?: RegExp }> = [
    {
      name: 'max_duration over 4h',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    max_duration: 5h\n',
      message: /breakglass\[0\]\.max_duration: longer than the limit of 4h/,
      line: 10,
      column: 19,
    },
    {
      name: 'not a duration',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    max_duration: soon\n',
      message: /expected a duration/,
      line: 10,
      column: 19,
      hint: /Go-style durations/,
    },
    {
      name: 'unknown reason code',
      text:
        RULES +
        'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    allowed_reason_codes: [incidnet]\n',
      message: /unknown reason code "incidnet"/,
      line: 10,
      column: 28,
      hint: /did you mean "incident"\?/,
    },
    {
      name: 'unknown mfa value',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    mfa: yes\n',
      message: /unknown mfa value "yes"/,
      line: 10,
      column: 10,
      hint: /required, none/,
    },
    {
      name: 'mfa as a boolean',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    mfa: true\n',
      message: /unknown mfa value "true"/,
      line: 10,
      column: 10,
    },
    {
      name: 'no users',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: []\n',
      message: /must name the users who may invoke it/,
      line: 9,
      column: 12,
    },
    {
      name: 'users missing',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n',
      message: /missing "users" in breakglass\[0\]/,
      line: 7,
      column: 5,
    },
    {
      name: 'profiles missing',
      text: RULES + 'breakglass:\n  - name: a\n    users: [alice]\n',
      message: /missing "profiles" in breakglass\[0\]/,
      line: 7,
      column: 5,
    },
    {
      name: 'notify names an undeclared target',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    notify: [pager]\n',
      message: /notify names "pager", which is not declared/,
      line: 10,
      column: 14,
      hint: /Declare it under notifications/,
    },
    {
      name: 'unknown key in an entry',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n    max_durration: 1h\n',
      message: /unknown key "max_durration" in breakglass\[0\]/,
      line: 10,
      column: 5,
      hint: /did you mean "max_duration"\?/,
    },
    {
      name: 'duplicate entry names',
      text:
        RULES +
        'breakglass:\n  - name: a\n    profiles: [prod]\n    users: [alice]\n  - name: a\n    profiles: [dev]\n    users: [bob]\n',
      message: /duplicate breakglass entry name "a" \(first used by breakglass\[0\]\)/,
      line: 10,
      column: 11,
    },
    {
      name: 'control characters in a user name',
      text: RULES + 'breakglass:\n  - name: a\n    profiles: [prod]\n    users: ["al\\u0007ice"]\n',
      message: /a user name must not contain control characters/,
      line: 9,
      column: 13,
    },
    {
      name: 'an oversized entry name',
      text: RULES + `breakglass:\n  - name: ${'x'.repeat(200)}\n    profiles: [prod]\n    users: [alice]\n`,
      message: /the breakglass entry name is longer than 128 characters/,
      line: 7,
      column: 11,
    },
    {
      name: 'breakglass is a mapping, not a list',
      text: RULES + 'breakglass:\n  name: a\n',
      message: /breakglass: expected a list, got a mapping/,
      line: 7,
      column: 3,
    },
    {
      name: 'quota without a window',
      text: RULES + 'rate_limits:\n  - name: r\n    max_per_user: 3\n',
      message: /max_per_user count events per quota_window/,
      line: 8,
      column: 19,
      hint: /quota_window: 24h/,
    },
    {
      name: 'quota as a string',
      text: RULES + 'rate_limits:\n  - name: r\n    max_per_user: "3"\n    quota_window: 24h\n',
      message: /rate_limits\[0\]\.max_per_user: expected a number, got string/,
      line: 8,
      column: 19,
    },
    {
      name: 'fractional quota',
      text: RULES + 'rate_limits:\n  - name: r\n    max_per_profile: 2.5\n    quota_window: 24h\n',
      message: /max_per_profile: expected a whole number, got a number \(2.5\)/,
      line: 8,
      column: 22,
    },
    {
      name: 'negative cooldown',
      text: RULES + 'rate_limits:\n  - name: r\n    cooldown: -5m\n',
      message: /expected a duration/,
      line: 8,
      column: 15,
    },
    {
      name: 'zero quota',
      text: RULES + 'rate_limits:\n  - name: r\n    max_per_user: 0\n    quota_window: 1h\n',
      message: /max_per_user must be at least 1/,
      line: 8,
      column: 19,
    },
    {
      name: 'an absurd quota',
      text: RULES + 'rate_limits:\n  - name: r\n    max_per_user: 1000000\n    quota_window: 1h\n',
      message: /max_per_user is more than 100/,
      line: 8,
      column: 19,
    },
    {
      name: 'an entry that limits nothing',
      text: RULES + 'rate_limits:\n  - name: r\n    profiles: [prod]\n',
      message: /rate_limits entry "r" sets no limit/,
      line: 7,
      column: 11,
    },
    {
      name: 'unknown key in a rate limit',
      text: RULES + 'rate_limits:\n  - name: r\n    cooldwn: 5m\n',
      message: /unknown key "cooldwn" in rate_limits\[0\]/,
      line: 8,
      column: 5,
      hint: /did you mean "cooldown"\?/,
    },
  ];
  for (const c of cases) {
    const ps = problems(c.text);
    const p = ps.find((x) => c.message.test(x.message));
    t.ok(p, `${c.name}: ${JSON.stringify(ps)}`);
    if (!p) continue;
    t.equal(p.line, c.line, `${c.name}: line`);
    t.equal(p.column, c.column, `${c.name}: column`);
    if (c.hint) t.match(p.hint, c.hint, `${c.name}: hint`);
  }
});

t.test('policy test takes the session store from config.yaml, as the daemon does', async (t) => {
  // Before, it assumed memory, so a policy with rate_limits in force under a DynamoDB daemon read as invalid — and the
  // daemon's own denial hint sends people to this command.
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-policy-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, RULES + SECTIONS);
  const config = (store: string) => {
    const f = join(dir, `${store}.yaml`);
    writeFileSync(f, `sessions:\n  store: ${store}\n  table: team-sessions\n`);
    return f;
  };
  const run = (...args: string[]) =>
    sentinelInProcess(args, { env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'xdg') } });
  const test = ['policy', 'test', policyFile, '--profile', 'prod', '--user', 'alice'];
  const dynamo = await run('--config', config('dynamodb'), ...test);
  t.not(dynamo.code, 1, dynamo.stdout + dynamo.stderr);
  t.match(dynamo.stdout, /session store dynamodb/);
  const memory = await run('--config', config('memory'), ...test);
  t.equal(memory.code, 1, 'with the memory store the daemon refuses this policy, and so does policy test');
  t.match(memory.stdout, /sessions.store is memory/);
  const flag = await run('--config', config('dynamodb'), ...test, '--session-store', 'memory');
  t.equal(flag.code, 1, '--session-store still overrides');
});

t.test('rate limits are refused with the memory session store, at the rate_limits key', async (t) => {
  const text = RULES + SECTIONS;
  const ps = problems(text, 'memory');
  t.equal(ps.length, 1);
  t.match(ps[0], {
    message: /rate_limits need a shared, persistent store, and sessions.store is memory/,
    path: 'rate_limits',
    line: 18,
    column: 1,
    hint: /sessions.store: dynamodb/,
  });
  t.ok(parsePolicy(text, { sessionStore: 'dynamodb' }).ok, 'the same policy is valid with dynamodb');
  t.ok(parsePolicy(text).ok, 'where the store is not known (policy validate) it is not checked');
  t.ok(parsePolicy(RULES + 'rate_limits: []\n', { sessionStore: 'memory' }).ok, 'an empty section limits nothing');
  const big = await parsePolicyOffThread(Buffer.from(text + '#'.repeat(100) + '\n'), 64, { sessionStore: 'memory' });
  t.equal(big.ok, false, 'the worker thread applies the same check');
  t.match(!big.ok && big.problems[0], { message: /sessions.store is memory/, line: 18 });
});

t.test(
  'policy test shows whether the user may break glass now: entry, reason codes, max duration, MFA, limits',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sentinel-breakglass-section-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, RULES + SECTIONS);
    const base = ['policy', 'test', file, '--profile', 'prod', '--session-store', 'dynamodb'];
    const human = await sentinelInProcess([...base, '--user', 'alice', '--time', '2026-12-02T12:00:00Z']);
    t.equal(human.code, 3, 'the rule still denies; break-glass is shown beside it');
    t.match(human.stdout, /Break-glass: allowed now by entry "prod-emergency"/);
    t.match(human.stdout, /reason codes: incident, security/);
    t.match(human.stdout, /max duration: 2h/);
    t.match(human.stdout, /MFA: +required \(AWS verifies the code\)/);
    t.match(human.stdout, /notify: +security-topic/);
    t.match(
      human.stdout,
      /rate limit: +prod-breakglass: cooldown 30m, 3 per user, 10 per profile, per 24h, escalated from the 2nd event/,
    );
    t.match(human.stdout, /rate limit: +everywhere: cooldown 5m/);

    const weekend = await sentinelInProcess([...base, '--user', 'alice', '--time', '2026-12-06T12:00:00Z', '--json']);
    const body = JSON.parse(weekend.stdout);
    t.same(body.breakglass, {
      allowed: false,
      refused: { check: 'time', reason: 'outside the time.days of breakglass entry "prod-emergency"' },
      entry: 'prod-emergency',
      reason_codes: ['incident', 'security'],
      max_duration: '2h',
      mfa: 'required',
      notify: ['security-topic'],
      rate_limits: [
        {
          name: 'prod-breakglass',
          cooldown: '30m',
          max_per_user: 3,
          max_per_profile: 10,
          quota_window: '24h',
          escalation_threshold: 2,
        },
        {
          name: 'everywhere',
          cooldown: '5m',
          max_per_user: null,
          max_per_profile: null,
          quota_window: null,
          escalation_threshold: null,
        },
      ],
    });

    const mallory = await sentinelInProcess([...base, '--user', 'mallory']);
    t.match(
      mallory.stdout,
      /Break-glass: not allowed now: user "mallory" is not listed in breakglass entries "prod-emergency", "prod-oncall" for profile "prod"/,
    );
    t.notMatch(mallory.stdout, /rate limit/, 'limits are shown only to someone an entry covers');
    const carol = await sentinelInProcess([...base, '--user', 'carol', '--json']);
    t.match(JSON.parse(carol.stdout).breakglass, {
      allowed: true,
      entry: 'prod-oncall',
      reason_codes: ['incident', 'maintenance', 'security', 'recovery', 'other'],
      max_duration: '1h',
      mfa: 'none',
      notify: [],
    });

    const memory = await sentinelInProcess(['policy', 'test', file, '--profile', 'prod', '--user', 'alice']);
    t.equal(
      memory.code,
      1,
      'with the memory store (the default) the daemon would refuse the policy, and so does policy test',
    );
    t.match(memory.stdout, /policy\.yaml:18:1: rate_limits need a shared, persistent store/);
    t.match(memory.stderr, /is not valid, so it would not be used/);
  },
);
