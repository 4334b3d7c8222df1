// Hostile and malformed input to the vendor's handler: broken events, events without a verified caller, unknown
// routes, oversized, badly encoded or malformed bodies and queries. Every one is a catalogue 4xx with the JSON error
// body (never a stack trace, never a 5xx), no AssumeRole is made and nothing is written to the tables.
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import t, { type Test } from 'tap';
import { createHandler } from '../lambda/handler.js';
import { MAX_BODY_BYTES } from '../lambda/events.js';
import { httpEvent, restEvent } from './support/api-gateway-events.js';
import { withEnv } from './support/aws-env.js';
import { REQUESTS_TABLE, SESSIONS_TABLE, startVendor, type VendorHarness } from './support/vendor.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';

async function refused(v: VendorHarness, event: unknown, status: number, code: string, t: Test) {
  const r = await v.handler(event as never);
  t.equal(r.statusCode, status, `${code} ${status}`);
  t.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.body);
  t.equal(body.Code, code);
  t.equal(body.code, code);
  t.type(body.message, 'string');
  t.notMatch(r.body, /\n\s+at |\.ts:\d+|\.m?js:\d+/, 'no stack trace');
  return body;
}

async function nothingWritten(v: VendorHarness, t: Test) {
  for (const table of [SESSIONS_TABLE, REQUESTS_TABLE]) {
    const scan = await v.client.send(new ScanCommand({ TableName: table }));
    t.equal(scan.Count, 0, `nothing in ${table}`);
  }
  t.equal(v.sts.calls.AssumeRole, 0, 'no AssumeRole');
}

t.test('malformed events', async (t) => {
  const v = await startVendor(t);
  const good = restEvent({ method: 'GET', path: '/v1/status', callerArn: ALICE });
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'GET /v1/status'],
    ['an array', [good]],
    ['no requestContext', { ...good, requestContext: undefined }],
    ['unknown version', { ...good, version: '3.0' }],
    ['method not text', { ...good, httpMethod: 7 }],
    ['unknown method', { ...good, httpMethod: 'BREW' }],
    ['path not text', { ...good, path: { toString: 'x' } }],
    ['path with control characters', { ...good, path: '/v1/status\n' }],
    ['relative path', { ...good, path: 'v1/status' }],
    ['huge path', { ...good, path: `/${'a'.repeat(5000)}` }],
    ['query not a mapping', { ...good, queryStringParameters: 'profile=dev' }],
    ['query value not text', { ...good, queryStringParameters: { profile: ['dev'] } }],
    ['body not text', { ...good, httpMethod: 'POST', path: '/v1/sessions', body: { profile: 'dev' } }],
    ['v2 without http', { ...httpEvent({ method: 'GET', path: '/v1/status', callerArn: ALICE }), requestContext: {} }],
  ];
  for (const [name, event] of cases) {
    t.test(name, async (t) => {
      await refused(v, event, 400, 'BadRequest', t);
    });
  }
  await nothingWritten(v, t);
});

t.test('no verified caller: refused, never anonymous', async (t) => {
  const v = await startVendor(t);
  for (const build of [restEvent, httpEvent]) {
    const body = await refused(
      v,
      build({ method: 'GET', path: '/v1/credentials?profile=dev', callerArn: null }),
      403,
      'PeerNotAllowed',
      t,
    );
    t.match(body.hint, /IAM authorization/);
    // An IAM role ARN is never a caller (STS answers the assumed-role session); neither is garbage.
    for (const arn of [
      'arn:aws:iam::111122223333:role/admin',
      'alice',
      'arn:aws:iam::1:user/alice',
      'x'.repeat(5000),
    ]) {
      await refused(
        v,
        build({ method: 'GET', path: '/v1/credentials?profile=dev', callerArn: arn }),
        403,
        'PeerNotAllowed',
        t,
      );
    }
    // A REST event whose identity is missing altogether.
    const bare = restEvent({ method: 'GET', path: '/v1/status', callerArn: ALICE }) as any;
    delete bare.requestContext.identity;
    await refused(v, bare, 403, 'PeerNotAllowed', t);
  }
  t.equal(v.decisions.length, 0, 'no decision was reached');
  await nothingWritten(v, t);
});

t.test('unknown routes and methods', async (t) => {
  const v = await startVendor(t);
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/v1/nothing'],
    ['PUT', '/v1/credentials'],
    ['GET', '/v1/sessions'],
    ['POST', '/v1/policy/reload'],
    ['POST', '/v1/shutdown'],
    ['GET', '/v1/sessions/0123456789abcdef/extra'],
  ] as const) {
    await refused(v, restEvent({ method, path, callerArn: ALICE }), 404, 'NotFound', t);
  }
  await nothingWritten(v, t);
});

