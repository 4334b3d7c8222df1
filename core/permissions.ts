// The IAM permissions each Sentinel feature needs, per role (DESIGN §16): the one place they are written down.
// `sentinel permissions` prints them (JSON, Terraform, CloudFormation), `permissions check` simulates them for the
// caller, `init bootstrap` prints them, and docs/team-setup.md explains them. A feature that needs AWS calls adds its
// statements here, and nowhere else. Least privilege: actions scoped to Sentinel's own parameters, tables, keys and log
// groups; an action AWS cannot scope (DescribeParameters, LookupEvents, GetCallerIdentity) is in a statement of its own
// on "*".

import { TABLE_SETUP_ACTIONS } from './records/shape.js';

export const ROLES = ['daemon', 'requester', 'approver', 'admin', 'enforcement', 'audit', 'vendor'] as const;
export type PermissionRole = (typeof ROLES)[number];

export const ROLE_TEXT: Record<PermissionRole, string> = {
  daemon: "each developer's daemon (the AWS profile in config aws_profile, and the base identity that assumes roles)",
  requester: 'developers who file approval requests and invoke break-glass (through their daemon)',
  approver: 'people who approve, deny or revoke requests and close break-glass events',
  admin: 'whoever runs init bootstrap, policy push/sign and server revoke',
  enforcement: 'whoever runs enforce plan/prune and server revoke --aws',
  audit: 'whoever runs audit verify, untracked-sessions and calls',
  vendor: 'the server-side vendor Lambda execution role (§17)',
};

export interface PermissionContext {
  /** 12 digits, or "*" (any account). */
  account: string;
  /** An AWS region, or "*". */
  region: string;
  ssmRoot: string;
  signatureRoot: string;
  tables: { sessions: string; requests: string; breakglass: string };
  /** A KMS key ARN; otherwise any key of the account (narrow it in the printed policy). */
  signingKey: string | null;
  /** Roles Sentinel assumes for users (and enforcement manages). */
  roles: string;
  logGroup: string;
}

export interface PermissionStatement {
  feature: string;
  role: PermissionRole;
  sid: string;
  actions: string[];
  resources: (c: PermissionContext) => string[];
  why: string;
}

const ssmPath = (c: PermissionContext, path: string) => {
  const p = path === '/' ? '' : path.replace(/\/+$/, '');
  return [`arn:aws:ssm:${c.region}:${c.account}:parameter${p}`, `arn:aws:ssm:${c.region}:${c.account}:parameter${p}/*`];
};
const table = (c: PermissionContext, name: string) => [
  `arn:aws:dynamodb:${c.region}:${c.account}:table/${name}`,
  `arn:aws:dynamodb:${c.region}:${c.account}:table/${name}/index/*`,
];
const key = (c: PermissionContext) => [
  c.signingKey && c.signingKey.startsWith('arn:') && c.signingKey.includes(':key/')
    ? c.signingKey
    : `arn:aws:kms:${c.region}:${c.account}:key/*`,
];
const policyParameters = (c: PermissionContext) => [...ssmPath(c, c.ssmRoot), ...ssmPath(c, c.signatureRoot)];
const logGroup = (c: PermissionContext) => [
  `arn:aws:logs:${c.region}:${c.account}:log-group:${c.logGroup}`,
  `arn:aws:logs:${c.region}:${c.account}:log-group:${c.logGroup}:log-stream:*`,
];
const ANY = () => ['*'];
const TABLE_ADMIN = [...TABLE_SETUP_ACTIONS];
/** Whoever writes a request or event also notifies its targets: SNS topics and webhook secrets in SSM. */
const NOTIFY_ACTIONS = ['sns:Publish', 'ssm:GetParameter'];
const notifyTargets = (c: PermissionContext) => [
  `arn:aws:sns:${c.region}:${c.account}:sentinel-*`,
  ...ssmPath(c, '/sentinel/webhooks'),
];

