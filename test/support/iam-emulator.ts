// A strict local IAM for tests: the AWS Query protocol (form-encoded POST, XML replies) as the real SDK v3 IAM client
// speaks it, for roles and their inline policies: GetRole (the trust policy URL-encoded, as IAM sends it),
// PutRolePolicy, GetRolePolicy, DeleteRolePolicy, ListRolePolicies. It keeps IAM's rules that matter to callers: the
// 10,240-character budget all inline policies of a role share (whitespace not counted), policy documents that must be
// JSON, NoSuchEntity, and AccessDenied for a caller without the permission. Callers are known through the STS
// emulator's access-key map (`callerOf`), so one set of test identities serves both services. See docs/testing.md.
import type { IncomingMessage } from 'node:http';
import {
  AwsServiceError,
  FaultInjector,
  ValidationCollector,
  el,
  node,
  queryRequest,
  querySigV4,
  stableId,
  startQueryServer,
  type FailureSpec,
  type QueryApi,
} from './aws-protocol.js';
import { simulatePrincipalPolicy } from './iam-simulate.js';

export type IamAction =
  'GetRole' | 'PutRolePolicy' | 'GetRolePolicy' | 'DeleteRolePolicy' | 'ListRolePolicies' | 'SimulatePrincipalPolicy';
const ACTIONS: readonly IamAction[] = [
  'GetRole',
  'PutRolePolicy',
  'GetRolePolicy',
  'DeleteRolePolicy',
  'ListRolePolicies',
  'SimulatePrincipalPolicy',
];
const XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const API: QueryApi<IamAction> = { xmlns: XMLNS, version: '2010-05-08', actions: ACTIONS, allowGet: true };

/** IAM's quota for the inline policies of one role, together, in characters without whitespace. */
export const ROLE_INLINE_POLICY_BUDGET = 10_240;

const NAME_PATTERN = /^[\w+=,.@-]+$/;
const NAME_PATTERN_TEXT = '[\\w+=,.@-]+';
// IAM's documented pattern for policy documents: tab, newline, carriage return and printable Latin-1.
const POLICY_PATTERN = /^[\u0009\u000A\u000D\u0020-\u00FF]+$/;
const POLICY_PATTERN_TEXT = '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+';

const STATUS_BY_CODE: Record<string, number> = {
  NoSuchEntity: 404,
  LimitExceeded: 409,
  AccessDenied: 403,
  MalformedPolicyDocument: 400,
  UnmodifiableEntity: 400,
  ServiceFailure: 500,
  Throttling: 400,
  InvalidClientTokenId: 403,
};

/** Who signs a request: the STS emulator answers this (`StsEmulator.callerOf`). */
export interface CallerDirectory {
  callerOf(accessKeyId: string, sessionToken?: string): { arn: string } | undefined;
}

export interface IamRoleSeed {
  /** The role's path, `/` by default (`/deploy/` → `arn:aws:iam::<account>:role/deploy/<name>`). */
  path?: string;
  account?: string;
  /**
   * The trust policy: an object is serialised as JSON; a string is stored as given (a test can seed one that is not
   * JSON, as IAM itself never would, to see how a reader copes).
   */
  trustPolicy: object | string;
  inlinePolicies?: Record<string, object | string>;
}

export interface IamRole {
  name: string;
  arn: string;
  path: string;
  roleId: string;
  trustPolicy: string;
  /** Inline policies by name, as stored (the documents exactly as written). */
  inline: Map<string, string>;
}

export interface IamCallRecord {
  action: IamAction;
  callerArn: string;
  params: Record<string, string>;
  /** 'ok', or the error code the call was answered with. */
  outcome: string;
}

