// The MFA port of break-glass (DESIGN §11). AWS, not this code, verifies the one-time code: the daemon calls
// GetSessionToken with it on the user's IAM-user keys and keeps the MFA session it gets back in memory only, so the
// role's trust policy can require aws:MultiFactorAuthPresent and a copied event record proves nothing elsewhere. The
// break-glass service asks this port during `invoke`; the credential issuer asks it again for every AssumeRole made
// under an event with mfa_verified, and a daemon that does not hold the session (another machine, a restart) answers
// MfaRequired.
import { SentinelError } from '../errors.js';

export interface MfaSessions {
  /** Verifies `code` with AWS for `profile` (its own or its source profile's `mfa_serial`) and keeps the MFA session
   * for later AssumeRole calls. Throws SentinelError: MfaInvalid when AWS refuses the code; MfaRequired when the
   * profile names no mfa_serial (with a hint saying so) or when the base credentials carry a session token (SSO,
   * roles, credential_process: their identity provider does MFA; the hint says so). */
  verify(profile: string, code: string, now: Date): Promise<void>;
  /** Throws what verify() would for `profile` whatever the code (no mfa_serial, session credentials): asked before a
   * code is asked for, so a user in an emergency is not sent for a code that cannot work. Optional: a front end
   * without it is asked for the code first. */
  assertVerifiable?(profile: string): Promise<void>;
  /** Whether this process holds a live MFA session for `profile` (refreshed without a new code while it lives). */
  holds(profile: string, now: Date): boolean;
}

/** A front end that keeps no MFA sessions: it holds none and cannot verify a code, so `mfa: required` is refused. */
export const noMfaSessions: MfaSessions = {
  async verify(profile) {
    throw new SentinelError('MfaRequired', `this server cannot verify MFA codes (profile "${profile}")`);
  },
  holds: () => false,
};
