// Warnings about a valid policy: things that are legal but almost certainly not what the author meant. They never
// change a decision; `policy validate --strict` turns them into failures.
import type { DeviceCondition, Policy, Rule, TimeCondition } from './schema.js';
import { compareVersions, hasDeviceRequirements } from './evaluate.js';
import { WEEKDAYS } from './time-window.js';
import { lintApprovals } from './approvals-lint.js';
import { MODES } from '../types.js';

export interface Warning {
  message: string;
  line?: number;
  rule?: string;
}

const MAX_WARNINGS = 200;
// Pairwise checks are quadratic in the worst case (thousands of rules without profiles); past this many rule
// comparisons lint says it stopped rather than stall a reload.
const MAX_COMPARISONS = 500_000;

const nonEmpty = <T>(xs: readonly T[] | undefined): xs is readonly T[] => xs !== undefined && xs.length > 0;

/** Whether list condition `a` accepts every value `b` accepts (absent or empty = anything). */
function listCovers(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!nonEmpty(a)) return true;
  if (!nonEmpty(b)) return false;
  return b.every((x) => a.includes(x));
}

function listsOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!nonEmpty(a) || !nonEmpty(b)) return true;
  return a.some((x) => b.includes(x));
}

/** A window that reads the clock (days or hours) without a zone: it follows the daemon's local zone (its TZ). */
const localTime = (t: TimeCondition | undefined) => !!t && !t.timezone && (nonEmpty(t.days) || t.hours !== undefined);
const LOCAL_TIME = "time has no timezone, so the daemon's local time zone applies";

const hoursWrap = (t: TimeCondition | undefined) => t?.hours !== undefined && t.hours.start > t.hours.end;

function timeCovers(a: TimeCondition | undefined, b: TimeCondition | undefined): boolean {
  const unrestricted = (t: TimeCondition | undefined) => !t || (!nonEmpty(t.days) && !t.hours);
  if (unrestricted(a)) return true;
  if (!b || a!.timezone !== b.timezone) return false;
  const bDays = nonEmpty(b.days) ? [...b.days] : [...WEEKDAYS];
  if (!a!.hours) {
    // `a` checks the calendar day; the early-morning part of a wrapping `b` window falls on the next day.
    const needed = new Set<string>(bDays);
    if (hoursWrap(b)) for (const d of bDays) needed.add(WEEKDAYS[(WEEKDAYS.indexOf(d) + 1) % 7]!);
    return !nonEmpty(a!.days) || [...needed].every((d) => (a!.days as readonly string[]).includes(d));
  }
  if (!b.hours || a!.hours.start !== b.hours.start || a!.hours.end !== b.hours.end) return false;
  return listCovers(a!.days, b.days);
}

function deviceCovers(a: DeviceCondition | undefined, b: DeviceCondition | undefined): boolean {
  if (!hasDeviceRequirements(a)) return true;
  if (!b) return false;
  for (const k of ['require_encryption', 'require_mdm', 'require_mdm_compliant', 'require_firewall'] as const) {
    if (a![k] && !b[k]) return false;
  }
  if (a!.min_os_version !== undefined) {
    if (b.min_os_version === undefined || compareVersions(b.min_os_version, a!.min_os_version) < 0) return false;
  }
  const lower = (xs: readonly string[] | undefined) => xs?.map((x) => x.toLowerCase());
  return listCovers(lower(a!.allowed_os_types), lower(b.allowed_os_types));
}

/** Whether rule `a` matches every request rule `b` matches (so a later `b` can never decide). */
export function ruleCovers(a: Rule, b: Rule): boolean {
  const ca = a.conditions;
  const cb = b.conditions;
  const modes = (m: readonly string[] | undefined) => (nonEmpty(m) ? m : MODES);
  return (
    listCovers(ca.profiles, cb.profiles) &&
    listCovers(ca.users, cb.users) &&
    listCovers(modes(ca.mode), modes(cb.mode)) &&
    timeCovers(ca.time, cb.time) &&
    deviceCovers(ca.device, cb.device)
  );
}

