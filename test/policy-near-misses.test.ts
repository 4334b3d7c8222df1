// When the default deny decides, the refusal names the rules written for that profile that nearly matched and the
// condition each failed (issue 9 item 12): core/policy/near-miss.ts as a pure function, and authorize()'s refusal
// message and hint built from it with the real policy path, profile, user and mode.
import t from 'tap';
import { authorize } from '../core/authorize/authorize.js';
import { noOverrides } from '../core/authorize/overrides.js';
import type { Ports } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';
import { compilePolicy } from '../core/policy/compile.js';
import { parsePolicy } from '../core/policy/load.js';
import { daysText, nearMisses, nearMissText } from '../core/policy/near-miss.js';
import type { Policy } from '../core/policy/schema.js';
import type { DecisionRequest } from '../core/policy/types.js';

const POLICY = `
version: "1"
rules:
  - name: contractors-never-prod
    effect: deny
    conditions: { profiles: [prod], users: [carol] }
  - name: prod-weekdays
    effect: allow
    conditions:
      profiles: [prod]
      time: { days: [monday, tuesday, wednesday, thursday, friday], hours: { start: "08:00", end: "18:00" }, timezone: Europe/Berlin }
  - name: prod-oncall
    effect: require_server
    conditions: { profiles: [prod], users: [bob, dave] }
  - name: prod-cli
    effect: allow
    conditions: { profiles: [prod, staging], mode: [cli] }
  - name: prod-managed
    effect: allow
    conditions: { profiles: [prod], device: { require_mdm: true } }
  - name: staging-nights
    effect: allow
    conditions:
      profiles: [staging]
      time: { days: [friday], hours: { start: "22:00", end: "06:00" }, timezone: UTC }
  - name: dev
    effect: allow
    conditions: { profiles: [dev] }
`;

function policy(): Policy {
  const parsed = parsePolicy(POLICY);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.policy;
}

// Sunday 2026-12-06, 10:12 in Berlin (09:12 UTC).
const SUNDAY = new Date('2026-12-06T09:12:00Z');
const request = (over: Partial<DecisionRequest> = {}): DecisionRequest => ({
  user: 'alicesmith',
  profile: 'prod',
  time: SUNDAY,
  mode: 'server',
  sessionStore: 'memory',
  ...over,
});

t.test('each failed condition in words: time window, user, mode, device without posture', async (t) => {
  const misses = nearMisses(policy(), request(), Infinity);
  t.same(
    misses.rules.map((m) => [m.rule, m.failed, m.detail]),
    [
      ['prod-weekdays', 'time.days', 'only Mon–Fri 08:00–18:00 Europe/Berlin; now Sunday 10:12'],
      ['prod-oncall', 'users', 'alicesmith is not among its users'],
      ['prod-cli', 'mode', 'only in mode cli; this request is mode server'],
      ['prod-managed', 'device', 'has a device condition, and no device posture is known here, so it never holds'],
    ],
    'the deny rule is not listed: a deny that did not match is no reason for a refusal',
  );
  t.equal(misses.more, 0);
  const evening = nearMisses(policy(), request({ time: new Date('2026-12-07T19:03:00Z') }), 1);
  t.same(evening.rules[0]!.detail, 'only Mon–Fri 08:00–18:00 Europe/Berlin; now Monday 20:03', 'hours, in the zone');
  t.equal(evening.more, 3, 'beyond the limit, rules are counted');
});

t.test('a device posture that falls short is named as such', async (t) => {
  const misses = nearMisses(policy(), request({ device: { mdm_enrolled: false } }), Infinity);
  t.equal(
    misses.rules.find((m) => m.rule === 'prod-managed')!.detail,
    'needs an MDM-enrolled device, which this device is not known to meet',
  );
});

t.test('a window across midnight says which night it is', async (t) => {
  // Saturday 03:00 UTC belongs to the Friday night; Saturday 23:00 does not.
  const sat = nearMisses(policy(), request({ profile: 'staging', time: new Date('2026-12-05T23:00:00Z') }), 5);
  t.equal(sat.rules.find((m) => m.rule === 'staging-nights')!.detail, 'only Fri 22:00–06:00 UTC; now Saturday 23:00');
  const sun = nearMisses(policy(), request({ profile: 'staging', time: new Date('2026-12-06T03:00:00Z') }), 5);
  t.equal(
    sun.rules.find((m) => m.rule === 'staging-nights')!.detail,
    'only Fri 22:00–06:00 UTC; now Sunday 03:00 (the night that began on Saturday)',
  );
});

