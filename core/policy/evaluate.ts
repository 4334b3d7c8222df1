// The reference semantics of a policy (DESIGN §5.2): rules in order, the first whose conditions all hold decides,
// no match is an explicit default deny. Written for clarity, not speed; compile.ts must agree with it exactly
// (a property test holds it to that).
import { parseDuration } from '../duration.js';
import { MODES, type DevicePosture } from '../types.js';
import type { DeviceCondition, Policy, Rule, TimeCondition } from './schema.js';
import { inHours, parseHour, wallClock, windowDay } from './time-window.js';
import type { Decision, DecisionRequest, DenialCode } from './types.js';

/** Where a decision came from, as decision logs name it. */
export interface PolicyMeta {
  source: string;
  version: string | null;
}

export type ConditionName = 'profiles' | 'users' | 'mode' | 'time.days' | 'time.hours' | 'device';

/** A request that cannot be evaluated is denied, never guessed at. */
export function requestProblem(req: DecisionRequest): string | null {
  if (!req || typeof req !== 'object') return 'no request';
  if (typeof req.user !== 'string' || req.user.length === 0) return 'no user name';
  if (typeof req.profile !== 'string' || req.profile.length === 0) return 'no profile';
  if (!(req.time instanceof Date) || Number.isNaN(req.time.getTime())) return 'no valid request time';
  if (!MODES.includes(req.mode)) return 'unknown mode';
  if (req.sessionStore !== 'memory' && req.sessionStore !== 'dynamodb') return 'unknown session store';
  return null;
}

const listMisses = <T>(list: readonly T[] | undefined, value: T) =>
  list !== undefined && list.length > 0 && !list.includes(value);

/** Segment-wise numeric comparison (`14.2.1` vs `14.10`), as the original compared OS versions. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .split(/[.+-]/)
      .filter((p) => p.length > 0)
      .map((p) => Number(/^\d*/.exec(p)![0] || 0));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function hasDeviceRequirements(c: DeviceCondition | undefined): boolean {
  return (
    c !== undefined &&
    (c.require_encryption === true ||
      c.require_mdm === true ||
      c.require_mdm_compliant === true ||
      c.require_firewall === true ||
      c.min_os_version !== undefined ||
      (c.allowed_os_types !== undefined && c.allowed_os_types.length > 0))
  );
}

/** The first device requirement the posture does not meet; unknown facts (and a missing posture) never meet one. */
export function deviceFailure(c: DeviceCondition | undefined, posture: DevicePosture | undefined): string | null {
  if (!hasDeviceRequirements(c)) return null;
  if (!posture || typeof posture !== 'object') return 'posture';
  if (c!.require_encryption && posture.encrypted !== true) return 'require_encryption';
  if (c!.require_mdm && posture.mdm_enrolled !== true) return 'require_mdm';
  if (c!.require_mdm_compliant && posture.mdm_compliant !== true) return 'require_mdm_compliant';
  if (c!.require_firewall && posture.firewall_enabled !== true) return 'require_firewall';
  if (c!.min_os_version !== undefined) {
    if (typeof posture.os_version !== 'string' || posture.os_version.length === 0) return 'min_os_version';
    if (compareVersions(posture.os_version, c!.min_os_version) < 0) return 'min_os_version';
  }
  if (c!.allowed_os_types !== undefined && c!.allowed_os_types.length > 0) {
    const os = typeof posture.os_type === 'string' ? posture.os_type.toLowerCase() : undefined;
    if (!os || !c!.allowed_os_types.some((t) => t.toLowerCase() === os)) return 'allowed_os_types';
  }
  return null;
}

export function timeFailure(t: TimeCondition | undefined, now: Date): 'time.days' | 'time.hours' | null {
  if (!t) return null;
  const clock = wallClock(now, t.timezone);
  const start = t.hours ? parseHour(t.hours.start) : undefined;
  const end = t.hours ? parseHour(t.hours.end) : undefined;
  if (t.days && t.days.length > 0 && !t.days.includes(windowDay(clock, start, end))) return 'time.days';
  if (start !== undefined && end !== undefined && !inHours(clock.second, start, end)) return 'time.hours';
  return null;
}

