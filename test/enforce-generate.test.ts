// The generated policies, evaluated by an IAM policy evaluator no one here wrote (@cloud-copilot/iam-simulate,
// test-only): what AWS would decide, not what the generator's author meant.
import t from 'tap';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import {
  resourceControlPolicy,
  revocationPolicy,
  revocationPolicyName,
  serviceControlPolicy,
  trustPolicy,
} from '../core/enforcement/generate.js';
import type { PolicyDocument } from '../core/enforcement/policy-document.js';
import { SCP_MAX_CHARS, vendorServiceControlPolicy, type VendorScpOptions } from '../core/enforcement/vendor-scp.js';
import { isSentinelError } from '../core/errors.js';
import { defaultKeyPolicy } from './support/iam-simulate.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/sentinel/prod-admin`;
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const STAMP = 'sentinel-alice-direct-0123456789abcdef';
const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

interface Sim {
  action: string;
  principal?: string;
  resource?: string;
  context?: Record<string, string>;
  trust?: PolicyDocument;
  identity?: object[];
  scp?: PolicyDocument;
  rcp?: PolicyDocument;
}

async function decide(s: Sim): Promise<string> {
  const principal = s.principal ?? ALICE;
  const resource = s.resource ?? ROLE;
  const result = await runSimulation(
    {
      request: {
        action: s.action,
        principal,
        resource: { resource, accountId: /::(\d{12}):/.exec(resource)?.[1] ?? ACCOUNT },
        contextVariables: s.context ?? {},
      },
      identityPolicies: (s.identity ?? [ALLOW_ALL]).map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: s.scp
        ? [
            {
              orgIdentifier: 'o-exampleorg',
              policies: [
                { name: 'FullAWSAccess', policy: ALLOW_ALL },
                { name: 'sentinel', policy: s.scp },
              ],
            },
          ]
        : [],
      resourceControlPolicies: s.rcp
        ? [{ orgIdentifier: 'o-exampleorg', policies: [{ name: 'sentinel', policy: s.rcp }] }]
        : [],
      ...(s.trust ? { resourcePolicy: s.trust } : {}),
    } as Parameters<typeof runSimulation>[0],
    {},
  );
  if (result.resultType === 'error') throw new Error(`simulation refused: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

const assume = (trust: PolicyDocument, sourceIdentity?: string, extra: Partial<Sim> = {}) =>
  decide({
    action: 'sts:AssumeRole',
    trust,
    context: sourceIdentity === undefined ? {} : { 'sts:SourceIdentity': sourceIdentity },
    ...extra,
  });

t.test(
  'trust policy: only a Sentinel stamp gets in, and SetSourceIdentity is allowed exactly when AssumeRole is',
  async (t) => {
    const trust = trustPolicy({ principals: [`arn:aws:iam::${ACCOUNT}:root`] });
    t.equal(await assume(trust), 'ImplicitlyDenied', 'no SourceIdentity: denied');
    t.equal(await assume(trust, 'other-x'), 'ImplicitlyDenied', 'a stamp that is not Sentinel: denied');
    t.equal(await assume(trust, 'sentinelx-alice'), 'ImplicitlyDenied', 'the prefix needs its dash');
    t.equal(await assume(trust, STAMP), 'Allowed', 'a Sentinel stamp: allowed');
    for (const si of [undefined, 'other-x', STAMP, 'sentinel-bob-breakglass-fedcba9876543210']) {
      const context: Record<string, string> = si === undefined ? {} : { 'sts:SourceIdentity': si };
      const a = await decide({ action: 'sts:AssumeRole', trust, context });
      const s = await decide({ action: 'sts:SetSourceIdentity', trust, context });
      t.equal(s, a, `SetSourceIdentity and AssumeRole agree for ${si ?? 'no SourceIdentity'}`);
    }
    t.equal(
      await assume(trust, STAMP, { principal: 'arn:aws:iam::210987654321:user/mallory' }),
      'ImplicitlyDenied',
      'another account is not a principal of this trust policy',
    );
  },
);

t.test("trust policy with --users: another user's stamp is refused", async (t) => {
  const trust = trustPolicy({ principals: [ACCOUNT], users: ['alice', 'carol'] });
  t.equal(await assume(trust, STAMP), 'Allowed');
  t.equal(await assume(trust, 'sentinel-carol-approved-0123456789abcdef'), 'Allowed');
  t.equal(await assume(trust, 'sentinel-bob-direct-0123456789abcdef'), 'ImplicitlyDenied');
  t.equal(await assume(trust, 'sentinel-alicex-direct-0123456789abcdef'), 'ImplicitlyDenied', 'no prefix overlap');
  t.equal(await assume(trust), 'ImplicitlyDenied');
});

t.test('trust policy with a legacy principal and with --require-mfa', async (t) => {
  const legacyArn = `arn:aws:iam::${ACCOUNT}:role/legacy-ci`;
  const trust = trustPolicy({ principals: [ALICE], legacyPrincipals: [legacyArn] });
  t.equal(await assume(trust, undefined, { principal: legacyArn }), 'Allowed', 'the legacy principal still gets in');
  t.equal(await assume(trust, undefined, { principal: ALICE }), 'ImplicitlyDenied', 'others still need the stamp');
  t.equal(await assume(trust, STAMP, { principal: ALICE }), 'Allowed');

  const mfa = trustPolicy({ principals: [ALICE], requireMfa: true });
  t.equal(await assume(mfa, STAMP), 'ImplicitlyDenied', 'no MFA: denied');
  t.equal(
    await decide({
      action: 'sts:AssumeRole',
      trust: mfa,
      context: { 'sts:SourceIdentity': STAMP, 'aws:MultiFactorAuthPresent': 'true' },
    }),
    'Allowed',
  );
});

t.test('the SCP denies non-Sentinel assumptions of protected roles and leaves other roles alone', async (t) => {
  const scp = serviceControlPolicy();
  const open = trustPolicy({ principals: [ACCOUNT], legacyPrincipals: [ACCOUNT] });
  t.equal(await assume(open, undefined, { scp }), 'ExplicitlyDenied', 'the key missing: denied');
  t.equal(await assume(open, 'other-x', { scp }), 'ExplicitlyDenied');
  t.equal(await assume(open, STAMP, { scp }), 'Allowed');
  t.equal(await assume(open, undefined, { scp, resource: OTHER_ROLE }), 'Allowed', 'a role outside the pattern');
  const narrow = serviceControlPolicy(`arn:aws:iam::${ACCOUNT}:role/ci-*`);
  t.equal(await assume(open, undefined, { scp: narrow, resource: OTHER_ROLE }), 'ExplicitlyDenied');
  t.equal(await assume(open, undefined, { scp: narrow }), 'Allowed');
});

t.test('the RCP binds callers from outside the organization too', async (t) => {
  const rcp = resourceControlPolicy();
  const outsider = 'arn:aws:iam::210987654321:user/partner';
  const trust = trustPolicy({ principals: ['210987654321'], legacyPrincipals: ['210987654321'] });
  t.equal(
    await assume(trust, undefined, { principal: outsider }),
    'Allowed',
    'without the RCP the legacy statement admits',
  );
  t.equal(await assume(trust, undefined, { principal: outsider, rcp }), 'ExplicitlyDenied');
  t.equal(await assume(trust, 'other-x', { principal: outsider, rcp }), 'ExplicitlyDenied');
  t.equal(await assume(trust, STAMP, { principal: outsider, rcp }), 'Allowed');
  t.equal(
    await assume(trust, undefined, { principal: outsider, rcp, resource: `arn:aws:iam::${ACCOUNT}:role/other` }),
    'Allowed',
  );
});

t.test('a revocation policy denies the revoked session and only it', async (t) => {
  const id = '0123456789abcdef';
  t.equal(revocationPolicyName(id), 'sentinel-revoke-0123456789abcdef');
  const identity = [ALLOW_ALL, revocationPolicy(id)];
  const call = (context: Record<string, string>, action = 's3:GetObject', resource = 'arn:aws:s3:::bucket/key') =>
    decide({
      action,
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/prod-admin/sentinel-alice-r1`,
      resource,
      identity,
      context,
    });
  t.equal(await call({ 'aws:SourceIdentity': STAMP }), 'ExplicitlyDenied');
  t.equal(
    await call({ 'aws:SourceIdentity': 'sentinel-alice-approved-0123456789abcdef' }),
    'ExplicitlyDenied',
    'any marker',
  );
  t.equal(await call({ 'aws:SourceIdentity': STAMP }, 'iam:GetRole', ROLE), 'ExplicitlyDenied', 'any action');
  t.equal(await call({ 'aws:SourceIdentity': 'sentinel-alice-direct-fedcba9876543210' }), 'Allowed', 'another session');
  t.equal(
    await call({ 'aws:SourceIdentity': 'sentinel-alice-direct-0123456789abcdef0' }),
    'Allowed',
    'no suffix match',
  );
  t.equal(await call({}), 'Allowed', 'unstamped credentials are not this session');
});