export interface IamEmulator {
  url: string;
  calls: Record<IamAction, number>;
  /** Every call from a known caller, in order, including refused ones. */
  requests: IamCallRecord[];
  createRole(name: string, seed: IamRoleSeed): IamRole;
  role(name: string): IamRole | undefined;
  /** `iam:PutRolePolicy`, `iam:Get*`, `iam:*` or `*`, for a principal ARN (assumed-role ARNs match their role too). */
  grant(principalArn: string, actions: string[]): void;
  revoke(principalArn: string, actions?: string[]): void;
  /**
   * An identity policy of a user or role, for SimulatePrincipalPolicy (a role's inline policies count too). A user
   * ARN with an attached policy exists for the simulator.
   */
  attachPolicy(principalArn: string, document: object): void;
  /** The inline-policy characters a role uses, counted as IAM counts them. */
  inlineUsage(roleName: string): number;
  failNext(action: IamAction, spec: FailureSpec, times?: number): void;
  setFailure(action: IamAction, spec: FailureSpec | null): void;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export interface IamOptions {
  /** Resolves the access key of each request to a caller; unknown keys get InvalidClientTokenId. */
  callers: CallerDirectory;
  /** principal ARN → IAM actions it may call (see `grant`). Callers not listed may call nothing. */
  permissions?: Record<string, string[]>;
  /** The account roles are created in unless their seed says otherwise. */
  account?: string;
}

export async function startIam(options: IamOptions): Promise<IamEmulator> {
  const roles = new Map<string, IamRole>();
  const permissions = new Map<string, Set<string>>();
  const calls = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<IamAction, number>;
  const requests: IamCallRecord[] = [];
  const faults = new FaultInjector(STATUS_BY_CODE);
  const defaultAccount = options.account ?? '123456789012';
  let delayMs = 0;

  const grant = (arn: string, actions: string[]) => {
    const set = permissions.get(arn) ?? new Set<string>();
    for (const a of actions) set.add(a.toLowerCase());
    permissions.set(arn, set);
  };
  for (const [arn, actions] of Object.entries(options.permissions ?? {})) grant(arn, actions);

  const allowed = (callerArn: string, action: IamAction): boolean => {
    const wanted = `iam:${action}`.toLowerCase();
    const holders = [callerArn];
    // Permissions of a role apply to each of its sessions.
    const assumed = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
    if (assumed) {
      for (const role of roles.values())
        if (role.name === assumed[3] && role.arn.includes(`::${assumed[2]}:`)) holders.push(role.arn);
      holders.push(`arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`);
    }
    return holders.some((h) => {
      const set = permissions.get(h);
      if (!set) return false;
      return [...set].some(
        (p) => p === '*' || p === 'iam:*' || p === wanted || (p.endsWith('*') && wanted.startsWith(p.slice(0, -1))),
      );
    });
  };

  const createRole = (name: string, seed: IamRoleSeed): IamRole => {
    const path = seed.path ?? '/';
    if (!/^\/(?:[\x21-\x7e]+\/)?$/.test(path)) throw new Error(`createRole: invalid path ${path}`);
    if (!NAME_PATTERN.test(name) || name.length > 64) throw new Error(`createRole: invalid role name ${name}`);
    const account = seed.account ?? defaultAccount;
    const arn = `arn:aws:iam::${account}:role${path}${name}`;
    const role: IamRole = {
      name,
      arn,
      path,
      roleId: 'AROA' + stableId(arn, 17),
      trustPolicy: typeof seed.trustPolicy === 'string' ? seed.trustPolicy : JSON.stringify(seed.trustPolicy),
      inline: new Map(),
    };
    for (const [policyName, doc] of Object.entries(seed.inlinePolicies ?? {})) {
      role.inline.set(policyName, typeof doc === 'string' ? doc : JSON.stringify(doc));
    }
    roles.set(name, role);
    return role;
  };

  const inlineUsage = (role: IamRole, replacing?: string, withDoc?: string): number => {
    let total = 0;
    for (const [name, doc] of role.inline) if (name !== replacing) total += policySize(doc);
    if (withDoc !== undefined) total += policySize(withDoc);
    return total;
  };

  const findRole = (name: string): IamRole => {
    const role = roles.get(name);
    if (!role) throw new AwsServiceError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
    return role;
  };

  const roleXml = (role: IamRole) =>
    node(
      'Role',
      el('Path', role.path) +
        el('RoleName', role.name) +
        el('RoleId', role.roleId) +
        el('Arn', role.arn) +
        el('CreateDate', '2026-01-01T00:00:00Z') +
        // IAM returns policy documents URL-encoded (RFC 3986); the SDK hands them over still encoded.
        el('AssumeRolePolicyDocument', encodeURIComponent(role.trustPolicy)) +
        el('MaxSessionDuration', '3600') +
        node('RoleLastUsed', ''),
    );

  const attached = new Map<string, object[]>();
  const policiesOf = (arn: string): object[] | undefined => {
    const role = [...roles.values()].find((r) => r.arn === arn);
    if (!role && !attached.has(arn)) return undefined;
    return [
      ...(role ? [...role.inline.values()].map((d) => JSON.parse(d) as object) : []),
      ...(attached.get(arn) ?? []),
    ];
  };

  const handlers: Record<IamAction, (p: URLSearchParams) => string | Promise<string>> = {
    SimulatePrincipalPolicy: (p) => simulatePrincipalPolicy(p, policiesOf),
    GetRole(p) {
      const name = roleName(p);
      return roleXml(findRole(name));
    },
    ListRolePolicies(p) {
      const v = new ValidationCollector();
      const name = p.get('RoleName') ?? undefined;
      checkRoleName(v, name);
      const rawMax = p.get('MaxItems');
      const max = rawMax === null ? 100 : /^\d{1,4}$/.test(rawMax) ? Number(rawMax) : Number.NaN;
      if (Number.isNaN(max)) v.add(rawMax, 'maxItems', 'Member must be an integer');
      else v.checkRange(max, 'maxItems', 1, 1000);
      const marker = p.get('Marker') ?? undefined;
      v.checkString(marker, 'marker', {
        min: 1,
        max: 320,
        pattern: /^[\u0020-\u00FF]+$/,
        patternText: '[\\u0020-\\u00FF]+',
      });
      v.throwIfAny('ValidationError');
      const role = findRole(name!);
      const names = [...role.inline.keys()].sort();
      let start = 0;
      if (marker !== undefined) {
        start = Number.parseInt(Buffer.from(marker, 'base64url').toString('utf8'), 10);
        if (!Number.isInteger(start) || start < 0 || start > names.length || encodeMarker(start) !== marker) {
          throw new AwsServiceError('ValidationError', 'Invalid Marker.', 400);
        }
      }
      const page = names.slice(start, start + max);
      const truncated = start + max < names.length;
      return (
        node('PolicyNames', page.map((n) => el('member', n)).join('')) +
        el('IsTruncated', String(truncated)) +
        (truncated ? el('Marker', encodeMarker(start + max)) : '')
      );
    },
    GetRolePolicy(p) {
      const { role, policyName } = rolePolicyParams(p);
      const doc = role.inline.get(policyName);
      if (doc === undefined) {
        throw new AwsServiceError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`, 404);
      }
      return el('RoleName', role.name) + el('PolicyName', policyName) + el('PolicyDocument', encodeURIComponent(doc));
    },
    DeleteRolePolicy(p) {
      const { role, policyName } = rolePolicyParams(p);
      if (!role.inline.delete(policyName)) {
        throw new AwsServiceError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`, 404);
      }
      return '';
    },
    PutRolePolicy(p) {
      const doc = p.get('PolicyDocument') ?? undefined;
      const v = new ValidationCollector();
      checkRoleName(v, p.get('RoleName') ?? undefined);
      checkPolicyName(v, p.get('PolicyName') ?? undefined);
      v.checkString(doc, 'policyDocument', {
        required: true,
        min: 1,
        max: 131072,
        pattern: POLICY_PATTERN,
        patternText: POLICY_PATTERN_TEXT,
      });
      v.throwIfAny('ValidationError');
      const role = findRole(p.get('RoleName')!);
      const policyName = p.get('PolicyName')!;
      checkPolicyDocument(doc!);
      if (inlineUsage(role, policyName, doc) > ROLE_INLINE_POLICY_BUDGET) {
        throw new AwsServiceError(
          'LimitExceeded',
          `Maximum policy size of ${ROLE_INLINE_POLICY_BUDGET} bytes exceeded for role ${role.name}`,
          409,
        );
      }
      role.inline.set(policyName, doc!);
      return '';
    },
  };

