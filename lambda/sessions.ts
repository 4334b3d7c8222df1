// The vendor's sessions (DESIGN §6, §17): opened by a caller (`POST /v1/sessions`) or implicit per (caller, profile)
// for `GET /v1/credentials?profile=`; each credential request is session read → authorize() → touch → answer, as in
// the daemon. A session belongs to the principal ARN that opened it: anyone else asking for it is told it does not
// exist. Implicit sessions have ids derived from (caller, profile, time window), so every Lambda container finds the
// same one with one consistent read, and a revoked one stays revoked until it would have expired.
import { createHash } from 'node:crypto';
import type { DecisionEntry } from '../core/audit/types.js';
import { authorize } from '../core/authorize/authorize.js';
import { decisionEntry, refused } from '../core/authorize/decision-entry.js';
import type { Authorized, Ports, Principal } from '../core/authorize/types.js';
import { approvalEntryFor, isApprover } from '../core/approvals/entry.js';
import { isSentinelError } from '../core/errors.js';
import { issuedFacts } from '../core/sessions/record.js';
import type { Session } from '../core/sessions/types.js';
import type { Mode } from '../core/types.js';
import { credentialsBody, type CredentialsBody } from '../core/issuer/credentials-body.js';
import { sessionRefusal, unknownSession } from '../core/sessions/refusals.js';
import type { VendorParts } from './parts.js';
import { requireProfile } from './profiles.js';

export interface OpenInput {
  profile: string;
  mode: Extract<Mode, 'server' | 'cli'>;
  ttlMs?: number;
}

export interface VendorSessions {
  open(principal: Principal, input: OpenInput): Promise<{ session: Session; region: string }>;
  /** `GET /v1/credentials?session=`: a session the caller opened. */
  credentials(principal: Principal, sessionId: string): Promise<CredentialsBody>;
  /** `GET /v1/credentials?profile=`: the implicit session of (caller, profile). */
  implicit(principal: Principal, profile: string): Promise<CredentialsBody>;
  get(principal: Principal, id: string): Promise<Session>;
  revoke(principal: Principal, id: string, reason: string): Promise<Session>;
  end(principal: Principal, id: string): Promise<Session>;
}

/** The implicit session of (caller, profile) in the ttl window that contains `now`: its id and its end. */
export function implicitSession(arn: string, profile: string, ttlMs: number, now: Date): { id: string; end: Date } {
  const window = Math.floor(now.getTime() / ttlMs);
  const id = createHash('sha256').update(`implicit\n${arn}\n${profile}\n${window}`).digest('hex').slice(0, 16);
  return { id, end: new Date((window + 1) * ttlMs) };
}

