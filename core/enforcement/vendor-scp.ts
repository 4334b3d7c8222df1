// `enforce generate vendor-scp`: the SCP that keeps the server-side vendor the vendor (docs/vendor.md, "Keep the
// vendor the vendor"). Outside the deployment pipeline nobody in the account may invoke or change the function,
// pass or change its role, write its tables, its log group or its policy parameters, change its API, or (with
// --signing-key-arn) sign with its policy key. Every statement is a Deny with an `ArnNotLike aws:PrincipalArn`
// exemption; test/enforce-generate.test.ts proves the document with an independent IAM evaluator.
import { SentinelError } from '../errors.js';
import { SIGNATURE_ROOT } from '../policy/signature.js';
import { VERSION, checkRolePattern, one, shown } from './generate.js';
import type { PolicyDocument, PolicyStatement } from './policy-document.js';

/** AWS Organizations' size limit for one SCP, in characters. */
export const SCP_MAX_CHARS = 5_120;

/** What `lambda/template.yaml` names by default. */
export const TEMPLATE_POLICY_ROOT = '/sentinel/policies';

const PARTITION = '(?<partition>aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc)';
const REGION = '(?<region>[a-z]{2}(?:-[a-z]+)+-\\d{1,2})';
const ACCOUNT = '(?<account>\\d{12})';
// Unqualified: the SCP covers the function and every version and alias of it (`<arn>:*`).
const FUNCTION_ARN = new RegExp(`^arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:(?<name>[A-Za-z0-9_-]{1,64})$`);
const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:role/(?:[\\x21-\\x7e]{1,510}/)?[\\w+=,.@-]{1,64}$`);
const TABLE_ARN = new RegExp(`^arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/[A-Za-z0-9_.-]{3,255}$`);
// As `Fn::GetAtt [LogGroup, Arn]` gives it, `:*` and all; the suffix is dropped (the streams are added back below).
const LOG_GROUP_ARN = new RegExp(`^arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:[\\w./#-]{1,512}(?::\\*)?$`);
// API Gateway's management ARN (not the execute-api one users invoke): a REST API (v1) or an HTTP API (v2).
const API_ARN = new RegExp(`^arn:${PARTITION}:apigateway:${REGION}::/(?:restapis|apis)/[a-z0-9]{1,32}$`);
// The policy-signing key (the template's SigningKeyArn): a key ARN, not an alias. Its region is not checked against
// the function's: a multi-Region key may be used from its replica.
const KEY_ARN = new RegExp(
  `^arn:${PARTITION}:kms:[a-z]{2}(?:-[a-z]+)+-\\d{1,2}:${ACCOUNT}:key/(?:mrk-)?[0-9a-f-]{32,36}$`,
);
// lambda/template.yaml's AllowedPattern for PolicyRoot.
const POLICY_ROOT = /^\/[A-Za-z0-9_.\-/]{0,1000}[A-Za-z0-9_.-]$/;

// Every action here changes what the vendor is or does, or what it records. Not here, on purpose:
// lambda:PutFunctionConcurrency (reserved concurrency 0 is the vendor's kill switch and fails closed: it forges nothing);
// dynamodb:TransactWriteItems (not an IAM action: a transaction is authorized as the PutItem, UpdateItem and
// DeleteItem it holds); the tables' `/index/*` ARNs (no write action names an index; writes to the table are what
// change them); reads of any kind; execute-api:Invoke (what users call the vendor with).
const FUNCTION_ACTIONS = [
  'lambda:InvokeFunction',
  'lambda:InvokeAsync',
  'lambda:InvokeFunctionUrl',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'lambda:AddPermission',
  'lambda:RemovePermission',
  'lambda:CreateFunctionUrlConfig',
  'lambda:UpdateFunctionUrlConfig',
  'lambda:DeleteFunction',
];
const ROLE_ACTIONS = [
  'iam:PassRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:UpdateRole',
  'iam:DeleteRole',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  // The role trusts only lambda.amazonaws.com, which no SCP binds; this stops a trust policy loosened out of band.
  'sts:AssumeRole',
];
const TABLE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:UpdateTable',
  'dynamodb:DeleteTable',
  'dynamodb:UpdateTimeToLive',
  'dynamodb:PutResourcePolicy',
  'dynamodb:CreateTableReplica',
];
const LOG_ACTIONS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'logs:DeleteLogStream',
  'logs:DeleteLogGroup',
  'logs:PutRetentionPolicy',
  'logs:AssociateKmsKey',
  'logs:DisassociateKmsKey',
  'logs:PutDataProtectionPolicy',
  'logs:DeleteSubscriptionFilter',
];
const PARAMETER_ACTIONS = ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters'];
// Whoever can sign with the key, or give themselves the right to, can sign a policy the vendor accepts. Disabling or
// deleting the key is left alone: the vendor then refuses every signed policy (it fails closed, forging nothing).
const KEY_ACTIONS = ['kms:Sign', 'kms:CreateGrant', 'kms:PutKeyPolicy', 'kms:ReplicateKey', 'kms:ImportKeyMaterial'];
const API_ACTIONS = [
  'apigateway:PUT',
  'apigateway:POST',
  'apigateway:PATCH',
  'apigateway:DELETE',
  'apigateway:UpdateRestApiPolicy',
];

