import t from 'tap';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CUT_OFF, deliverWebhook, signature, WEBHOOK_BACKOFF_MS } from '../core/notify/webhook.js';
import { createNotifier } from '../core/notify/notifier.js';
import { notificationStatus } from '../core/notify/types.js';
import { startWebhookReceiver, type ReceivedDelivery } from './support/webhook-receiver.js';
import type { HasTeardown } from './support/aws-env.js';

const SECRET = 'whsec-test-0123456789';

async function receiver(t: HasTeardown) {
  const r = await startWebhookReceiver();
  t.teardown(() => r.close());
  return r;
}

/** What a receiver should do: recompute the HMAC over "<timestamp>.<exact body>" and compare in constant time. */
function verifies(d: ReceivedDelivery, secret: string, maxAgeSeconds = 300): boolean {
  const ts = String(d.headers['x-sentinel-timestamp']);
  const sig = String(d.headers['x-sentinel-signature'] ?? '');
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > maxAgeSeconds) return false;
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(`${ts}.${d.body}`).digest('hex'));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const noSleep = { sleep: async () => {} };

t.test('a signed delivery: headers, timestamp and signature over the exact body', async (t) => {
  const r = await receiver(t);
  const body = JSON.stringify({ type: 'request.created', id: 'x', note: 'ünïcode ✓' });
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.created', body, SECRET, noSleep);
  t.same([result.ok, result.attempts], [true, 1]);
  t.equal(r.received.length, 1);
  const d = r.received[0]!;
  t.equal(d.body, body, 'the body arrives byte for byte');
  t.equal(d.headers['content-type'], 'application/json');
  t.equal(d.headers['x-sentinel-event'], 'request.created');
  t.match(String(d.headers['x-sentinel-delivery']), /^[0-9a-f-]{36}$/);
  t.equal(d.headers['x-sentinel-delivery'], result.deliveryId);
  t.ok(verifies(d, SECRET), 'the receiver verifies the signature');
  t.notOk(verifies(d, 'another-secret'), 'another secret does not verify');
  t.notOk(verifies({ ...d, body: d.body.replace('x', 'y') }, SECRET), 'an altered body does not verify');
  const old = {
    ...d,
    headers: { ...d.headers, 'x-sentinel-timestamp': String(Number(d.headers['x-sentinel-timestamp']) - 3600) },
  };
  t.notOk(verifies(old, SECRET), 'a replay with an old timestamp is refused (and the signature no longer matches)');
  t.equal(signature('k', '1', 'b'), 'sha256=' + createHmac('sha256', 'k').update('1.b').digest('hex'));
});

t.test('without a secret there is no signature header', async (t) => {
  const r = await receiver(t);
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.denied', '{}', null, noSleep);
  t.ok(result.ok);
  t.equal(r.received[0]!.headers['x-sentinel-signature'], undefined);
});

t.test('fails twice, then succeeds: three attempts, one delivery id, the 1 s and 2 s backoff', async (t) => {
  const r = await receiver(t);
  r.script([500, 503]);
  const waits: number[] = [];
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.approved', '{"a":1}', SECRET, {
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  t.same([result.ok, result.attempts], [true, 3]);
  t.equal(r.received.length, 3);
  t.equal(
    new Set(r.received.map((d) => d.headers['x-sentinel-delivery'])).size,
    1,
    'the same delivery id on every retry',
  );
  t.same(waits, [1000, 2000]);
  t.same(WEBHOOK_BACKOFF_MS, [1000, 2000, 4000]);
  for (const d of r.received) t.ok(verifies(d, SECRET), 'every attempt is signed for its own timestamp');
});

t.test('5xx every time: four attempts, then a failure that says why', async (t) => {
  const r = await receiver(t);
  r.script([], 502);
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.revoked', '{}', null, noSleep);
  t.same([result.ok, result.attempts], [false, 4]);
  t.equal(result.error, 'HTTP 502 after 4 attempts');
  t.equal(notificationStatus([result]), 'failed: ops: HTTP 502 after 4 attempts');
});

t.test('a 4xx is not retried (the receiver refused it; asking again changes nothing)', async (t) => {
  const r = await receiver(t);
  r.script([401]);
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.created', '{}', null, noSleep);
  t.same([result.ok, result.attempts, result.error], [false, 1, 'HTTP 401']);
});

t.test('a redirect is not followed', async (t) => {
  const r = await receiver(t);
  r.script([302]);
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.created', '{}', null, noSleep);
  t.same([result.ok, result.attempts, r.received.length], [false, 1, 1]);
});

t.test('a receiver that never answers times out, is retried, and fails', async (t) => {
  const r = await receiver(t);
  r.script([], 'hang');
  const started = Date.now();
  const result = await deliverWebhook({ name: 'ops', url: r.url }, 'request.created', '{}', null, {
    ...noSleep,
    timeoutMs: 200,
  });
  t.same([result.ok, result.attempts, result.error], [false, 4, 'timed out after 4 attempts']);
  t.ok(Date.now() - started < 3000, 'bounded by the timeout per attempt');
});

