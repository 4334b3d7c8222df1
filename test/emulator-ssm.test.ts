import t from 'tap';
import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
  type Parameter,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { startSsm } from './support/ssm-emulator.js';
import type { HasTeardown } from './support/aws-env.js';
import { emulatorWithClient, rejection } from './support/sdk-client.js';

const creds = { accessKeyId: 'AKIASSMTEST000000001', secretAccessKey: 'secret' };

const setup = (t: HasTeardown) => emulatorWithClient(t, startSsm, (config) => new SSMClient(config), creds);

function jsonHeaders(target: string, service = 'ssm'): Record<string, string> {
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=AKIASSMTEST000000001/20261129/us-east-1/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'cd'.repeat(32)}`,
    'x-amz-date': '20261129T120000Z',
    'x-amz-target': target,
    'content-type': 'application/x-amz-json-1.1',
  };
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; contentType: string | null; json: { __type?: string; message?: string } }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    json: (await res.json()) as { __type?: string; message?: string },
  };
}

t.test('a real SSM client runs every operation, with versions, decryption and metadata', async (t) => {
  const { emulator: ssm, client } = await setup(t);
  const put = await client.send(
    new PutParameterCommand({ Name: '/app/db/password', Value: 'hunter2', Type: 'SecureString' }),
  );
  t.same([put.Version, put.Tier], [1, 'Standard']);

  const sealed = await client.send(new GetParameterCommand({ Name: '/app/db/password' }));
  t.equal(sealed.Parameter?.Type, 'SecureString');
  t.not(sealed.Parameter?.Value, 'hunter2', 'without WithDecryption a SecureString comes back encrypted');
  t.notMatch(Buffer.from(sealed.Parameter!.Value!, 'base64').toString('latin1'), /hunter2/);
  const open = await client.send(new GetParameterCommand({ Name: '/app/db/password', WithDecryption: true }));
  t.equal(open.Parameter?.Value, 'hunter2');
  t.equal(open.Parameter?.Version, 1);
  t.equal(open.Parameter?.ARN, 'arn:aws:ssm:us-east-1:111122223333:parameter/app/db/password');
  t.equal(open.Parameter?.DataType, 'text');
  t.ok(
    open.Parameter?.LastModifiedDate instanceof Date,
    'LastModifiedDate (epoch seconds on the wire) parses to a Date',
  );
  t.ok(Math.abs(open.Parameter!.LastModifiedDate!.getTime() - Date.now()) < 60_000);

  const over = await client.send(
    new PutParameterCommand({ Name: '/app/db/password', Value: 'correct horse', Overwrite: true }),
  );
  t.equal(over.Version, 2, 'Overwrite bumps the version and keeps the type');
  t.equal(
    (await client.send(new GetParameterCommand({ Name: '/app/db/password', WithDecryption: true }))).Parameter?.Value,
    'correct horse',
  );
  const v1 = await client.send(new GetParameterCommand({ Name: '/app/db/password:1', WithDecryption: true }));
  t.same(
    [v1.Parameter?.Value, v1.Parameter?.Version, v1.Parameter?.Selector],
    ['hunter2', 1, ':1'],
    'name:version selects a version',
  );
  t.equal(
    (await rejection(client.send(new GetParameterCommand({ Name: '/app/db/password:9' })))).name,
    'ParameterVersionNotFound',
  );

  await client.send(new PutParameterCommand({ Name: 'plain', Value: 'a,b,c', Type: 'StringList' }));
  const many = await client.send(
    new GetParametersCommand({ Names: ['plain', '/nope', '/app/db/password'], WithDecryption: true }),
  );
  t.same(
    many.Parameters?.map((p) => [p.Name, p.Value]),
    [
      ['plain', 'a,b,c'],
      ['/app/db/password', 'correct horse'],
    ],
  );
  t.same(many.InvalidParameters, ['/nope']);
  t.equal(many.Parameters?.[0]?.ARN, 'arn:aws:ssm:us-east-1:111122223333:parameter/plain');

  await client.send(new DeleteParameterCommand({ Name: 'plain' }));
  t.equal((await rejection(client.send(new GetParameterCommand({ Name: 'plain' })))).name, 'ParameterNotFound');
  const again = await rejection(client.send(new DeleteParameterCommand({ Name: 'plain' })));
  t.same([again.name, again.status], ['ParameterNotFound', 400]);
  t.same(ssm.get('/app/db/password'), { value: 'correct horse', type: 'SecureString', version: 2, tier: 'Standard' });
  t.equal(ssm.calls.PutParameter, 3);
  t.equal(ssm.calls.GetParameter, 6);
});

t.test(
  "AWS's public parameters (putPublic) are read by path as AWS publishes them; callers cannot write there",
  async (t) => {
    const { emulator: ssm, client } = await setup(t);
    const path = '/aws/service/global-infrastructure/regions';
    for (const r of ['us-east-1', 'eu-west-1']) {
      ssm.putPublic(`${path}/${r}`, r);
      ssm.putPublic(`${path}/${r}/longName`, `Region ${r}`);
    }
    const out = await client.send(new GetParametersByPathCommand({ Path: path }));
    t.same(
      out.Parameters?.map((p) => [p.Name, p.Value]),
      [
        [`${path}/eu-west-1`, 'eu-west-1'],
        [`${path}/us-east-1`, 'us-east-1'],
      ],
      'the children only, not their sub-paths, without Recursive',
    );
    const write = await rejection(
      client.send(new PutParameterCommand({ Name: `${path}/x`, Value: 'x', Type: 'String' })),
    );
    t.equal(write.name, 'ValidationException');
    t.throws(() => ssm.putPublic('/team/x', 'x'), /not under \/aws\/service/);
  },
);

t.test('GetParametersByPath paginates over more than ten parameters and honours Recursive', async (t) => {
  const { emulator: ssm, client } = await setup(t);
  for (let i = 0; i < 23; i++) ssm.put(`/policy/rules/r${String(i).padStart(2, '0')}`, `rule-${i}`);
  ssm.put('/policy/rules/deep/nested', 'nested', { type: 'SecureString' });
  ssm.put('/policy/other', 'other');
  ssm.put('/policyish', 'not under /policy');

  const collect = async (input: {
    Path: string;
    Recursive?: boolean;
    MaxResults?: number;
    WithDecryption?: boolean;
  }) => {
    const seen: Parameter[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new GetParametersByPathCommand({ ...input, NextToken }));
      t.ok(page.Parameters!.length <= (input.MaxResults ?? 10), 'a page never exceeds MaxResults');
      seen.push(...page.Parameters!);
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    return { names: seen.map((p) => p.Name!), seen, pages };
  };

  const direct = await collect({ Path: '/policy/rules' });
  t.equal(direct.pages, 3, '23 direct children in pages of the default 10');
  t.equal(direct.names.length, 23);
  t.equal(new Set(direct.names).size, 23, 'no parameter twice');
  t.notOk(direct.names.includes('/policy/rules/deep/nested'), 'non-recursive returns only direct children');

  const small = await collect({ Path: '/policy/rules/', MaxResults: 4, Recursive: true, WithDecryption: false });
  t.equal(small.pages, 6);
  t.equal(small.names.length, 24);
  t.ok(small.names.includes('/policy/rules/deep/nested'));
  t.not(
    small.seen.find((p) => p.Name === '/policy/rules/deep/nested')?.Value,
    'nested',
    'SecureString sealed without decryption',
  );

  const top = await collect({ Path: '/policy' });
  t.same(top.names, ['/policy/other'], 'a path matches whole segments only');
  t.same((await collect({ Path: '/', Recursive: true })).names.length, 26);

  t.equal(
    (await rejection(client.send(new GetParametersByPathCommand({ Path: '/policy', MaxResults: 11 })))).name,
    'ValidationException',
  );
  t.equal(
    (await rejection(client.send(new GetParametersByPathCommand({ Path: '/policy', MaxResults: 0 })))).name,
    'ValidationException',
  );
  t.equal(
    (await rejection(client.send(new GetParametersByPathCommand({ Path: 'policy' })))).name,
    'ValidationException',
  );
  t.equal(
    (await rejection(client.send(new GetParametersByPathCommand({ Path: '/policy', NextToken: 'forged' })))).name,
    'InvalidNextToken',
  );
  const first = await client.send(new GetParametersByPathCommand({ Path: '/policy/rules' }));
  const reused = await rejection(
    client.send(new GetParametersByPathCommand({ Path: '/policy/rules', Recursive: true, NextToken: first.NextToken })),
  );
  t.equal(reused.name, 'InvalidNextToken', 'a token belongs to the query that produced it');
});

t.test('PutParameter enforces Parameter Store rules', async (t) => {
  const { emulator: ssm, client } = await setup(t);
  const putRejected = async (input: Partial<PutParameterCommandInput>) =>
    rejection(
      client.send(
        new PutParameterCommand({ Name: '/ok', Value: 'v', Type: 'String', ...input } as PutParameterCommandInput),
      ),
    );

  await client.send(new PutParameterCommand({ Name: '/ok', Value: 'v', Type: 'String' }));
  const exists = await putRejected({});
  t.same([exists.name, exists.status], ['ParameterAlreadyExists', 400]);

  const big = await putRejected({ Name: '/big', Value: 'x'.repeat(4097) });
  t.equal(big.name, 'ValidationException');
  t.match(big.message, /Standard tier parameters support a maximum parameter value of 4096/);
  t.equal(
    (await putRejected({ Name: '/big', Value: 'é'.repeat(2049) })).name,
    'ValidationException',
    'the limit is in bytes (4098 here)',
  );
  t.equal(
    (await client.send(new PutParameterCommand({ Name: '/edge', Value: 'x'.repeat(4096), Type: 'String' }))).Version,
    1,
    '4096 bytes fit',
  );
  const advanced = await client.send(
    new PutParameterCommand({ Name: '/big', Value: 'x'.repeat(8192), Type: 'String', Tier: 'Advanced' }),
  );
  t.same([advanced.Version, advanced.Tier], [1, 'Advanced']);
  t.equal(
    (await putRejected({ Name: '/bigger', Value: 'x'.repeat(8193), Tier: 'Advanced' })).name,
    'ValidationException',
  );
  const tiered = await client.send(
    new PutParameterCommand({ Name: '/tiered', Value: 'x'.repeat(5000), Type: 'String', Tier: 'Intelligent-Tiering' }),
  );
  t.equal(tiered.Tier, 'Advanced', 'Intelligent-Tiering picks the tier that fits');
  const downgrade = await putRejected({ Name: '/big', Value: 'small', Tier: 'Standard', Overwrite: true });
  t.match([downgrade.name, downgrade.message], ['ValidationException', /can't downgrade/]);
  const described = await client.send(
    new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: ['/big'] }] }),
  );
  t.same(
    described.Parameters?.map((p) => [p.Name, p.Tier, p.Version]),
    [['/big', 'Advanced', 1]],
    'DescribeParameters names the tier',
  );
  const begins = await client.send(
    new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/t'] }] }),
  );
  t.same(
    begins.Parameters?.map((p) => p.Name),
    ['/tiered'],
  );

  for (const name of ['a/b', '/a b', '/a//b', '/a/', '/aws/x', 'ssm-thing', '/x*', 'n'.repeat(2049)]) {
    t.equal((await putRejected({ Name: name })).name, 'ValidationException', `bad name ${name.slice(0, 20)}`);
  }
  t.equal(
    (await putRejected({ Name: '/' + Array.from({ length: 16 }, (_, i) => `l${i}`).join('/') })).name,
    'HierarchyLevelLimitExceededException',
  );
  t.equal(
    (
      await client.send(
        new PutParameterCommand({
          Name: '/' + Array.from({ length: 15 }, (_, i) => `l${i}`).join('/'),
          Value: 'v',
          Type: 'String',
        }),
      )
    ).Version,
    1,
  );
  t.equal(
    (await putRejected({ Name: '/untyped', Type: undefined })).name,
    'ValidationException',
    'a new parameter needs a Type',
  );
  t.equal((await putRejected({ Name: '/empty', Value: '' })).name, 'ValidationException');
  t.equal((await putRejected({ Name: '/typo', Type: 'Secure' as 'String' })).name, 'ValidationException');
  t.equal(
    (await putRejected({ Name: '/pat', Value: 'abc', AllowedPattern: '^\\d+$' })).name,
    'ParameterPatternMismatchException',
  );
  t.equal(ssm.get('/x*'), undefined, 'nothing refused was stored');
  t.throws(() => ssm.put('/ok', 'again'), { code: 'ParameterAlreadyExists' }, 'put() follows the same rules');
  t.equal(ssm.put('/ok', 'again', { overwrite: true }), 2);
});

t.test('failNext and setFailure inject errors per operation; setDelay holds replies', async (t) => {
  const { emulator: ssm, client } = await setup(t);
  ssm.put('/a', '1');
  ssm.failNext('GetParameter', { code: 'ThrottlingException', message: 'Rate exceeded' });
  const throttled = await rejection(client.send(new GetParameterCommand({ Name: '/a' })));
  t.same([throttled.name, throttled.status, throttled.message], ['ThrottlingException', 400, 'Rate exceeded']);
  t.equal((await client.send(new GetParameterCommand({ Name: '/a' }))).Parameter?.Value, '1');

  ssm.setFailure('GetParametersByPath', { code: 'InternalServerError' });
  const down = await rejection(client.send(new GetParametersByPathCommand({ Path: '/' })));
  t.same([down.name, down.status], ['InternalServerError', 500]);
  t.equal(
    (await client.send(new GetParameterCommand({ Name: '/a' }))).Parameter?.Value,
    '1',
    'other operations are unaffected',
  );
  ssm.setFailure('GetParametersByPath', null);
  t.equal((await client.send(new GetParametersByPathCommand({ Path: '/' }))).Parameters?.length, 1);

  ssm.setDelay(60_000);
  const slow = await rejection(
    client.send(new GetParameterCommand({ Name: '/a' }), { abortSignal: AbortSignal.timeout(150) }),
  );
  t.equal(slow.name, 'AbortError');
  ssm.setDelay(0);
  t.same(ssm.calls, {
    GetParameter: 3,
    GetParameters: 0,
    GetParametersByPath: 2,
    DescribeParameters: 0,
    PutParameter: 0,
    DeleteParameter: 0,
  });

  ssm.reset();
  t.same(Object.values(ssm.calls), [0, 0, 0, 0, 0, 0]);
  t.equal(ssm.get('/a'), undefined);
});

t.test('hostile input gets a clean AWS-style error and the emulator stays up', async (t) => {
  const { emulator: ssm, client } = await setup(t);
  const h = jsonHeaders('AmazonSSM.GetParameter');

  const noAuth = await post(ssm.url, '{"Name":"/a"}', {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'AmazonSSM.GetParameter',
  });
  t.same(
    [noAuth.status, noAuth.contentType, noAuth.json.__type],
    [400, 'application/x-amz-json-1.1', 'MissingAuthenticationTokenException'],
  );
  t.equal(
    (await post(ssm.url, '{"Name":"/a"}', { ...h, authorization: 'AWS4-HMAC-SHA256 garbage' })).json.__type,
    'IncompleteSignatureException',
  );
  t.equal(
    (await post(ssm.url, '{"Name":"/a"}', jsonHeaders('AmazonSSM.GetParameter', 'kms'))).json.__type,
    'InvalidSignatureException',
  );
  t.same(Object.values(ssm.calls), [0, 0, 0, 0, 0, 0], 'unauthenticated requests are not counted');

  t.equal((await post(ssm.url, '{"Name":', h)).json.__type, 'SerializationException');
  t.equal((await post(ssm.url, '[1,2]', h)).json.__type, 'SerializationException');
  t.equal((await post(ssm.url, '"just a string"', h)).json.__type, 'SerializationException');
  t.equal((await post(ssm.url, '{"Name":5}', h)).json.__type, 'SerializationException');
  t.equal((await post(ssm.url, '{"Name":"/a","WithDecryption":"yes"}', h)).json.__type, 'SerializationException');
  t.equal(
    (await post(ssm.url, '{"Names":["/a",7]}', jsonHeaders('AmazonSSM.GetParameters'))).json.__type,
    'SerializationException',
  );
  t.equal((await post(ssm.url, '{}', h)).json.__type, 'ValidationException', 'a missing required member');
  t.equal(
    (await post(ssm.url, '{"Name":"/a"}', { ...h, 'content-type': 'text/plain' })).json.__type,
    'SerializationException',
  );
  t.equal(
    (await post(ssm.url, '{"Name":"/a"}', jsonHeaders('AmazonSSM.DeleteEverything'))).json.__type,
    'UnknownOperationException',
  );
  t.equal(
    (await post(ssm.url, '{"Name":"/a"}', jsonHeaders('TrentService.GetParameter'))).json.__type,
    'UnknownOperationException',
  );
  t.equal(
    (await post(ssm.url, '{"Name":"/a"}', jsonHeaders('AmazonSSM.__proto__'))).json.__type,
    'UnknownOperationException',
  );
  const huge = await post(
    ssm.url,
    JSON.stringify({ Name: '/a', Value: 'x'.repeat(70 * 1024) }),
    jsonHeaders('AmazonSSM.PutParameter'),
  );
  t.same([huge.status, huge.json.__type], [413, 'RequestEntityTooLarge']);

  t.equal(
    await client
      .send(new PutParameterCommand({ Name: '/a', Value: 'still up', Type: 'String' }))
      .then((r) => r.Version),
    1,
    'still serving',
  );
});
