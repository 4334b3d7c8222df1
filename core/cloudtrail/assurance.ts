// The CloudTrail audits of DESIGN §15, over events already read (lookup.ts):
// - verify: each AssumeRole, stamped with a Sentinel SourceIdentity (`requestParameters.sourceIdentity`) or not, per
//   role (`requestParameters.roleArn`); unstamped ones are findings: they went around Sentinel; so are AssumeRoles
//   chained from a Sentinel session (the stamp AWS carried over is the caller's, in `userIdentity.sessionContext`);
// - untracked: each Sentinel stamp's session id looked up in the session table (by partition key); a stamp with no
//   session, or whose session belongs to another user or role, is a finding: forged;
// - calls: the API calls of one session (`userIdentity.sessionContext.sourceIdentity`).
// CloudTrail has no `userIdentity.sourceIdentity`; reading it was the seed's defect.
import { parseSourceIdentity } from '../identity/source-identity.js';
import { SENTINEL_PREFIX } from '../enforcement/generate.js';
import { field, type TrailEvent } from './lookup.js';
import type { Session } from '../sessions/types.js';

export interface AuditFinding {
  event_id: string;
  time: string;
  region: string;
  role_arn: string;
  source_identity: string | null;
  principal: string;
  why: string;
}

export interface RoleTally {
  role_arn: string;
  stamped: number;
  unstamped: number;
  /** Callers that assumed the role without a Sentinel stamp. */
  around_sentinel: string[];
}

function facts(e: TrailEvent) {
  return {
    event_id: e.event_id,
    time: e.time,
    region: e.region,
    role_arn: field(e.record, 'requestParameters', 'roleArn') ?? 'unknown',
    source_identity: field(e.record, 'requestParameters', 'sourceIdentity') ?? null,
    principal: field(e.record, 'userIdentity', 'arn') ?? field(e.record, 'userIdentity', 'type') ?? 'unknown',
  };
}

/**
 * The Sentinel stamp the caller's own role session carries, when it has one. AWS carries a SourceIdentity over into
 * every role the session assumes in turn (role chaining), so an AssumeRole made with Sentinel credentials is stamped
 * without Sentinel having decided it: only the first AssumeRole of a chain is Sentinel's.
 */
function inheritedStamp(e: TrailEvent): string | undefined {
  const s = field(e.record, 'userIdentity', 'sessionContext', 'sourceIdentity');
  return s?.startsWith(SENTINEL_PREFIX) ? s : undefined;
}

/** The facts of each AssumeRole event; an event that cannot be read becomes a finding instead. */
function* readableAssumeRoles(
  events: TrailEvent[],
  findings: AuditFinding[],
): Generator<[ReturnType<typeof facts>, inherited: string | undefined]> {
  for (const e of events) {
    if (e.event_name !== 'AssumeRole') continue;
    const f = facts(e);
    if (e.record) yield [f, inheritedStamp(e)];
    else findings.push({ ...f, why: `unreadable event: ${e.parse_error}` });
  }
}

export function verifyAssumeRoles(events: TrailEvent[]): { findings: AuditFinding[]; roles: RoleTally[] } {
  const roles = new Map<string, RoleTally>();
  const findings: AuditFinding[] = [];
  for (const [f, inherited] of readableAssumeRoles(events, findings)) {
    const tally = roles.get(f.role_arn) ?? { role_arn: f.role_arn, stamped: 0, unstamped: 0, around_sentinel: [] };
    roles.set(f.role_arn, tally);
    if (f.source_identity?.startsWith(SENTINEL_PREFIX) && f.source_identity !== inherited) {
      tally.stamped++;
      continue;
    }
    tally.unstamped++;
    if (!tally.around_sentinel.includes(f.principal)) tally.around_sentinel.push(f.principal);
    findings.push({
      ...f,
      why: inherited
        ? `AssumeRole chained from a Sentinel session (${inherited}): the stamp carries over, but Sentinel did not decide this role`
        : f.source_identity === null
          ? 'AssumeRole without a SourceIdentity'
          : 'AssumeRole with a SourceIdentity Sentinel did not set',
    });
  }
  return { findings, roles: [...roles.values()].sort((a, b) => a.role_arn.localeCompare(b.role_arn)) };
}

/** What the session table says of a session id (undefined: no such session). */
export type SessionFacts =
  | (Pick<Session, 'user' | 'status' | 'started_at' | 'expires_at' | 'updated_at'> &
      Partial<Pick<Session, 'role_arn' | 'source_identity'>>)
  | undefined;