export const STATEMENTS: readonly PermissionStatement[] = [
  {
    feature: 'credentials',
    role: 'daemon',
    sid: 'SentinelAssumeRoles',
    actions: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
    resources: (c) => [c.roles],
    why: 'assume each profile role with a SourceIdentity (the base identity of each profile)',
  },
  {
    feature: 'credentials',
    role: 'daemon',
    sid: 'SentinelCallerIdentity',
    actions: ['sts:GetCallerIdentity'],
    resources: ANY,
    why: 'who the user is (AWS does not scope it; it is never refused)',
  },
  {
    feature: 'policy',
    role: 'daemon',
    sid: 'SentinelReadPolicies',
    actions: ['ssm:GetParametersByPath', 'ssm:GetParameter', 'kms:GetPublicKey'],
    resources: (c) => [...policyParameters(c), ...key(c)],
    why: 'policy.source ssm: read the policies and signatures; fetch the signing public key once',
  },
  {
    feature: 'policy',
    role: 'admin',
    sid: 'SentinelPublishPolicies',
    actions: ['ssm:GetParameter', 'ssm:GetParametersByPath', 'ssm:PutParameter', 'kms:Sign', 'kms:GetPublicKey'],
    resources: (c) => [...policyParameters(c), ...key(c)],
    why: 'policy pull/push/diff/sign, init bootstrap',
  },
  {
    feature: 'policy',
    role: 'admin',
    sid: 'SentinelDescribeParameters',
    actions: ['ssm:DescribeParameters'],
    resources: ANY,
    why: 'policy push reads the tier (SSM does not scope DescribeParameters)',
  },
  {
    feature: 'sessions',
    role: 'daemon',
    sid: 'SentinelSessionTable',
    actions: [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:DescribeTable',
    ],
    resources: (c) => table(c, c.tables.sessions),
    why: 'sessions.store dynamodb: open, touch, end and check sessions',
  },
  {
    feature: 'sessions',
    role: 'admin',
    sid: 'SentinelSessionAdmin',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan', ...TABLE_ADMIN],
    resources: (c) => table(c, c.tables.sessions),
    why: 'server sessions/session/revoke --table, init sessions',
  },
  {
    feature: 'permissions',
    role: 'admin',
    sid: 'SentinelCheckPermissions',
    actions: ['iam:SimulatePrincipalPolicy', 'iam:GetRole'],
    resources: (c) => [`arn:aws:iam::${c.account}:role/*`, `arn:aws:iam::${c.account}:user/*`],
    why: 'permissions check (anyone who runs it needs this for their own principal)',
  },
  {
    feature: 'approvals',
    role: 'requester',
    sid: 'SentinelRequests',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
    resources: (c) => [...table(c, c.tables.requests), ...table(c, c.tables.sessions)],
    why: "request, requests --mine, cancel; the daemon reads an approval with the session (the requester's daemon)",
  },
  {
    feature: 'approvals',
    role: 'approver',
    sid: 'SentinelApprove',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'ssm:GetParameter', 'kms:GetPublicKey'],
    resources: (c) => [...table(c, c.tables.requests), ...policyParameters(c), ...key(c)],
    why: 'approve, deny, requests revoke: the table, and the policy of the profile (verified)',
  },
  {
    feature: 'approvals',
    role: 'admin',
    sid: 'SentinelInitApprovals',
    actions: TABLE_ADMIN,
    resources: (c) => table(c, c.tables.requests),
    why: 'init approvals',
  },
  {
    feature: 'breakglass',
    role: 'requester',
    sid: 'SentinelBreakGlass',
    actions: [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    ],
    resources: (c) => table(c, c.tables.breakglass),
    why: 'breakglass invoke/list/show/close through the daemon: events, lock and rate-limit slot items',
  },
  {
    feature: 'breakglass',
    role: 'requester',
    sid: 'SentinelBreakGlassMfa',
    actions: ['sts:GetSessionToken'],
    resources: ANY,
    why: 'mfa: required entries (AWS does not scope GetSessionToken)',
  },
  {
    feature: 'breakglass',
    role: 'approver',
    sid: 'SentinelCloseBreakGlass',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    resources: (c) => table(c, c.tables.breakglass),
    why: 'breakglass close --table (the invoker or an approver of the profile), breakglass list|show --table',
  },
  {
    feature: 'breakglass',
    role: 'admin',
    sid: 'SentinelInitBreakGlass',
    actions: TABLE_ADMIN,
    resources: (c) => table(c, c.tables.breakglass),
    why: 'init breakglass',
  },
  {
    feature: 'notifications',
    role: 'requester',
    sid: 'SentinelNotify',
    actions: NOTIFY_ACTIONS,
    resources: notifyTargets,
    why: 'SNS targets and webhook secrets (SecureString: also kms:Decrypt on the parameter key) of notifications:',
  },
  {
    feature: 'notifications',
    role: 'approver',
    sid: 'SentinelNotifyDecisions',
    actions: NOTIFY_ACTIONS,
    resources: notifyTargets,
    why: 'approve/deny/revoke/close notify the same targets',
  },
  {
    feature: 'enforcement',
    role: 'enforcement',
    sid: 'SentinelEnforce',
    actions: ['iam:GetRole', 'iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
    resources: (c) => [c.roles],
    why: 'enforce plan (trust policies), server revoke --aws and enforce prune (sentinel-revoke-* inline policies)',
  },
  {
    feature: 'audit',
    role: 'daemon',
    sid: 'SentinelForwardDecisions',
    actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
    resources: logGroup,
    why: 'audit.cloudwatch: forward the decision log (deny logs:DeleteLogStream/DeleteLogGroup to users)',
  },
  {
    feature: 'audit',
    role: 'audit',
    sid: 'SentinelAuditTrail',
    actions: ['cloudtrail:LookupEvents'],
    resources: ANY,
    why: 'audit verify, untracked-sessions, calls (CloudTrail does not scope LookupEvents)',
  },
  {
    feature: 'audit',
    role: 'audit',
    sid: 'SentinelAuditRegions',
    actions: ['ssm:GetParametersByPath'],
    // AWS's own public parameters: no account in their ARN, and the same in every region.
    resources: () => ['arn:aws:ssm:*::parameter/aws/service/global-infrastructure/*'],
    why: 'audit verify, untracked-sessions, calls --all-regions: the list of regions, from AWS',
  },
  {
    feature: 'audit',
    role: 'audit',
    sid: 'SentinelAuditRecords',
    actions: ['dynamodb:GetItem', 'logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:DescribeLogStreams'],
    resources: (c) => [...table(c, c.tables.sessions), ...logGroup(c)],
    why: 'untracked-sessions looks sessions up; verify-logs --against-cloudwatch reads the stream',
  },
  {
    feature: 'vendor',
    role: 'requester',
    sid: 'SentinelInvokeVendor',
    actions: ['execute-api:Invoke'],
    resources: (c) => [`arn:aws:execute-api:${c.region}:${c.account}:*/*/*/v1/*`],
    why: 'vendor mode: the daemon signs its calls to the vendor API',
  },
  {
    feature: 'vendor',
    role: 'approver',
    sid: 'SentinelDecideThroughVendor',
    actions: ['execute-api:Invoke'],
    resources: (c) => [`arn:aws:execute-api:${c.region}:${c.account}:*/*/POST/v1/*`],
    why: 'vendor mode: approve, deny, requests revoke, server revoke and breakglass close call the vendor API',
  },
  {
    feature: 'vendor',
    role: 'vendor',
    sid: 'SentinelVendor',
    actions: [
      'sts:AssumeRole',
      'sts:SetSourceIdentity',
      'ssm:GetParametersByPath',
      'ssm:GetParameter',
      'kms:GetPublicKey',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    ],
    resources: (c) => [
      c.roles,
      ...policyParameters(c),
      ...key(c),
      ...table(c, c.tables.sessions),
      ...table(c, c.tables.requests),
      ...table(c, c.tables.breakglass),
    ],
    why: 'the vendor is the only writer of the tables and the only principal the protected roles trust',
  },
];

