// The API Gateway stand-in verifies SigV4 as IAM authorization does: a request signed by the AWS SDK's own signer
// (static keys, and session credentials the STS emulator issued) reaches the handler as a REST proxy event naming the
// verified caller; unsigned, tampered (body, path, query, header, date) and wrongly keyed requests get API Gateway's
// 403 and never reach it.
import t from 'tap';
import { request } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startApiGatewayStandIn, type ProxyHandler, type RestProxyEvent } from './support/apigw-standin.js';
import { startSts } from './support/sts-emulator.js';
import type { HasTeardown } from './support/aws-env.js';

const KEY = 'AKIASTANDINTESTUSER1';
const SECRET = 'stand-in-test-secret-key-000000000000000';
const ARN = 'arn:aws:iam::123456789012:user/alice';

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

interface Call {
  method?: string;
  path: string;
  query?: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
  creds?: Creds;
  region?: string;
  signingDate?: Date;
  /** Changes the request after it was signed. */
  tamper?: (r: { path: string; query: string; headers: Record<string, string>; body: string | undefined }) => void;
}

async function setup(t: HasTeardown, handler?: ProxyHandler) {
  const sts = await startSts();
  t.teardown(() => sts.close());
  sts.setIdentity(KEY, ARN, SECRET);
  const seen: RestProxyEvent[] = [];
  const gw = await startApiGatewayStandIn({
    keys: sts,
    handler:
      handler ??
      (async (event) => {
        seen.push(event);
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true }) };
      }),
  });
  t.teardown(() => gw.close());
  const send = async (call: Call) => {
    const url = new URL(gw.url);
    const signer = new SignatureV4({
      service: 'execute-api',
      region: call.region ?? 'us-east-1',
      credentials: call.creds ?? { accessKeyId: KEY, secretAccessKey: SECRET },
      sha256: Sha256,
    });
    const signed = await signer.sign(
      {
        method: call.method ?? 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: `${url.pathname}${call.path}`,
        query: call.query ?? {},
        headers: { host: url.host, ...(call.headers ?? {}) },
        ...(call.body !== undefined ? { body: call.body } : {}),
      },
      call.signingDate ? { signingDate: call.signingDate } : {},
    );
    const wire = {
      path: `${url.pathname}${call.path}`,
      query: new URLSearchParams(call.query ?? {}).toString().replace(/\+/g, '%20'),
      headers: { ...(signed.headers as Record<string, string>) },
      body: call.body,
    };
    call.tamper?.(wire);
    return raw({ method: call.method ?? 'GET', ...wire, port: Number(url.port) });
  };
  return { sts, gw, seen, send };
}

