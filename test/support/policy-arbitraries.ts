// Generators of valid policies and of decision requests (DST transitions included), shared by the property tests.
import fc from 'fast-check';
import type { Policy, Rule } from '../../core/policy/schema.js';
import { EFFECTS, type DecisionRequest } from '../../core/policy/types.js';
import { MODES, type DevicePosture } from '../../core/types.js';

export const PROFILES = ['prod', 'prod-eu', 'staging', 'dev', 'audit'];
export const USERS = ['alice', 'bob', 'carol', 'dave'];
export const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
];
export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
// DST transitions (UTC) in the zones above, so that times near them are tried often.
export const TRANSITIONS = [
  '2026-03-29T01:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-03-08T07:00:00Z',
  '2026-11-01T06:00:00Z',
  '2026-04-04T15:00:00Z',
  '2026-04-04T14:00:00Z',
  '2026-09-26T14:00:00Z',
].map(Date.parse);

const hour = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 59))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const subset = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });

const timeArb = fc.record(
  {
    days: subset(DAYS),
    hours: fc.record({ start: hour, end: hour }),
    timezone: fc.constantFrom(...ZONES),
  },
  { requiredKeys: [] },
);

const deviceArb = fc.record(
  {
    require_encryption: fc.boolean(),
    require_mdm: fc.boolean(),
    require_mdm_compliant: fc.boolean(),
    require_firewall: fc.boolean(),
    min_os_version: fc.constantFrom('13', '14.0', '14.2.1'),
    allowed_os_types: subset(['darwin', 'linux', 'Windows']),
  },
  { requiredKeys: [] },
);

const conditionsArb = fc
  .record(
    {
      profiles: fc.subarray(PROFILES),
      users: fc.subarray(USERS),
      time: timeArb,
      mode: subset(MODES),
      device: deviceArb,
    },
    { requiredKeys: [] },
  )
  // The original's rule, which the schema keeps: at least one of profiles, users or time.
  .filter((c) => (c.profiles?.length ?? 0) > 0 || (c.users?.length ?? 0) > 0 || c.time !== undefined);

export const policyArb: fc.Arbitrary<Policy> = fc
  .array(
    fc.record(
      {
        effect: fc.constantFrom(...EFFECTS),
        conditions: conditionsArb,
        max_server_duration: fc.constantFrom('15m', '1h', '1h30m'),
      },
      { requiredKeys: ['effect', 'conditions'] },
    ),
    { minLength: 1, maxLength: 25 },
  )
  .map((rules) => ({ version: '1' as const, rules: rules.map((r, i) => ({ name: `rule-${i}`, ...r }) as Rule) }));

export const timeArbitrary = fc.oneof(
  fc.date({ min: new Date('2025-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true }),
  fc
    .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -7200, max: 7200 }))
    .map(([at, s]) => new Date(at + s * 1000)),
);

export const postureArb: fc.Arbitrary<DevicePosture> = fc.record(
  {
    os_type: fc.constantFrom('darwin', 'LINUX', 'windows', 'plan9'),
    os_version: fc.constantFrom('12.7', '14.0', '14.2.1', '14.10'),
    encrypted: fc.boolean(),
    firewall_enabled: fc.boolean(),
    mdm_enrolled: fc.boolean(),
    mdm_compliant: fc.boolean(),
  },
  { requiredKeys: [] },
);

export const requestArb: fc.Arbitrary<DecisionRequest> = fc.record(
  {
    user: fc.constantFrom(...USERS, 'eve'),
    profile: fc.constantFrom(...PROFILES, 'sandbox'),
    time: timeArbitrary,
    mode: fc.constantFrom(...MODES),
    sessionStore: fc.constantFrom('memory' as const, 'dynamodb' as const),
    device: postureArb,
  },
  { requiredKeys: ['user', 'profile', 'time', 'mode', 'sessionStore'] },
);
