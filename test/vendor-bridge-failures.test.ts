// The bridge when the vendor is not there or not itself: a closed port, a vendor that accepts and never answers, and
// one answering garbage all end as VendorUnavailable (502) within the bound, and the daemon makes no STS call of its
// own instead. The vendor's own catalogue refusals pass through with code, message and hint; API Gateway's refusal of
// a bad signature and credentials that cannot be had are named as such. The vendor here is a small handler behind
// the stand-in: these tests are about signing and transport, not decisions (vendor-bridge-e2e has the real one).
import t from 'tap';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { startApiGatewayStandIn, type ProxyHandler } from './support/apigw-standin.js';
import type { HasTeardown } from './support/aws-env.js';
import { BASE_ACCESS_KEY, BASE_ARN, BASE_SECRET_KEY, startDaemon, type DaemonHarness } from './support/daemon.js';
import { startSts, type StsEmulator } from './support/sts-emulator.js';
import { createVendorClient, VENDOR_ATTEMPT_MS, VENDOR_ATTEMPTS } from '../core/vendor/client.js';
import { signingCredentials } from '../core/vendor/signing-credentials.js';

/** Short attempts, so a silent vendor costs the tests little; the defaults are checked separately. */
const ATTEMPT_MS = 400;

async function daemonFor(
  t: HasTeardown,
  url: string,
  sts: StsEmulator,
  extra: { profile?: string; attemptMs?: number } = {},
): Promise<DaemonHarness> {
  const d = await startDaemon(t, {
    sts,
    policy: null,
    config: `vendor: { url: "${url}", region: us-east-1, profile: ${extra.profile ?? 'base'} }\n`,
    parts: {
      vendorClient: (vendor) =>
        createVendorClient({
          ...vendor,
          credentials: signingCredentials(vendor.profile),
          attemptMs: extra.attemptMs ?? ATTEMPT_MS,
        }),
    },
  });
  sts.setIdentity(BASE_ACCESS_KEY, BASE_ARN, BASE_SECRET_KEY);
  return d;
}

async function listen(t: HasTeardown, onConnection: (s: Socket) => void): Promise<number> {
  const server: Server = createServer(onConnection);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work;
  return { value, ms: performance.now() - start };
}

const processCreds = (d: DaemonHarness, profile = 'dev') =>
  d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile } });

t.test('the default bound: 5 s per attempt, at most three attempts', async (t) => {
  t.equal(VENDOR_ATTEMPT_MS, 5000);
  t.equal(VENDOR_ATTEMPTS, 3);
});

t.test('a dead vendor (closed port): VendorUnavailable at once, no STS call', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const closed = await freePort();
  const d = await daemonFor(t, `http://127.0.0.1:${closed}/prod`, sts);
  const { value: r, ms } = await timed(processCreds(d));
  t.equal(r.status, 502);
  t.equal(r.json.Code, 'VendorUnavailable');
  t.match(r.json.Message, /did not answer: cannot connect \(ECONNREFUSED\)/);
  t.ok(ms < 2000, `in ${Math.round(ms)} ms (a refused connection is retried at once)`);
  const open = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } });
  t.equal(open.status, 502);
  t.equal(open.json.code, 'VendorUnavailable');
  t.same(sts.calls, { AssumeRole: 0, GetCallerIdentity: 0, GetSessionToken: 0 }, 'no STS call of its own');
  const log = await d.decisions();
  t.ok(
    log.some((e) => e.error_code === 'VendorUnavailable'),
    'the refusal is in the decision log',
  );
});

t.test('a silent vendor (accepts, never answers): VendorUnavailable within the bound', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  // Requests, not connections: fetch (undici) may open a spare connection that carries nothing (Node 24 does, within
  // the attempt), and only a request that arrived could have done something at the vendor.
  let connections = 0;
  const port = await listen(t, (s) => void s.once('data', () => (connections += 1)));
  const d = await daemonFor(t, `http://127.0.0.1:${port}/prod`, sts);
  const { value: r, ms } = await timed(processCreds(d));
  t.equal(r.status, 502);
  t.equal(r.json.Code, 'VendorUnavailable');
  t.match(r.json.Message, new RegExp(`no answer within ${ATTEMPT_MS} ms`));
  const bound = 3 * ATTEMPT_MS + 100 + 200 + 1000;
  t.ok(ms >= 3 * ATTEMPT_MS && ms < bound, `three attempts, ${Math.round(ms)} ms (< ${bound})`);
  t.equal(connections, 3, 'a read is tried three times');
  // An open is a POST: once it may have reached the vendor, it is not repeated (it could open a second session).
  connections = 0;
  const { value: open, ms: openMs } = await timed(
    d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } }),
  );
  t.equal(open.status, 502);
  t.equal(connections, 1, 'a POST that was sent is not retried');
  t.ok(openMs < ATTEMPT_MS + 1000, `one attempt, ${Math.round(openMs)} ms`);
  t.same(sts.calls, { AssumeRole: 0, GetCallerIdentity: 0, GetSessionToken: 0 }, 'no STS call of its own');
});

