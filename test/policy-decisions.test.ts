// The decision table: every effect, every condition and their combinations, time windows across DST in non-UTC
// zones, windows that wrap midnight, and the [start, end) edges one second either side. Every row is decided by both
// the linear reference (evaluate) and the compiled index (compilePolicy), which must agree with the expectation.
import t, { type Test } from 'tap';
import { compilePolicy } from '../core/policy/compile.js';
import { evaluate, type PolicyMeta } from '../core/policy/evaluate.js';
import { parsePolicy } from '../core/policy/load.js';
import type { Policy } from '../core/policy/schema.js';
import type { Decision, DecisionRequest } from '../core/policy/types.js';
import type { DevicePosture, Mode, SessionStoreKind } from '../core/types.js';

const meta: PolicyMeta = { source: 'file:/test/policy.yaml', version: 'abcdef012345' };

function policyOf(yaml: string): Policy {
  const r = parsePolicy(yaml);
  if (!r.ok) throw new Error(`test policy does not validate: ${JSON.stringify(r.problems)}`);
  return r.policy;
}

interface Row {
  name: string;
  user?: string;
  profile?: string;
  time?: string;
  mode?: Mode;
  store?: SessionStoreKind;
  /** The daemon's DynamoDB session table (sessions.table), with store dynamodb. */
  table?: string;
  device?: DevicePosture;
  /** Expected deciding rule name (null = default deny) and outcome. */
  rule: string | null;
  allowed: boolean;
  errorCode?: Decision['errorCode'];
  requires?: Decision['requires'];
}

function runTable(t: Test, policy: Policy, rows: Row[]): void {
  const compiled = compilePolicy(policy);
  for (const row of rows) {
    const req: DecisionRequest = {
      user: row.user ?? 'alice',
      profile: row.profile ?? 'prod',
      time: new Date(row.time ?? '2026-01-07T12:00:00Z'),
      mode: row.mode ?? 'server',
      sessionStore: row.store ?? 'memory',
      ...(row.table ? { sessionTable: row.table } : {}),
      ...(row.device ? { device: row.device } : {}),
    };
    const linear = evaluate(policy, req, meta);
    const fast = compiled.decide(req, meta);
    t.same(fast, linear, `${row.name}: compiled equals linear`);
    t.equal(linear.rule, row.rule, `${row.name}: deciding rule`);
    t.equal(linear.allowed, row.allowed, `${row.name}: allowed`);
    t.equal(linear.errorCode, row.allowed ? undefined : (row.errorCode ?? 'PolicyDenied'), `${row.name}: error code`);
    if (row.requires) t.same(linear.requires, row.requires, `${row.name}: requires`);
    if (row.rule === null) {
      t.equal(linear.ruleIndex, -1, `${row.name}: rule index -1`);
      t.equal(linear.effect, 'default_deny', `${row.name}: effect default_deny`);
    } else {
      t.equal(policy.rules[linear.ruleIndex]?.name, row.rule, `${row.name}: rule index points at the rule`);
    }
  }
}