t.test('the sentence for a refusal', async (t) => {
  t.equal(
    nearMissText(nearMisses(policy(), request(), 2), 'prod'),
    'Nearly matched: prod-weekdays (only Mon–Fri 08:00–18:00 Europe/Berlin; now Sunday 10:12), ' +
      'prod-oncall (alicesmith is not among its users), and 2 more.',
  );
  t.equal(
    nearMissText(nearMisses(policy(), request({ profile: 'nowhere' })), 'nowhere'),
    'No rule that could allow it names profile nowhere.',
  );
  t.same(daysText(['sunday', 'monday', 'tuesday', 'thursday']), 'Mon, Tue, Thu, Sun');
  t.same(daysText(['friday', 'saturday', 'sunday', 'monday']), 'Mon, Fri–Sun');
});

function ports(source: string, p: Policy | null = policy()): Ports {
  const compiled = p ? compilePolicy(p) : null;
  return {
    policy: {
      decide: (r) => compiled!.decide(r, { source, version: 'v1' }),
      policyFor: () => p,
    },
    overrides: noOverrides,
    issuer: {
      issue: async () => {
        throw new Error('never issued');
      },
    },
    decisions: { write: () => undefined },
    clock: () => SUNDAY,
    settings: { credentialDurationMs: 900_000, sessionStore: 'memory' },
  };
}

const principal = {
  arn: 'arn:aws:iam::111111111111:user/alice.smith',
  account: '111111111111',
  type: 'user' as const,
  rawName: 'alice.smith',
  user: 'alicesmith',
};

async function refusal(p: Ports, profile = 'prod'): Promise<SentinelError> {
  try {
    await authorize({ principal, profile, mode: 'server', sessionId: 'abcdef0123456789', requestId: 'r1' }, p);
  } catch (e) {
    if (e instanceof SentinelError) return e;
    throw e;
  }
  throw new Error('authorize() allowed');
}

t.test("authorize()'s refusal explains the default deny, with a hint that uses real values", async (t) => {
  const e = await refusal(ports('file:/home/alice smith/.config/sentinel/policy.yaml'));
  t.equal(e.code, 'PolicyDenied');
  t.equal(
    e.message,
    'no matching rule (default deny) refuses alicesmith on prod in mode server. Nearly matched: ' +
      'prod-weekdays (only Mon–Fri 08:00–18:00 Europe/Berlin; now Sunday 10:12), ' +
      'prod-oncall (alicesmith is not among its users), prod-cli (only in mode cli; this request is mode server), ' +
      'and 1 more.',
  );
  t.equal(
    e.hint,
    "See why with `sentinel policy test '/home/alice smith/.config/sentinel/policy.yaml' --profile prod --user alicesmith --mode server`.",
  );
  const ssm = await refusal(ports('ssm:/sentinel/policies/prod'));
  t.equal(
    ssm.hint,
    'See why with `sentinel policy pull prod -o prod.yaml && sentinel policy test prod.yaml --profile prod --user alicesmith --mode server`.',
    'policy test reads files: an SSM policy is pulled first',
  );
  t.notMatch(ssm.hint, /approver/, 'nothing an approval could lift is suggested for a default deny');
});

t.test('an explicit deny keeps its reason; a decider without the document still refuses plainly', async (t) => {
  const staging = await refusal(ports('file:/p.yaml'), 'staging');
  t.equal(
    staging.message,
    'no matching rule (default deny) refuses alicesmith on staging in mode server. Nearly matched: ' +
      'prod-cli (only in mode cli; this request is mode server), staging-nights (only Fri 22:00–06:00 UTC; now Sunday 09:12).',
  );
  const p = parsePolicy(
    `version: "1"\nrules:\n  - name: freeze\n    effect: deny\n    conditions: { profiles: [prod] }\n    reason: change freeze\n`,
  );
  if (!p.ok) throw new Error('fixture');
  const frozen = await refusal(ports('file:/p.yaml', p.policy));
  t.equal(frozen.message, 'rule "freeze" refuses alicesmith on prod in mode server: change freeze');
  t.match(frozen.hint, /sentinel policy test \/p\.yaml --profile prod --user alicesmith --mode server/);
  const bare = ports('file:/p.yaml');
  delete bare.policy.policyFor;
  t.equal(
    (await refusal(bare)).message,
    'no matching rule (default deny) refuses alicesmith on prod in mode server: no matching rule',
  );
});