t.test('bad input is a usage error, never a policy', async (t) => {
  const usage = (fn: () => unknown, pattern: RegExp) => {
    try {
      fn();
      t.fail('expected a usage error');
    } catch (e) {
      t.ok(isSentinelError(e) && e.code === 'UsageError' && e.exit === 2, 'a usage error');
      t.match((e as Error).message, pattern);
    }
  };
  usage(() => trustPolicy({ principals: [] }), /at least one --principal/);
  usage(() => trustPolicy({ principals: ['arn:aws:iam::1234:root'] }), /not an IAM principal ARN/);
  usage(() => trustPolicy({ principals: ['arn:aws:sts::123456789012:assumed-role/x/y'] }), /not an IAM principal/);
  usage(
    () => trustPolicy({ principals: ['arn:aws:iam::123456789012:role/x\ny'] }),
    /"arn:aws:iam::123456789012:role\/x\\ny"/,
  );
  usage(() => trustPolicy({ principals: [ACCOUNT], users: ['al-ice'] }), /not a policy user name/);
  usage(() => trustPolicy({ principals: [ACCOUNT], legacyPrincipals: ['nope'] }), /--legacy-principal/);
  usage(() => serviceControlPolicy('arn:aws:s3:::bucket'), /not a role ARN pattern/);
  usage(() => resourceControlPolicy('arn:aws:iam::*:role/a b'), /not a role ARN pattern/);
  usage(() => revocationPolicy('ABC'), /not a session id/);
  usage(() => trustPolicy({ principals: ['x'.repeat(5000)] }), /…"/);
});

// The vendor's resources as lambda/template.yaml names them, in ACCOUNT (decide() evaluates in ACCOUNT).
const R = 'eu-west-1';
const FUNCTION = `arn:aws:lambda:${R}:${ACCOUNT}:function:sentinel-vendor`;
const VENDOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/sentinel-vendor-VendorRole-1A2B3C4D5E6F7`;
const TABLES = ['sentinel-sessions', 'sentinel-requests', 'sentinel-breakglass'].map(
  (name) => `arn:aws:dynamodb:${R}:${ACCOUNT}:table/${name}`,
);
const API = `arn:aws:apigateway:${R}::/restapis/a1b2c3d4e5`;
const PIPELINE = `arn:aws:iam::${ACCOUNT}:role/sentinel-deploy`;
const SIGNING_KEY = `arn:aws:kms:${R}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const WRITER = `arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_PolicyAdmin_*`;
const vendorScp = (extra: Partial<VendorScpOptions> = {}) =>
  vendorServiceControlPolicy({
    functionArn: FUNCTION,
    roleArn: VENDOR_ROLE,
    tables: TABLES,
    pipelineRoles: [PIPELINE, `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${R}`],
    policyWriters: [WRITER],
    apiArn: API,
    ...extra,
  });
// PowerUserAccess as AWS writes it (everything but IAM, Organizations and Account), plus the iam:PassRole on `*` that
// developer roles commonly add so they can deploy their own functions.
const POWER_USER = [
  {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
      { Effect: 'Allow', Action: ['iam:PassRole', 'iam:CreateServiceLinkedRole', 'iam:ListRoles'], Resource: '*' },
    ],
  },
];