function raw(r: {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | undefined;
  port: number;
}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: r.port,
        method: r.method,
        path: r.query ? `${r.path}?${r.query}` : r.path,
        headers: r.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

const MISMATCH = /^The request signature we calculated does not match the signature you provided/;

t.test('a request signed by the SDK signer reaches the handler as a REST proxy event naming its caller', async (t) => {
  const { gw, seen, send } = await setup(t);
  const r = await send({
    method: 'POST',
    path: '/v1/sessions',
    query: { profile: 'dev team', x: "a'b" },
    headers: { 'content-type': 'application/json', 'x-claimed-user': 'mallory' },
    body: '{"profile":"dev"}',
  });
  t.equal(r.status, 200, r.body);
  t.same(JSON.parse(r.body), { ok: true });
  t.equal(seen.length, 1);
  const e = seen[0]!;
  t.equal(e.httpMethod, 'POST');
  t.equal(e.path, '/v1/sessions');
  t.equal(e.resource, '/{proxy+}');
  t.equal(e.requestContext.stage, 'prod');
  t.equal(e.requestContext.path, '/prod/v1/sessions');
  t.same(e.queryStringParameters, { profile: 'dev team', x: "a'b" });
  t.equal(e.body, '{"profile":"dev"}');
  t.equal(e.requestContext.identity.userArn, ARN);
  t.equal(e.requestContext.identity.accountId, '123456789012');
  t.equal(e.requestContext.identity.accessKey, KEY);
  t.match(e.requestContext.identity.caller, /^AIDA/);
  t.equal(e.headers['x-claimed-user'], 'mallory', 'headers are passed on as sent; the identity is not one of them');
  t.same(e.multiValueHeaders['content-type'], ['application/json']);
  t.equal(gw.url.endsWith('/prod'), true, 'the invoke URL carries the stage');
});

t.test('session credentials the STS emulator issued sign too, only with their session token', async (t) => {
  const { sts, seen, send } = await setup(t);
  const client = new STSClient({
    endpoint: sts.url,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
    maxAttempts: 1,
  });
  t.teardown(() => client.destroy());
  const out = await client.send(
    new AssumeRoleCommand({
      RoleArn: 'arn:aws:iam::123456789012:role/vendor',
      RoleSessionName: 'standin',
      SourceIdentity: 'sentinel-alice',
    }),
  );
  const c = out.Credentials!;
  const creds = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  const ok = await send({ path: '/v1/status', creds });
  t.equal(ok.status, 200, ok.body);
  t.equal(seen[0]!.requestContext.identity.userArn, 'arn:aws:sts::123456789012:assumed-role/vendor/standin');
  const noToken = await send({ path: '/v1/status', creds: { ...creds, sessionToken: undefined } });
  t.equal(noToken.status, 403);
  t.same(JSON.parse(noToken.body), { message: 'The security token included in the request is invalid.' });
  t.equal(noToken.headers['x-amzn-errortype'], 'UnrecognizedClientException');
  const otherToken = await send({
    path: '/v1/status',
    creds,
    tamper: (w) => void (w.headers['x-amz-security-token'] = 'IQoJforged'),
  });
  t.equal(otherToken.status, 403, 'a forged session token is refused');
  t.equal(seen.length, 1, 'only the valid request reached the handler');
});

t.test('unsigned, tampered and wrongly keyed requests get API Gateway 403s and never reach the handler', async (t) => {
  const { gw, seen, send } = await setup(t);
  const base: Call = { method: 'POST', path: '/v1/requests', query: { a: '1' }, body: '{"x":1}' };
  const cases: Array<[string, Call, RegExp | string]> = [
    [
      'unsigned',
      { ...base, tamper: (w) => void Object.keys(w.headers).forEach((k) => k !== 'host' && delete w.headers[k]) },
      'Missing Authentication Token',
    ],
    ['body changed', { ...base, tamper: (w) => void (w.body = '{"x":2}') }, MISMATCH],
    ['path changed', { ...base, tamper: (w) => void (w.path = w.path.replace('requests', 'sessions')) }, MISMATCH],
    ['query changed', { ...base, tamper: (w) => void (w.query = 'a=2') }, MISMATCH],
    ['query added', { ...base, tamper: (w) => void (w.query += '&user=bob') }, MISMATCH],
    [
      'signed header changed',
      { ...base, headers: { 'x-team': 'a' }, tamper: (w) => void (w.headers['x-team'] = 'b') },
      MISMATCH,
    ],
    [
      'date changed after signing',
      {
        ...base,
        tamper: (w) =>
          void (w.headers['x-amz-date'] = w.headers['x-amz-date']!.replace(
            /T(\d\d)/,
            (_, h) => `T${h === '00' ? '01' : '00'}`,
          )),
      },
      /(does not match|Signature expired)/,
    ],
    ['signed 10 minutes ago', { ...base, signingDate: new Date(Date.now() - 10 * 60_000) }, /^Signature expired: /],
    ['signed 10 minutes ahead', { ...base, signingDate: new Date(Date.now() + 10 * 60_000) }, /^Signature expired: /],
    ['wrong secret', { ...base, creds: { accessKeyId: KEY, secretAccessKey: SECRET + 'x' } }, MISMATCH],
    [
      'unknown key',
      { ...base, creds: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: SECRET } },
      'The security token included in the request is invalid.',
    ],
    ['wrong region', { ...base, region: 'eu-west-1' }, /scoped to a valid region/],
    [
      'malformed Authorization',
      { ...base, tamper: (w) => void (w.headers.authorization = 'AWS4-HMAC-SHA256 Credential=x, Signature=zz') },
      /requires 'Credential'/,
    ],
  ];
  for (const [name, call, message] of cases) {
    const r = await send(call);
    t.equal(r.status, 403, `${name}: 403`);
    t.match(JSON.parse(r.body).message, message, `${name}: API Gateway's message`);
  }
  t.equal(seen.length, 0, 'the handler saw none of them');
  t.ok((gw.refused.InvalidSignatureException ?? 0) >= 6, 'refusals are counted by kind');
});

t.test('paths outside the stage, oversized bodies and a failing handler get API Gateway answers', async (t) => {
  const { gw, send } = await setup(t, async () => {
    throw new Error('boom');
  });
  const outside = await raw({
    method: 'GET',
    path: '/v1/credentials',
    query: '',
    headers: {},
    body: undefined,
    port: gw.port,
  });
  t.equal(outside.status, 403);
  t.same(JSON.parse(outside.body), { message: 'Missing Authentication Token' });
  const big = await send({ method: 'POST', path: '/v1/sessions', body: 'x'.repeat(2 * 1024 * 1024) });
  t.equal(big.status, 413);
  const failing = await send({ path: '/v1/status' });
  t.equal(failing.status, 502);
  t.same(JSON.parse(failing.body), { message: 'Internal server error' }, 'no stack trace, no error text');
});