/**
 * How far the daemon's clock and CloudTrail's may disagree. A record's times are the daemon's (or the revoking
 * admin's); an event's time is AWS's.
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * When Sentinel could have called AssumeRole for a session: only while it was active — from started_at until
 * expires_at, or until its revoke, end or expiry was written (updated_at: touches of a session that is no longer
 * active are refused, so nothing writes it after that). A stamp copied from CloudTrail and replayed after a revoke
 * names a real session of the right user and role; only its time gives it away.
 */
function lifetime(s: NonNullable<SessionFacts>): { from: number; until: number; why: string } {
  const started = Date.parse(s.started_at);
  const expires = Date.parse(s.expires_at);
  const closed = s.status === 'active' ? Number.NaN : Date.parse(s.updated_at);
  const until = Number.isNaN(closed) || closed > expires ? expires : closed;
  const why =
    until === closed ? `${s.status} at ${s.updated_at}` : `from ${s.started_at} to its expiry at ${s.expires_at}`;
  return { from: started - CLOCK_SKEW_MS, until: until + CLOCK_SKEW_MS, why };
}

export async function untrackedStamps(
  events: TrailEvent[],
  lookup: (sessionId: string) => Promise<SessionFacts>,
): Promise<{ findings: AuditFinding[]; checked: number }> {
  const findings: AuditFinding[] = [];
  const cache = new Map<string, Promise<SessionFacts>>();
  let checked = 0;
  for (const [f, inherited] of readableAssumeRoles(events, findings)) {
    if (!f.source_identity?.startsWith(SENTINEL_PREFIX)) continue;
    checked++;
    const parsed = parseSourceIdentity(f.source_identity);
    if (!parsed) {
      findings.push({ ...f, why: 'a sentinel- stamp Sentinel does not build (forged)' });
      continue;
    }
    let pending = cache.get(parsed.sessionId);
    if (!pending) cache.set(parsed.sessionId, (pending = lookup(parsed.sessionId)));
    const session = await pending;
    // A chained AssumeRole carries its session's stamp into another role, at any time the chain lasts: the stamp must
    // still name that user's real session (`audit verify` reports the chain itself), but its role and time are not
    // that session's.
    const chained = f.source_identity === inherited;
    const why = session ? mismatch(f, parsed.sessionId, parsed.user, session, chained) : undefined;
    if (!session) findings.push({ ...f, why: `no session ${parsed.sessionId} in the session table (forged)` });
    else if (why) findings.push({ ...f, why });
  }
  return { findings, checked };
}

/** Why a stamp naming an existing session is not that session's, or undefined when it is. */
function mismatch(
  f: ReturnType<typeof facts>,
  id: string,
  user: string,
  session: NonNullable<SessionFacts>,
  chained: boolean,
): string | undefined {
  if (session.user !== user) return `session ${id} belongs to user ${session.user}, not ${user} (forged)`;
  // The whole stamp, so a marker changed by hand (`breakglass` on a direct session) is caught too.
  if (session.source_identity && session.source_identity !== f.source_identity)
    return `session ${id} is stamped ${session.source_identity}, not ${f.source_identity} (forged)`;
  if (chained) return undefined;
  if (session.role_arn && session.role_arn !== f.role_arn)
    return `session ${id} is for role ${session.role_arn} (forged)`;
  const at = Date.parse(f.time);
  if (Number.isNaN(at)) return `the event has no time to check against session ${id}'s life`;
  const life = lifetime(session);
  if (Number.isNaN(life.from) || Number.isNaN(life.until))
    return `session ${id}'s record has no readable started_at or expires_at to check the event against`;
  if (at < life.from || at > life.until)
    return `AssumeRole at ${f.time} is outside session ${id}'s life (${life.why}): a replayed stamp (forged)`;
  return undefined;
}

export interface SessionCall {
  event_id: string;
  time: string;
  region: string;
  event_name: string;
  event_source: string;
  role_arn: string;
  source_identity: string;
}

export function sessionCalls(events: TrailEvent[], sessionId: string): SessionCall[] {
  const out: SessionCall[] = [];
  for (const e of events) {
    const si = field(e.record, 'userIdentity', 'sessionContext', 'sourceIdentity');
    if (!si || parseSourceIdentity(si)?.sessionId !== sessionId) continue;
    out.push({
      event_id: e.event_id,
      time: e.time,
      region: e.region,
      event_name: e.event_name,
      event_source: field(e.record, 'eventSource') ?? 'unknown',
      role_arn: field(e.record, 'userIdentity', 'sessionContext', 'sessionIssuer', 'arn') ?? 'unknown',
      source_identity: si,
    });
  }
  return out;
}
