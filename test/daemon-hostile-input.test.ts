// Hostile input on both listeners: oversized headers and bodies, bad JSON, wrong types, traversal in profile names and
// paths, unknown methods, slowloris. Every answer is a clean 4xx catalogue body, and the daemon keeps serving.
import t, { type Test } from 'tap';
import { connect, type Socket } from 'node:net';
import { startDaemon, type DaemonHarness, type FetchResult } from './support/daemon.js';

type Transport = 'unix' | 'tcp';
const TRANSPORTS: Transport[] = ['unix', 'tcp'];

function rawSocket(d: DaemonHarness, transport: Transport): Socket {
  return transport === 'unix' ? connect({ path: d.socketPath }) : connect({ host: '127.0.0.1', port: d.port });
}

/** Writes `data` on a fresh connection and collects everything until the daemon closes it. */
function raw(d: DaemonHarness, transport: Transport, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = rawSocket(d, transport);
    let text = '';
    socket.on('data', (c) => (text += c.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(text) : reject(e),
    );
    socket.on('close', () => resolve(text));
    socket.write(data);
    socket.setTimeout(30_000, () => socket.destroy(new Error('the daemon never closed the connection')));
  });
}

function statusLine(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function bodyOf(response: string): any {
  const at = response.indexOf('\r\n\r\n');
  return JSON.parse(response.slice(at + 4));
}

function clean4xx(t: Test, r: FetchResult, status: number, code: string, what: string): void {
  t.equal(r.status, status, `${what}: ${status}`);
  t.equal(r.json?.Code, code, `${what}: ${code}`);
  t.equal(r.json?.Message, r.json?.message, `${what}: both spellings`);
}

async function healthy(t: Test, d: DaemonHarness, token: string): Promise<void> {
  t.equal((await d.fetch({ transport: 'unix', path: '/v1/status' })).status, 200, 'the control API still answers');
  t.equal((await d.fetch({ transport: 'tcp', token })).status, 200, 'credentials are still served');
}

t.test('oversized headers and bodies', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  for (const transport of TRANSPORTS) {
    const hugeHeader = await raw(
      d,
      transport,
      `GET /v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: ${s.token}\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    t.equal(statusLine(hugeHeader), 413, `${transport}: a 20 kB header is refused`);
    t.equal(bodyOf(hugeHeader).Code, 'PayloadTooLarge');
    const manyHeaders = await raw(
      d,
      transport,
      `GET /v1/credentials HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
    );
    t.ok(
      [400, 413].includes(statusLine(manyHeaders)),
      `${transport}: thousands of headers are refused (${statusLine(manyHeaders)})`,
    );
  }
  const hugeBody = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/sessions',
    body: { profile: 'dev', pad: 'x'.repeat(200_000) },
  });
  clean4xx(t, hugeBody, 413, 'PayloadTooLarge', 'unix: a 200 kB body');
  const hugeTcpBody = await d.fetch({
    transport: 'tcp',
    method: 'GET',
    token: s.token,
    headers: { 'content-type': 'application/json' },
    rawBody: 'x'.repeat(200_000),
  });
  t.ok(hugeTcpBody.status >= 400 && hugeTcpBody.status < 500, `tcp: a 200 kB body is a 4xx (${hugeTcpBody.status})`);
  t.ok(typeof hugeTcpBody.json?.Code === 'string', 'with a catalogue body');
  await healthy(t, d, s.token);
});

