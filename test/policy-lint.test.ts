// Lint: warnings about legal but suspicious policies. Each check must fire when it should and stay quiet when it
// should not (a false warning teaches people to ignore warnings).
import t from 'tap';
import { parsePolicy } from '../core/policy/load.js';
import { lintPolicy } from '../core/policy/lint.js';
import type { Policy } from '../core/policy/schema.js';

function warningsOf(rules: string): string[] {
  const r = parsePolicy(`version: "1"\nrules:\n${rules}`);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.warnings.map((w) => w.message);
}

t.test('a rule that can never match because an earlier rule covers it', async (t) => {
  const shadowed = [
    [
      'same profile, earlier has no user list',
      '  - { name: a, effect: allow, conditions: { profiles: [prod] } }\n  - { name: b, effect: deny, conditions: { profiles: [prod], users: [eve] } }\n',
    ],
    [
      'earlier names no profiles',
      '  - { name: a, effect: deny, conditions: { users: [eve] } }\n  - { name: b, effect: allow, conditions: { profiles: [prod], users: [eve], mode: [cli] } }\n',
    ],
    [
      'earlier profile list is a superset',
      '  - { name: a, effect: allow, conditions: { profiles: [prod, dev] } }\n  - { name: b, effect: allow, conditions: { profiles: [dev] } }\n',
    ],
    [
      'earlier time has no hours, same zone, days cover',
      '  - { name: a, effect: allow, conditions: { profiles: [p], time: { days: [monday, tuesday], timezone: UTC } } }\n  - { name: b, effect: deny, conditions: { profiles: [p], time: { days: [monday], hours: { start: "09:00", end: "10:00" }, timezone: UTC } } }\n',
    ],
    [
      'earlier device needs less',
      '  - { name: a, effect: allow, conditions: { profiles: [p], device: { require_mdm: true } } }\n  - { name: b, effect: deny, conditions: { profiles: [p], device: { require_mdm: true, require_encryption: true, min_os_version: "14" } } }\n',
    ],
  ];
  for (const [name, rules] of shadowed) {
    t.match(
      warningsOf(rules!).join('\n'),
      /rule "b" \(line \d+\) can never match: the earlier rule "a" \(line \d+\)/,
      name!,
    );
  }
  const reachable = [
    [
      'different profiles',
      '  - { name: a, effect: allow, conditions: { profiles: [prod] } }\n  - { name: b, effect: deny, conditions: { profiles: [dev] } }\n',
    ],
    [
      'earlier has a narrower user list',
      '  - { name: a, effect: allow, conditions: { profiles: [prod], users: [alice] } }\n  - { name: b, effect: deny, conditions: { profiles: [prod] } }\n',
    ],
    [
      'earlier restricted to one mode',
      '  - { name: a, effect: allow, conditions: { profiles: [prod], mode: [server] } }\n  - { name: b, effect: deny, conditions: { profiles: [prod] } }\n',
    ],
    [
      'earlier in another time zone',
      '  - { name: a, effect: allow, conditions: { profiles: [p], time: { days: [monday], timezone: UTC } } }\n  - { name: b, effect: deny, conditions: { profiles: [p], time: { days: [monday], timezone: Asia/Tokyo } } }\n',
    ],
    [
      'later window wraps into a day the earlier lacks',
      '  - { name: a, effect: allow, conditions: { profiles: [p], time: { days: [friday], timezone: UTC } } }\n  - { name: b, effect: deny, conditions: { profiles: [p], time: { days: [friday], hours: { start: "22:00", end: "06:00" }, timezone: UTC } } }\n',
    ],
    [
      'earlier needs a device, later does not',
      '  - { name: a, effect: allow, conditions: { profiles: [p], device: { require_mdm: true } } }\n  - { name: b, effect: deny, conditions: { profiles: [p] } }\n',
    ],
  ];
  for (const [name, rules] of reachable) {
    t.notMatch(warningsOf(rules!).join('\n'), /can never match/, name!);
  }
});

t.test('an allow before a deny on the same profile', async (t) => {
  const w = warningsOf(
    '  - { name: office, effect: allow, conditions: { profiles: [prod, dev], time: { days: [monday], hours: { start: "09:00", end: "17:00" }, timezone: UTC } } }\n  - { name: no-eve, effect: deny, conditions: { profiles: [prod], users: [eve] } }\n',
  );
  t.match(
    w.join('\n'),
    /allow rule "office" \(line 3\) comes before deny rule "no-eve" \(line 4\) and both apply to profile "prod"/,
  );
  const disjointUsers = warningsOf(
    '  - { name: a, effect: allow, conditions: { profiles: [prod], users: [alice] } }\n  - { name: b, effect: deny, conditions: { profiles: [prod], users: [eve] } }\n',
  );
  t.notMatch(disjointUsers.join('\n'), /comes before deny/, 'no overlap in users: no warning');
  const denyFirst = warningsOf(
    '  - { name: b, effect: deny, conditions: { profiles: [prod], users: [eve] } }\n  - { name: a, effect: allow, conditions: { profiles: [prod] } }\n',
  );
  t.notMatch(denyFirst.join('\n'), /comes before deny/, 'the right order: no warning');
});