/** A call by a session of `role`: IAM sets aws:PrincipalArn to the role's ARN, not the session's. */
const asRole = (role: string, action: string, resource: string, scp: PolicyDocument) =>
  decide({
    action,
    resource,
    principal: role.replace(/^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/, 'arn:aws:sts::$1:assumed-role/$2/s1'),
    context: { 'aws:PrincipalArn': role },
    identity: POWER_USER,
    scp,
    // KMS allows nothing without a key policy: the default one leaves the decision to IAM and the SCP.
    ...(action.startsWith('kms:') ? { trust: defaultKeyPolicy(ACCOUNT) as PolicyDocument } : {}),
  });

// Each vendor resource, and one like it that is not the vendor's.
const CALLS: [action: string, vendor: string, other: string][] = [
  ['lambda:InvokeFunction', FUNCTION, `arn:aws:lambda:${R}:${ACCOUNT}:function:orders`],
  ['lambda:InvokeFunction', `${FUNCTION}:live`, `arn:aws:lambda:${R}:${ACCOUNT}:function:sentinel-vendorx`],
  ['lambda:UpdateFunctionCode', FUNCTION, `arn:aws:lambda:${R}:${ACCOUNT}:function:orders`],
  ['lambda:AddPermission', FUNCTION, `arn:aws:lambda:${R}:${ACCOUNT}:function:orders`],
  ['dynamodb:PutItem', TABLES[0]!, `arn:aws:dynamodb:${R}:${ACCOUNT}:table/orders`],
  ['dynamodb:UpdateItem', TABLES[1]!, `arn:aws:dynamodb:${R}:${ACCOUNT}:table/orders`],
  ['dynamodb:PartiQLDelete', TABLES[2]!, `arn:aws:dynamodb:${R}:${ACCOUNT}:table/orders`],
  ['iam:PassRole', VENDOR_ROLE, `arn:aws:iam::${ACCOUNT}:role/orders-function`],
  [
    'ssm:PutParameter',
    `arn:aws:ssm:${R}:${ACCOUNT}:parameter/sentinel/policies/prod`,
    `arn:aws:ssm:${R}:${ACCOUNT}:parameter/orders/db`,
  ],
  [
    'ssm:DeleteParameter',
    `arn:aws:ssm:${R}:${ACCOUNT}:parameter/sentinel/signatures/prod`,
    `arn:aws:ssm:${R}:${ACCOUNT}:parameter/sentinel/other`,
  ],
  [
    'logs:PutLogEvents',
    `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/sentinel-vendor:log-stream:2026/12/07/[$LATEST]abc`,
    `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/orders:log-stream:s`,
  ],
  [
    'logs:DeleteLogGroup',
    `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/sentinel-vendor`,
    `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/orders`,
  ],
  [
    'apigateway:PATCH',
    `${API}/resources/abc123/methods/ANY`,
    `arn:aws:apigateway:${R}::/restapis/zzzzzzzzzz/resources/abc123/methods/ANY`,
  ],
];