t.test('bad JSON, wrong types, unknown fields, non-JSON bodies', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  const post = (path: string, body: unknown, headers?: Record<string, string>) =>
    d.fetch({
      transport: 'unix',
      method: 'POST',
      path,
      ...(typeof body === 'string'
        ? { rawBody: body, headers: headers ?? { 'content-type': 'application/json' } }
        : { body }),
    });

  clean4xx(t, await post('/v1/sessions', '{"profile": "dev"'), 400, 'BadRequest', 'truncated JSON');
  clean4xx(
    t,
    await post('/v1/sessions', '{"__proto__": {"admin": true}, "profile": "dev"}'),
    400,
    'BadRequest',
    'prototype pollution',
  );
  clean4xx(
    t,
    await post('/v1/sessions', 'profile=dev', { 'content-type': 'application/x-www-form-urlencoded' }),
    400,
    'BadRequest',
    'a form body',
  );
  clean4xx(t, await post('/v1/sessions', 'dev', { 'content-type': 'text/plain' }), 400, 'BadRequest', 'a text body');
  clean4xx(
    t,
    await post('/v1/sessions', '', { 'content-type': 'application/json' }),
    400,
    'BadRequest',
    'an empty JSON body',
  );
  clean4xx(t, await post('/v1/sessions', '[]'), 400, 'BadRequest', 'an array');
  clean4xx(t, await post('/v1/sessions', { profile: 123 }), 400, 'BadRequest', 'profile as a number');
  clean4xx(t, await post('/v1/sessions', { profile: 'dev', mode: 'root' }), 400, 'BadRequest', 'an unknown mode');
  clean4xx(
    t,
    await post('/v1/sessions', { profile: 'dev', mode: 'credential_process' }),
    400,
    'BadRequest',
    'credential_process is implicit only',
  );
  clean4xx(t, await post('/v1/sessions', { profile: 'dev', pid: -1 }), 400, 'BadRequest', 'a negative pid');
  clean4xx(t, await post('/v1/sessions', { profile: 'dev', pid: 2 ** 40 }), 400, 'BadRequest', 'an impossible pid');
  clean4xx(
    t,
    await post('/v1/sessions', { profile: 'dev', ttl: 'forever' }),
    400,
    'BadRequest',
    'a ttl that is not a duration',
  );
  clean4xx(t, await post('/v1/sessions', { profile: 'dev', ttl: '5s' }), 400, 'BadRequest', 'a ttl under a minute');
  const unknownField = await post('/v1/sessions', { profile: 'dev', admin: true });
  clean4xx(t, unknownField, 400, 'BadRequest', 'an unknown field');
  t.match(unknownField.json.Message, /unknown field "admin"/, 'the message names the field');
  clean4xx(
    t,
    await post(`/v1/sessions/${s.id}/revoke`, { reason: 42 }),
    400,
    'BadRequest',
    'a reason that is not text',
  );
  clean4xx(t, await post(`/v1/sessions/${s.id}/revoke`, {}), 400, 'BadRequest', 'no reason');
  clean4xx(t, await post('/v1/credentials', { profile: ['dev'] }), 400, 'BadRequest', 'profile as an array');
  clean4xx(t, await post('/v1/shutdown', { now: true }), 400, 'BadRequest', 'shutdown with an unknown field');
  clean4xx(t, await d.fetch({ transport: 'unix', path: '/v1/sessions?limit=0' }), 400, 'BadRequest', 'limit 0');
  clean4xx(
    t,
    await d.fetch({ transport: 'unix', path: '/v1/sessions?status=bogus' }),
    400,
    'BadRequest',
    'an unknown status',
  );
  clean4xx(
    t,
    await d.fetch({ transport: 'unix', path: '/v1/sessions?limit=10&evil=1' }),
    400,
    'BadRequest',
    'an unknown query key',
  );
  t.equal((await d.fetch({ transport: 'unix', path: '/v1/status' })).status, 200, 'shutdown was not triggered');
  await healthy(t, d, s.token);
});

t.test('traversal in profile names and paths', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  for (const profile of [
    '../../etc/passwd',
    '..',
    'dev/../prod',
    '/etc/passwd',
    'dev\u0000',
    '%2e%2e%2fprod',
    'a'.repeat(500),
    '__proto__',
  ]) {
    for (const path of ['/v1/sessions', '/v1/credentials']) {
      const r = await d.fetch({ transport: 'unix', method: 'POST', path, body: { profile } });
      t.ok(r.status === 400 || r.status === 404, `${path} ${JSON.stringify(profile.slice(0, 20))}: ${r.status}`);
      t.ok(['BadRequest', 'ProfileUnknown'].includes(r.json?.Code), 'a catalogue code');
      t.notOk(r.text.includes('root:'), 'nothing read from the file system');
    }
  }
  for (const transport of TRANSPORTS) {
    for (const path of [
      '/v1/sessions/../status',
      '/v1/../v1/status',
      '/v1/credentials/../../etc/passwd',
      '/%2e%2e/v1/status',
      '//v1/status',
    ]) {
      const r = await d.fetch({ transport, path, token: s.token });
      t.ok(r.status === 404 || r.status === 400, `${transport} ${path}: ${r.status}`);
      t.ok(typeof r.json?.Code === 'string', 'with a catalogue body');
    }
  }
  clean4xx(
    t,
    await d.fetch({ transport: 'unix', path: '/v1/sessions/..%2f..%2fetc' }),
    400,
    'BadRequest',
    'a session id with encoded slashes',
  );
  clean4xx(
    t,
    await d.fetch({ transport: 'unix', path: `/v1/sessions/${'f'.repeat(17)}` }),
    400,
    'BadRequest',
    'a 17-hex session id',
  );
  clean4xx(
    t,
    await d.fetch({ transport: 'unix', path: '/v1/sessions/00000000000000ff' }),
    403,
    'SessionUnknown',
    'a well-formed unknown id',
  );
  await healthy(t, d, s.token);
});