  const rolePolicyParams = (p: URLSearchParams) => {
    const v = new ValidationCollector();
    checkRoleName(v, p.get('RoleName') ?? undefined);
    checkPolicyName(v, p.get('PolicyName') ?? undefined);
    v.throwIfAny('ValidationError');
    return { role: findRole(p.get('RoleName')!), policyName: p.get('PolicyName')! };
  };

  const roleName = (p: URLSearchParams): string => {
    const v = new ValidationCollector();
    checkRoleName(v, p.get('RoleName') ?? undefined);
    v.throwIfAny('ValidationError');
    return p.get('RoleName')!;
  };

  const dispatch = async (req: IncomingMessage, body: Buffer): Promise<{ action: IamAction; resultXml: string }> => {
    const {
      action: known,
      params,
      caller,
    } = queryRequest(req, body, API, () => {
      const credential = querySigV4(req, 'iam');
      const token = req.headers['x-amz-security-token'];
      const found = options.callers.callerOf(credential.accessKeyId, typeof token === 'string' ? token : undefined);
      if (!found) {
        throw new AwsServiceError(
          'InvalidClientTokenId',
          'The security token included in the request is invalid.',
          403,
        );
      }
      return found;
    });
    calls[known]++;
    const record: IamCallRecord = {
      action: known,
      callerArn: caller.arn,
      params: Object.fromEntries([...params].filter(([k]) => k !== 'Action' && k !== 'Version')),
      outcome: 'ok',
    };
    requests.push(record);
    try {
      const injected = faults.take(known);
      if (injected) throw injected;
      if (!allowed(caller.arn, known)) {
        const target = params.get('RoleName') ?? '*';
        const resource = roles.get(target)?.arn ?? `arn:aws:iam::${defaultAccount}:role/${target}`;
        throw new AwsServiceError(
          'AccessDenied',
          `User: ${caller.arn} is not authorized to perform: iam:${known} on resource: ${resource} because no identity-based policy allows the iam:${known} action`,
          403,
        );
      }
      return { action: known, resultXml: await handlers[known](params) };
    } catch (err) {
      if (err instanceof AwsServiceError) record.outcome = err.code;
      throw err;
    }
  };

