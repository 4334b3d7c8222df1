// The vendor's CloudFormation template (lambda/template.yaml, issue 16 item 4), parsed and checked: long-form only (so
// plain YAML parsers read it), IAM authorization on every API method, the execution role's statements exactly the
// least-privilege set, the tables exactly as `sentinel init` makes them, a configuration the vendor accepts, and the
// outputs a platform team needs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { REQUEST_TABLE } from '../core/approvals/record.js';
import { BREAKGLASS_TABLE } from '../core/breakglass/record.js';
import { parseConfigText } from '../core/config.js';
import { tableDefinition } from '../core/records/table.js';
import type { TableShape } from '../core/records/shape.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';

const text = readFileSync(join(import.meta.dirname, '..', 'lambda', 'template.yaml'), 'utf8');
const doc = parse(text) as {
  Resources: Record<string, { Type: string; Properties: any }>;
  Outputs: any;
  Conditions: any;
};
const resources = Object.entries(doc.Resources);
const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

t.test('long form only: no short-form intrinsic tags', async (t) => {
  const tagged = text.split('\n').filter((l) => !l.trimStart().startsWith('#') && /(^|[\s:[,])!\w/.test(l));
  t.same(tagged, []);
});

t.test('every API method uses IAM authorization and proxies to the function', async (t) => {
  const methods = ofType('AWS::ApiGateway::Method');
  t.ok(methods.length >= 1);
  for (const [name, m] of methods) {
    t.equal(m.Properties.AuthorizationType, 'AWS_IAM', `${name} uses AWS_IAM`);
    t.equal(m.Properties.Integration.Type, 'AWS_PROXY');
    t.match(m.Properties.Integration.Uri['Fn::Sub'], /\$\{VendorFunction\.Arn\}/);
  }
  t.same(ofType('AWS::ApiGatewayV2::Route'), [], 'no HTTP API routes that could lack authorization');
  t.same(ofType('AWS::ApiGateway::Authorizer'), [], 'no custom authorizer in place of IAM');
  const permission = ofType('AWS::Lambda::Permission');
  t.equal(permission.length, 1);
  t.equal(permission[0]![1].Properties.Principal, 'apigateway.amazonaws.com');
});

t.test('the function: Node 22, the bundle, configuration the vendor accepts', async (t) => {
  const [[, fn]] = ofType('AWS::Lambda::Function') as [[string, any]];
  t.equal(fn.Properties.Runtime, 'nodejs22.x');
  t.equal(fn.Properties.Handler, 'handler.handler');
  t.same(fn.Properties.Role, { 'Fn::GetAtt': ['VendorRole', 'Arn'] });
  const [template, vars] = fn.Properties.Environment.Variables.SENTINEL_CONFIG_YAML['Fn::Sub'];
  const values: Record<string, string> = {
    'AWS::Region': 'eu-west-1',
    PolicyRoot: '/sentinel/policies',
    SessionsTable: 'sentinel-sessions',
    RequestsTable: 'sentinel-requests',
    BreakglassTable: 'sentinel-breakglass',
    CredentialDuration: '15m',
  };
  t.same(Object.keys(vars), ['Key']);
  for (const key of ['null', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab']) {
    const yaml = (template as string).replace(/\$\{([^}]+)\}/g, (_, name: string) =>
      name === 'Key' ? key : (values[name] ?? `<${name}>`),
    );
    const config = parseConfigText(yaml, 'SENTINEL_CONFIG_YAML', {});
    t.equal(config.policy.source, 'ssm');
    t.equal(config.policy.signingKey, key === 'null' ? null : key);
    t.equal(config.sessions.store, 'dynamodb');
    t.equal(config.requests.table, 'sentinel-requests');
  }
});

t.test("the execution role's statements are exactly the least-privilege set", async (t) => {
  const [[, role]] = ofType('AWS::IAM::Role') as [[string, any]];
  t.same(role.Properties.AssumeRolePolicyDocument.Statement, [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ]);
  t.same(role.Properties.ManagedPolicyArns, undefined, 'no managed policies');
  t.equal(role.Properties.Policies.length, 1);
  const statements = role.Properties.Policies[0].PolicyDocument.Statement;
  const param = (path: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${path}`,
  });
  t.same(statements, [
    {
      Sid: 'AssumeProtectedRoles',
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
      Resource: { Ref: 'ProtectedRoleArns' },
    },
    {
      Sid: 'SessionsTable',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: [{ 'Fn::GetAtt': ['SessionsTable', 'Arn'] }],
    },
    {
      Sid: 'RequestsTable',
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
      ],
      Resource: [{ 'Fn::GetAtt': ['RequestsTable', 'Arn'] }, { 'Fn::Sub': '${RequestsTable.Arn}/index/*' }],
    },
    {
      Sid: 'BreakglassTable',
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ],
      Resource: [{ 'Fn::GetAtt': ['BreakglassTable', 'Arn'] }, { 'Fn::Sub': '${BreakglassTable.Arn}/index/*' }],
    },
    {
      Sid: 'PolicyParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParametersByPath'],
      Resource: [
        param('${PolicyRoot}'),
        param('${PolicyRoot}/*'),
        param('/sentinel/signatures'),
        param('/sentinel/signatures/*'),
      ],
    },
    {
      'Fn::If': [
        'HasSigningKey',
        { Sid: 'PolicySigningKey', Effect: 'Allow', Action: ['kms:GetPublicKey'], Resource: { Ref: 'SigningKeyArn' } },
        { Ref: 'AWS::NoValue' },
      ],
    },
    {
      Sid: 'OwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [{ 'Fn::GetAtt': ['VendorLogGroup', 'Arn'] }],
    },
  ]);
  const all = JSON.stringify(statements);
  t.notMatch(all, /"\*"|:\*"|"[a-z]+:\*/, 'no wildcard action or resource beyond index/* and parameter paths');
  t.notMatch(all, /Deny|NotAction|NotResource/);
});

t.test('the tables are exactly what `sentinel init` creates', async (t) => {
  const cases: Array<[string, TableShape]> = [
    ['SessionsTable', SESSION_TABLE],
    ['RequestsTable', REQUEST_TABLE],
    ['BreakglassTable', BREAKGLASS_TABLE],
  ];
  t.equal(ofType('AWS::DynamoDB::Table').length, cases.length);
  for (const [name, shape] of cases) {
    const p = doc.Resources[name]!.Properties;
    const want = tableDefinition(shape, 'x');
    const sortBy = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
    t.same(
      sortBy(p.AttributeDefinitions, (a: any) => a.AttributeName),
      sortBy(want.AttributeDefinitions!, (a) => a.AttributeName!),
      `${name} attributes`,
    );
    t.same(p.KeySchema, want.KeySchema, `${name} key`);
    t.same(p.GlobalSecondaryIndexes, want.GlobalSecondaryIndexes, `${name} indexes`);
    t.equal(p.BillingMode, 'PAY_PER_REQUEST');
    t.same(p.TimeToLiveSpecification, { AttributeName: shape.ttlAttribute, Enabled: true });
    t.same(p.SSESpecification, { SSEEnabled: true });
    t.equal(p.DeletionProtectionEnabled, true);
  }
});

t.test('outputs: the API URL with its stage, the role ARN, the API ARN', async (t) => {
  t.same(doc.Outputs.ApiUrl.Value, {
    'Fn::Sub': 'https://${VendorApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}',
  });
  t.same(doc.Outputs.VendorRoleArn.Value, { 'Fn::GetAtt': ['VendorRole', 'Arn'] });
  t.match(doc.Outputs.ApiArn.Value['Fn::Sub'], /^arn:\$\{AWS::Partition\}:execute-api:/);
});