/** The first condition of `rule` that the request fails, or null when the rule matches. Empty lists match anything. */
export function firstFailure(rule: Rule, req: DecisionRequest): ConditionName | null {
  const c = rule.conditions;
  if (listMisses(c.profiles, req.profile)) return 'profiles';
  if (listMisses(c.users, req.user)) return 'users';
  if (listMisses(c.mode, req.mode)) return 'mode';
  const time = timeFailure(c.time, req.time);
  if (time) return time;
  if (deviceFailure(c.device, req.device)) return 'device';
  return null;
}

export function defaultDeny(
  meta: PolicyMeta,
  reason = 'no matching rule',
  errorCode: DenialCode = 'PolicyDenied',
): Decision {
  return {
    allowed: false,
    effect: 'default_deny',
    rule: null,
    ruleIndex: -1,
    reason,
    errorCode,
    policySource: meta.source,
    policyVersion: meta.version,
  };
}

// max_server_duration in milliseconds, parsed once per rule (rules are immutable once validated).
const durations = new WeakMap<Rule, number | undefined>();
function maxDurationMs(rule: Rule): number | undefined {
  if (rule.max_server_duration === undefined) return undefined;
  if (!durations.has(rule)) durations.set(rule, parseDuration(rule.max_server_duration));
  return durations.get(rule);
}

/** What the matched rule's effect means for this request. */
export function decisionFor(rule: Rule, index: number, req: DecisionRequest, meta: PolicyMeta): Decision {
  const server = req.mode === 'server';
  const persistent = req.sessionStore !== 'memory';
  let allowed = false;
  let errorCode: DenialCode | undefined;
  let fallback: string;
  let requires: Decision['requires'];
  switch (rule.effect) {
    case 'allow':
      allowed = true;
      fallback = `allowed by rule "${rule.name}"`;
      break;
    case 'deny':
      errorCode = 'PolicyDenied';
      fallback = `denied by rule "${rule.name}"`;
      break;
    case 'require_approval':
      // Approvals are future work (DESIGN §10); until they exist this is a denial that says what would be needed.
      errorCode = 'ApprovalRequired';
      fallback = `rule "${rule.name}" requires an approved request`;
      requires = { approval: true };
      break;
    case 'require_server':
      allowed = server;
      if (allowed) fallback = `allowed in server mode by rule "${rule.name}"`;
      else {
        errorCode = 'ServerModeRequired';
        fallback = `rule "${rule.name}" allows this only in server mode`;
        requires = { serverMode: true };
      }
      break;
    case 'require_server_session': {
      // session_table is where admins list and revoke these sessions; kept anywhere else, nobody there sees them.
      const table = rule.session_table;
      const tableOk = table === undefined || (persistent && req.sessionTable === table);
      allowed = server && persistent && tableOk;
      if (allowed) fallback = `allowed with a tracked server session by rule "${rule.name}"`;
      else {
        errorCode = 'ServerModeRequired';
        fallback =
          table === undefined
            ? `rule "${rule.name}" allows this only in server mode with a persistent session store`
            : `rule "${rule.name}" allows this only in server mode with sessions in DynamoDB table "${table}"` +
              (persistent && req.sessionTable !== undefined
                ? ` (this daemon keeps them in "${req.sessionTable}")`
                : '');
        requires = {
          ...(server ? {} : { serverMode: true }),
          ...(persistent && tableOk ? {} : { serverSessionStore: true }),
          ...(tableOk ? {} : { sessionTable: table }),
        };
      }
      break;
    }
  }
  const decision: Decision = {
    allowed,
    effect: rule.effect,
    rule: rule.name,
    ruleIndex: index,
    reason: rule.reason || fallback!,
    policySource: meta.source,
    policyVersion: meta.version,
  };
  if (errorCode) decision.errorCode = errorCode;
  const max = maxDurationMs(rule);
  if (max !== undefined) decision.maxDurationMs = max;
  if (rule.session_table !== undefined) decision.sessionTable = rule.session_table;
  if (requires) decision.requires = requires;
  return decision;
}