t.test(
  'a vendor answering garbage: VendorUnavailable, nothing served; a date in another form is served as SDKs read it',
  async (t) => {
    const sts = await startSts();
    t.teardown(() => sts.close());
    const answers: Array<{ status: number; body: string; headers?: Record<string, string> }> = [];
    let next = answers[0]!;
    const handler: ProxyHandler = async () => ({ statusCode: next.status, headers: next.headers, body: next.body });
    const gw = await startApiGatewayStandIn({ keys: sts, handler });
    t.teardown(() => gw.close());
    const d = await daemonFor(t, gw.url, sts);
    const garbage: Array<[string, typeof next]> = [
      ['not JSON', { status: 200, body: '<html>hello</html>' }],
      ['a JSON array', { status: 200, body: '[1,2,3]' }],
      [
        'credentials without a secret',
        { status: 200, body: '{"AccessKeyId":"A","Token":"T","Expiration":"2030-01-01T00:00:00Z"}' },
      ],
      [
        'a bad expiration',
        { status: 200, body: '{"AccessKeyId":"A","SecretAccessKey":"S","Token":"T","Expiration":"soon"}' },
      ],
      [
        'credentials that have expired',
        {
          status: 200,
          body: '{"AccessKeyId":"A","SecretAccessKey":"S","Token":"T","Expiration":"2020-01-01T00:00:00Z"}',
        },
      ],
      ['an unknown error code', { status: 403, body: '{"Code":"Pwned","Message":"\\u001b[31mred"}' }],
      ['an internal error', { status: 500, body: '{"Code":"InternalError","Message":"stack trace here"}' }],
      ['a catalogue code with the wrong status', { status: 200, body: '{"Code":"PolicyDenied"}' }],
      ['a huge answer', { status: 200, body: `{"x":"${'a'.repeat(2 * 1024 * 1024)}"}` }],
    ];
    for (const [name, answer] of garbage) {
      next = answer;
      const r = await processCreds(d);
      t.equal(r.status, 502, `${name}: 502`);
      t.equal(r.json.Code, 'VendorUnavailable', `${name}: VendorUnavailable`);
      t.notMatch(r.text, /stack trace|Pwned|\u001b/, `${name}: nothing of the answer is echoed`);
    }
    t.same(sts.calls, { AssumeRole: 0, GetCallerIdentity: 0, GetSessionToken: 0 }, 'no STS call of its own');

    // The requests and break-glass routes read the vendor's answers as strictly.
    const controlGarbage: Array<[string, typeof next]> = [
      ['a list that is not a list', { status: 200, body: '{"requests":"all of them","events":{"a":1}}' }],
      ['a list of numbers', { status: 200, body: '{"requests":[1,2],"events":[1,2]}' }],
      ['an internal error', { status: 500, body: '{"Code":"InternalError","Message":"stack trace here"}' }],
    ];
    for (const [name, answer] of controlGarbage) {
      next = answer;
      for (const path of ['/v1/requests', '/v1/breakglass']) {
        const r = await d.fetch({ transport: 'unix', method: 'GET', path });
        t.equal(r.status, 502, `${path}, ${name}: 502`);
        t.equal(r.json.code, 'VendorUnavailable', `${path}, ${name}: VendorUnavailable`);
        t.notMatch(r.text, /stack trace|all of them/, `${path}, ${name}: nothing of the answer is echoed`);
      }
    }

    // A date SDKs would not read (the JS SDK takes only UTC with `Z`) is served in the form they all read.
    for (const [written, served] of [
      ['2030-01-01T01:00:00+01:00', '2030-01-01T00:00:00Z'],
      ['2030-01-01T00:00:00.999Z', '2030-01-01T00:00:00Z'],
      ['2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z'],
    ]) {
      next = {
        status: 200,
        body: JSON.stringify({ AccessKeyId: 'A', SecretAccessKey: 'S', Token: 'T', Expiration: written }),
      };
      const r = await processCreds(d);
      t.equal(r.status, 200, `${written}: served`);
      t.equal(r.json.Expiration, served, `${written} is served as ${served}`);
    }
  },
);

