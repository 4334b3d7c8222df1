import t from 'tap';
import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startSts, type StsEmulator } from './support/sts-emulator.js';
import { ROLE_INLINE_POLICY_BUDGET, startIam, type IamEmulator } from './support/iam-emulator.js';
import type { HasTeardown } from './support/aws-env.js';
import { rejection } from './support/sdk-client.js';

const ADMIN_KEY = 'AKIAADMIN00000000001';
const ADMIN_ARN = 'arn:aws:iam::123456789012:user/admin';
const READER_KEY = 'AKIAREADER0000000001';
const READER_ARN = 'arn:aws:iam::123456789012:user/reader';
const NOBODY_KEY = 'AKIANOBODY0000000001';

const TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
      Condition: { StringLike: { 'sts:SourceIdentity': 'sentinel-*' } },
    },
  ],
};

async function setup(t: HasTeardown): Promise<{ sts: StsEmulator; iam: IamEmulator }> {
  const sts = await startSts({
    identities: {
      [ADMIN_KEY]: ADMIN_ARN,
      [READER_KEY]: READER_ARN,
      [NOBODY_KEY]: 'arn:aws:iam::123456789012:user/nobody',
    },
  });
  t.teardown(() => sts.close());
  const iam = await startIam({
    callers: sts,
    permissions: { [ADMIN_ARN]: ['iam:*'], [READER_ARN]: ['iam:Get*', 'iam:ListRolePolicies'] },
  });
  t.teardown(() => iam.close());
  return { sts, iam };
}

function iamClient(t: HasTeardown, url: string, accessKeyId: string, sessionToken?: string): IAMClient {
  const c = new IAMClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey: 'secret', ...(sessionToken ? { sessionToken } : {}) },
    maxAttempts: 1,
  });
  t.teardown(() => c.destroy());
  return c;
}

const deny = (id: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringLike: { 'aws:SourceIdentity': `sentinel-*-${id}` } },
    },
  ],
});

t.test('a real IAM client reads a role with its URL-encoded trust policy', async (t) => {
  const { iam } = await setup(t);
  const created = iam.createRole('app-admin', { path: '/deploy/', trustPolicy: TRUST });
  const reader = iamClient(t, iam.url, READER_KEY);
  const out = await reader.send(new GetRoleCommand({ RoleName: 'app-admin' }));
  t.equal(out.Role?.Arn, 'arn:aws:iam::123456789012:role/deploy/app-admin');
  t.equal(out.Role?.Arn, created.arn);
  t.equal(out.Role?.Path, '/deploy/');
  t.match(out.Role?.RoleId, /^AROA[A-Z0-9]{17}$/);
  t.ok(out.Role?.CreateDate instanceof Date);
  const raw = out.Role!.AssumeRolePolicyDocument!;
  t.match(raw, /^%7B%22Version%22/, 'the SDK hands the document over still URL-encoded, as from AWS');
  t.same(JSON.parse(decodeURIComponent(raw)), TRUST);

  const missing = await rejection(reader.send(new GetRoleCommand({ RoleName: 'ghost' })));
  t.equal(missing.name, 'NoSuchEntityException');
  t.equal(missing.status, 404);
  t.match(missing.message, /The role with name ghost cannot be found/);

  const bad = await rejection(reader.send(new GetRoleCommand({ RoleName: 'has space' })));
  t.equal(bad.name, 'ValidationError');
  t.match(bad.message, /roleName.*regular expression pattern/);
  t.equal((await rejection(reader.send(new GetRoleCommand({ RoleName: 'r'.repeat(65) })))).name, 'ValidationError');
  t.same(iam.calls.GetRole, 4);
});

