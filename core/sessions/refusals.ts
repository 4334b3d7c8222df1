// What a request for a session that cannot serve is told (DESIGN §3.2: the message says what to do next).
import { SentinelError } from '../errors.js';
import type { Session } from './types.js';
import { replaceControls } from '../text/printable.js';

export function unknownSession(id: string): SentinelError {
  return new SentinelError('SessionUnknown', `no session ${id}`);
}

/** Text from the session record (an admin typed it, or someone edited the table) made safe for a one-line message. */
function printable(text: string, max = 1024): string {
  const clean = replaceControls(text, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** The refusal for a session that is not active: revoked (who, why, what now), expired or ended. */
export function sessionRefusal(session: Session): SentinelError {
  switch (session.status) {
    case 'revoked':
      return revokedError(session);
    case 'expired':
      return new SentinelError(
        'SessionExpired',
        // The record does not say whether `use` or `exec` opened it: both ways are named.
        `session ${session.id} (${session.profile}) expired at ${session.expires_at}; open a new one with \`sentinel use ${session.profile}\` (or run \`sentinel exec ${session.profile} -- …\` again)`,
      );
    default:
      return new SentinelError('SessionEnded', `session ${session.id} has ended`);
  }
}

/** Who revoked it and why (from the record), and what the user can do now. */
function revokedError(session: Session): SentinelError {
  const by = session.revoked_by ? ` by ${printable(session.revoked_by, 256)}` : '';
  const why = session.revoked_reason ? ` (reason: ${printable(session.revoked_reason)})` : '';
  const next =
    session.mode === 'credential_process'
      ? `credential_process for ${session.profile} stays refused until ${session.expires_at}; for access now, open a new session with \`sentinel use ${session.profile}\` (a fresh policy decision)`
      : `open a new session with \`sentinel use ${session.profile}\` if you still need access`;
  const who = session.revoked_by
    ? `ask ${printable(session.revoked_by, 256)} ${session.revoked_reason ? 'about it' : 'why'}, or`
    : 'or';
  return new SentinelError(
    'SessionRevoked',
    `session ${session.id} (${session.profile}) was revoked${by}${why}; ${who} ${next}`,
    {
      hint: `\`sentinel server session ${session.id}\` shows who revoked it, when and why.`,
      details: {
        session_id: session.id,
        profile: session.profile,
        ...(session.revoked_by ? { revoked_by: printable(session.revoked_by, 256) } : {}),
      },
    },
  );
}