/** Linear first-match evaluation: the reference every faster evaluator is checked against. */
export function evaluate(policy: Policy, req: DecisionRequest, meta: PolicyMeta): Decision {
  const problem = requestProblem(req);
  if (problem) return defaultDeny(meta, `invalid request: ${problem}`);
  let skipped: string[] | undefined;
  for (let i = 0; i < policy.rules.length; i++) {
    const rule = policy.rules[i]!;
    const failed = firstFailure(rule, req);
    if (failed === null) return withSkippedForPosture(decisionFor(rule, i, req, meta), skipped);
    if (failed === 'device' && req.device === undefined) (skipped ??= []).push(rule.name);
  }
  return withSkippedForPosture(defaultDeny(meta), skipped);
}

/** Names the rules passed over only because no device posture was known (the decision log says so). */
export function withSkippedForPosture(decision: Decision, skipped: string[] | undefined): Decision {
  if (skipped) decision.skippedForPosture = skipped;
  return decision;
}

export interface RuleTrace {
  index: number;
  rule: string;
  effect: Rule['effect'];
  /** null for the deciding rule. */
  failed: ConditionName | null;
  detail: string;
}

export interface Explanation {
  decision: Decision;
  /** Every rule up to and including the deciding one. */
  trace: RuleTrace[];
}

const list = (xs: readonly string[]) => `[${xs.join(', ')}]`;
const clockText = (second: number) =>
  [Math.floor(second / 3600), Math.floor((second % 3600) / 60), second % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');

const DEVICE_TEXT: Record<string, string> = {
  posture: 'no device posture is known, and device conditions fail without one',
  require_encryption: 'the disk is not known to be encrypted',
  require_mdm: 'the device is not known to be MDM-enrolled',
  require_mdm_compliant: 'the device is not known to be MDM-compliant',
  require_firewall: 'the firewall is not known to be enabled',
  min_os_version: 'the OS version is unknown or below min_os_version',
  allowed_os_types: 'the OS type is unknown or not in allowed_os_types',
};

function failureDetail(rule: Rule, failed: ConditionName, req: DecisionRequest): string {
  const c = rule.conditions;
  switch (failed) {
    case 'profiles':
      return `profile "${req.profile}" is not in ${list(c.profiles!)}`;
    case 'users':
      return `user "${req.user}" is not in ${list(c.users!)}`;
    case 'mode':
      return `mode ${req.mode} is not in ${list(c.mode!)}`;
    case 'time.days':
    case 'time.hours': {
      const t = c.time!;
      const clock = wallClock(req.time, t.timezone);
      const zone = t.timezone ?? 'local time';
      if (failed === 'time.hours') {
        return `it is ${clockText(clock.second)} in ${zone}, outside ${t.hours!.start}-${t.hours!.end}`;
      }
      const start = t.hours ? parseHour(t.hours.start) : undefined;
      const end = t.hours ? parseHour(t.hours.end) : undefined;
      const day = windowDay(clock, start, end);
      const night = day !== clock.weekday ? ` (the night that began on ${day})` : '';
      return `it is ${clock.weekday} ${clockText(clock.second)} in ${zone}${night}; days are ${list(t.days!)}`;
    }
    case 'device': {
      const which = deviceFailure(c.device, req.device)!;
      return DEVICE_TEXT[which] ?? `device condition ${which} is not met`;
    }
  }
}

/** Linear evaluation with the reason each earlier rule did not match (for `policy test`). */
export function explain(policy: Policy, req: DecisionRequest, meta: PolicyMeta): Explanation {
  const problem = requestProblem(req);
  if (problem) return { decision: defaultDeny(meta, `invalid request: ${problem}`), trace: [] };
  const trace: RuleTrace[] = [];
  for (let i = 0; i < policy.rules.length; i++) {
    const rule = policy.rules[i]!;
    const failed = firstFailure(rule, req);
    if (failed === null) {
      trace.push({ index: i, rule: rule.name, effect: rule.effect, failed: null, detail: 'all conditions hold' });
      return { decision: decisionFor(rule, i, req, meta), trace };
    }
    trace.push({ index: i, rule: rule.name, effect: rule.effect, failed, detail: failureDetail(rule, failed, req) });
  }
  return { decision: defaultDeny(meta), trace };
}
