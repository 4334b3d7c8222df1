// authorize(): steps 3–5 of one credential request (DESIGN §3.4, §3.5) for any front end — decide, look for an
// override, cap the duration, issue, record. The front end has authenticated the caller and read the session (steps
// 1–2) and shapes the answer (step 6); nothing here knows about HTTP, pids, tokens or hostnames.
import { assertRecording } from '../audit/gate.js';
import type { DecisionEntry } from '../audit/types.js';
import { SentinelError } from '../errors.js';
import type { Marker, VendRequest } from '../issuer/types.js';
import { clampStsDuration, STS_CHAINED_MAX_SECONDS } from '../issuer/sts-duration.js';
import { nearMisses, nearMissText } from '../policy/near-miss.js';
import type { Decision, DecisionRequest } from '../policy/types.js';
import type { Mode } from '../types.js';
import { policyTestHint, shellWord } from '../policy/test-hint.js';
import { decisionEntry, refused } from './decision-entry.js';
import type { Authorized, AuthorizeRequest, Override, OverrideKind, Ports } from './types.js';

/** Credentials under an override never outlive it by more than this: STS's shortest lifetime (DESIGN §10, §11). */
export const OVERRIDE_GRACE_MS = 15 * 60_000;

const OVERRIDE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Which override kinds may lift which effects (DESIGN §10, §11). A default deny is the policy's "no" as much as a deny
 * rule, and a break-glass event exists only because the policy's `breakglass` entry names this user and profile; an
 * approval lifts nothing but `require_approval`. Nothing lifts a mode requirement, a missing policy or a malformed
 * request. */
const LIFTS: Partial<Record<Decision['effect'], readonly OverrideKind[]>> = {
  require_approval: ['approved', 'breakglass'],
  deny: ['breakglass'],
  default_deny: ['breakglass'],
};

export async function authorize(request: AuthorizeRequest, ports: Ports): Promise<Authorized> {
  const now = ports.clock();
  const entry = decisionEntry({
    event: request.context?.event ?? 'credentials',
    at: now,
    requestId: request.requestId,
    profile: request.profile,
    mode: request.mode,
    user: request.principal.user,
    sessionId: request.sessionId,
    peer: { pid: request.context?.peer_pid ?? null, uid: request.context?.peer_uid ?? null },
  });
  try {
    const decision = decide(request, ports, now, entry);
    const override = decision.allowed ? null : await overrideFor(request, decision, ports, now);
    if (!decision.allowed && !override) throw denialError(decision, request, ports, now);
    if (override?.kind === 'approved') entry.approved_request_id = override.id;
    if (override?.kind === 'breakglass') entry.break_glass_event_id = override.id;
    const marker: Marker = override?.kind ?? 'direct';
    const durationSeconds = durationFor(ports.settings.credentialDurationMs, decision, override, now);
    entry.duration_seconds = durationSeconds;
    assertRecording(ports.decisions); // no credentials without their record (DESIGN §14)
    // Built without spreads: this runs on every credential request, and an object spread costs more than the rest of
    // a cache hit in the issuer.
    const vend: VendRequest = {
      sessionId: request.sessionId,
      requestId: request.requestId,
      profile: request.profile,
      user: request.principal.user,
      marker,
      durationSeconds,
    };
    if (override?.mfa === true) vend.mfa = true;
    const vended = await ports.issuer.issue(vend);
    entry.source_identity = vended.sourceIdentity;
    entry.role_arn = vended.roleArn;
    entry.outcome = 'allow';
    ports.decisions.write(entry);
    return {
      credentials: vended.credentials,
      sourceIdentity: vended.sourceIdentity,
      roleArn: vended.roleArn,
      marker,
      override,
      decision,
      durationSeconds,
      fromCache: vended.fromCache,
    };
  } catch (e) {
    ports.decisions.write(refused(entry, e));
    throw e;
  }
}

function decisionRequest(request: AuthorizeRequest, ports: Ports, now: Date): DecisionRequest {
  const device = request.device ?? ports.posture?.posture(request) ?? undefined;
  const decisionRequest: DecisionRequest = {
    user: request.principal.user,
    profile: request.profile,
    time: now,
    mode: request.mode,
    sessionStore: ports.settings.sessionStore,
  };
  if (ports.settings.sessionTable !== undefined) decisionRequest.sessionTable = ports.settings.sessionTable;
  if (device) decisionRequest.device = device;
  return decisionRequest;
}

function decide(request: AuthorizeRequest, ports: Ports, now: Date, entry: DecisionEntry): Decision {
  const decision = ports.policy.decide(decisionRequest(request, ports, now));
  entry.effect = decision.effect;
  entry.rule = decision.rule;
  entry.rule_index = decision.ruleIndex;
  entry.reason = withPostureNote(decision);
  entry.policy_source = decision.policySource;
  entry.policy_version = decision.policyVersion;
  return decision;
}

