// Revocation that reaches AWS (DESIGN §15): one inline policy `sentinel-revoke-<session id>` on the session's role,
// denying everything to credentials stamped with that session. One policy per revocation needs no read-modify-write,
// so two admins revoking two sessions of one role never overwrite each other. All inline policies of a role share
// 10,240 characters: a revocation that would not fit first prunes the policies of sessions whose credentials have
// all lapsed, and if it still does not fit it fails before writing anything.
import { SentinelError } from '../errors.js';
import { REVOCATION_POLICY_NAME, revocationPolicy, revocationPolicyName } from './generate.js';
import { roleNameOf, type InlinePolicies } from './iam.js';
import { STS_CHAINED_MAX_SECONDS, STS_MAX_SECONDS } from '../issuer/sts-duration.js';

/** IAM's quota for all inline policies of one role, counted without whitespace. */
export const ROLE_INLINE_BUDGET = 10_240;

/** What revocation needs of a session record (DESIGN §6); older records may lack the AWS fields. */
export interface RevocableSession {
  id: string;
  user: string;
  status: string;
  expires_at: string;
  updated_at: string;
  role_arn?: string;
  source_identity?: string;
  credentials_valid_until?: string;
}

/** Clock skew between the revoking admin, the daemon and AWS, and an AssumeRole in flight when the revoke landed. */
const SLACK_MS = 5 * 60_000;

export type SessionLookup = (id: string) => Promise<RevocableSession | undefined>;

export interface AwsRevocation {
  role_arn: string;
  role_name: string;
  policy_name: string;
  /** Characters the role's inline policies use after the write. */
  inline_chars: number;
  pruned: string[];
}

export interface PruneResult {
  role_name: string;
  deleted: string[];
  kept: Array<{ policy_name: string; why: string }>;
}

/** IAM does not count whitespace against policy size quotas. */
export function policyChars(document: string): number {
  return document.replace(/\s/g, '').length;
}

/** A revocation policy's text as written to IAM: compact, so it costs the fewest characters of the budget. */
export function revocationDocument(sessionId: string): string {
  return JSON.stringify(revocationPolicy(sessionId));
}

/**
 * When every credential carrying the session's stamp has surely lapsed, or undefined while it is still active.
 * credentials_valid_until alone is not enough: the daemon records it with coalesced touches (every few seconds),
 * and a touch of a session that is no longer active is refused, so credentials issued just before the revoke may
 * never reach the record. Those were issued before the session stopped (updated_at, written by the revoke, end or
 * expiry; nothing writes the record after that) and live at most STS's 12 hours. A session chained from the
 * recorded credentials into the same role carries the same stamp for up to an hour more.
 */
export function credentialsLapseAt(session: RevocableSession, now: Date): { at: number; why: string } | undefined {
  const expires = Date.parse(session.expires_at);
  const stopped =
    session.status !== 'active' ? Date.parse(session.updated_at) : expires <= now.getTime() ? expires : Number.NaN;
  if (Number.isNaN(stopped)) return undefined;
  const recorded = session.credentials_valid_until ? Date.parse(session.credentials_valid_until) : Number.NaN;
  const lastIssued = stopped + STS_MAX_SECONDS * 1000 + SLACK_MS;
  const chained = Number.isNaN(recorded) ? Number.NaN : recorded + STS_CHAINED_MAX_SECONDS * 1000;
  const at = Number.isNaN(chained) ? lastIssued : Math.max(lastIssued, chained);
  const stop = `${session.status === 'active' ? 'expired' : session.status} at ${new Date(stopped).toISOString()}`;
  return {
    at,
    why:
      at === lastIssued
        ? `${stop}: credentials issued just before may stay valid until ${new Date(at).toISOString()} (STS's 12 hours)`
        : `credentials valid until ${session.credentials_valid_until}, and a session chained from them until ${new Date(at).toISOString()}`,
  };
}

/**
 * Whether every credential of a session has lapsed at `now`. Unknown → false (kept): a policy is only deleted when
 * the record says its credentials cannot still be in use.
 */
export function lapsed(session: RevocableSession | undefined, now: Date): { lapsed: boolean; why: string } {
  if (!session)
    return { lapsed: false, why: 'no session record with this id (delete it by hand if you know it lapsed)' };
  const lapse = credentialsLapseAt(session, now);
  if (!lapse) return { lapsed: false, why: 'the session is still active' };
  if (lapse.at > now.getTime()) return { lapsed: false, why: lapse.why };
  return { lapsed: true, why: '' };
}

/** Deletes the revocation policies on one role whose sessions' credentials have all lapsed. */
export async function pruneRole(
  iam: InlinePolicies,
  roleName: string,
  lookup: SessionLookup,
  now: Date = new Date(),
): Promise<PruneResult> {
  const result: PruneResult = { role_name: roleName, deleted: [], kept: [] };
  for (const name of await iam.list(roleName)) {
    const id = REVOCATION_POLICY_NAME.exec(name)?.[1];
    if (!id) continue;
    const verdict = lapsed(await lookup(id), now);
    if (!verdict.lapsed) {
      result.kept.push({ policy_name: name, why: verdict.why });
      continue;
    }
    if (await iam.delete(roleName, name)) result.deleted.push(name);
  }
  return result;
}

async function inlineChars(iam: InlinePolicies, roleName: string, except: string): Promise<number> {
  let total = 0;
  for (const name of await iam.list(roleName)) {
    if (name === except) continue;
    total += policyChars((await iam.get(roleName, name)) ?? '');
  }
  return total;
}

/**
 * Writes the session's revocation policy to its role. The caller revoked the session in the store first: whatever
 * happens here, the store says revoked.
 */
export async function revokeInAws(
  iam: InlinePolicies,
  session: RevocableSession,
  lookup: SessionLookup,
  now: Date = new Date(),
): Promise<AwsRevocation> {
  if (!session.role_arn) {
    throw new SentinelError('AwsRevocationFailed', `session ${session.id} names no role (no role_arn on its record)`, {
      hint: 'Only sessions that were issued role credentials can be revoked in AWS; the store revocation stands.',
    });
  }
  const roleName = roleNameOf(session.role_arn);
  const policyName = revocationPolicyName(session.id);
  const document = revocationDocument(session.id);
  const size = policyChars(document);
  let used = await inlineChars(iam, roleName, policyName);
  let pruned: string[] = [];
  if (used + size > ROLE_INLINE_BUDGET) {
    pruned = (await pruneRole(iam, roleName, lookup, now)).deleted;
    used = await inlineChars(iam, roleName, policyName);
    if (used + size > ROLE_INLINE_BUDGET) {
      throw new SentinelError(
        'InlinePolicyBudgetExceeded',
        `role ${roleName} has ${used} of ${ROLE_INLINE_BUDGET} inline-policy characters in use; the revocation needs ${size} more` +
          (pruned.length ? ` (after pruning ${pruned.length} lapsed revocation${pruned.length === 1 ? '' : 's'})` : ''),
        {
          hint: 'The revocation policy was not written. Remove inline policies the role no longer needs, or wait until revoked sessions lapse and run `sentinel enforce prune`.',
          details: { role_name: roleName, used, needed: size, budget: ROLE_INLINE_BUDGET, pruned },
        },
      );
    }
  }
  await iam.put(roleName, policyName, document);
  return {
    role_arn: session.role_arn,
    role_name: roleName,
    policy_name: policyName,
    inline_chars: used + size,
    pruned,
  };
}