  const server = await startQueryServer({
    xmlns: XMLNS,
    maxBodyBytes: 256 * 1024,
    getDelay: () => delayMs,
    dispatch,
  });

  return {
    url: server.url,
    calls,
    requests,
    createRole,
    role: (name) => roles.get(name),
    grant,
    revoke(arn, actions) {
      if (!actions) permissions.delete(arn);
      else for (const a of actions) permissions.get(arn)?.delete(a.toLowerCase());
    },
    attachPolicy(arn, document) {
      attached.set(arn, [...(attached.get(arn) ?? []), document]);
    },
    inlineUsage: (name) => inlineUsage(findRoleForTest(roles, name)),
    failNext: (action, spec, times) => faults.failNext(action, spec, times),
    setFailure: (action, spec) => faults.setFailure(action, spec),
    setDelay(ms) {
      delayMs = ms;
    },
    close: () => server.close(),
  };
}

function findRoleForTest(roles: Map<string, IamRole>, name: string): IamRole {
  const role = roles.get(name);
  if (!role) throw new Error(`inlineUsage: no role ${name}`);
  return role;
}

function checkRoleName(v: ValidationCollector, value: string | undefined): void {
  v.checkString(value, 'roleName', {
    required: true,
    min: 1,
    max: 64,
    pattern: NAME_PATTERN,
    patternText: NAME_PATTERN_TEXT,
  });
}

function checkPolicyName(v: ValidationCollector, value: string | undefined): void {
  v.checkString(value, 'policyName', {
    required: true,
    min: 1,
    max: 128,
    pattern: NAME_PATTERN,
    patternText: NAME_PATTERN_TEXT,
  });
}

/** IAM refuses documents that are not a JSON object with a Statement; it does not evaluate them here. */
function checkPolicyDocument(doc: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw new AwsServiceError('MalformedPolicyDocument', 'Syntax errors in policy.', 400);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsServiceError('MalformedPolicyDocument', 'Syntax errors in policy.', 400);
  }
  const statement = (parsed as Record<string, unknown>).Statement;
  if (statement === undefined || (typeof statement !== 'object' && !Array.isArray(statement)) || statement === null) {
    throw new AwsServiceError('MalformedPolicyDocument', 'Policy statement must contain a Statement.', 400);
  }
}

/** IAM does not count whitespace against policy size quotas. */
export function policySize(doc: string): number {
  return doc.replace(/\s/g, '').length;
}

function encodeMarker(index: number): string {
  return Buffer.from(String(index), 'utf8').toString('base64url');
}
