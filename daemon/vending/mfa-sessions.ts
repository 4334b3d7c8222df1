// Break-glass MFA for the local daemon (DESIGN §11), implementing core/breakglass/mfa.ts. The one-time code goes to
// AWS: GetSessionToken with the profile's (or its source profile's) mfa_serial, signed with the profile's base
// credentials, which must be IAM-user long-term keys (AWS refuses GetSessionToken from any session). The MFA session
// it answers lives in this process's memory only — never on disk, never logged — so another daemon, or this one after
// a restart, holds none and answers MfaRequired; a copied event record proves nothing. The issuer assumes roles with
// it (role chaining: at most an hour per AssumeRole), refreshing every 15 minutes without a new code while it lives.
import type { MfaSessions } from '../../core/breakglass/mfa.js';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import { getSessionToken } from '../../core/issuer/assume-role.js';
import type { BaseCredentials, StsClients } from '../../core/issuer/types.js';
import type { AwsConfig, AwsProfile } from './aws-config.js';
import { baseSourceOf } from './base-credentials.js';

/** GetSessionToken's own default: the longest a break-glass event (4 h) plus its grace could need, with room. */
export const MFA_SESSION_SECONDS = 12 * 3600;
/** A session this close to its end is not used: an AssumeRole started now might reach STS after it expired. */
const EXPIRY_MARGIN_MS = 60_000;
/** What STS accepts as SerialNumber (an MFA device ARN or a hardware serial). */
const MFA_SERIAL = /^[\w+=/:,.@-]{9,256}$/;
const MFA_CODE = /^\d{6}$/;

export interface DaemonMfaSessions extends MfaSessions {
  /** The MFA session's credentials for AssumeRole. Throws MfaRequired when none is held (or it is about to end). */
  credentials(profile: string, now: Date): BaseCredentials;
  /** STS no longer accepts the session (revoked, expired early): drop it. */
  forget(profile: string): void;
  clear(): void;
}

export interface MfaSessionDeps {
  awsConfig: AwsConfig;
  /** The profile's base credentials, resolved as for any AssumeRole (source_profile, SSO, credential_process). */
  baseOf(p: AwsProfile): Promise<BaseCredentials>;
  regionOf(p: AwsProfile): string;
  sts: StsClients;
  log: OpLogger;
  now: () => number;
}

interface Held {
  credentials: BaseCredentials;
  expiresAt: number;
}

/** SSO, and a source that is itself a role profile, give sessions by construction. (A profile's own role_arn is the
 * role to assume, not where its base credentials come from.) */
const isSessionSource = (source: AwsProfile, ownBase: boolean) =>
  ['sso_session', 'sso_start_url', ...(ownBase ? [] : ['role_arn'])].some((k) => source.settings.has(k));

function sessionCredentials(profile: string): SentinelError {
  return new SentinelError(
    'MfaRequired',
    `the base credentials of profile "${profile}" are temporary (SSO, a role or a credential_process session), and AWS verifies MFA codes only for IAM-user keys`,
    {
      hint: 'Your identity provider already did MFA when you signed in, but `mfa: required` cannot be met with these credentials: use a profile whose source has IAM-user access keys, or ask the policy owner to drop `mfa: required` for SSO users and require MFA at the identity provider.',
      details: { profile },
    },
  );
}

export function createMfaSessions(deps: MfaSessionDeps): DaemonMfaSessions {
  const { awsConfig, log } = deps;
  const held = new Map<string, Held>();

  const live = (profile: string, now: Date): Held | undefined => {
    const h = held.get(profile);
    return h && h.expiresAt - EXPIRY_MARGIN_MS > now.getTime() ? h : undefined;
  };

  /** The profile's own mfa_serial, else its source profile's (where the AWS CLI looks too). */
  function serialOf(p: AwsProfile, source: AwsProfile | undefined): string {
    const serial = p.settings.get('mfa_serial') || source?.settings.get('mfa_serial');
    const name = p.info.name;
    if (!serial) {
      throw new SentinelError('MfaRequired', `profile "${name}" names no mfa_serial, so AWS cannot verify a code`, {
        hint: `Add mfa_serial = arn:aws:iam::<account>:mfa/<device> to profile ${name} (or its source profile) in ~/.aws/config (docs/breakglass.md, MFA).`,
        details: { profile: name },
      });
    }
    if (!MFA_SERIAL.test(serial)) {
      throw new SentinelError('MfaRequired', `the mfa_serial of profile "${name}" is not an MFA device ARN or serial`, {
        hint: 'Copy the device ARN from IAM (Security credentials → Multi-factor authentication) into mfa_serial.',
        details: { profile: name },
      });
    }
    return serial;
  }

  /** The profile and its MFA device, or why AWS could not verify a code for it (nothing is resolved: no SSO prompt). */
  async function verifiable(profile: string): Promise<{ p: AwsProfile; serial: string }> {
    const p = await awsConfig.profile(profile);
    const sourceName = baseSourceOf(p).profile;
    const ownBase = sourceName === p.info.name;
    const source = ownBase ? p : await awsConfig.profile(sourceName).catch(() => undefined);
    const serial = serialOf(p, source);
    // SSO and role sources are sessions by construction.
    if (source && isSessionSource(source, ownBase)) throw sessionCredentials(p.info.name);
    return { p, serial };
  }

  return {
    async assertVerifiable(profile) {
      await verifiable(profile);
    },
    async verify(profile, code) {
      // The code is checked for shape only (AWS alone decides whether it is right) and never echoed: it may be hostile.
      if (typeof code !== 'string' || !MFA_CODE.test(code)) {
        throw new SentinelError('BadRequest', 'an MFA code is the 6 digits your MFA device shows', {
          hint: 'Enter the current code from your MFA device.',
        });
      }
      const { p, serial } = await verifiable(profile);
      const base = await deps.baseOf(p);
      if (base.sessionToken) throw sessionCredentials(p.info.name);
      const credentials = await getSessionToken(
        deps.sts,
        base,
        { profile: p.info.name, region: deps.regionOf(p), durationSeconds: MFA_SESSION_SECONDS, mfa: { serial, code } },
        deps.now,
      );
      held.set(p.info.name, {
        credentials: {
          accessKeyId: credentials.AccessKeyId,
          secretAccessKey: credentials.SecretAccessKey,
          sessionToken: credentials.Token,
          expiration: credentials.Expiration,
        },
        expiresAt: credentials.Expiration.getTime(),
      });
      log.info(
        { profile: p.info.name, mfa_serial: serial, expires_at: credentials.Expiration.toISOString() },
        'MFA session verified by AWS (held in memory only)',
      );
    },
    holds(profile, now) {
      return live(profile, now) !== undefined;
    },
    credentials(profile, now) {
      const h = live(profile, now);
      if (!h) {
        throw new SentinelError(
          'MfaRequired',
          `this daemon holds no MFA session for profile "${profile}" (it lives only in the memory of the daemon that verified the code)`,
          {
            hint: 'The event was verified on another machine or before a restart: close it (`sentinel breakglass close <id> --reason ...`) and invoke again here with --mfa-code.',
            details: { profile },
          },
        );
      }
      return h.credentials;
    },
    forget(profile) {
      held.delete(profile);
    },
    clear() {
      held.clear();
    },
  };
}