t.test('every effect', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - { name: allow-dev, effect: allow, conditions: { profiles: [dev] }, max_server_duration: 1h30m }
  - { name: deny-audit, effect: deny, conditions: { profiles: [audit] }, reason: nobody reads the audit account }
  - { name: approval-staging, effect: require_approval, conditions: { profiles: [staging] } }
  - { name: server-prod, effect: require_server, conditions: { profiles: [prod] } }
  - name: session-admin
    effect: require_server_session
    conditions: { profiles: [admin] }
    session_table: sentinel-sessions
`);
  runTable(t, policy, [
    { name: 'allow', profile: 'dev', mode: 'cli', rule: 'allow-dev', allowed: true },
    { name: 'deny', profile: 'audit', rule: 'deny-audit', allowed: false, errorCode: 'PolicyDenied' },
    {
      name: 'require_approval',
      profile: 'staging',
      rule: 'approval-staging',
      allowed: false,
      errorCode: 'ApprovalRequired',
      requires: { approval: true },
    },
    { name: 'require_server in server mode', profile: 'prod', mode: 'server', rule: 'server-prod', allowed: true },
    {
      name: 'require_server in cli mode',
      profile: 'prod',
      mode: 'cli',
      rule: 'server-prod',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverMode: true },
    },
    {
      name: 'require_server for credential_process',
      profile: 'prod',
      mode: 'credential_process',
      rule: 'server-prod',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverMode: true },
    },
    {
      name: 'require_server_session: server + dynamodb, in the table the rule names',
      profile: 'admin',
      mode: 'server',
      store: 'dynamodb',
      table: 'sentinel-sessions',
      rule: 'session-admin',
      allowed: true,
    },
    // The rule's session_table is where admins list and revoke sessions: a daemon keeping them elsewhere (its own
    // table, another team's) would hand out credentials nobody there can see or revoke.
    {
      name: 'require_server_session: server + dynamodb, but another table',
      profile: 'admin',
      mode: 'server',
      store: 'dynamodb',
      table: 'my-own-sessions',
      rule: 'session-admin',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverSessionStore: true, sessionTable: 'sentinel-sessions' },
    },
    {
      name: 'require_server_session: server + dynamodb, table not known',
      profile: 'admin',
      mode: 'server',
      store: 'dynamodb',
      rule: 'session-admin',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverSessionStore: true, sessionTable: 'sentinel-sessions' },
    },
    {
      name: 'require_server_session: server + memory',
      profile: 'admin',
      mode: 'server',
      store: 'memory',
      rule: 'session-admin',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverSessionStore: true, sessionTable: 'sentinel-sessions' },
    },
    {
      name: 'require_server_session: cli + dynamodb',
      profile: 'admin',
      mode: 'cli',
      store: 'dynamodb',
      table: 'sentinel-sessions',
      rule: 'session-admin',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverMode: true },
    },
    {
      name: 'require_server_session: credential_process + memory',
      profile: 'admin',
      mode: 'credential_process',
      store: 'memory',
      rule: 'session-admin',
      allowed: false,
      errorCode: 'ServerModeRequired',
      requires: { serverMode: true, serverSessionStore: true, sessionTable: 'sentinel-sessions' },
    },
    { name: 'no rule: default deny', profile: 'unknown', rule: null, allowed: false, errorCode: 'PolicyDenied' },
  ]);

  const d = evaluate(
    policy,
    { user: 'alice', profile: 'dev', time: new Date(), mode: 'server', sessionStore: 'memory' },
    meta,
  );
  t.equal(d.maxDurationMs, 90 * 60_000, 'max_server_duration in milliseconds');
  t.equal(d.policySource, meta.source);
  t.equal(d.policyVersion, meta.version);
  t.match(d.reason, /allow-dev/, 'a rule without reason gets a reason naming it');
  const audit = evaluate(
    policy,
    { user: 'alice', profile: 'audit', time: new Date(), mode: 'server', sessionStore: 'memory' },
    meta,
  );
  t.equal(audit.reason, 'nobody reads the audit account', "the rule's reason is the decision's reason");
  const admin = evaluate(
    policy,
    { user: 'alice', profile: 'admin', time: new Date(), mode: 'server', sessionStore: 'dynamodb' },
    meta,
  );
  t.equal(admin.sessionTable, 'sentinel-sessions');
  const none = evaluate(
    policy,
    { user: 'alice', profile: 'nope', time: new Date(), mode: 'server', sessionStore: 'memory' },
    meta,
  );
  t.equal(none.reason, 'no matching rule');
  t.equal(none.rule, null);
});

t.test('profiles, users and mode: all given conditions must hold; empty lists match anything', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - { name: alice-prod-server, effect: allow, conditions: { profiles: [prod], users: [alice], mode: [server] } }
  - { name: bob-any-profile, effect: allow, conditions: { users: [bob], profiles: [] } }
  - { name: prod-cli-deny, effect: deny, conditions: { profiles: [prod, prod-eu], mode: [cli, credential_process] } }
  - { name: prod-fallback, effect: require_approval, conditions: { profiles: [prod] } }
`);
  runTable(t, policy, [
    {
      name: 'all three hold',
      user: 'alice',
      profile: 'prod',
      mode: 'server',
      rule: 'alice-prod-server',
      allowed: true,
    },
    {
      name: 'user differs',
      user: 'carol',
      profile: 'prod',
      mode: 'server',
      rule: 'prod-fallback',
      allowed: false,
      errorCode: 'ApprovalRequired',
    },
    { name: 'mode differs', user: 'alice', profile: 'prod', mode: 'cli', rule: 'prod-cli-deny', allowed: false },
    {
      name: 'profile list matches second entry',
      user: 'alice',
      profile: 'prod-eu',
      mode: 'credential_process',
      rule: 'prod-cli-deny',
      allowed: false,
    },
    {
      name: 'empty profiles list = any profile',
      user: 'bob',
      profile: 'anything',
      rule: 'bob-any-profile',
      allowed: true,
    },
    {
      name: 'bob on prod in cli: earlier wildcard rule decides',
      user: 'bob',
      profile: 'prod',
      mode: 'cli',
      rule: 'bob-any-profile',
      allowed: true,
    },
    {
      name: 'names are case-sensitive',
      user: 'Alice',
      profile: 'prod',
      mode: 'server',
      rule: 'prod-fallback',
      allowed: false,
      errorCode: 'ApprovalRequired',
    },
    { name: 'profile prefix is not a match', user: 'alice', profile: 'prod-us', rule: null, allowed: false },
  ]);
});

