// The IAM calls enforcement makes, behind two narrow ports so the logic can be read (and tested) apart from the SDK:
// reading a role's trust policy, and a role's inline policies. AWS errors become catalogue errors here, once: a
// missing role is RoleUnknown, a missing permission AwsAccessDenied (naming the action), anything else
// IamUnavailable. Raw AWS messages are not shown to users; the action and the role are.
import { NO_CREDENTIALS_HINT, boundedClientConfig, noCredentialsFound } from '../aws-http.js';
import { SentinelError } from '../errors.js';

export interface RoleTrust {
  arn: string;
  name: string;
  /** AssumeRolePolicyDocument as IAM returns it: URL-encoded. */
  trustPolicyEncoded: string;
}

export interface RoleReader {
  getRole(roleName: string): Promise<RoleTrust>;
}

export interface InlinePolicies {
  list(roleName: string): Promise<string[]>;
  /** The document's text (decoded), or undefined when the role has no such policy. */
  get(roleName: string, policyName: string): Promise<string | undefined>;
  put(roleName: string, policyName: string, document: string): Promise<void>;
  /** false when it was already gone. */
  delete(roleName: string, policyName: string): Promise<boolean>;
}

export interface IamAdmin extends RoleReader, InlinePolicies {
  close(): void;
}

// Role names and ARNs as IAM accepts them (a role ARN may carry a path; GetRole takes only the name).
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):iam::(\d{12}):role\/((?:[\x21-\x7e]+\/)*)([\w+=,.@-]{1,64})$/;

/** A role named by ARN or name → its name (what IAM's APIs take); anything else is a usage error. */
export function roleNameOf(value: string): string {
  if (ROLE_NAME.test(value)) return value;
  const m = ROLE_ARN.exec(value);
  if (m && value.length <= 2048) return m[4]!;
  throw new SentinelError(
    'UsageError',
    `${JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value)} is not a role name or role ARN`,
    {
      hint: 'Name a role as prod-admin or arn:aws:iam::123456789012:role/path/prod-admin.',
    },
  );
}

/** IAM says which entity is missing only in its message: "The role policy with name … cannot be found." */
function isNoSuchPolicy(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | null;
  return (e?.name === 'NoSuchEntityException' || e?.name === 'NoSuchEntity') && /role policy/i.test(e.message ?? '');
}

/** Maps an SDK error to the catalogue; `what` names the action and target for the message. */
export function iamError(err: unknown, what: { action: string; role: string; policy?: string }): SentinelError {
  const name = (err as { name?: string } | null)?.name ?? '';
  if (name === 'NoSuchEntityException' || name === 'NoSuchEntity') {
    return what.policy && isNoSuchPolicy(err)
      ? new SentinelError('RoleUnknown', `role ${what.role} has no inline policy ${what.policy}`, { cause: err })
      : new SentinelError('RoleUnknown', `no IAM role named ${what.role}`, { cause: err });
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new SentinelError('AwsAccessDenied', `not allowed to call iam:${what.action} on role ${what.role}`, {
      cause: err,
    });
  }
  if (name === 'LimitExceededException' || name === 'LimitExceeded') {
    return new SentinelError('InlinePolicyBudgetExceeded', undefined, { cause: err });
  }
  if (noCredentialsFound(err)) {
    return new SentinelError(
      'IamUnavailable',
      `IAM ${what.action} on role ${what.role}: no AWS credentials could be found`,
      {
        cause: err,
        hint: NO_CREDENTIALS_HINT,
      },
    );
  }
  return new SentinelError(
    'IamUnavailable',
    `IAM ${what.action} on role ${what.role} failed${name ? ` (${name})` : ''}`,
    {
      cause: err,
    },
  );
}

/** Per IAM attempt (three at most): an endpoint that never answers fails the command then, not never. */
export const IAM_ATTEMPT_MS = 10_000;

export async function createIamAdmin(target: {
  profile?: string;
  region?: string;
  /** Per attempt (default IAM_ATTEMPT_MS). */
  timeoutMs?: number;
}): Promise<IamAdmin> {
  const iam = await import('@aws-sdk/client-iam');
  const client = new iam.IAMClient(
    // IAM is global; its endpoint is signed for us-east-1 whatever region the profile names.
    boundedClientConfig(
      { region: target.region ?? 'us-east-1', profile: target.profile },
      { timeoutMs: target.timeoutMs ?? IAM_ATTEMPT_MS, maxAttempts: 3 },
    ),
  );
  const call = async <T>(
    what: { action: string; role: string; policy?: string },
    run: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw iamError(err, what);
    }
  };
  return {
    async getRole(roleName) {
      const out = await call({ action: 'GetRole', role: roleName }, () =>
        client.send(new iam.GetRoleCommand({ RoleName: roleName })),
      );
      const role = out.Role;
      if (!role?.Arn || !role.RoleName)
        throw new SentinelError('IamUnavailable', `IAM answered GetRole ${roleName} without a role`);
      return { arn: role.Arn, name: role.RoleName, trustPolicyEncoded: role.AssumeRolePolicyDocument ?? '' };
    },
    async list(roleName) {
      const names: string[] = [];
      let marker: string | undefined;
      do {
        const out = await call({ action: 'ListRolePolicies', role: roleName }, () =>
          client.send(new iam.ListRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) })),
        );
        names.push(...(out.PolicyNames ?? []));
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return names;
    },
    async get(roleName, policyName) {
      try {
        const out = await client.send(new iam.GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
        return decodeURIComponent(out.PolicyDocument ?? '');
      } catch (err) {
        if (isNoSuchPolicy(err)) return undefined;
        throw iamError(err, { action: 'GetRolePolicy', role: roleName, policy: policyName });
      }
    },
    async put(roleName, policyName, document) {
      await call({ action: 'PutRolePolicy', role: roleName, policy: policyName }, () =>
        client.send(
          new iam.PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: document }),
        ),
      );
    },
    async delete(roleName, policyName) {
      try {
        await client.send(new iam.DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
        return true;
      } catch (err) {
        if (isNoSuchPolicy(err)) return false;
        throw iamError(err, { action: 'DeleteRolePolicy', role: roleName, policy: policyName });
      }
    },
    close: () => client.destroy(),
  };
}
