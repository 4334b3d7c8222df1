// Whatever produces an answer — a route, fastify's router, node's HTTP parser — the body has the catalogue's shape
// (DESIGN §3.2/§3.4), and a TCP request whose Host is not the listener is refused (DNS rebinding, §3.1).
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { startDaemon, type DaemonHarness, type FetchResult } from './support/daemon.js';

type Transport = 'unix' | 'tcp';
const TRANSPORTS: Transport[] = ['unix', 'tcp'];

interface RawAnswer {
  status: number;
  body: any;
  text: string;
}

/** One request written by hand (so nothing adds a Host header), answered on a fresh connection. */
function raw(d: DaemonHarness, transport: Transport, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket =
      transport === 'unix' ? connect({ path: d.socketPath }) : connect({ host: '127.0.0.1', port: d.port });
    let text = '';
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (c) => {
      text += c.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length !== undefined && text.length >= head + 4 + Number(length)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const head = text.indexOf('\r\n\r\n');
      const bodyText = head >= 0 ? text.slice(head + 4) : '';
      let body: any;
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = undefined;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body, text });
    });
    socket.write(request);
  });
}

function asRaw(r: FetchResult): RawAnswer {
  return { status: r.status, body: r.json, text: r.text };
}

function catalogueShaped(
  t: Test,
  a: { status: number; body: any; text?: string },
  status: number,
  code: string,
  what: string,
) {
  t.equal(a.status, status, `${what}: ${status}`);
  t.equal(a.body?.Code, code, `${what}: ${code}`);
  t.equal(a.body?.code, code, `${what}: both spellings of the code`);
  t.equal(typeof a.body?.Message, 'string', `${what}: a message`);
  t.equal(a.body?.Message, a.body?.message, `${what}: both spellings of the message`);
  t.notMatch(a.text ?? JSON.stringify(a.body), /FST_|"error":"/, `${what}: nothing of fastify's own shape`);
}

t.test('router refusals and unknown routes have the catalogue shape on both listeners', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  const host = (transport: Transport) => (transport === 'tcp' ? `127.0.0.1:${d.port}` : 'localhost');
  for (const transport of TRANSPORTS) {
    const longParam = await raw(
      d,
      transport,
      `GET /v1/sessions/${'a'.repeat(100)} HTTP/1.1\r\nHost: ${host(transport)}\r\nAuthorization: ${s.token}\r\n\r\n`,
    );
    catalogueShaped(
      t,
      longParam,
      transport === 'unix' ? 400 : 404,
      transport === 'unix' ? 'BadRequest' : 'NotFound',
      `${transport}: 100-char parameter`,
    );
    const badUrl = await raw(d, transport, `GET /v1/sessions/%E0%A4%A HTTP/1.1\r\nHost: ${host(transport)}\r\n\r\n`);
    t.ok([400, 404].includes(badUrl.status), `${transport}: malformed URL is a 4xx (${badUrl.status})`);
    t.ok(badUrl.body?.Code === 'BadRequest' || badUrl.body?.Code === 'NotFound', `${transport}: with a catalogue code`);
    t.equal(badUrl.body?.Message, badUrl.body?.message);
    const unknown = await raw(d, transport, `GET /nope HTTP/1.1\r\nHost: ${host(transport)}\r\n\r\n`);
    catalogueShaped(t, unknown, 404, 'NotFound', `${transport}: unknown route`);
    const expect = await raw(
      d,
      transport,
      `GET /v1/credentials HTTP/1.1\r\nHost: ${host(transport)}\r\nExpect: teapot\r\n\r\n`,
    );
    catalogueShaped(t, expect, 400, 'BadRequest', `${transport}: unsupported Expect`);
    const media = asRaw(
      await d.fetch({
        transport: 'unix',
        method: 'POST',
        path: '/v1/sessions',
        rawBody: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
    );
    catalogueShaped(t, media, 400, 'BadRequest', 'non-JSON body');
    const big = asRaw(
      await d.fetch({
        transport: 'unix',
        method: 'POST',
        path: '/v1/sessions',
        body: { profile: 'a'.repeat(70_000) },
      }),
    );
    catalogueShaped(t, big, 413, 'PayloadTooLarge', 'oversized body');
  }
  t.equal((await d.fetch({ transport: 'tcp', token: s.token })).status, 200, 'credentials are still served');
});

t.test('HTTP/1.1 without Host: a catalogue answer, never an empty 400', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  const unix = await raw(d, 'unix', 'GET /v1/status HTTP/1.1\r\n\r\n');
  t.equal(unix.status, 200, 'a Unix socket has no name to check: served');
  const tcp = await raw(d, 'tcp', `GET /v1/credentials HTTP/1.1\r\nAuthorization: ${s.token}\r\n\r\n`);
  catalogueShaped(t, tcp, 403, 'PeerNotAllowed', 'tcp without Host');
  t.notMatch(tcp.text, /AccessKeyId/, 'no credentials');
});

t.test('TCP requests whose Host is not the listener are refused (DNS rebinding)', async (t) => {
  const d = await startDaemon(t);
  const s = await d.openSession('dev');
  for (const host of [
    `evil.example:${d.port}`,
    'evil.example',
    `127.0.0.1:${d.port + 1}`,
    `localhost`,
    `127.0.0.1`,
    `127.0.0.1:${d.port}\u0001`,
  ]) {
    const r = await raw(d, 'tcp', `GET /v1/credentials HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${s.token}\r\n\r\n`);
    if (host.includes('\u0001')) {
      t.equal(r.status, 400, 'a control character in Host is refused by the parser with a catalogue body');
      t.equal(r.body?.Code, 'BadRequest');
      continue;
    }
    catalogueShaped(t, r, 403, 'PeerNotAllowed', `Host ${host}`);
    t.notMatch(r.text, /AccessKeyId/, `Host ${host}: no credentials`);
  }
  for (const host of [`127.0.0.1:${d.port}`, `localhost:${d.port}`, `LOCALHOST:${d.port}`]) {
    const r = await raw(d, 'tcp', `GET /v1/credentials HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${s.token}\r\n\r\n`);
    t.equal(r.status, 200, `Host ${host} names the listener: served`);
  }
  const decisions = await d.decisions();
  t.ok(
    decisions.filter((l) => l.error_code === 'PeerNotAllowed' && l.outcome === 'deny').length >= 5,
    'each refusal is a decision-log line',
  );
  const unix = await d.fetch({ transport: 'unix', token: s.token, headers: { host: 'evil.example' } });
  t.equal(unix.status, 200, 'the Unix socket ignores Host');
});