t.test('inline policies: put, list (paged), get, replace, delete', async (t) => {
  const { iam } = await setup(t);
  iam.createRole('app', { trustPolicy: TRUST });
  const admin = iamClient(t, iam.url, ADMIN_KEY);
  const ids = ['0000000000000001', '0000000000000002', '0000000000000003'];
  for (const id of ids) {
    await admin.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: `sentinel-revoke-${id}`,
        PolicyDocument: JSON.stringify(deny(id), null, 2),
      }),
    );
  }
  const page1 = await admin.send(new ListRolePoliciesCommand({ RoleName: 'app', MaxItems: 2 }));
  t.same(
    page1.PolicyNames,
    ids.slice(0, 2).map((id) => `sentinel-revoke-${id}`),
  );
  t.equal(page1.IsTruncated, true);
  t.ok(page1.Marker);
  const page2 = await admin.send(new ListRolePoliciesCommand({ RoleName: 'app', MaxItems: 2, Marker: page1.Marker }));
  t.same(page2.PolicyNames, [`sentinel-revoke-${ids[2]}`]);
  t.equal(page2.IsTruncated, false);
  t.equal(page2.Marker, undefined);
  const badMarker = await rejection(admin.send(new ListRolePoliciesCommand({ RoleName: 'app', Marker: 'Zm9v' })));
  t.equal(badMarker.name, 'ValidationError');

  const got = await admin.send(new GetRolePolicyCommand({ RoleName: 'app', PolicyName: `sentinel-revoke-${ids[0]}` }));
  t.equal(got.RoleName, 'app');
  t.same(JSON.parse(decodeURIComponent(got.PolicyDocument!)), deny(ids[0]!));

  const usage = iam.inlineUsage('app');
  t.equal(usage, 3 * JSON.stringify(deny(ids[0]!)).length, 'whitespace is not counted');
  await admin.send(
    new PutRolePolicyCommand({
      RoleName: 'app',
      PolicyName: `sentinel-revoke-${ids[0]}`,
      PolicyDocument: JSON.stringify(deny(ids[0]!)),
    }),
  );
  t.equal(iam.inlineUsage('app'), usage, 'replacing a policy counts it once');

  await admin.send(new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: `sentinel-revoke-${ids[1]}` }));
  t.same([...iam.role('app')!.inline.keys()], [`sentinel-revoke-${ids[0]}`, `sentinel-revoke-${ids[2]}`]);
  const gone = await rejection(
    admin.send(new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: `sentinel-revoke-${ids[1]}` })),
  );
  t.equal(gone.name, 'NoSuchEntityException');
  t.match(gone.message, /role policy with name sentinel-revoke-0000000000000002 cannot be found/);
  const getGone = await rejection(
    admin.send(new GetRolePolicyCommand({ RoleName: 'app', PolicyName: `sentinel-revoke-${ids[1]}` })),
  );
  t.equal(getGone.name, 'NoSuchEntityException');
  const noRole = await rejection(
    admin.send(new PutRolePolicyCommand({ RoleName: 'ghost', PolicyName: 'p', PolicyDocument: '{"Statement":[]}' })),
  );
  t.equal(noRole.name, 'NoSuchEntityException');
});

t.test('the 10,240-character inline budget is shared by all policies of a role', async (t) => {
  const { iam } = await setup(t);
  iam.createRole('app', { trustPolicy: TRUST });
  const admin = iamClient(t, iam.url, ADMIN_KEY);
  const doc = (chars: number) => {
    const base = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: '', Effect: 'Deny', Action: '*', Resource: '*' }],
    });
    const sid = 'x'.repeat(chars - base.length);
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: sid, Effect: 'Deny', Action: '*', Resource: '*' }],
    });
  };
  await admin.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'a', PolicyDocument: doc(6000) }));
  await admin.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'b', PolicyDocument: doc(4240) }));
  t.equal(iam.inlineUsage('app'), ROLE_INLINE_POLICY_BUDGET, 'exactly at the budget is accepted');
  const over = await rejection(
    admin.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'c', PolicyDocument: doc(100) })),
  );
  t.equal(over.name, 'LimitExceededException');
  t.equal(over.status, 409);
  t.match(over.message, /Maximum policy size of 10240 bytes exceeded for role app/);
  t.same([...iam.role('app')!.inline.keys()], ['a', 'b'], 'nothing was written');
  // Replacing `b` with a smaller document fits: the old one no longer counts.
  await admin.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'b', PolicyDocument: doc(4000) }));
  t.equal(iam.inlineUsage('app'), 10_000);
});

