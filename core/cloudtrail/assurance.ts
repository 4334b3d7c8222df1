// The CloudTrail audits of DESIGN §15, over events already read (lookup.ts):
// - verify: each AssumeRole, stamped with a Sentinel SourceIdentity (`requestParameters.sourceIdentity`) or not, per
//   role (`requestParameters.roleArn`); unstamped ones are findings: they went around Sentinel;
// - untracked: each Sentinel stamp's session id looked up in the session table (by partition key); a stamp with no
//   session, or whose session belongs to another user or role, is a finding: forged;
// - calls: the API calls of one session (`userIdentity.sessionContext.sourceIdentity`).
// CloudTrail has no `userIdentity.sourceIdentity`; reading it was the seed's defect.
import { parseSourceIdentity } from '../identity/source-identity.js';
import { SENTINEL_PREFIX } from '../enforcement/generate.js';
import { field, type TrailEvent } from './lookup.js';

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

/** The facts of each AssumeRole event; an event that cannot be read becomes a finding instead. */
function* readableAssumeRoles(events: TrailEvent[], findings: AuditFinding[]): Generator<ReturnType<typeof facts>> {
  for (const e of events) {
    if (e.event_name !== 'AssumeRole') continue;
    const f = facts(e);
    if (e.record) yield f;
    else findings.push({ ...f, why: `unreadable event: ${e.parse_error}` });
  }
}

export function verifyAssumeRoles(events: TrailEvent[]): { findings: AuditFinding[]; roles: RoleTally[] } {
  const roles = new Map<string, RoleTally>();
  const findings: AuditFinding[] = [];
  for (const f of readableAssumeRoles(events, findings)) {
    const tally = roles.get(f.role_arn) ?? { role_arn: f.role_arn, stamped: 0, unstamped: 0, around_sentinel: [] };
    roles.set(f.role_arn, tally);
    if (f.source_identity?.startsWith(SENTINEL_PREFIX)) {
      tally.stamped++;
      continue;
    }
    tally.unstamped++;
    if (!tally.around_sentinel.includes(f.principal)) tally.around_sentinel.push(f.principal);
    findings.push({
      ...f,
      why:
        f.source_identity === null
          ? 'AssumeRole without a SourceIdentity'
          : 'AssumeRole with a SourceIdentity Sentinel did not set',
    });
  }
  return { findings, roles: [...roles.values()].sort((a, b) => a.role_arn.localeCompare(b.role_arn)) };
}

/** What the session table says of a session id (undefined: no such session). */
export type SessionFacts = { user: string; role_arn?: string } | undefined;

export async function untrackedStamps(
  events: TrailEvent[],
  lookup: (sessionId: string) => Promise<SessionFacts>,
): Promise<{ findings: AuditFinding[]; checked: number }> {
  const findings: AuditFinding[] = [];
  const cache = new Map<string, Promise<SessionFacts>>();
  let checked = 0;
  for (const f of readableAssumeRoles(events, findings)) {
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
    if (!session) findings.push({ ...f, why: `no session ${parsed.sessionId} in the session table (forged)` });
    else if (session.user !== parsed.user)
      findings.push({
        ...f,
        why: `session ${parsed.sessionId} belongs to user ${session.user}, not ${parsed.user} (forged)`,
      });
    else if (session.role_arn && f.role_arn !== 'unknown' && session.role_arn !== f.role_arn)
      findings.push({ ...f, why: `session ${parsed.sessionId} is for role ${session.role_arn} (forged)` });
  }
  return { findings, checked };
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
