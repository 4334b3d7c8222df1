// Properties that must hold for every policy and request, not just the ones in the tables: the compiled index decides
// exactly as the linear scan; a policy that fails validation is never used; a request no rule matches is denied.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { compilePolicy } from '../core/policy/compile.js';
import { evaluate, firstFailure } from '../core/policy/evaluate.js';
import { parsePolicy } from '../core/policy/load.js';
import type { Policy } from '../core/policy/schema.js';
import { createFilePolicySource } from '../core/policy/source-file.js';
import { silentLogger } from '../core/log.js';
import { policyArb, requestArb, TRANSITIONS, ZONES } from './support/policy-arbitraries.js';
import { wallClock } from '../core/policy/time-window.js';

const meta = { source: 'file:prop', version: 'v' };

t.test('generated policies survive a YAML round trip through the validator unchanged', async (t) => {
  fc.assert(
    fc.property(policyArb, (policy) => {
      const r = parsePolicy(stringify(policy));
      return r.ok && JSON.stringify(r.policy) === JSON.stringify(policy);
    }),
    { numRuns: 100 },
  );
  t.pass('100 generated policies validated and round-tripped');
});

t.test('compiled evaluation equals the linear scan', async (t) => {
  fc.assert(
    fc.property(policyArb, fc.array(requestArb, { minLength: 1, maxLength: 20 }), (policy, requests) => {
      const compiled = compilePolicy(policy);
      for (const req of requests) {
        const a = evaluate(policy, req, meta);
        const b = compiled.decide(req, meta);
        if (JSON.stringify(a) !== JSON.stringify(b)) return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass('500 policies × up to 20 requests agree');
});

t.test('the first matching rule decides; with none, an explicit default deny', async (t) => {
  fc.assert(
    fc.property(policyArb, requestArb, (policy, req) => {
      const d = compilePolicy(policy).decide(req, meta);
      const first = policy.rules.findIndex((r) => firstFailure(r, req) === null);
      if (first === -1) {
        return (
          d.ruleIndex === -1 &&
          !d.allowed &&
          d.effect === 'default_deny' &&
          d.errorCode === 'PolicyDenied' &&
          d.reason === 'no matching rule'
        );
      }
      const allowedEffects =
        req.mode === 'server'
          ? ['allow', 'require_server', ...(req.sessionStore === 'dynamodb' ? ['require_server_session'] : [])]
          : ['allow'];
      return (
        d.ruleIndex === first &&
        d.rule === policy.rules[first]!.name &&
        d.allowed === allowedEffects.includes(policy.rules[first]!.effect)
      );
    }),
    { numRuns: 1000 },
  );
  t.pass('1000 policy/request pairs');

  fc.assert(
    fc.property(policyArb, requestArb, (policy, req) => {
      // A profile that no rule names, in a policy whose rules all name profiles, always gets the default deny.
      const scoped: Policy = {
        ...policy,
        rules: policy.rules.map((r) => ({
          ...r,
          conditions: { ...r.conditions, profiles: r.conditions.profiles?.length ? r.conditions.profiles : ['dev'] },
        })),
      };
      const d = compilePolicy(scoped).decide({ ...req, profile: 'not-in-any-rule' }, meta);
      return !d.allowed && d.ruleIndex === -1 && d.rule === null && d.errorCode === 'PolicyDenied';
    }),
    { numRuns: 300 },
  );
  t.pass('300 requests for an unnamed profile were denied');
});

// Ways to break a valid policy, each of which the validator must refuse.
const mutations: Array<[string, (doc: Record<string, any>, pick: number) => void]> = [
  ['unknown effect', (d, i) => (d.rules[i % d.rules.length].effect = 'alow')],
  ['unknown rule key', (d, i) => (d.rules[i % d.rules.length].effet = 'allow')],
  ['unknown condition', (d, i) => (d.rules[i % d.rules.length].conditions.user = ['alice'])],
  ['version 2', (d) => (d.version = '2')],
  ['numeric profile', (d, i) => (d.rules[i % d.rules.length].conditions.profiles = [123])],
  ['bad hour', (d, i) => (d.rules[i % d.rules.length].conditions.time = { hours: { start: '25:00', end: '06:00' } })],
  ['bad time zone', (d, i) => (d.rules[i % d.rules.length].conditions.time = { timezone: 'Mars/Olympus' })],
  ['bad weekday', (d, i) => (d.rules[i % d.rules.length].conditions.time = { days: ['funday'] })],
  ['duplicate name', (d) => d.rules.push({ ...d.rules[0], name: d.rules[0].name })],
  ['no conditions', (d, i) => (d.rules[i % d.rules.length].conditions = { mode: ['server'] })],
  ['empty rules', (d) => (d.rules = [])],
  ['bad duration', (d, i) => (d.rules[i % d.rules.length].max_server_duration = '1 hour')],
];

t.test('a policy that fails validation is never used: the source keeps the last good one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-policy-prop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(
      policyArb,
      fc.constantFrom(...mutations),
      fc.nat(),
      fc.array(requestArb, { minLength: 1, maxLength: 5 }),
      async (good, [, mutate], pick, requests) => {
        writeFileSync(file, stringify(good));
        const source = createFilePolicySource({ file, log: silentLogger(), watch: false });
        try {
          await source.start();
          const before = requests.map((r) => source.decide(r));
          const bad = structuredClone(good) as Record<string, any>;
          mutate(bad, pick);
          writeFileSync(file, stringify(bad));
          const status = await source.reload();
          if (status.lastError === null) return false; // the mutation must be refused and reported
          const after = requests.map((r) => source.decide(r));
          runs++;
          return JSON.stringify(before) === JSON.stringify(after);
        } finally {
          await source.close();
        }
      },
    ),
    { numRuns: 120 },
  );
  t.equal(runs, 120, 'every mutated policy was refused and decisions did not change');
});

t.test('arbitrary bytes never throw, and are never used unless they validate', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })), (input) => {
      const r = parsePolicy(typeof input === 'string' ? input : input);
      return r.ok === false || (r.policy.version === '1' && r.policy.rules.length > 0);
    }),
    { numRuns: 500 },
  );
  t.pass('500 arbitrary inputs');
});