t.test("the vendor's catalogue refusals pass through with code, message and hint", async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  let answer = { status: 403, body: '', headers: {} as Record<string, string> };
  const gw = await startApiGatewayStandIn({
    keys: sts,
    handler: async () => ({ statusCode: answer.status, headers: answer.headers, body: answer.body }),
  });
  t.teardown(() => gw.close());
  const d = await daemonFor(t, gw.url, sts);
  answer = {
    status: 403,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Code: 'PolicyDenied', Message: 'dev is closed on Sundays', hint: 'Ask on #ops.' }),
  };
  const denied = await processCreds(d);
  t.equal(denied.status, 403);
  t.match(denied.json, { Code: 'PolicyDenied', Message: 'dev is closed on Sundays', hint: 'Ask on #ops.' });
  answer = {
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': '120' },
    body: JSON.stringify({ Code: 'RateLimited', Message: 'three a day', hint: 'Wait.' }),
  };
  const limited = await processCreds(d);
  t.equal(limited.status, 429);
  t.equal(limited.headers['retry-after'], '120');
  t.equal(gw.events.length, 2, 'each refusal was one request: refusals are not retried');
});

t.test('API Gateway refusing the signature, and no credentials to sign with, are named as such', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const gw = await startApiGatewayStandIn({
    keys: sts,
    handler: async () => ({ statusCode: 200, body: '{}' }),
  });
  t.teardown(() => gw.close());
  const d = await daemonFor(t, gw.url, sts);
  sts.setIdentity(BASE_ACCESS_KEY, BASE_ARN, 'not-the-secret-in-the-credentials-file');
  const badSig = await processCreds(d);
  t.equal(badSig.json.Code, 'BaseCredentialsUnavailable');
  t.match(badSig.json.Message, /The request signature we calculated does not match/);
  t.equal(gw.events.length, 0, 'the handler never ran');

  const noCreds = await daemonFor(t, gw.url, sts, { profile: 'no-such-profile' }).catch((e) => e);
  t.notOk(noCreds instanceof Error, 'a daemon starts without resolving credentials');
  const r = await processCreds(noCreds as DaemonHarness);
  t.equal(r.status, 502);
  t.equal(r.json.Code, 'BaseCredentialsUnavailable');
  t.match(r.json.Message, /no-such-profile/);
  t.notMatch(r.text, new RegExp(BASE_SECRET_KEY));
});

t.test('a vendor URL direct to the client: the signed call reaches the stand-in', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  sts.setIdentity(BASE_ACCESS_KEY, BASE_ARN, BASE_SECRET_KEY);
  const gw = await startApiGatewayStandIn({
    keys: sts,
    handler: async (e) => ({ statusCode: 200, body: JSON.stringify({ path: e.path, query: e.queryStringParameters }) }),
  });
  t.teardown(() => gw.close());
  const client = createVendorClient({
    url: `${gw.url}/`,
    region: 'us-east-1',
    credentials: async () => ({ accessKeyId: BASE_ACCESS_KEY, secretAccessKey: BASE_SECRET_KEY }),
  });
  const answer = await client.call({ method: 'GET', path: '/v1/credentials', query: { profile: "dev/a+b c'*" } });
  t.same(answer, { path: '/v1/credentials', query: { profile: "dev/a+b c'*" } }, 'odd characters are signed as sent');
});

t.test('profile names from the vendor that are not profile names never reach the shells', async (t) => {
  // Completion and `use` put these names into command lines and the prompt; the vendor's policy cannot hold such a
  // name, so an answer with one did not come from it.
  const sts = await startSts();
  t.teardown(() => sts.close());
  const names = ['dev', 'x;touch pwned', '$(id)', 'team@dev', '\u001b]0;owned\u0007', 'a b'];
  const handler: ProxyHandler = async () => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ profiles: names.map((name) => ({ name, region: 'us-east-1' })) }),
  });
  const gw = await startApiGatewayStandIn({ keys: sts, handler });
  t.teardown(() => gw.close());
  const d = await daemonFor(t, gw.url, sts);
  const r = await d.fetch({ transport: 'unix', method: 'GET', path: '/v1/profiles' });
  t.equal(r.status, 200, r.text);
  t.same(
    r.json.profiles.map((p: { name: string }) => p.name),
    ['dev', 'team@dev'],
  );
});