t.test('first match decides: order matters', async (t) => {
  const denyFirst = policyOf(`
version: "1"
rules:
  - { name: no-carol, effect: deny, conditions: { profiles: [prod], users: [carol] } }
  - { name: prod, effect: allow, conditions: { profiles: [prod] } }
`);
  const allowFirst = policyOf(`
version: "1"
rules:
  - { name: prod, effect: allow, conditions: { profiles: [prod] } }
  - { name: no-carol, effect: deny, conditions: { profiles: [prod], users: [carol] } }
`);
  runTable(t, denyFirst, [
    { name: 'deny first: carol denied', user: 'carol', rule: 'no-carol', allowed: false },
    { name: 'deny first: alice allowed', user: 'alice', rule: 'prod', allowed: true },
  ]);
  runTable(t, allowFirst, [
    { name: 'allow first: carol allowed (the deny is shadowed)', user: 'carol', rule: 'prod', allowed: true },
  ]);
});

t.test('time windows: [start, end) edges one second either side, in a non-UTC zone on both sides of DST', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - name: office
    effect: allow
    conditions:
      profiles: [prod]
      time: { days: [monday, tuesday, wednesday, thursday, friday], hours: { start: "08:00", end: "18:00" }, timezone: Europe/Berlin }
`);
  runTable(t, policy, [
    // Winter (CET, UTC+1): Friday 2026-03-27.
    { name: 'CET 07:59:59 local', time: '2026-03-27T06:59:59Z', rule: null, allowed: false },
    { name: 'CET 08:00:00 local', time: '2026-03-27T07:00:00Z', rule: 'office', allowed: true },
    { name: 'CET 08:00:01 local', time: '2026-03-27T07:00:01Z', rule: 'office', allowed: true },
    { name: 'CET 17:59:59 local', time: '2026-03-27T16:59:59Z', rule: 'office', allowed: true },
    { name: 'CET 18:00:00 local', time: '2026-03-27T17:00:00Z', rule: null, allowed: false },
    { name: 'CET 18:00:01 local', time: '2026-03-27T17:00:01Z', rule: null, allowed: false },
    // Summer (CEST, UTC+2) from Sunday 2026-03-29: Monday 2026-03-30. The same UTC instants now fall an hour later.
    { name: 'CEST 07:59:59 local', time: '2026-03-30T05:59:59Z', rule: null, allowed: false },
    { name: 'CEST 08:00:00 local', time: '2026-03-30T06:00:00Z', rule: 'office', allowed: true },
    { name: 'CEST 08:00:01 local', time: '2026-03-30T06:00:01Z', rule: 'office', allowed: true },
    { name: 'CEST 17:59:59 local', time: '2026-03-30T15:59:59Z', rule: 'office', allowed: true },
    { name: 'CEST 18:00:00 local', time: '2026-03-30T16:00:00Z', rule: null, allowed: false },
    { name: 'CEST: 07:00Z is 09:00 local, inside', time: '2026-03-30T07:00:00Z', rule: 'office', allowed: true },
    {
      name: 'CEST: 16:30Z is 18:30 local, outside although 17:30 CET would have been inside',
      time: '2026-03-30T16:30:00Z',
      rule: null,
      allowed: false,
    },
    // Weekday in the zone, not in UTC: Friday 23:30Z is Saturday 00:30 in Berlin.
    { name: 'Saturday in Berlin while Friday in UTC', time: '2026-03-27T23:30:00Z', rule: null, allowed: false },
  ]);
});

t.test('DST transition days: the skipped hour never matches, the repeated hour matches twice', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - name: two-to-three
    effect: allow
    conditions: { profiles: [prod], time: { hours: { start: "02:00", end: "03:00" }, timezone: Europe/Berlin } }
  - name: one-to-three
    effect: deny
    conditions: { profiles: [prod], time: { hours: { start: "01:00", end: "03:00" }, timezone: Europe/Berlin } }
`);
  runTable(t, policy, [
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z.
    { name: 'spring: 00:59:59Z = 01:59:59 CET', time: '2026-03-29T00:59:59Z', rule: 'one-to-three', allowed: false },
    {
      name: 'spring: 01:00:00Z = 03:00:00 CEST (02:xx never happens)',
      time: '2026-03-29T01:00:00Z',
      rule: null,
      allowed: false,
    },
    { name: 'spring: 00:00:00Z = 01:00:00 CET', time: '2026-03-29T00:00:00Z', rule: 'one-to-three', allowed: false },
    {
      name: 'spring: 23:59:59Z the day before = 00:59:59 CET',
      time: '2026-03-28T23:59:59Z',
      rule: null,
      allowed: false,
    },
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00Z, so 02:00-03:00 local lasts two hours.
    {
      name: 'autumn: 23:59:59Z the day before = 01:59:59 CEST',
      time: '2026-10-24T23:59:59Z',
      rule: 'one-to-three',
      allowed: false,
    },
    {
      name: 'autumn: 00:00:00Z = 02:00:00 CEST (first pass)',
      time: '2026-10-25T00:00:00Z',
      rule: 'two-to-three',
      allowed: true,
    },
    { name: 'autumn: 00:59:59Z = 02:59:59 CEST', time: '2026-10-25T00:59:59Z', rule: 'two-to-three', allowed: true },
    {
      name: 'autumn: 01:00:00Z = 02:00:00 CET (second pass)',
      time: '2026-10-25T01:00:00Z',
      rule: 'two-to-three',
      allowed: true,
    },
    { name: 'autumn: 01:59:59Z = 02:59:59 CET', time: '2026-10-25T01:59:59Z', rule: 'two-to-three', allowed: true },
    { name: 'autumn: 02:00:00Z = 03:00:00 CET', time: '2026-10-25T02:00:00Z', rule: null, allowed: false },
  ]);

  const ny = policyOf(`
version: "1"
rules:
  - name: sunday-ny
    effect: allow
    conditions: { profiles: [prod], time: { days: [sunday], hours: { start: "00:00", end: "09:00" }, timezone: America/New_York } }
`);
  runTable(t, ny, [
    // 2026-03-08: US DST starts at 07:00Z (02:00 EST -> 03:00 EDT).
    { name: 'NY: Saturday 23:59:59 EST', time: '2026-03-08T04:59:59Z', rule: null, allowed: false },
    { name: 'NY: Sunday 00:00:00 EST', time: '2026-03-08T05:00:00Z', rule: 'sunday-ny', allowed: true },
    { name: 'NY: Sunday 08:59:59 EDT', time: '2026-03-08T12:59:59Z', rule: 'sunday-ny', allowed: true },
    {
      name: 'NY: Sunday 09:00:00 EDT (13:00Z; 09:00 EST would be 14:00Z)',
      time: '2026-03-08T13:00:00Z',
      rule: null,
      allowed: false,
    },
  ]);
});

