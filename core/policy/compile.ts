// A policy prepared for fast decisions. Rules are indexed by profile; rules without profiles are indexed by user;
// rules with neither are always candidates. A decision walks only the candidates, in rule order, and the first that
// matches decides, so the answer is the linear scan's (evaluate.ts), proved by a property test, at a cost that
// depends on the rules that could apply rather than on the size of the policy.
import type { Policy, Rule } from './schema.js';
import { inHours, parseHour, wallClock, WEEKDAYS, windowDay } from './time-window.js';
import {
  decisionFor,
  defaultDeny,
  deviceFailure,
  withSkippedForPosture,
  hasDeviceRequirements,
  requestProblem,
  type PolicyMeta,
} from './evaluate.js';
import type { Decision, DecisionRequest } from './types.js';

interface CompiledRule {
  index: number;
  rule: Rule;
  users: ReadonlySet<string> | null;
  modes: ReadonlySet<string> | null;
  hasTime: boolean;
  timezone: string | undefined;
  /** Bit i set = WEEKDAYS[i] allowed; 0 = any day. */
  days: number;
  start: number | undefined;
  end: number | undefined;
  hasDevice: boolean;
}

export interface CompiledPolicy {
  readonly policy: Policy;
  readonly rules: number;
  decide(request: DecisionRequest, meta: PolicyMeta): Decision;
}

const EMPTY: readonly number[] = [];

const nonEmpty = <T>(xs: readonly T[] | undefined): xs is readonly T[] => xs !== undefined && xs.length > 0;

function compileRule(rule: Rule, index: number): CompiledRule {
  const c = rule.conditions;
  const t = c.time;
  let days = 0;
  for (const d of t?.days ?? []) days |= 1 << WEEKDAYS.indexOf(d);
  const hours = t?.hours;
  return {
    index,
    rule,
    users: nonEmpty(c.users) ? new Set(c.users) : null,
    modes: nonEmpty(c.mode) ? new Set(c.mode) : null,
    hasTime: t !== undefined,
    timezone: t?.timezone,
    days,
    start: hours ? parseHour(hours.start) : undefined,
    end: hours ? parseHour(hours.end) : undefined,
    hasDevice: hasDeviceRequirements(c.device),
  };
}

/** Everything but the profile, which the index already settled, and the device, checked last. */
function matchesBeyondProfile(r: CompiledRule, req: DecisionRequest): boolean {
  if (r.users !== null && !r.users.has(req.user)) return false;
  if (r.modes !== null && !r.modes.has(req.mode)) return false;
  if (r.hasTime) {
    const clock = wallClock(req.time, r.timezone);
    if (r.days !== 0 && (r.days & (1 << WEEKDAYS.indexOf(windowDay(clock, r.start, r.end)))) === 0) return false;
    if (r.start !== undefined && r.end !== undefined && !inHours(clock.second, r.start, r.end)) return false;
  }
  return true;
}

function push(map: Map<string, number[]>, key: string, index: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [index]);
  else if (list[list.length - 1] !== index) list.push(index); // a name listed twice in one rule
}

export function compilePolicy(policy: Policy): CompiledPolicy {
  const compiled = policy.rules.map(compileRule);
  const byProfile = new Map<string, number[]>();
  const byUser = new Map<string, number[]>(); // rules without profiles
  const anyone: number[] = []; // rules with neither profiles nor users
  compiled.forEach((r) => {
    const c = r.rule.conditions;
    if (nonEmpty(c.profiles)) for (const p of c.profiles) push(byProfile, p, r.index);
    else if (nonEmpty(c.users)) for (const u of c.users) push(byUser, u, r.index);
    else anyone.push(r.index);
  });
  // Warm the time zone formatters now, so the first request does not pay for them.
  for (const r of compiled) if (r.hasTime) wallClock(new Date(0), r.timezone);

  return {
    policy,
    rules: policy.rules.length,
    decide(req: DecisionRequest, meta: PolicyMeta): Decision {
      const problem = requestProblem(req);
      if (problem) return defaultDeny(meta, `invalid request: ${problem}`);
      const a = byProfile.get(req.profile) ?? EMPTY;
      const b = byUser.get(req.user) ?? EMPTY;
      const c = anyone;
      let i = 0;
      let j = 0;
      let k = 0;
      let skipped: string[] | undefined;
      // Three sorted lists of rule indices, merged on the fly: candidates are visited in rule order.
      for (;;) {
        const x = i < a.length ? a[i]! : Infinity;
        const y = j < b.length ? b[j]! : Infinity;
        const z = k < c.length ? c[k]! : Infinity;
        const next = Math.min(x, y, z);
        if (next === Infinity) return withSkippedForPosture(defaultDeny(meta), skipped);
        if (next === x) i++;
        else if (next === y) j++;
        else k++;
        const r = compiled[next]!;
        if (!matchesBeyondProfile(r, req)) continue;
        if (r.hasDevice && deviceFailure(r.rule.conditions.device, req.device) !== null) {
          // Rules passed over only because no posture is known are named, so the decision log can say so.
          if (req.device === undefined) (skipped ??= []).push(r.rule.name);
          continue;
        }
        return withSkippedForPosture(decisionFor(r.rule, r.index, req, meta), skipped);
      }
    },
  };
}
