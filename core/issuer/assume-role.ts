// The STS calls that produce what the daemon hands out: AssumeRole stamped with a SourceIdentity (DESIGN §4), and
// GetSessionToken for unstamped profiles whose base credentials are long-term keys (SDKs require Token and
// Expiration, which static keys lack) or, with an MFA device's serial and code, for break-glass's MFA session (§11).
// Also the plain AssumeRole of each role on a source_profile chain, on the way to a profile's base credentials.
import type { Credentials } from '@aws-sdk/client-sts';
import { SentinelError } from '../errors.js';
import { STS_BUDGET_MS } from '../aws-http.js';
import { waitingFor } from '../upstream-waits.js';
import { loadSts } from './sdk.js';
import { stsFailure, type StsAction } from './sts-errors.js';
import type { BaseCredentials, IssuedCredentials, StsClients } from './types.js';

export interface AssumeRoleInput {
  profile: string;
  region: string;
  roleArn: string;
  roleSessionName: string;
  sourceIdentity: string;
  durationSeconds: number;
  externalId?: string;
}

/** One STS call, retries included, ends within the STS budget (DESIGN §3.4). */
export function stsBudget(): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(STS_BUDGET_MS) };
}

const ACCOUNT_OF_ARN = /^arn:[a-z-]+:[a-z]+::(\d{12}):/;

function issued(
  c: Credentials | undefined,
  action: StsAction,
  profile: string,
  now: number,
  arn?: string,
): IssuedCredentials {
  const expiration = c?.Expiration;
  if (
    !c?.AccessKeyId ||
    !c.SecretAccessKey ||
    !c.SessionToken ||
    !(expiration instanceof Date) ||
    Number.isNaN(expiration.getTime())
  ) {
    throw new SentinelError(
      'StsUnavailable',
      `STS answered ${action} for profile "${profile}" without complete credentials`,
    );
  }
  if (expiration.getTime() <= now) {
    throw new SentinelError(
      'StsUnavailable',
      `STS answered ${action} for profile "${profile}" with credentials that have already expired`,
      {
        hint: 'Check the clock of this machine (timedatectl / sntp).',
      },
    );
  }
  const account = arn ? ACCOUNT_OF_ARN.exec(arn)?.[1] : undefined;
  return {
    AccessKeyId: c.AccessKeyId,
    SecretAccessKey: c.SecretAccessKey,
    Token: c.SessionToken,
    Expiration: expiration,
    ...(account ? { AccountId: account } : {}),
  };
}

export function assumeRole(
  sts: StsClients,
  base: BaseCredentials,
  input: AssumeRoleInput,
  now: () => number,
): Promise<IssuedCredentials> {
  return sendAssumeRole(sts, base, input, now);
}

/** A role of a source_profile chain, assumed as the AWS CLI assumes it with the profile's own settings. */
export interface SourceRoleInput {
  profile: string;
  region: string;
  roleArn: string;
  roleSessionName: string;
  /** Absent: STS's default (one hour). */
  durationSeconds?: number;
  externalId?: string;
}

/**
 * AssumeRole for a role on the way to the base credentials, never stamped: a SourceIdentity set here would stay with
 * every later session of the chain, so the stamped AssumeRole could not set Sentinel's.
 */
export function assumeSourceRole(
  sts: StsClients,
  base: BaseCredentials,
  input: SourceRoleInput,
  now: () => number,
): Promise<IssuedCredentials> {
  return sendAssumeRole(sts, base, input, now);
}

async function sendAssumeRole(
  sts: StsClients,
  base: BaseCredentials,
  input: SourceRoleInput & { sourceIdentity?: string },
  now: () => number,
): Promise<IssuedCredentials> {
  let out;
  try {
    const { AssumeRoleCommand } = await loadSts();
    const client = await sts.client(input.region, base);
    out = await waitingFor(`AWS STS (AssumeRole for ${input.profile})`, () =>
      client.send(
        new AssumeRoleCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.roleSessionName,
          ...(input.sourceIdentity !== undefined ? { SourceIdentity: input.sourceIdentity } : {}),
          ...(input.durationSeconds !== undefined ? { DurationSeconds: input.durationSeconds } : {}),
          ...(input.externalId !== undefined ? { ExternalId: input.externalId } : {}),
        }),
        stsBudget(),
      ),
    );
  } catch (e) {
    throw stsFailure(e, { action: 'AssumeRole', profile: input.profile, roleArn: input.roleArn });
  }
  return issued(out.Credentials, 'AssumeRole', input.profile, now(), out.AssumedRoleUser?.Arn);
}

export interface GetSessionTokenInput {
  profile: string;
  region: string;
  durationSeconds: number;
  /** The MFA device and its current one-time code: AWS verifies it, and refuses it with AccessDenied (MfaInvalid). */
  mfa?: { serial: string; code: string };
}

export async function getSessionToken(
  sts: StsClients,
  base: BaseCredentials,
  input: GetSessionTokenInput,
  now: () => number,
): Promise<IssuedCredentials> {
  let out;
  try {
    const { GetSessionTokenCommand } = await loadSts();
    const client = await sts.client(input.region, base);
    out = await waitingFor(`AWS STS (GetSessionToken for ${input.profile})`, () =>
      client.send(
        new GetSessionTokenCommand({
          DurationSeconds: input.durationSeconds,
          ...(input.mfa ? { SerialNumber: input.mfa.serial, TokenCode: input.mfa.code } : {}),
        }),
        stsBudget(),
      ),
    );
  } catch (e) {
    throw stsFailure(e, { action: 'GetSessionToken', profile: input.profile, mfa: input.mfa !== undefined });
  }
  return issued(out.Credentials, 'GetSessionToken', input.profile, now());
}