t.test("the vendor SCP: its shape, and within the size AWS allows with the template's names", async (t) => {
  const scp = vendorScp();
  t.equal(scp.Statement.length, 6);
  for (const s of scp.Statement) {
    t.equal(s.Effect, 'Deny', `${s.Sid} denies`);
    t.ok(s.Action && s.Resource && !s.NotAction && !s.Principal, `${s.Sid} names actions and resources`);
    const exempt = [s.Condition?.ArnNotLike?.['aws:PrincipalArn'] ?? []].flat();
    t.ok(exempt.includes(PIPELINE), `${s.Sid} exempts the pipeline`);
    t.same(Object.keys(s.Condition!), ['ArnNotLike'], `${s.Sid}: no other condition`);
  }
  const bySid = Object.fromEntries(scp.Statement.map((s) => [s.Sid, s]));
  t.same(bySid.SentinelVendorFunction!.Resource, [FUNCTION, `${FUNCTION}:*`], 'the function and its versions/aliases');
  t.ok(
    [bySid.SentinelVendorTables!.Condition!.ArnNotLike!['aws:PrincipalArn']].flat().includes(VENDOR_ROLE),
    'the vendor writes its tables',
  );
  t.notOk(
    [bySid.SentinelVendorFunction!.Condition!.ArnNotLike!['aws:PrincipalArn']].flat().includes(VENDOR_ROLE),
    'but does not invoke itself',
  );
  t.ok(JSON.stringify(scp).length <= SCP_MAX_CHARS, `${JSON.stringify(scp).length} characters compact`);
  t.notOk(JSON.stringify(scp).includes('execute-api'), "users' execute-api:Invoke is not touched");
  t.equal(vendorScp({ apiArn: undefined }).Statement.length, 5, 'no --api-arn, no API statement');
  t.same(
    vendorScp({ logGroupArn: `arn:aws:logs:${R}:${ACCOUNT}:log-group:/custom/vendor:*` }).Statement[3]!.Resource,
    [
      `arn:aws:logs:${R}:${ACCOUNT}:log-group:/custom/vendor`,
      `arn:aws:logs:${R}:${ACCOUNT}:log-group:/custom/vendor:*`,
    ],
    "GetAtt's `:*` form is accepted",
  );
});

