// Why the default deny decided (issue 9 item 12): the rules written for the requested profile that did not match, each
// with the condition that failed, in words a user can act on ("only Mon–Fri 08:00–18:00 Europe/Berlin; now Sunday
// 10:12"). Pure: the validated policy, the request and its time in, text out. Only computed for a default deny, never
// on the allow path.
import { deviceFailure, firstFailure, type ConditionName } from './evaluate.js';
import type { Policy, Rule } from './schema.js';
import { parseHour, wallClock, WEEKDAYS, windowDay, type Weekday } from './time-window.js';
import type { DecisionRequest } from './types.js';

export interface NearMiss {
  index: number;
  rule: string;
  effect: Rule['effect'];
  failed: ConditionName;
  /** What the rule needs and what the request has, e.g. `only Mon–Fri 08:00–18:00 Europe/Berlin; now Sunday 10:12`. */
  detail: string;
}

export interface NearMisses {
  /** Rules that name the profile and could have granted it, in policy order, at most `limit`. */
  rules: NearMiss[];
  /** How many more such rules there are beyond `rules`. */
  more: number;
}

/** Rules listed in a refusal; the rest are counted (`policy test` shows them all). */
export const NEAR_MISS_LIMIT = 3;

// A deny rule that did not match is not a reason for being refused, so only rules that could grant are named.
const GRANTING: ReadonlySet<Rule['effect']> = new Set([
  'allow',
  'require_approval',
  'require_server',
  'require_server_session',
]);

const SHORT: Record<Weekday, string> = {
  monday: 'Mon',
  tuesday: 'Tue',
  wednesday: 'Wed',
  thursday: 'Thu',
  friday: 'Fri',
  saturday: 'Sat',
  sunday: 'Sun',
};

const capitalized = (day: Weekday) => day[0]!.toUpperCase() + day.slice(1);
const hhmm = (second: number) =>
  [Math.floor(second / 3600), Math.floor((second % 3600) / 60)].map((n) => String(n).padStart(2, '0')).join(':');

/** `[monday … friday, sunday]` → `Mon–Fri, Sun`: runs of three or more days become a range. */
export function daysText(days: readonly Weekday[]): string {
  const set = new Set(days);
  const parts: string[] = [];
  for (let i = 0; i < WEEKDAYS.length; i++) {
    if (!set.has(WEEKDAYS[i]!)) continue;
    let j = i;
    while (j + 1 < WEEKDAYS.length && set.has(WEEKDAYS[j + 1]!)) j++;
    if (j - i >= 2) parts.push(`${SHORT[WEEKDAYS[i]!]}–${SHORT[WEEKDAYS[j]!]}`);
    else for (let k = i; k <= j; k++) parts.push(SHORT[WEEKDAYS[k]!]);
    i = j;
  }
  return parts.join(', ');
}

function timeDetail(rule: Rule, time: Date): string {
  const t = rule.conditions.time!;
  const clock = wallClock(time, t.timezone);
  const start = t.hours ? parseHour(t.hours.start) : undefined;
  const end = t.hours ? parseHour(t.hours.end) : undefined;
  const window = [
    t.days && t.days.length > 0 ? daysText(t.days) : null,
    t.hours ? `${t.hours.start}–${t.hours.end}` : null,
    t.timezone ?? 'local time',
  ].filter((x) => x !== null);
  const day = windowDay(clock, start, end);
  const night = day !== clock.weekday ? ` (the night that began on ${capitalized(day)})` : '';
  return `only ${window.join(' ')}; now ${capitalized(clock.weekday)} ${hhmm(clock.second)}${night}`;
}

const DEVICE_NEEDS: Record<string, string> = {
  require_encryption: 'an encrypted disk',
  require_mdm: 'an MDM-enrolled device',
  require_mdm_compliant: 'an MDM-compliant device',
  require_firewall: 'an enabled firewall',
  min_os_version: 'a minimum OS version',
  allowed_os_types: 'one of its OS types',
};

function deviceDetail(rule: Rule, req: DecisionRequest): string {
  const which = deviceFailure(rule.conditions.device, req.device);
  if (which === 'posture' || req.device === undefined) {
    return 'has a device condition, and no device posture is known here, so it never holds';
  }
  return `needs ${DEVICE_NEEDS[which ?? ''] ?? `device condition ${which}`}, which this device is not known to meet`;
}

function detailFor(rule: Rule, failed: ConditionName, req: DecisionRequest): string {
  switch (failed) {
    case 'users':
      return `${req.user} is not among its users`;
    case 'mode':
      return `only in mode ${rule.conditions.mode!.join(', ')}; this request is mode ${req.mode}`;
    case 'time.days':
    case 'time.hours':
      return timeDetail(rule, req.time);
    case 'device':
      return deviceDetail(rule, req);
    case 'profiles':
      return `not for profile ${req.profile}`;
  }
}

const namesProfile = (rule: Rule, profile: string) => rule.conditions.profiles?.includes(profile) === true;

/** The granting rules for `req.profile` that did not match, with the first condition each failed. Meant for a
 * request the default deny refused: a rule that matches is not listed. */
export function nearMisses(policy: Policy, req: DecisionRequest, limit = NEAR_MISS_LIMIT): NearMisses {
  const rules: NearMiss[] = [];
  let more = 0;
  policy.rules.forEach((rule, index) => {
    if (!GRANTING.has(rule.effect) || !namesProfile(rule, req.profile)) return;
    const failed = firstFailure(rule, req);
    if (failed === null) return;
    if (rules.length >= limit) {
      more++;
      return;
    }
    rules.push({ index, rule: rule.name, effect: rule.effect, failed, detail: detailFor(rule, failed, req) });
  });
  return { rules, more };
}

/** One sentence for a refusal: `Nearly matched: a (why), b (why).` or that no rule names the profile. */
export function nearMissText(misses: NearMisses, profile: string): string {
  if (misses.rules.length === 0) return `No rule that could allow it names profile ${profile}.`;
  const listed = misses.rules.map((m) => `${m.rule} (${m.detail})`).join(', ');
  const more = misses.more > 0 ? `, and ${misses.more} more` : '';
  return `Nearly matched: ${listed}${more}.`;
}