t.test('policy documents must be JSON with a Statement, within the pattern IAM allows', async (t) => {
  const { iam } = await setup(t);
  iam.createRole('app', { trustPolicy: TRUST });
  const admin = iamClient(t, iam.url, ADMIN_KEY);
  const put = (PolicyDocument: string, PolicyName = 'p') =>
    rejection(admin.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName, PolicyDocument })));
  t.equal((await put('not json')).name, 'MalformedPolicyDocumentException');
  t.equal((await put('[1,2]')).name, 'MalformedPolicyDocumentException');
  t.equal((await put('{"Version":"2012-10-17"}')).name, 'MalformedPolicyDocumentException');
  const control = await put('{"Statement":[],"x":"\u0001"}');
  t.equal(control.name, 'ValidationError', 'control characters are outside the pattern');
  t.equal((await put('{"Statement":[]}', 'bad name')).name, 'ValidationError');
  t.equal((await put('{"Statement":[]}', 'n'.repeat(129))).name, 'ValidationError');
  t.equal(iam.role('app')!.inline.size, 0);
});

t.test('callers: unknown keys are refused, and each action needs its permission', async (t) => {
  const { sts, iam } = await setup(t);
  iam.createRole('app', { trustPolicy: TRUST });
  const unknown = await rejection(
    iamClient(t, iam.url, 'AKIAUNKNOWN000000001').send(new GetRoleCommand({ RoleName: 'app' })),
  );
  t.equal(unknown.name, 'InvalidClientTokenId');
  t.equal(unknown.status, 403);

  const nobody = await rejection(iamClient(t, iam.url, NOBODY_KEY).send(new GetRoleCommand({ RoleName: 'app' })));
  t.equal(nobody.name, 'AccessDenied');
  t.equal(nobody.status, 403);
  t.match(
    nobody.message,
    /User: arn:aws:iam::123456789012:user\/nobody is not authorized to perform: iam:GetRole on resource: arn:aws:iam::123456789012:role\/app/,
  );

  const reader = iamClient(t, iam.url, READER_KEY);
  const write = await rejection(
    reader.send(
      new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'p', PolicyDocument: JSON.stringify(deny('1')) }),
    ),
  );
  t.equal(write.name, 'AccessDenied');
  t.match(write.message, /iam:PutRolePolicy/);
  t.equal(iam.role('app')!.inline.size, 0, 'a refused write writes nothing');
  t.match(iam.requests.at(-1), { action: 'PutRolePolicy', callerArn: READER_ARN, outcome: 'AccessDenied' });

  // Credentials from the STS emulator are callers too, with the permissions of their role.
  iam.createRole('auditor', { trustPolicy: TRUST });
  iam.grant(iam.role('auditor')!.arn, ['iam:GetRole']);
  const stsClient = new STSClient({
    endpoint: sts.url,
    region: 'us-east-1',
    credentials: { accessKeyId: ADMIN_KEY, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  t.teardown(() => stsClient.destroy());
  const assumed = await stsClient.send(
    new AssumeRoleCommand({ RoleArn: iam.role('auditor')!.arn, RoleSessionName: 'audit-run' }),
  );
  const c = assumed.Credentials!;
  const asRole = iamClient(t, iam.url, c.AccessKeyId!, c.SessionToken!);
  t.equal((await asRole.send(new GetRoleCommand({ RoleName: 'app' }))).Role?.RoleName, 'app');
  t.equal((await rejection(asRole.send(new ListRolePoliciesCommand({ RoleName: 'app' })))).name, 'AccessDenied');
  const noToken = await rejection(iamClient(t, iam.url, c.AccessKeyId!).send(new GetRoleCommand({ RoleName: 'app' })));
  t.equal(noToken.name, 'InvalidClientTokenId', 'issued keys need their session token');
  iam.revoke(iam.role('auditor')!.arn);
  t.equal((await rejection(asRole.send(new GetRoleCommand({ RoleName: 'app' })))).name, 'AccessDenied');
});

t.test('protocol: unsigned, wrong service, unknown action, malformed and oversized bodies', async (t) => {
  const { iam } = await setup(t);
  iam.createRole('app', { trustPolicy: TRUST });
  const headers = (service = 'iam') => ({
    authorization: `AWS4-HMAC-SHA256 Credential=${ADMIN_KEY}/20261129/us-east-1/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'ab'.repeat(32)}`,
    'x-amz-date': '20261129T120000Z',
    'content-type': 'application/x-www-form-urlencoded',
  });
  const post = async (body: string, h: Record<string, string>) => {
    const res = await fetch(iam.url, { method: 'POST', body, headers: h });
    return { status: res.status, text: await res.text() };
  };
  const code = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

  const ok = await post('Action=GetRole&Version=2010-05-08&RoleName=app', headers());
  t.equal(ok.status, 200);
  t.match(ok.text, /<GetRoleResponse xmlns="https:\/\/iam.amazonaws.com\/doc\/2010-05-08\/"><GetRoleResult><Role>/);

  const unsigned = await post('Action=GetRole&Version=2010-05-08&RoleName=app', {
    'content-type': 'application/x-www-form-urlencoded',
  });
  t.equal(unsigned.status, 403);
  t.equal(code(unsigned.text), 'MissingAuthenticationToken');
  t.equal(
    code((await post('Action=GetRole&Version=2010-05-08&RoleName=app', headers('sts'))).text),
    'SignatureDoesNotMatch',
  );
  t.equal(code((await post('Action=CreateRole&Version=2010-05-08', headers())).text), 'InvalidAction');
  t.equal(code((await post('Action=GetRole&Version=2011-06-15&RoleName=app', headers())).text), 'InvalidAction');
  t.equal(code((await post('Version=2010-05-08', headers())).text), 'MissingAction');
  t.equal(
    code((await post('Action=GetRole&Version=2010-05-08&RoleName=%E0%A4%A', headers())).text),
    'MalformedQueryString',
  );
  const huge = await post(
    'Action=PutRolePolicy&Version=2010-05-08&PolicyDocument=' + 'x'.repeat(300 * 1024),
    headers(),
  );
  t.equal(huge.status, 413);
  t.equal(iam.role('app')!.inline.size, 0);
  const control = await post('Action=GetRole&Version=2010-05-08&RoleName=app%0Aevil', headers());
  t.equal(code(control.text), 'ValidationError');
  t.notMatch(control.text, /<evil/, 'values are escaped in replies');
});

t.test('fault injection and delays', async (t) => {
  const { iam } = await setup(t);
  iam.createRole('app', { trustPolicy: TRUST });
  const admin = iamClient(t, iam.url, ADMIN_KEY);
  iam.failNext('PutRolePolicy', { code: 'ServiceFailure' });
  const failed = await rejection(
    admin.send(
      new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'p', PolicyDocument: JSON.stringify(deny('1')) }),
    ),
  );
  t.equal(failed.name, 'ServiceFailureException');
  t.equal(failed.status, 500);
  await admin.send(
    new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'p', PolicyDocument: JSON.stringify(deny('1')) }),
  );
  t.equal(iam.role('app')!.inline.size, 1, 'a one-shot failure is consumed');
  iam.setDelay(150);
  const started = Date.now();
  await admin.send(new GetRoleCommand({ RoleName: 'app' }));
  t.ok(Date.now() - started >= 140, 'the delay applies');
});