export interface VendorScpOptions {
  /** The vendor function, unqualified: arn:aws:lambda:<region>:<account>:function:<name>. */
  functionArn: string;
  /** Its execution role (the template's VendorRoleArn output). */
  roleArn: string;
  /** The session, request and break-glass tables. */
  tables: string[];
  /** Role ARN patterns exempt from every statement: who deploys the vendor. */
  pipelineRoles: string[];
  /** Role ARN patterns also exempt from the policy-parameter statement: who publishes policies. */
  policyWriters?: string[];
  /** Default: /aws/lambda/<function name> in the function's region and account (where Lambda writes). */
  logGroupArn?: string;
  /** Default: the template's /sentinel/policies. */
  policyRoot?: string;
  /** API Gateway's ARN of the vendor's API: arn:aws:apigateway:<region>::/restapis/<id>. */
  apiArn?: string;
  /** The KMS key that signs the policies (the template's SigningKeyArn): only the pipeline and policy writers sign. */
  signingKeyArn?: string;
}

interface Place {
  partition: string;
  region: string;
  account: string;
}

function usage(message: string, hint: string): SentinelError {
  return new SentinelError('UsageError', message, { hint });
}

/**
 * `value` checked against `pattern`, and with `place` in the function's own partition, region and account (the
 * template's `AWS::*`) as far as the ARN names them: the pattern's named groups.
 */
function arnOf(
  pattern: RegExp,
  value: string,
  flag: string,
  what: string,
  example: string,
  place?: Place,
): Record<string, string> {
  const groups = (value.length <= 2048 ? pattern.exec(value) : null)?.groups;
  if (!groups) throw usage(`${flag}: ${shown(value)} is not ${what}`, `For example: ${example}.`);
  for (const key of ['partition', 'region', 'account'] as const) {
    if (place && groups[key] !== undefined && groups[key] !== place[key]) {
      throw usage(
        `${flag}: ${shown(value)} is in ${key} ${groups[key]}, the function in ${place[key]}`,
        "The vendor's role, tables, log group and API are in the function's own account and region (lambda/template.yaml).",
      );
    }
  }
  return groups;
}

/** A pipeline or policy-writer pattern: a role ARN pattern that names an account and some of a role name. */
function checkExemption(value: string, flag: string): string {
  checkRolePattern(value, flag);
  const m = /^arn:[^:]+:iam::([^:]*):role\/(.*)$/.exec(value)!;
  if (!/^\d{12}$/.test(m[1]!) || /^[*?/]*$/.test(m[2]!)) {
    throw usage(
      `${flag}: ${shown(value)} would exempt every role${/^\d{12}$/.test(m[1]!) ? '' : ' of every account'}`,
      'Name the role (wildcards inside a name are fine): arn:aws:iam::123456789012:role/sentinel-deploy.',
    );
  }
  return value;
}

function deny(sid: string, actions: string[], resources: string[], exempt: string[]): PolicyStatement {
  return {
    Sid: sid,
    Effect: 'Deny',
    Action: actions,
    Resource: one([...new Set(resources)]),
    Condition: { ArnNotLike: { 'aws:PrincipalArn': one([...new Set(exempt)]) } },
  };
}