t.test('the cached wall clock equals the rendering by Intl, in odd zones and odd centuries', async (t) => {
  const zones = [
    ...ZONES,
    'Asia/Kathmandu',
    'America/St_Johns',
    'Africa/Monrovia',
    'Europe/Amsterdam',
    'Pacific/Kiritimati',
    'Pacific/Apia',
    'Europe/Dublin',
    'Antarctica/Troll',
  ];
  const direct = new Map<string, Intl.DateTimeFormat>();
  const reference = (time: Date, zone: string) => {
    let f = direct.get(zone);
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        weekday: 'long',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
      direct.set(zone, f);
    }
    const p: Record<string, string> = {};
    for (const part of f.formatToParts(time)) p[part.type] = part.value;
    return {
      weekday: p.weekday!.toLowerCase(),
      second: (Number(p.hour) % 24) * 3600 + Number(p.minute) * 60 + Number(p.second),
    };
  };
  const instants = fc.oneof(
    fc.date({ min: new Date('1850-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
    fc
      .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -3600, max: 3600 }))
      .map(([at, s]) => new Date(at + s * 1000)),
  );
  fc.assert(
    fc.property(instants, fc.constantFrom(...zones), (time, zone) => {
      const a = wallClock(time, zone);
      const b = reference(time, zone);
      return a.weekday === b.weekday && a.second === b.second;
    }),
    { numRuns: 3000 },
  );
  // Every second around offset changes, where the cache must not reuse an offset across the change: today's DST
  // transitions (on quarter hours) and historical ones that fall inside a quarter hour (local mean time to CET in
  // Berlin, 1893; Liberia's -0:44:30 to UTC, 1972).
  const around: Array<[number, string[]]> = [
    ...TRANSITIONS.map((at): [number, string[]] => [at, ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']]),
    [Date.parse('1893-03-31T23:06:32Z'), ['Europe/Berlin']],
    [Date.parse('1972-01-07T00:44:30Z'), ['Africa/Monrovia']],
  ];
  for (const [at, zones] of around) {
    for (let s = -1800; s <= 1800; s++) {
      const time = new Date(at + s * 1000);
      for (const zone of zones) {
        const a = wallClock(time, zone);
        const b = reference(time, zone);
        if (a.weekday !== b.weekday || a.second !== b.second) {
          t.fail(`${zone} at ${time.toISOString()}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
          return;
        }
      }
    }
  }
  t.pass('3000 random instants and every second within 30 minutes of each offset change agree');
});