t.test('windows that wrap midnight, and days for the night that began the day before', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - name: friday-night
    effect: allow
    conditions:
      profiles: [ops]
      time: { days: [friday], hours: { start: "22:00", end: "06:00" }, timezone: UTC }
  - name: every-night
    effect: require_server
    conditions:
      profiles: [night]
      time: { hours: { start: "22:00", end: "06:00" }, timezone: Asia/Tokyo }
  - name: empty-window
    effect: allow
    conditions:
      profiles: [never]
      time: { hours: { start: "09:00", end: "09:00" }, timezone: UTC }
`);
  runTable(t, policy, [
    // 2026-01-09 is a Friday.
    { name: 'Fri 21:59:59', profile: 'ops', time: '2026-01-09T21:59:59Z', rule: null, allowed: false },
    { name: 'Fri 22:00:00', profile: 'ops', time: '2026-01-09T22:00:00Z', rule: 'friday-night', allowed: true },
    { name: 'Fri 23:59:59', profile: 'ops', time: '2026-01-09T23:59:59Z', rule: 'friday-night', allowed: true },
    {
      name: 'Sat 00:00:00 (Friday night)',
      profile: 'ops',
      time: '2026-01-10T00:00:00Z',
      rule: 'friday-night',
      allowed: true,
    },
    {
      name: 'Sat 05:59:59 (Friday night)',
      profile: 'ops',
      time: '2026-01-10T05:59:59Z',
      rule: 'friday-night',
      allowed: true,
    },
    { name: 'Sat 06:00:00', profile: 'ops', time: '2026-01-10T06:00:00Z', rule: null, allowed: false },
    { name: 'Sat 22:00:00 (Saturday night)', profile: 'ops', time: '2026-01-10T22:00:00Z', rule: null, allowed: false },
    { name: 'Fri 02:00:00 (Thursday night)', profile: 'ops', time: '2026-01-09T02:00:00Z', rule: null, allowed: false },
    { name: 'Fri 12:00:00', profile: 'ops', time: '2026-01-09T12:00:00Z', rule: null, allowed: false },
    // Tokyo is UTC+9 without DST: 22:00 local = 13:00Z.
    { name: 'Tokyo 21:59:59', profile: 'night', time: '2026-01-09T12:59:59Z', rule: null, allowed: false },
    { name: 'Tokyo 22:00:00', profile: 'night', time: '2026-01-09T13:00:00Z', rule: 'every-night', allowed: true },
    { name: 'Tokyo 00:00:00', profile: 'night', time: '2026-01-09T15:00:00Z', rule: 'every-night', allowed: true },
    { name: 'Tokyo 05:59:59', profile: 'night', time: '2026-01-09T20:59:59Z', rule: 'every-night', allowed: true },
    { name: 'Tokyo 06:00:00', profile: 'night', time: '2026-01-09T21:00:00Z', rule: null, allowed: false },
    {
      name: 'Tokyo night in cli mode',
      profile: 'night',
      mode: 'cli',
      time: '2026-01-09T15:00:00Z',
      rule: 'every-night',
      allowed: false,
      errorCode: 'ServerModeRequired',
    },
    {
      name: 'start == end never matches (at start)',
      profile: 'never',
      time: '2026-01-09T09:00:00Z',
      rule: null,
      allowed: false,
    },
    {
      name: 'start == end never matches (before)',
      profile: 'never',
      time: '2026-01-09T08:59:59Z',
      rule: null,
      allowed: false,
    },
  ]);
});

t.test('days without hours, and time with only a time zone', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - { name: weekend, effect: deny, conditions: { profiles: [prod], time: { days: [saturday, sunday], timezone: Pacific/Auckland } } }
  - { name: any-time, effect: allow, conditions: { profiles: [prod], time: { timezone: UTC } } }
`);
  runTable(t, policy, [
    // Auckland is UTC+13 in January: Friday 11:00Z is Saturday 00:00 there.
    { name: 'Friday 10:59:59Z = Fri 23:59:59 Auckland', time: '2026-01-09T10:59:59Z', rule: 'any-time', allowed: true },
    { name: 'Friday 11:00:00Z = Sat 00:00 Auckland', time: '2026-01-09T11:00:00Z', rule: 'weekend', allowed: false },
  ]);
});