t.test('the vendor SCP denies a PowerUser developer on the vendor and nowhere else', async (t) => {
  const scp = vendorScp();
  const dev = `arn:aws:iam::${ACCOUNT}:role/developer`;
  for (const [action, vendor, other] of CALLS) {
    t.equal(await asRole(dev, action, vendor, scp), 'ExplicitlyDenied', `${action} on ${vendor}: denied`);
    t.equal(await asRole(dev, action, other, scp), 'Allowed', `${action} on ${other}: allowed`);
  }
});

t.test('the vendor SCP exempts the pipeline, the vendor its own writes, policy writers their parameters', async (t) => {
  const scp = vendorScp();
  for (const [action, vendor] of CALLS) {
    t.equal(await asRole(PIPELINE, action, vendor, scp), 'Allowed', `the pipeline: ${action} on ${vendor}`);
  }
  const vendorCalls = (prefix: string) => CALLS.filter(([a]) => a.startsWith(prefix));
  for (const [action, resource] of [...vendorCalls('dynamodb:'), ...vendorCalls('logs:PutLogEvents')]) {
    t.equal(await asRole(VENDOR_ROLE, action, resource, scp), 'Allowed', `the vendor: ${action}`);
  }
  for (const [action, resource] of [...vendorCalls('lambda:'), ...vendorCalls('ssm:'), ...vendorCalls('iam:')]) {
    t.equal(await asRole(VENDOR_ROLE, action, resource, scp), 'ExplicitlyDenied', `the vendor: ${action}`);
  }
  const writer = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PolicyAdmin_0123abcd`;
  const writerScp = vendorScp({
    policyWriters: [`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PolicyAdmin_*`],
  });
  for (const [action, resource] of vendorCalls('ssm:')) {
    t.equal(await asRole(writer, action, resource, writerScp), 'Allowed', `a policy writer: ${action}`);
  }
  t.equal(await asRole(writer, 'lambda:InvokeFunction', FUNCTION, writerScp), 'ExplicitlyDenied', 'but nothing else');
  t.equal(
    await decide({ action: 'lambda:InvokeFunction', resource: FUNCTION, identity: POWER_USER, scp }),
    'ExplicitlyDenied',
    'no aws:PrincipalArn at all (an IAM user is known by it too): denied',
  );
});

t.test('with --signing-key-arn only the pipeline and policy writers sign with the policy key', async (t) => {
  const writer = `arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_PolicyAdmin_0123abcd`;
  const scp = vendorScp({ signingKeyArn: SIGNING_KEY });
  t.equal(scp.Statement.length, 7);
  t.ok(JSON.stringify(scp).length <= SCP_MAX_CHARS, `${JSON.stringify(scp).length} characters compact`);
  t.notOk(JSON.stringify(vendorScp()).includes(':kms:'), 'no key named, no key statement');
  const other = `arn:aws:kms:${R}:${ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab`;
  const dev = `arn:aws:iam::${ACCOUNT}:role/developer`;
  for (const action of ['kms:Sign', 'kms:CreateGrant', 'kms:PutKeyPolicy']) {
    t.equal(await asRole(dev, action, SIGNING_KEY, scp), 'ExplicitlyDenied', `a developer: ${action} on the key`);
    t.equal(await asRole(dev, action, other, scp), 'Allowed', `a developer: ${action} on another key`);
    t.equal(await asRole(writer, action, SIGNING_KEY, scp), 'Allowed', `a policy writer: ${action}`);
    t.equal(await asRole(PIPELINE, action, SIGNING_KEY, scp), 'Allowed', `the pipeline: ${action}`);
  }
  t.equal(await asRole(VENDOR_ROLE, 'kms:Sign', SIGNING_KEY, scp), 'ExplicitlyDenied', 'the vendor only verifies');
  for (const action of ['kms:Verify', 'kms:GetPublicKey']) {
    t.equal(await asRole(VENDOR_ROLE, action, SIGNING_KEY, scp), 'Allowed', `the vendor: ${action}`);
  }
});

t.test('vendor SCP input is checked: a usage error, never a policy', async (t) => {
  const usage = (extra: Partial<VendorScpOptions>, pattern: RegExp) => {
    try {
      vendorScp(extra);
      t.fail(`expected a usage error for ${JSON.stringify(extra).slice(0, 80)}`);
    } catch (e) {
      t.ok(isSentinelError(e) && e.code === 'UsageError' && e.exit === 2 && e.hint, 'a usage error with a hint');
      t.match((e as Error).message, pattern);
      t.ok((e as Error).message.length < 400, 'a bounded message');
    }
  };
  usage({ functionArn: '' }, /--function-arn: "" is not an unqualified Lambda function ARN/);
  usage({ functionArn: `${FUNCTION}:live` }, /--function-arn/);
  usage({ functionArn: `${FUNCTION}\n` }, /--function-arn: ".*\\n"/);
  usage({ functionArn: 'x'.repeat(100_000) }, /…"/);
  usage({ roleArn: `arn:aws:iam::${ACCOUNT}:user/alice` }, /--role-arn/);
  usage({ roleArn: 'arn:aws:iam::210987654321:role/vendor' }, /--role-arn: .* is in account 210987654321/);
  usage({ tables: [] }, /at least one --table/);
  usage({ tables: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/sentinel-sessions`] }, /in region us-east-1/);
  usage({ tables: [`${TABLES[0]}/index/gsi-user`] }, /--table/);
  usage({ tables: ['sentinel-sessions'] }, /not a DynamoDB table ARN/);
  usage({ logGroupArn: '/aws/lambda/sentinel-vendor' }, /--log-group-arn/);
  usage({ policyRoot: 'sentinel/policies' }, /--policy-root/);
  usage({ policyRoot: '/sentinel/policies/' }, /--policy-root/);
  usage({ policyRoot: '/sentinel/\u001b[2J' }, /--policy-root/);
  usage({ apiArn: `arn:aws:execute-api:${R}:${ACCOUNT}:a1b2c3d4e5/v1/*/*` }, /--api-arn/);
  usage({ apiArn: 'arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5' }, /in region us-east-1/);
  usage(
    { signingKeyArn: `arn:aws:kms:${R}:${ACCOUNT}:alias/sentinel-policy` },
    /--signing-key-arn: .* not a KMS key ARN/,
  );
  usage(
    { signingKeyArn: SIGNING_KEY.replace(ACCOUNT, '210987654321') },
    /--signing-key-arn: .* in account 210987654321/,
  );
  usage({ signingKeyArn: `${SIGNING_KEY}\u202e` }, /--signing-key-arn/);
  usage({ pipelineRoles: [] }, /at least one --pipeline-role/);
  usage({ pipelineRoles: [''] }, /--pipeline-role: "" is not a role ARN pattern/);
  usage({ pipelineRoles: [`arn:aws:iam::${ACCOUNT}:role/*`] }, /would exempt every role$/);
  usage({ pipelineRoles: ['arn:aws:iam::*:role/deploy'] }, /would exempt every role of every account/);
  usage({ pipelineRoles: [`arn:aws:iam::${ACCOUNT}:role/de ploy`] }, /--pipeline-role/);
  usage({ policyWriters: [`arn:aws:iam::${ACCOUNT}:role/**`] }, /--policy-writer: .* would exempt every role/);
  const many = Array.from({ length: 40 }, (_, i) => `arn:aws:dynamodb:${R}:${ACCOUNT}:table/sentinel-sessions-${i}`);
  usage({ tables: many }, /the SCP would be \d+ characters, over the 5120/);
});