export function lintPolicy(policy: Policy, ruleLines: readonly number[] = []): Warning[] {
  const warnings: Warning[] = [];
  let dropped = 0;
  const warn = (index: number, message: string) => {
    if (warnings.length >= MAX_WARNINGS) {
      dropped++;
      return;
    }
    const line = ruleLines[index] || undefined;
    warnings.push({ message, rule: policy.rules[index]!.name, ...(line ? { line } : {}) });
  };
  const at = (i: number) => (ruleLines[i] ? ` (line ${ruleLines[i]})` : '');
  const rules = policy.rules;

  rules.forEach((r, i) => {
    const c = r.conditions;
    const t = c.time;
    if (!nonEmpty(c.profiles) && !nonEmpty(c.users)) {
      warn(i, `rule "${r.name}" names no profiles and no users: it applies to every profile and every user`);
    }
    if (t && nonEmpty(t.days) && !t.hours)
      warn(i, `rule "${r.name}": time.days without time.hours applies all day on those days`);
    if (t?.hours && t.hours.start === t.hours.end) {
      warn(
        i,
        `rule "${r.name}": hours start and end are both ${t.hours.start}, so the window is empty and the rule never matches`,
      );
    }
    if (localTime(t)) warn(i, `rule "${r.name}": ${LOCAL_TIME}`);
    if (c.device && !hasDeviceRequirements(c.device)) warn(i, `rule "${r.name}": device has no requirements`);
    if (r.effect === 'deny' && hasDeviceRequirements(c.device)) {
      warn(i, `deny rule "${r.name}" has device conditions: a request whose device posture is unknown skips it`);
    }
  });

  // Candidates for "earlier rule i covers / overlaps rule j" come from indexes, so that policies with many narrow rules
  // cost about linear time: rules sharing one of j's profiles; rules without profiles that share one of j's users
  // (or all of those, when j names no users); rules with neither.
  const byProfile = new Map<string, number[]>();
  const byUser = new Map<string, number[]>();
  const usersOnly: number[] = [];
  const anyone: number[] = [];
  const add = (map: Map<string, number[]>, key: string, i: number) => {
    const l = map.get(key);
    if (!l) map.set(key, [i]);
    else if (l[l.length - 1] !== i) l.push(i);
  };
  rules.forEach((r, i) => {
    const c = r.conditions;
    if (nonEmpty(c.profiles)) for (const p of c.profiles) add(byProfile, p, i);
    else if (nonEmpty(c.users)) {
      usersOnly.push(i);
      for (const u of c.users) add(byUser, u, i);
    } else anyone.push(i);
  });
  const earlier = (list: readonly number[] | undefined, j: number, into: Set<number>) => {
    for (const i of list ?? []) {
      if (i >= j) break;
      into.add(i);
    }
  };
  let comparisons = 0;
  let stopped = false;
  for (let j = 1; j < rules.length && !stopped; j++) {
    const rj = rules[j]!;
    const profiles = rj.conditions.profiles;
    const users = rj.conditions.users;
    const candidates = new Set<number>();
    earlier(anyone, j, candidates);
    if (nonEmpty(users)) for (const u of users) earlier(byUser.get(u), j, candidates);
    else earlier(usersOnly, j, candidates);
    if (nonEmpty(profiles)) for (const p of profiles) earlier(byProfile.get(p), j, candidates);
    const ordered = [...candidates].sort((x, y) => x - y);
    comparisons += ordered.length;
    if (comparisons > MAX_COMPARISONS) {
      stopped = true;
      break;
    }
    const coveredBy = ordered.find((i) => ruleCovers(rules[i]!, rj));
    if (coveredBy !== undefined) {
      const ri = rules[coveredBy]!;
      warn(
        j,
        `rule "${rj.name}"${at(j)} can never match: the earlier rule "${ri.name}"${at(coveredBy)} matches every request it would`,
      );
      continue;
    }
    if (rj.effect === 'deny' && nonEmpty(profiles)) {
      for (const i of ordered) {
        const ri = rules[i]!;
        const ci = ri.conditions;
        if (ri.effect !== 'allow') continue;
        const shared = nonEmpty(ci.profiles) ? profiles.find((p) => ci.profiles!.includes(p)) : profiles[0];
        if (shared === undefined) continue;
        if (!listsOverlap(ci.users, rj.conditions.users) || !listsOverlap(ci.mode, rj.conditions.mode)) continue;
        warn(
          j,
          `allow rule "${ri.name}"${at(i)} comes before deny rule "${rj.name}"${at(j)} and both apply to profile "${shared}": requests matching both are allowed; if the deny is an exception, put it first`,
        );
        break;
      }
    }
  }
  for (const w of lintApprovals(policy)) if (warnings.length < MAX_WARNINGS) warnings.push(w);
  // The same windows in the other sections: an auto-approval or a break-glass window without a zone moves with the TZ
  // the daemon was started with.
  const more = (message: string) => {
    if (warnings.length < MAX_WARNINGS) warnings.push({ message });
    else dropped++;
  };
  for (const e of policy.approvals ?? [])
    if (localTime(e.auto_approve?.time)) more(`approvals entry "${e.name}": auto_approve.${LOCAL_TIME}`);
  for (const e of policy.breakglass ?? []) if (localTime(e.time)) more(`breakglass entry "${e.name}": ${LOCAL_TIME}`);
  if (stopped)
    warnings.push({
      message: `lint checked rule overlaps only partly: the policy has too many rules without profiles`,
    });
  if (dropped > 0) warnings.push({ message: `${dropped} more warnings not shown` });
  return warnings;
}