t.test('bodies: oversized, base64, malformed', async (t) => {
  const v = await startVendor(t);
  const post = (body: string, base64 = false) =>
    restEvent({ method: 'POST', path: '/v1/sessions', callerArn: ALICE, body, base64 });
  const big = JSON.stringify({ profile: 'dev', pad: 'x'.repeat(MAX_BODY_BYTES) });
  await refused(v, post(big), 413, 'PayloadTooLarge', t);
  await refused(v, post(Buffer.from(big).toString('base64'), true), 413, 'PayloadTooLarge', t);
  await refused(v, post('{"profile": "dev"', false), 400, 'BadRequest', t);
  await refused(v, post('not base64 at all!', true), 400, 'BadRequest', t);
  await refused(v, post(Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('base64'), true), 400, 'BadRequest', t);
  await refused(v, post(JSON.stringify({ profile: 'dev\u0000', mode: 'server' })), 400, 'BadRequest', t);
  await refused(v, post(JSON.stringify({ profile: '../../etc/passwd' })), 400, 'BadRequest', t);
  await refused(v, post(JSON.stringify({ profile: 'dev', mode: 'credential_process' })), 400, 'BadRequest', t);
  await refused(v, post(JSON.stringify([1, 2])), 400, 'BadRequest', t);
  const request = (body: unknown) =>
    restEvent({ method: 'POST', path: '/v1/requests', callerArn: ALICE, body: JSON.stringify(body) });
  await refused(v, request({ profile: 'prod', justification: 'line one\nline two is forged' }), 400, 'BadRequest', t);
  await refused(v, request({ profile: 'prod', justification: 'x'.repeat(10_000) }), 400, 'BadRequest', t);
  await nothingWritten(v, t);
  // A well-formed base64 body is read like any other.
  const ok = await v.handler(post(Buffer.from(JSON.stringify({ profile: 'dev' })).toString('base64'), true) as never);
  t.equal(ok.statusCode, 201);
});

t.test('queries and ids', async (t) => {
  const v = await startVendor(t);
  const get = (path: string) => restEvent({ method: 'GET', path, callerArn: ALICE });
  await refused(v, get('/v1/credentials'), 400, 'BadRequest', t);
  await refused(v, get('/v1/credentials?profile=dev&session=0123456789abcdef'), 400, 'BadRequest', t);
  await refused(v, get('/v1/credentials?session=XYZ'), 400, 'BadRequest', t);
  await refused(v, get('/v1/credentials?profile=dev&user=bob'), 400, 'BadRequest', t);
  await refused(v, get(`/v1/credentials?profile=${'a'.repeat(2000)}`), 400, 'BadRequest', t);
  const repeated = get('/v1/credentials?profile=dev') as any;
  repeated.multiValueQueryStringParameters = { profile: ['dev', 'prod'] };
  await refused(v, repeated, 400, 'BadRequest', t);
  const many = get('/v1/credentials?profile=dev') as any;
  many.queryStringParameters = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']));
  await refused(v, many, 400, 'BadRequest', t);
  await refused(v, get('/v1/sessions/not-an-id'), 400, 'BadRequest', t);
  await refused(v, get('/v1/requests/ZZZZ'), 400, 'BadRequest', t);
  await refused(v, get('/v1/credentials?session=0123456789abcdef'), 403, 'SessionUnknown', t);
  await nothingWritten(v, t);
});

t.test('no configuration: a catalogue error, and the next event tries again', async (t) => {
  withEnv(t, { SENTINEL_CONFIG_YAML: undefined, SENTINEL_CONFIG: undefined, SENTINEL_LOG_LEVEL: 'silent' });
  const handler = createHandler({ decisions: { write: () => undefined } });
  t.teardown(() => handler.close());
  const event = restEvent({ method: 'GET', path: '/v1/status', callerArn: ALICE });
  const r = await handler(event as never);
  t.equal(r.statusCode, 500);
  t.equal(JSON.parse(r.body).code, 'ConfigInvalid');
  withEnv(t, { SENTINEL_CONFIG_YAML: 'unknown_key: 1\n' });
  const again = JSON.parse((await handler(event as never)).body);
  t.equal(again.code, 'ConfigInvalid');
  t.match(again.message, /unknown_key/, 'the second event read the configuration again');
});