export const FEATURES = [...new Set(STATEMENTS.map((s) => s.feature))];

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<{ Sid: string; Effect: 'Allow'; Action: string[]; Resource: string[] }>;
}

export function selectStatements(filter: { feature?: string; role?: PermissionRole } = {}): PermissionStatement[] {
  return STATEMENTS.filter(
    (s) => (!filter.feature || s.feature === filter.feature) && (!filter.role || s.role === filter.role),
  );
}

/** One IAM policy document per role, from the selected statements. */
export function policyDocuments(
  statements: readonly PermissionStatement[],
  c: PermissionContext,
): Partial<Record<PermissionRole, PolicyDocument>> {
  const out: Partial<Record<PermissionRole, PolicyDocument>> = {};
  for (const s of statements) {
    const doc = (out[s.role] ??= { Version: '2012-10-17', Statement: [] });
    doc.Statement.push({ Sid: s.sid, Effect: 'Allow', Action: [...s.actions], Resource: [...new Set(s.resources(c))] });
  }
  return out;
}

const tfString = (s: string) => JSON.stringify(s).replace(/\$\{/g, '$${');

/** `data "aws_iam_policy_document"` blocks, one per role. */
export function terraform(docs: Partial<Record<PermissionRole, PolicyDocument>>): string {
  const blocks: string[] = [];
  for (const [role, doc] of Object.entries(docs)) {
    const statements = doc!.Statement.map(
      (s) =>
        `  statement {\n    sid       = ${tfString(s.Sid)}\n    effect    = "Allow"\n` +
        `    actions   = [${s.Action.map(tfString).join(', ')}]\n` +
        `    resources = [${s.Resource.map(tfString).join(', ')}]\n  }`,
    );
    blocks.push(`data "aws_iam_policy_document" "sentinel_${role}" {\n${statements.join('\n')}\n}`);
  }
  return blocks.join('\n\n') + '\n';
}

/** A CloudFormation template (JSON) with one AWS::IAM::ManagedPolicy per role. */
export function cloudFormation(docs: Partial<Record<PermissionRole, PolicyDocument>>): object {
  const resources: Record<string, object> = {};
  for (const [role, doc] of Object.entries(docs)) {
    const name = `Sentinel${role[0]!.toUpperCase()}${role.slice(1)}Policy`;
    resources[name] = {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: { Description: `Sentinel: ${ROLE_TEXT[role as PermissionRole]}`, PolicyDocument: doc },
    };
  }
  return { AWSTemplateFormatVersion: '2010-09-09', Description: 'IAM policies for Sentinel', Resources: resources };
}

/**
 * The IAM principal to simulate for a caller ARN: an assumed-role session is its role (IAM Identity Center roles live
 * under /aws-reserved/sso.amazonaws.com/, which the session ARN does not show), a user is itself. Null: not
 * simulatable (root, federated users).
 */
export function simulationPrincipal(callerArn: string): { arn: string; roleName?: string } | null {
  const assumed = /^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[^/]+$/.exec(callerArn);
  if (assumed) {
    const [, partition, account, role] = assumed;
    const path = role!.startsWith('AWSReservedSSO_') ? '/aws-reserved/sso.amazonaws.com/' : '/';
    return { arn: `arn:${partition}:iam::${account}:role${path}${role}`, roleName: role };
  }
  if (/^arn:aws[\w-]*:iam::\d{12}:(user|role)\/[\w+=,.@/-]+$/.test(callerArn)) return { arn: callerArn };
  return null;
}

/** A concrete resource for simulating a pattern: the caller's account and region, "example" for other wildcards. */
export function sampleResource(pattern: string, account: string, region: string): string {
  if (pattern === '*') return '*';
  const parts = pattern.split(':');
  if (parts.length >= 6) {
    if (parts[3] === '*') parts[3] = region;
    if (parts[4] === '*') parts[4] = account;
  }
  return parts.join(':').replace(/\*/g, 'example');
}

/** The ARN service of an action's resources (`sts:AssumeRole` acts on IAM role ARNs). */
const RESOURCE_SERVICE: Record<string, string> = { sts: 'iam' };
/**
 * Actions that act on only some resource types of their service (the Service Authorization Reference): IAM's simulator
 * refuses `iam:GetRole` on a user ARN or `logs:PutLogEvents` on a log group (InvalidInput), so a statement on several
 * types is simulated per type.
 */
const RESOURCE_TYPES: Record<string, readonly string[]> = {
  'iam:GetRole': ['role'],
  'iam:ListRolePolicies': ['role'],
  'iam:GetRolePolicy': ['role'],
  'iam:PutRolePolicy': ['role'],
  'iam:DeleteRolePolicy': ['role'],
  'logs:CreateLogGroup': ['log-group'],
  'logs:DescribeLogStreams': ['log-group'],
  'logs:FilterLogEvents': ['log-group'],
  'logs:CreateLogStream': ['log-stream'],
  'logs:PutLogEvents': ['log-stream'],
  'logs:GetLogEvents': ['log-stream'],
};

/** `role` of an IAM role ARN, `table` of a DynamoDB one; a log stream's ARN starts with its group's. */
const resourceType = (pattern: string): string | undefined =>
  pattern.includes(':log-stream:') ? 'log-stream' : pattern.split(':')[5]?.split('/')[0];

/**
 * What `permissions check` simulates for a statement: each resource with the actions that act on resources of its
 * kind (simulating `ssm:GetParameter` on a KMS key would only be noise), on a representative resource of the caller's
 * account and region.
 */
export function simulationChecks(
  s: PermissionStatement,
  c: PermissionContext,
  account: string,
  region: string,
): Array<{ actions: string[]; resource: string }> {
  const out: Array<{ actions: string[]; resource: string }> = [];
  for (const pattern of new Set(s.resources(c))) {
    // A resource of no account (AWS's public SSM parameters, for --all-regions) has no sample in the caller's account,
    // and the policy evaluator behind the tests refuses it as a resource of no type: it is printed, not simulated.
    if (pattern.startsWith('arn:') && pattern.split(':')[4] === '') continue;
    const service = pattern === '*' ? '*' : pattern.split(':')[2];
    const type = resourceType(pattern);
    const actions = s.actions.filter((a) => {
      const prefix = a.split(':')[0]!;
      if (service === '*') return true;
      if ((RESOURCE_SERVICE[prefix] ?? prefix) !== service) return false;
      const types = RESOURCE_TYPES[a];
      return !types || (type !== undefined && types.includes(type));
    });
    if (actions.length > 0) out.push({ actions, resource: sampleResource(pattern, account, region) });
  }
  return out;
}
