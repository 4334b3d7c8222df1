// `server revoke <id> --aws`: the store first, then IAM (DESIGN §15). The store revocation always stands; the AWS
// step is reported on its own, so an admin without iam:PutRolePolicy learns that the session is revoked for Sentinel
// but that credentials already issued still work in AWS. Run again after a failed AWS step: a session already
// revoked in the store goes straight to the AWS step.
import { SentinelError, isSentinelError, type ErrorCode } from '../core/errors.js';
import type { Session } from '../core/sessions/types.js';
import type { AwsTarget } from './aws-target.js';

export interface RevokeSource {
  revoke(id: string, reason: string): Promise<Session>;
  get(id: string): Promise<Session>;
}

export type AwsStep =
  | { ok: true; role_arn: string; role_name: string; policy_name: string; inline_chars: number; pruned: string[] }
  | { ok: false; error: { code: ErrorCode; message: string; hint: string } }
  | { ok: true; skipped: string };

export interface RevokeEverywhere {
  session: Session;
  already_revoked: boolean;
  aws: AwsStep;
}

export async function revokeEverywhere(
  source: RevokeSource,
  target: AwsTarget,
  id: string,
  reason: string,
  now: Date = new Date(),
): Promise<RevokeEverywhere> {
  let session: Session;
  let already = false;
  try {
    session = await source.revoke(id, reason);
  } catch (err) {
    if (!isSentinelError(err) || err.code !== 'SessionNotActive') throw err;
    session = await source.get(id);
    if (session.status !== 'revoked') throw err;
    already = true;
  }
  const [{ createIamAdmin }, { revokeInAws, lapsed, credentialsLapseAt }] = await Promise.all([
    import('../core/enforcement/iam.js'),
    import('../core/enforcement/aws-revocation.js'),
  ]);
  if (session.role_arn && lapsed(session, now).lapsed) {
    const at = new Date(credentialsLapseAt(session, now)!.at).toISOString();
    return { session, already_revoked: already, aws: { ok: true, skipped: `its credentials lapsed by ${at}` } };
  }
  try {
    const iam = await createIamAdmin(target);
    try {
      const done = await revokeInAws(iam, session, async (other) => source.get(other).catch(() => undefined), now);
      return { session, already_revoked: already, aws: { ok: true, ...done } };
    } finally {
      iam.close();
    }
  } catch (err) {
    const e = isSentinelError(err)
      ? err
      : new SentinelError('IamUnavailable', err instanceof Error ? err.message : String(err));
    return {
      session,
      already_revoked: already,
      aws: { ok: false, error: { code: e.code, message: e.message, hint: e.hint } },
    };
  }
}
