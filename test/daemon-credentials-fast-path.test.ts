// The credential fast path (daemon/server/credentials-fast-path.ts) answers plain `GET /v1/credentials` requests on
// node:http directly; anything unusual — a query string here — goes through fastify's route. Both must give the same
// answer, byte for byte in the body and in every header an SDK reads, for a success and for a refusal, and both must
// record their decision.
import t from 'tap';
import { startDaemon, type FetchResult } from './support/daemon.js';

const SDK_HEADERS = ['content-type', 'cache-control', 'content-length', 'retry-after'] as const;

function shape(r: FetchResult) {
  return { status: r.status, headers: Object.fromEntries(SDK_HEADERS.map((h) => [h, r.headers[h]])) };
}

t.test('fast path and fastify route answer alike, on both transports', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');
  for (const transport of ['unix', 'tcp'] as const) {
    const fast = await d.fetch({ transport, token: session.token });
    const routed = await d.fetch({ transport, token: session.token, path: '/v1/credentials?via=fastify' });
    const alias = await d.fetch({ transport, token: session.token, path: '/get-credentials' });
    t.equal(fast.status, 200, `${transport}: served`);
    t.same(shape(fast), shape(routed), `${transport}: same status and headers`);
    t.same(shape(alias), shape(fast), `${transport}: the aws-vault alias too`);
    t.equal(fast.headers['content-type'], 'application/json', 'exactly application/json (Go SDK)');
    t.equal(fast.text, routed.text, `${transport}: same bytes (cache hit: the same credentials)`);
    t.same(
      Object.keys(fast.json),
      ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration', 'AccountId'].filter((k) => k in fast.json),
    );
  }
  const before = (await d.decisions()).filter((e) => e.event === 'credentials').length;
  t.equal(before, 6, 'every fetch, fast or routed, is one decision');

  const ended = await d.fetch({ transport: 'unix', method: 'DELETE', path: `/v1/sessions/${session.id}` });
  t.ok(ended.status < 300, `session ended (${ended.status})`);
  const fastRefused = await d.fetch({ transport: 'tcp', token: session.token });
  const routedRefused = await d.fetch({ transport: 'tcp', token: session.token, path: '/v1/credentials?x=1' });
  t.equal(fastRefused.status, 403);
  t.same(shape(fastRefused), shape(routedRefused), 'a refusal has the same status and headers');
  t.same(fastRefused.json, routedRefused.json, 'and the same catalogue body');
  t.equal(fastRefused.json.code, 'SessionEnded');
  const refusals = (await d.decisions()).filter((e) => e.event === 'credentials' && e.outcome !== 'allow');
  t.equal(refusals.length, 2, 'both refusals are decisions');
});

t.test('what the fast path declines still gets the framework answer', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');
  const foreign = await d.fetch({ transport: 'tcp', token: session.token, headers: { host: 'evil.example:80' } });
  t.equal(foreign.status, 403);
  t.equal(foreign.json.code, 'PeerNotAllowed', 'a foreign Host is refused, not served fast');
  const withBody = await d.fetch({ transport: 'unix', token: session.token, rawBody: '{}' });
  t.equal(withBody.json.code, 'BadRequest', 'a GET with a body is refused');
  const head = await d.fetch({ transport: 'unix', token: session.token, method: 'HEAD' });
  t.equal(head.status, 404, 'HEAD is not a credential route');
  const bad = await d.fetch({ transport: 'unix', token: 'not-a-token' });
  t.equal(bad.json.code, 'TokenInvalid');
  const none = await d.fetch({ transport: 'unix' });
  t.equal(none.json.code, 'TokenInvalid');
});