export function vendorServiceControlPolicy(options: VendorScpOptions): PolicyDocument {
  const fn = arnOf(
    FUNCTION_ARN,
    options.functionArn,
    '--function-arn',
    'an unqualified Lambda function ARN (no :version or :alias; the SCP covers them all)',
    'arn:aws:lambda:eu-west-1:123456789012:function:sentinel-vendor',
  );
  const place: Place = { partition: fn.partition!, region: fn.region!, account: fn.account! };
  const prefix = (service: string) => `arn:${place.partition}:${service}:${place.region}:${place.account}:`;

  arnOf(
    ROLE_ARN,
    options.roleArn,
    '--role-arn',
    'an IAM role ARN',
    "arn:aws:iam::123456789012:role/sentinel-vendor-VendorRole-1A2B3C4D5E6F (the stack's VendorRoleArn output)",
    place,
  );

  if (options.tables.length === 0) {
    throw usage('at least one --table is needed', "Name the vendor's tables: --table <sessions table ARN> ….");
  }
  for (const table of options.tables) {
    arnOf(
      TABLE_ARN,
      table,
      '--table',
      'a DynamoDB table ARN',
      'arn:aws:dynamodb:eu-west-1:123456789012:table/sentinel-sessions',
      place,
    );
  }

  let logGroup = `${prefix('logs')}log-group:/aws/lambda/${fn.name!}`;
  if (options.logGroupArn !== undefined) {
    arnOf(
      LOG_GROUP_ARN,
      options.logGroupArn,
      '--log-group-arn',
      'a CloudWatch Logs log group ARN',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/sentinel-vendor',
      place,
    );
    logGroup = options.logGroupArn.replace(/:\*$/, '');
  }

  const root = options.policyRoot ?? TEMPLATE_POLICY_ROOT;
  if (!POLICY_ROOT.test(root)) {
    throw usage(
      `--policy-root: ${shown(root)} is not an SSM path`,
      `The template's PolicyRoot, as config policy.ssm_root: ${TEMPLATE_POLICY_ROOT}.`,
    );
  }

  if (options.pipelineRoles.length === 0) {
    throw usage(
      'at least one --pipeline-role is needed',
      'Name who deploys the vendor (it is exempt): --pipeline-role arn:aws:iam::123456789012:role/sentinel-deploy.',
    );
  }
  const pipeline = options.pipelineRoles.map((p) => checkExemption(p, '--pipeline-role'));
  const writers = (options.policyWriters ?? []).map((p) => checkExemption(p, '--policy-writer'));
  // The function's own role writes its tables and its log group: an SCP binds it like any other role.
  const pipelineAndVendor = [...pipeline, options.roleArn];

  const functionArn = options.functionArn;
  const parameters = (path: string) => [`${prefix('ssm')}parameter${path}`, `${prefix('ssm')}parameter${path}/*`];
  const statements: PolicyStatement[] = [
    deny('SentinelVendorFunction', FUNCTION_ACTIONS, [functionArn, `${functionArn}:*`], pipeline),
    deny('SentinelVendorRole', ROLE_ACTIONS, [options.roleArn], pipeline),
    deny('SentinelVendorTables', TABLE_ACTIONS, options.tables, pipelineAndVendor),
    deny('SentinelVendorLogs', LOG_ACTIONS, [logGroup, `${logGroup}:*`], pipelineAndVendor),
    deny(
      'SentinelVendorPolicy',
      PARAMETER_ACTIONS,
      [...parameters(root), ...parameters(SIGNATURE_ROOT)],
      [...pipeline, ...writers],
    ),
  ];
  if (options.apiArn !== undefined) {
    arnOf(
      API_ARN,
      options.apiArn,
      '--api-arn',
      "an API Gateway API's ARN",
      'arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5 (the id is the first label of the ApiUrl output)',
      place,
    );
    statements.push(deny('SentinelVendorApi', API_ACTIONS, [options.apiArn, `${options.apiArn}/*`], pipeline));
  }

  if (options.signingKeyArn !== undefined) {
    arnOf(
      KEY_ARN,
      options.signingKeyArn,
      '--signing-key-arn',
      'a KMS key ARN (not an alias)',
      "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab (the template's SigningKeyArn)",
      place,
    );
    statements.push(deny('SentinelVendorSigningKey', KEY_ACTIONS, [options.signingKeyArn], [...pipeline, ...writers]));
  }

  const doc: PolicyDocument = { Version: VERSION, Statement: statements };
  const size = JSON.stringify(doc).length;
  if (size > SCP_MAX_CHARS) {
    throw usage(
      `the SCP would be ${size} characters, over the ${SCP_MAX_CHARS} AWS Organizations allows`,
      'Cover several pipeline roles with one pattern (arn:aws:iam::123456789012:role/deploy-*), or name fewer tables.',
    );
  }
  return doc;
}