t.test('a connection refused is a network error, retried', async (t) => {
  const r = await receiver(t);
  const url = r.url;
  await r.close();
  const result = await deliverWebhook({ name: 'ops', url }, 'request.created', '{}', null, noSleep);
  t.same([result.ok, result.attempts, result.error], [false, 4, 'network error after 4 attempts']);
});

t.test('plain http to a non-loopback host, other schemes and credentials in the URL are refused unsent', async (t) => {
  let fetched = 0;
  const fetchSpy = (async () => {
    fetched++;
    return new Response('');
  }) as typeof fetch;
  for (const url of ['http://example.com/hook', 'ftp://127.0.0.1/x', 'https://user:pw@example.com/', 'not a url']) {
    const result = await deliverWebhook({ name: 'x', url }, 'request.created', '{}', null, { fetch: fetchSpy });
    t.equal(result.ok, false, url);
    t.equal(result.attempts, 0);
    t.match(result.error, /^url /);
  }
  t.equal(fetched, 0, 'nothing was sent');
});

t.test('the notifier: payload shape, unknown target names skipped, an unreadable secret fails closed', async (t) => {
  const r = await receiver(t);
  let secretReads = 0;
  const notifier = createNotifier({
    secret: async (name) => {
      secretReads++;
      if (name === '/sentinel/webhooks/missing') throw Object.assign(new Error('x'), { name: 'ParameterNotFound' });
      return SECRET;
    },
    publish: async () => {
      throw new Error('not used');
    },
    webhook: noSleep,
  });
  const declared = [
    { name: 'ops', webhook: { url: r.url, secret_parameter: '/sentinel/webhooks/ops' } },
    { name: 'broken', webhook: { url: r.url, secret_parameter: '/sentinel/webhooks/missing' } },
  ];
  const results = await notifier.notify(['ops', 'broken', 'undeclared'], declared, {
    type: 'request.created',
    actor: 'arn:aws:iam::111111111111:user/alice',
    request: { id: '0123456789abcdef', profile: 'prod' },
  });
  t.equal(results.length, 2);
  t.same(
    results.map((x) => [x.target, x.ok]),
    [
      ['ops', true],
      ['broken', false],
    ],
  );
  t.equal(results[1]!.error, 'secret parameter unreadable (ParameterNotFound)');
  t.equal(r.received.length, 1, 'nothing is sent unsigned when the secret cannot be read');
  const payload = JSON.parse(r.received[0]!.body);
  t.same(Object.keys(payload).sort(), ['actor', 'id', 'request', 'timestamp', 'type']);
  t.equal(payload.request.profile, 'prod');
  t.match(payload.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.ok(verifies(r.received[0]!, SECRET));
  await notifier.notify(['ops', 'broken'], declared, { type: 'request.approved', actor: 'x' });
  t.equal(secretReads, 3, 'a good secret is cached; a failed read is not');
  t.equal(notificationStatus([]), 'none');
});

t.test("the sender's deadline ends an attempt in flight and a backoff at once, and the result says so", async (t) => {
  const r = await receiver(t);
  r.script([], 'hang');
  const hung = new AbortController();
  setTimeout(() => hung.abort(), 200);
  const started = Date.now();
  const inFlight = await deliverWebhook({ name: 'ops', url: r.url }, 'request.approved', '{}', null, {
    signal: hung.signal,
  });
  t.ok(Date.now() - started < 2000, 'not the 10 s attempt timeout');
  t.same([inFlight.ok, inFlight.attempts, inFlight.error], [false, 1, CUT_OFF]);

  r.script([], 503);
  const backingOff = new AbortController();
  const waiting = deliverWebhook({ name: 'ops', url: r.url }, 'request.approved', '{}', null, {
    signal: backingOff.signal,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms * 100)),
  });
  setTimeout(() => backingOff.abort(), 300);
  const cut = await waiting;
  t.same([cut.ok, cut.attempts, cut.error], [false, 1, CUT_OFF], 'no retry after the deadline');
  t.equal(notificationStatus([cut]), `failed: ops: ${CUT_OFF}`);
});

t.test('a target named twice in notify is told once', async (t) => {
  const r = await receiver(t);
  const notifier = createNotifier({
    secret: async () => SECRET,
    publish: async () => {
      throw new Error('not used');
    },
    webhook: noSleep,
  });
  const results = await notifier.notify(['ops', 'ops'], [{ name: 'ops', webhook: { url: r.url } }], {
    type: 'breakglass.invoked',
    actor: 'arn:aws:iam::111111111111:user/alice',
    breakglass: { id: '0123456789abcdef', profile: 'prod' },
  });
  t.equal(r.received.length, 1, 'one delivery');
  t.same(
    results.map((x) => [x.target, x.ok]),
    [['ops', true]],
  );
});