t.test(
  'device conditions: every requirement, and a missing posture fails them (the rule does not match)',
  async (t) => {
    const policy = policyOf(`
version: "1"
rules:
  - name: managed
    effect: allow
    conditions:
      profiles: [prod]
      device: { require_encryption: true, require_mdm: true, require_mdm_compliant: true, require_firewall: true, min_os_version: "14.2", allowed_os_types: [Darwin, linux] }
  - name: prod-fallback
    effect: require_approval
    conditions: { profiles: [prod] }
  - name: empty-device
    effect: allow
    conditions: { profiles: [dev], device: {} }
`);
    const good: DevicePosture = {
      os_type: 'darwin',
      os_version: '14.10.1',
      encrypted: true,
      firewall_enabled: true,
      mdm_enrolled: true,
      mdm_compliant: true,
    };
    const fallback = { rule: 'prod-fallback', allowed: false, errorCode: 'ApprovalRequired' as const };
    runTable(t, policy, [
      { name: 'compliant device', device: good, rule: 'managed', allowed: true },
      { name: 'no posture at all', ...fallback },
      { name: 'empty posture', device: {}, ...fallback },
      { name: 'not encrypted', device: { ...good, encrypted: false }, ...fallback },
      { name: 'encryption unknown', device: { ...good, encrypted: undefined }, ...fallback },
      { name: 'not MDM enrolled', device: { ...good, mdm_enrolled: false }, ...fallback },
      { name: 'not MDM compliant', device: { ...good, mdm_compliant: false }, ...fallback },
      { name: 'firewall off', device: { ...good, firewall_enabled: false }, ...fallback },
      { name: 'OS 14.1.9 < 14.2', device: { ...good, os_version: '14.1.9' }, ...fallback },
      { name: 'OS 14.2 = 14.2', device: { ...good, os_version: '14.2' }, rule: 'managed', allowed: true },
      { name: 'OS 14.2.0 = 14.2', device: { ...good, os_version: '14.2.0' }, rule: 'managed', allowed: true },
      { name: 'OS 9.9 < 14.2 (numeric, not lexicographic)', device: { ...good, os_version: '9.9' }, ...fallback },
      { name: 'OS version unknown', device: { ...good, os_version: undefined }, ...fallback },
      { name: 'OS type in a different case', device: { ...good, os_type: 'LINUX' }, rule: 'managed', allowed: true },
      { name: 'OS type not allowed', device: { ...good, os_type: 'windows' }, ...fallback },
      { name: 'OS type unknown', device: { ...good, os_type: undefined }, ...fallback },
      { name: 'device: {} has no requirements', profile: 'dev', rule: 'empty-device', allowed: true },
    ]);
  },
);