t.test('unknown methods and routes', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  for (const transport of TRANSPORTS) {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST', 'OPTIONS', 'HEAD']) {
      const r = await d.fetch({ transport, method, path: '/v1/credentials/x', token: s.token });
      t.equal(r.status, 404, `${transport} ${method} on an unknown path`);
    }
    const put = await d.fetch({ transport, method: 'PUT', path: '/v1/credentials', token: s.token });
    clean4xx(t, put, 404, 'NotFound', `${transport}: PUT on the credential endpoint`);
    const brew = await raw(d, transport, 'BREW /v1/credentials HTTP/1.1\r\nHost: x\r\n\r\n');
    t.equal(statusLine(brew), 400, `${transport}: a method HTTP does not know`);
    t.equal(bodyOf(brew).Code, 'BadRequest');
    const garbage = await raw(
      d,
      transport,
      '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003garbage\r\n\r\n',
    );
    t.equal(statusLine(garbage), 400, `${transport}: a TLS hello on plain HTTP`);
    const smuggle = await raw(
      d,
      transport,
      'GET /v1/credentials HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    t.equal(statusLine(smuggle), 400, `${transport}: Content-Length with Transfer-Encoding`);
  }
  const echo = await d.fetch({ transport: 'tcp', path: `/${'<script>'.repeat(40)}`, token: s.token });
  t.equal(echo.status, 404);
  t.ok(echo.json.Message.length < 200, 'the echoed path is bounded');
  await healthy(t, d, s.token);
});

t.test('slowloris: partial requests are cut off by bounded timeouts', async (t) => {
  // Shorter bounds than the defaults (5 s for headers, 10 s per request) keep the test quick; the mechanism is the same.
  const d = await startDaemon(t, { limits: { headersTimeoutMs: 1500, requestTimeoutMs: 2500, timeoutCheckMs: 250 } });
  const s = await d.openSession('dev');
  const trickle = (transport: Transport, head: string, drip: string) =>
    new Promise<{ closedBeforeDone: boolean; response: string }>((resolve) => {
      const socket = rawSocket(d, transport);
      let response = '';
      let sent = 0;
      socket.on('data', (c) => (response += c.toString('latin1')));
      socket.on('error', () => undefined);
      socket.write(head);
      // 60 drips, one every 250 ms: 15 s of trickling, far beyond either bound.
      const timer = setInterval(() => {
        if (sent >= 60) {
          clearInterval(timer);
          socket.destroy();
          resolve({ closedBeforeDone: false, response });
          return;
        }
        sent += 1;
        socket.write(drip);
      }, 250);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ closedBeforeDone: sent < 60, response });
      });
    });
  const results = await Promise.all(
    TRANSPORTS.flatMap((transport) => [
      trickle(transport, `GET /v1/credentials HTTP/1.1\r\nHost: x\r\n`, 'X-Slow: 1\r\n'),
      trickle(
        transport,
        // The listener's own name: a foreign Host would be refused at once on TCP, before the body could trickle.
        `POST /v1/sessions HTTP/1.1\r\nHost: ${transport === 'tcp' ? `127.0.0.1:${d.port}` : 'x'}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`,
        ' ',
      ),
    ]),
  );
  results.forEach((r, i) => {
    t.ok(r.closedBeforeDone, `slow client ${i}: the daemon closed the connection before the client gave up`);
    if (r.response)
      t.ok(
        [400, 408].includes(statusLine(r.response)),
        `slow client ${i}: answered ${statusLine(r.response)} if at all`,
      );
  });
  await healthy(t, d, s.token);
});