t.test('days without hours, no profiles and no users, empty windows, device oddities, local time', async (t) => {
  const w =
    warningsOf(`  - { name: weekend, effect: deny, conditions: { time: { days: [saturday, sunday], timezone: UTC } } }
  - { name: never, effect: allow, conditions: { profiles: [p], time: { hours: { start: "09:00", end: "09:00" }, timezone: UTC } } }
  - { name: empty-device, effect: allow, conditions: { profiles: [q], device: {} } }
  - { name: deny-device, effect: deny, conditions: { profiles: [r], device: { require_encryption: true } } }
  - { name: local, effect: allow, conditions: { profiles: [s], time: { hours: { start: "09:00", end: "17:00" } } } }
`).join('\n');
  t.match(w, /rule "weekend": time\.days without time\.hours applies all day/);
  t.match(w, /rule "weekend" names no profiles and no users/);
  t.match(w, /rule "never": hours start and end are both 09:00, so the window is empty/);
  t.match(w, /rule "empty-device": device has no requirements/);
  t.match(w, /deny rule "deny-device" has device conditions: a request whose device posture is unknown skips it/);
  t.match(w, /rule "local": time has no timezone, so the daemon's local time zone applies/);

  const clean = warningsOf(
    '  - { name: dev, effect: allow, conditions: { profiles: [dev], users: [alice], time: { days: [monday], hours: { start: "09:00", end: "17:00" }, timezone: UTC } } }\n',
  );
  t.same(clean, [], 'a tidy policy has no warnings');
});

t.test('a time window without a timezone is warned about in rules, auto_approve and breakglass alike', async (t) => {
  const sections = (
    zone: string,
  ) => `  - { name: r1, effect: require_approval, conditions: { profiles: [prod], time: { hours: { start: "10:00", end: "17:00" }${zone} } } }
approvals:
  - name: prod-approvers
    profiles: [prod]
    approvers: [carol]
    auto_approve: { users: [alice], time: { days: [monday, friday], hours: { start: "10:00", end: "17:00" }${zone} } }
breakglass:
  - name: emergency
    profiles: [prod]
    users: [alice]
    time: { days: [monday, tuesday]${zone} }
  - name: any-time
    profiles: [prod]
    users: [bob]
    time: {}
`;
  const local = warningsOf(sections(''));
  t.same(
    local.filter((w) => /timezone/.test(w)),
    [
      `rule "r1": time has no timezone, so the daemon's local time zone applies`,
      `approvals entry "prod-approvers": auto_approve.time has no timezone, so the daemon's local time zone applies`,
      `breakglass entry "emergency": time has no timezone, so the daemon's local time zone applies`,
    ],
    'one warning per window that reads the clock; an empty time reads none',
  );
  t.same(
    warningsOf(sections(', timezone: Asia/Tokyo')).filter((w) => /timezone/.test(w)),
    [],
    'a zone written: no warning',
  );
});

t.test('lint stays bounded on huge policies', async (t) => {
  // 3000 rules without profiles or users: every one is a candidate for every later one, and every one is warned about.
  const policy: Policy = {
    version: '1',
    rules: Array.from({ length: 3000 }, (_, i) => ({
      name: `r${i}`,
      effect: 'allow' as const,
      conditions: {
        time: { days: ['monday' as const], hours: { start: '09:00', end: `1${i % 10}:00` }, timezone: 'UTC' },
      },
    })),
  };
  const w = lintPolicy(policy).map((x) => x.message);
  t.ok(w.length <= 202, `at most 200 warnings plus two notes (got ${w.length})`);
  t.ok(
    w.includes('lint checked rule overlaps only partly: the policy has too many rules without profiles'),
    'says it stopped early',
  );
  t.match(w[w.length - 1], /^\d+ more warnings not shown$/);

  // Many narrow rules (one user each) are cheap: indexes, not pairs.
  const narrow: Policy = {
    version: '1',
    rules: Array.from({ length: 10000 }, (_, i) => ({
      name: `n${i}`,
      effect: 'allow' as const,
      conditions: { users: [`u${i}`] },
    })),
  };
  t.same(
    lintPolicy(narrow).filter((x) => /partly/.test(x.message)),
    [],
    'checked completely',
  );
});
