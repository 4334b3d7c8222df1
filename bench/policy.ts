// Policy decisions per second, compiled index versus the linear reference scan, for 10, 1,000 and 10,000 rules, in
// one run (so the ratio is measured on the same machine under the same load). Also: what loading a 10,000-rule
// YAML file costs (parse, validate, lint, compile).
//   node --import tsx bench/policy.ts
import { stringify } from 'yaml';
import { compilePolicy } from '../core/policy/compile.js';
import { evaluate } from '../core/policy/evaluate.js';
import { MAX_POLICY_BYTES, parsePolicy } from '../core/policy/load.js';
import type { Policy, Rule } from '../core/policy/schema.js';
import type { DecisionRequest } from '../core/policy/types.js';
import { MODES } from '../core/types.js';

// A fixed-seed generator, so every run measures the same policies and requests.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'];
const EFFECTS = [
  'allow',
  'allow',
  'allow',
  'deny',
  'require_server',
  'require_approval',
  'require_server_session',
] as const;

interface Workload {
  policy: Policy;
  requests: DecisionRequest[];
}

/**
 * Rules the way teams write them: 95% per profile (60% of those with a user list; some with modes, office hours or
 * device requirements), 4.5% per user across profiles, 0.5% weekend-only rules that apply to everyone. Requests: 500
 * users, 90% for a profile the policy names, times spread over one week, random modes, half with a device posture.
 */
function workload(size: number, seed = 42): Workload {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const profiles = Array.from({ length: Math.max(3, Math.floor(size / 5)) }, (_, i) => `acct-${i}`);
  const users = Array.from({ length: 500 }, (_, i) => `user${i}`);
  const rules: Rule[] = [];
  for (let i = 0; i < size; i++) {
    const kind = r();
    const conditions: Rule['conditions'] = {};
    if (kind < 0.95) {
      conditions.profiles = r() < 0.8 ? [pick(profiles)] : [pick(profiles), pick(profiles)];
      if (r() < 0.6) conditions.users = Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(users));
    } else if (kind < 0.995) {
      conditions.users = [pick(users)];
    }
    if (r() < 0.3) conditions.mode = [pick(MODES)];
    if (r() < 0.25 || kind >= 0.995) {
      const start = 6 + Math.floor(r() * 6);
      conditions.time = {
        days: kind >= 0.995 ? ['saturday', 'sunday'] : DAYS.filter(() => r() < 0.7),
        hours: {
          start: `${String(start).padStart(2, '0')}:00`,
          end: `${String(start + 8 + Math.floor(r() * 4)).padStart(2, '0')}:00`,
        },
        timezone: pick(ZONES),
      };
      if (conditions.time.days!.length === 0) delete conditions.time.days;
    }
    if (r() < 0.05) conditions.device = { require_encryption: true, min_os_version: '14.0' };
    rules.push({ name: `rule-${i}`, effect: pick(EFFECTS), conditions, max_server_duration: '1h' });
  }
  const base = Date.parse('2026-03-23T00:00:00Z');
  const requests = Array.from({ length: 2000 }, (): DecisionRequest => ({
    user: pick(users),
    profile: r() < 0.9 ? pick(profiles) : 'not-in-policy',
    time: new Date(base + Math.floor(r() * 7 * 86_400) * 1000),
    mode: pick(MODES),
    sessionStore: r() < 0.5 ? 'memory' : 'dynamodb',
    ...(r() < 0.5 ? { device: { encrypted: true, os_version: '14.4', os_type: 'darwin' } } : {}),
  }));
  return { policy: { version: '1', rules }, requests };
}

const meta = { source: 'bench', version: null };

/** Decisions per second, running whole passes over the requests for at least `ms` milliseconds. */
function measure(
  decide: (req: DecisionRequest) => unknown,
  requests: DecisionRequest[],
  ms: number,
): { perSecond: number; ns: number } {
  for (let i = 0; i < Math.min(requests.length, 500); i++) decide(requests[i]!); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  do {
    for (const req of requests) decide(req);
    n += requests.length;
    now = process.hrtime.bigint();
  } while (now < deadline);
  const ns = Number(now - start) / n;
  return { perSecond: 1e9 / ns, ns };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const rows: string[][] = [];
for (const size of [10, 1_000, 10_000]) {
  const { policy, requests } = workload(size);
  // The worst case for a scan: a user and profile the policy never names, on a Wednesday, so no rule matches.
  const strangers = requests.map((r, i) => ({
    ...r,
    user: `stranger${i}`,
    profile: 'not-in-policy',
    time: new Date(Date.parse('2026-03-25T12:00:00Z') + (i % 3600) * 1000),
  }));
  const compiled = compilePolicy(policy);
  for (const [scenario, reqs] of [
    ['mixed', requests],
    ['no match', strangers],
  ] as const) {
    let matched = 0;
    for (const req of reqs) {
      const a = evaluate(policy, req, meta);
      const b = compiled.decide(req, meta);
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`compiled and linear disagree at ${size} rules`);
      if (a.ruleIndex >= 0) matched++;
    }
    const budget = size >= 10_000 ? 1000 : 500;
    const linear = measure((req) => evaluate(policy, req, meta), size >= 1_000 ? reqs.slice(0, 200) : reqs, budget);
    const fast = measure((req) => compiled.decide(req, meta), reqs, budget);
    rows.push([
      fmt(size),
      scenario,
      `${Math.round((matched / reqs.length) * 100)}%`,
      fmt(linear.perSecond),
      fmt(linear.ns),
      fmt(fast.perSecond),
      fmt(fast.ns),
      `${(linear.ns / fast.ns).toFixed(1)}x`,
    ]);
  }
}

const headers = [
  'rules',
  'requests',
  'matched',
  'linear dec/s',
  'linear ns/dec',
  'compiled dec/s',
  'compiled ns/dec',
  'speed-up',
];
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(`Node ${process.version}, ${new Date().toISOString()}`);
console.log(line(headers));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));

// Loading: the same 10,000-rule policy as a YAML file's bytes.
const big = Buffer.from(stringify(workload(10_000).policy));
if (big.length > MAX_POLICY_BYTES) throw new Error('the 10,000-rule policy is over the size limit');
const t0 = performance.now();
const parsed = parsePolicy(big);
const t1 = performance.now();
if (!parsed.ok) throw new Error('the generated policy does not validate');
compilePolicy(parsed.policy);
const t2 = performance.now();
console.log(
  `\nLoading 10,000 rules (${(big.length / 1024).toFixed(0)} KiB of YAML): parse + validate + lint ${fmt(t1 - t0)} ms, ` +
    `compile ${fmt(t2 - t1)} ms, ${parsed.warnings.length} lint warnings`,
);