export function createVendorSessions(parts: VendorParts): VendorSessions {
  const { sessions: store, now, log, config } = parts;
  const ports: Ports = {
    policy: parts.policy,
    overrides: parts.overrides,
    issuer: parts.issuer,
    decisions: parts.decisions,
    clock: now,
    settings: {
      credentialDurationMs: config.credentials.durationMs,
      sessionStore: 'dynamodb',
      sessionTable: config.sessions.table,
      server: 'vendor',
    },
  };

  const entry = (event: DecisionEntry['event'], principal: Principal, profile: string | null, mode: Mode | null) =>
    decisionEntry({ event, at: now(), requestId: parts.newId(), profile, mode, user: principal.user });

  /** A step before or after authorize(): its refusal is logged on the entry (authorize() logs its own). */
  async function refusing<T>(e: DecisionEntry, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      parts.decisions.write(refused(e, err));
      throw err;
    }
  }

  const decide = (e: DecisionEntry, principal: Principal, sessionId: string, profile: string, mode: Mode) =>
    authorize({ principal, profile, mode, sessionId, requestId: e.request_id, context: { event: e.event } }, ports);

  /** Records what was issued; a failed touch is logged, never a refusal (the credentials were decided and logged). */
  async function touch(id: string, a: Authorized): Promise<void> {
    try {
      await store.touch(id, now(), 1, a.fromCache ? undefined : issuedFacts(a));
    } catch (err) {
      log.warn(
        { event: 'session_touch_failed', session_id: id, code: isSentinelError(err) ? err.code : 'error' },
        'touch failed',
      );
    }
  }

  /** The caller's own session, or SessionUnknown: another principal's session is not revealed to exist. */
  async function owned(principal: Principal, id: string): Promise<Session> {
    const s = await store.get(id);
    if (!s || s.owner_arn !== principal.arn) throw unknownSession(id);
    return s;
  }

  /** The session's owner, or an approver of its profile (who may also revoke it, DESIGN §10). */
  async function ownedOrApproved(principal: Principal, id: string): Promise<Session> {
    const s = await store.get(id);
    if (s && s.owner_arn === principal.arn) return s;
    const policy = s ? parts.policy.policyFor?.(s.profile) : null;
    const approvals = policy ? approvalEntryFor(policy, s!.profile) : null;
    if (!s || !approvals || !isApprover(approvals, principal.arn, config.identity.trustedSessionRoles))
      throw unknownSession(id);
    return s;
  }

  function active(s: Session): Session {
    if (s.status === 'active' && Date.parse(s.expires_at) > now().getTime()) return s;
    if (s.status === 'active') {
      parts.issuer.forget(s.id);
      throw sessionRefusal({ ...s, status: 'expired' });
    }
    parts.issuer.forget(s.id);
    throw sessionRefusal(s);
  }

  return {
    async open(principal, input) {
      const e = entry('session_open', principal, input.profile, input.mode);
      const profile = await refusing(e, async () => requireProfile(parts.policy, input.profile));
      const id = parts.newId();
      e.session_id = id;
      const authorized = await decide(e, principal, id, input.profile, input.mode);
      const at = now();
      const ttlMs = Math.min(input.ttlMs ?? config.sessions.ttlMs, config.sessions.ttlMs);
      const session = await refusing(e, () =>
        store.create({
          id,
          user: principal.user,
          profile: input.profile,
          mode: input.mode,
          started_at: at.toISOString(),
          expires_at: new Date(at.getTime() + ttlMs).toISOString(),
          server_instance_id: parts.instanceId,
          owner_arn: principal.arn,
          ...issuedFacts(authorized),
        }),
      ).catch((err) => {
        parts.issuer.forget(id);
        throw err;
      });
      return { session, region: profile.region };
    },

    async credentials(principal, sessionId) {
      const e = entry('credentials', principal, null, null);
      e.session_id = sessionId;
      const session = await refusing(e, async () => {
        const s = active(await owned(principal, sessionId));
        e.profile = s.profile;
        e.mode = s.mode;
        return s;
      });
      const authorized = await decide(e, principal, session.id, session.profile, session.mode);
      await touch(session.id, authorized);
      return credentialsBody(authorized.credentials);
    },

    async implicit(principal, profileName) {
      const e = entry('credential_process', principal, profileName, 'credential_process');
      const at = now();
      const { id, end } = implicitSession(principal.arn, profileName, config.sessions.ttlMs, at);
      e.session_id = id;
      const existing = await refusing(e, async () => {
        requireProfile(parts.policy, profileName);
        const s = await store.get(id);
        if (s && s.owner_arn !== principal.arn) throw unknownSession(id);
        return s ? active(s) : undefined;
      });
      const authorized = await decide(e, principal, id, profileName, 'credential_process');
      if (!existing) {
        await refusing({ ...e }, async () => {
          try {
            await store.create({
              id,
              user: principal.user,
              profile: profileName,
              mode: 'credential_process',
              started_at: at.toISOString(),
              expires_at: end.toISOString(),
              server_instance_id: parts.instanceId,
              owner_arn: principal.arn,
              ...issuedFacts(authorized),
            });
          } catch (err) {
            // Another container created it first: use it if it is still active and ours.
            if (!isSentinelError(err) || err.code !== 'Conflict') {
              parts.issuer.forget(id);
              throw err;
            }
            active(await owned(principal, id));
          }
        });
        return credentialsBody(authorized.credentials);
      }
      await touch(id, authorized);
      return credentialsBody(authorized.credentials);
    },

    async get(principal, id) {
      const s = await ownedOrApproved(principal, id);
      return s.status === 'active' && Date.parse(s.expires_at) <= now().getTime() ? { ...s, status: 'expired' } : s;
    },

    async revoke(principal, id, reason) {
      await ownedOrApproved(principal, id);
      const revoked = await store.revoke(id, principal.arn, reason);
      parts.issuer.forget(id);
      log.info({ event: 'session_revoked', session_id: id, revoked_by: principal.arn }, 'session revoked');
      return revoked;
    },

    async end(principal, id) {
      const s = await owned(principal, id);
      if (s.status !== 'active') return s;
      const ended = await store.end(id);
      parts.issuer.forget(id);
      return ended;
    },
  };
}