/** A rule passed over only because no device posture is known says so in the log: otherwise a device condition that
 * can never hold here would look like a rule that did not apply. */
function withPostureNote(decision: Decision): string {
  const skipped = decision.skippedForPosture;
  if (!skipped || skipped.length === 0) return decision.reason;
  const names = skipped.map((n) => `"${n}"`).join(', ');
  return `${decision.reason} (no device posture is known: device conditions of ${names} did not hold)`;
}

/** The override that lifts this decision, or null. One of a kind that may not lift it, already past its end or with
 * a malformed id is not applied (fail closed). */
async function overrideFor(
  request: AuthorizeRequest,
  decision: Decision,
  ports: Ports,
  now: Date,
): Promise<Override | null> {
  const liftable = LIFTS[decision.effect];
  if (!liftable || decision.errorCode === 'PolicyUnavailable' || decision.reason.startsWith('invalid request'))
    return null;
  const found = await ports.overrides.find(request, decision, now);
  if (!found) return null;
  if (!liftable.includes(found.kind)) return null;
  if (typeof found.id !== 'string' || !OVERRIDE_ID.test(found.id)) return null;
  if (found.mfa !== undefined && typeof found.mfa !== 'boolean') return null;
  if (!(found.notAfter instanceof Date) || !(found.notAfter.getTime() > now.getTime())) return null;
  return found;
}

/** min(config duration, the rule's max_server_duration, the override's remaining time + 15 minutes), within what STS
 * accepts: an override with less than 15 minutes left still gets STS's 900-second minimum. Under an MFA-verified
 * override at most an hour: AssumeRole with the MFA session is role chaining. */
export function durationFor(configMs: number, decision: Decision, override: Override | null, now: Date): number {
  let ms = configMs;
  if (decision.maxDurationMs !== undefined) ms = Math.min(ms, decision.maxDurationMs);
  if (override) ms = Math.min(ms, override.notAfter.getTime() - now.getTime() + OVERRIDE_GRACE_MS);
  const seconds = clampStsDuration(ms / 1000);
  return override?.mfa === true ? Math.min(seconds, STS_CHAINED_MAX_SECONDS) : seconds;
}

function denialError(decision: Decision, request: AuthorizeRequest, ports: Ports, now: Date): SentinelError {
  const { profile, mode } = request;
  const user = request.principal.user;
  const code = decision.errorCode ?? 'PolicyDenied';
  const details = { rule: decision.rule, effect: decision.effect, profile, user, mode };
  // The provider's reason names the policy source and its first problem (file:line:column).
  if (code === 'PolicyUnavailable') {
    const file = decision.policySource.startsWith('file:') ? decision.policySource.slice('file:'.length) : null;
    // A reason that already says what to do (a missing file's: create it, validate it, reload) is not repeated in the
    // hint, which says what the reason does not; the source says which case it is (decision.unavailable).
    // The catalogue's hint names a file; a policy from SSM is fixed by whoever publishes it, not with a local file.
    const ssm = decision.policySource.startsWith('ssm:');
    const publish = `admins: \`sentinel policy push ${shellWord(profile)} <file> --sign --key <kms key>\``;
    const hint =
      ssm && ports.settings.server === 'vendor'
        ? `The vendor's log says why its policy for ${profile} was refused; once the parameter is published valid and signed (${publish}), the vendor loads it at its next refresh.`
        : ssm
          ? `\`sentinel daemon status\` says why the policy for ${profile} was refused; once the parameter is published valid and signed (${publish}) or AWS answers again, \`sentinel daemon reload\`.`
          : !file
            ? undefined
            : decision.unavailable === 'signing_key_unavailable'
              ? 'The policy file may well be valid: KMS did not give the key to check its signature. `sentinel daemon reload` tries again now.'
              : decision.unavailable === 'missing'
                ? 'The daemon keeps running and refuses every request until a policy loads; `sentinel daemon status` shows its state.'
                : `Fix it (\`sentinel policy validate ${shellWord(file)}\` lists every problem), then \`sentinel daemon reload\`.`;
    return new SentinelError(code, decision.reason, { details, ...(hint ? { hint } : {}) });
  }
  const rule = decision.rule ? `rule "${decision.rule}"` : 'no matching rule (default deny)';
  const refuses = `${rule} refuses ${user} on ${profile} in mode ${mode}`;
  let message = `${refuses}: ${decision.reason}`;
  const policy = decision.effect === 'default_deny' ? (ports.policy.policyFor?.(profile) ?? null) : null;
  if (policy)
    message = `${refuses}. ${nearMissText(nearMisses(policy, decisionRequest(request, ports, now)), profile)}`;
  const hint =
    code === 'PolicyDenied'
      ? policyTestHint(decision.policySource, profile, user, mode)
      : code === 'ApprovalRequired'
        ? `Request access with \`sentinel request ${profile} --reason "..."\` and wait for an approver.`
        : undefined;
  return new SentinelError(code, message, { details, ...(hint ? { hint } : {}) });
}
