// Caller ARNs → the user a policy names (DESIGN §4, §5.3). The ARN is what sts:GetCallerIdentity answers for the
// base credentials of a profile's source; only principals that can call AssumeRole are accepted. An IAM role ARN is
// refused on purpose: GetCallerIdentity never answers one, so seeing it means the input did not come from STS.
import type { CallerIdentity } from '../issuer/types.js';

export const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b'] as const;

/** Longest ARN accepted: an IAM user path may be 512 chars, a name 64; anything longer is not an ARN from STS. */
export const MAX_ARN_LENGTH = 1024;

/** Policy user names are compatible with the original Sentinel: ASCII letters and digits, at most 20. */
export const POLICY_NAME_MAX = 20;

/** Why an ARN was refused. A plain error, not a SentinelError: the caller decides what the refusal means (an ARN
 * that STS itself returned is BaseCredentialsUnavailable; one a user typed is a usage error). */
export class ArnParseError extends Error {
  readonly code = 'InvalidCallerArn';
  constructor(message: string) {
    super(message);
    this.name = 'ArnParseError';
  }
}

// IAM and STS name characters; names are bounded by the limits AWS documents for each kind.
const NAME = '[\\w+=,.@-]';
const ACCOUNT = /^\d{12}$/;
const USER_RESOURCE = new RegExp(`^user((?:/${NAME}+)*)/(${NAME}{1,64})$`);
const ASSUMED_ROLE_RESOURCE = new RegExp(`^assumed-role/(${NAME}{1,64})/(${NAME}{2,64})$`);
const FEDERATED_RESOURCE = new RegExp(`^federated-user/(${NAME}{2,32})$`);

/** DESIGN §5.3 default for identity.trusted_session_roles: IAM Identity Center, whose sessions the IdP names. */
export const DEFAULT_TRUSTED_SESSION_ROLES: readonly string[] = ['AWSReservedSSO_*'];

/** `*` and `?` glob to an anchored regular expression (everything else literal). */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** What policyNameOf can return: the only user names a policy's users lists can match. */
export const POLICY_NAME_PATTERN = /^[A-Za-z0-9]{1,20}$/;

export const isPolicyUserName = (name: string): boolean => POLICY_NAME_PATTERN.test(name);

/** What to write instead of a raw name that is not a policy user name (for hints). */
export function policyNameHint(rawName: string, flag = ''): string {
  const name = policyNameOf(rawName);
  if (name.length === 0) return 'It has no ASCII letters or digits, so it matches nobody: remove it.';
  return flag
    ? `The daemon knows a caller named ${rawName} as "${name}": ${flag} ${name} (\`sentinel whoami\` prints yours).`
    : `Sentinel knows a caller named ${rawName} as "${name}"; write that (\`sentinel whoami\` prints yours).`;
}

/** The ASCII letters and digits of a raw name, at most 20 characters; '' when none are left. */
export function policyNameOf(rawName: string): string {
  return rawName.replace(/[^A-Za-z0-9]/g, '').slice(0, POLICY_NAME_MAX);
}

function identity(arn: string, account: string, type: CallerIdentity['type'], rawName: string): CallerIdentity {
  const policyName = policyNameOf(rawName);
  if (policyName.length === 0) {
    throw new ArnParseError(`the caller name has no ASCII letters or digits, so no policy user name can be derived`);
  }
  return { arn, account, type, rawName, policyName };
}

/**
 * `trustedSessionRoles`: glob patterns on role names whose session names name a person (DESIGN §5.3). Whoever calls
 * AssumeRole chooses the session name, so for any other role the caller is known by the role name: rawName and
 * policyName then derive from the role, and a session called `alice` is not alice.
 */
export function parseCallerArn(
  arn: unknown,
  trustedSessionRoles: readonly string[] = DEFAULT_TRUSTED_SESSION_ROLES,
): CallerIdentity {
  if (typeof arn !== 'string') throw new ArnParseError('the caller ARN is not a string');
  if (arn.length > MAX_ARN_LENGTH)
    throw new ArnParseError(`the caller ARN is longer than ${MAX_ARN_LENGTH} characters`);
  // arn:partition:service:region:account:resource — the resource may itself contain colons in other services, but
  // not for IAM or STS principals, so exactly six fields are required.
  const fields = arn.split(':');
  if (fields.length !== 6 || fields[0] !== 'arn')
    throw new ArnParseError('not an ARN (expected arn:partition:service::account:resource)');
  const [, partition, service, region, account, resource] = fields as [string, string, string, string, string, string];
  if (!(PARTITIONS as readonly string[]).includes(partition)) throw new ArnParseError('unknown AWS partition');
  if (region !== '') throw new ArnParseError('IAM and STS principal ARNs have no region');
  if (!ACCOUNT.test(account)) throw new ArnParseError('the account id is not 12 digits');

  if (service === 'iam') {
    if (resource === 'root') return identity(arn, account, 'root', 'root');
    const user = USER_RESOURCE.exec(resource);
    if (user && (user[1]?.length ?? 0) <= 512) return identity(arn, account, 'user', user[2]!);
    if (resource.startsWith('role/'))
      throw new ArnParseError('an IAM role is not a caller; expected the assumed-role session');
    throw new ArnParseError('unsupported IAM principal (expected user/<name> or root)');
  }
  if (service === 'sts') {
    const assumed = ASSUMED_ROLE_RESOURCE.exec(resource);
    if (assumed) {
      const role = assumed[1]!;
      const trusted = trustedSessionRoles.some((p) => globToRegExp(p).test(role));
      return identity(arn, account, 'assumed-role', trusted ? assumed[2]! : role);
    }
    const federated = FEDERATED_RESOURCE.exec(resource);
    if (federated) return identity(arn, account, 'federated-user', federated[1]!);
    throw new ArnParseError(
      'unsupported STS principal (expected assumed-role/<role>/<session> or federated-user/<name>)',
    );
  }
  throw new ArnParseError('not an IAM or STS principal');
}