t.test('a device condition on a deny rule: without a posture the deny does not match (documented)', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - { name: no-unencrypted, effect: deny, conditions: { profiles: [prod], device: { require_encryption: true } } }
  - { name: prod, effect: allow, conditions: { profiles: [prod] } }
`);
  runTable(t, policy, [
    { name: 'encrypted device: the deny matches', device: { encrypted: true }, rule: 'no-unencrypted', allowed: false },
    { name: 'no posture: the deny is skipped', rule: 'prod', allowed: true },
  ]);
});

t.test('requests that cannot be evaluated are denied', async (t) => {
  const policy = policyOf(`
version: "1"
rules:
  - { name: all-of-prod, effect: allow, conditions: { profiles: [prod] } }
`);
  const compiled = compilePolicy(policy);
  const base: DecisionRequest = {
    user: 'alice',
    profile: 'prod',
    time: new Date('2026-01-01T00:00:00Z'),
    mode: 'server',
    sessionStore: 'memory',
  };
  const bad: Array<[string, DecisionRequest]> = [
    ['invalid date', { ...base, time: new Date(Number.NaN) }],
    ['time not a Date', { ...base, time: '2026-01-01' as unknown as Date }],
    ['empty user', { ...base, user: '' }],
    ['unknown mode', { ...base, mode: 'root' as Mode }],
    ['unknown store', { ...base, sessionStore: 'redis' as SessionStoreKind }],
  ];
  for (const [name, req] of bad) {
    for (const d of [evaluate(policy, req, meta), compiled.decide(req, meta)]) {
      t.equal(d.allowed, false, `${name}: denied`);
      t.equal(d.ruleIndex, -1, `${name}: no rule`);
      t.match(d.reason, /^invalid request/, `${name}: says why`);
    }
  }
  t.equal(evaluate(policy, base, meta).allowed, true, 'the same request with valid fields is allowed');
});
