// What STS answers is checked before it is served (core/issuer/assume-role.ts): a relay between the daemon and the
// STS emulator rewrites AssumeRole's answer on the wire — credentials that expired before they arrived (a clock far
// ahead, or a hostile proxy), a missing session token — and the daemon refuses with StsUnavailable, serves nothing,
// and serves again once STS answers properly.
import t from 'tap';
import { createServer, request } from 'node:http';
import { startDaemon } from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';

t.test('AssumeRole answers that must not be served', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const upstream = new URL(sts.url);
  let rewrite: (xml: string) => string = (xml) => xml;
  const relay = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            let body = Buffer.concat(parts).toString('utf8');
            if (body.includes('<AssumeRoleResult>')) body = rewrite(body);
            const bytes = Buffer.from(body);
            res.writeHead(answer.statusCode ?? 500, {
              'content-type': answer.headers['content-type'] ?? 'text/xml',
              'content-length': bytes.length,
            });
            res.end(bytes);
          });
        },
      );
      out.on('error', () => res.destroy());
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.teardown(() => relay.close());
  const port = (relay.address() as { port: number }).port;
  const d = await startDaemon(t, { sts, env: { AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` } });
  // Opening a session issues its first credentials (and caches them), so each case opens a session of its own; the
  // refusal comes from whichever step asked STS.
  const attempt = async () => {
    const open = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } });
    if (open.status !== 200 && open.status !== 201) return open;
    return d.fetch({ transport: 'tcp', token: open.json.token });
  };

  const cases: Array<[string, (xml: string) => string, RegExp]> = [
    [
      'credentials that expired before they arrived',
      (xml) => xml.replace(/<Expiration>[^<]*<\/Expiration>/, '<Expiration>2020-01-01T00:00:00Z</Expiration>'),
      /with credentials that have already expired/,
    ],
    [
      'no session token',
      (xml) => xml.replace(/<SessionToken>[^<]*<\/SessionToken>/, ''),
      /without complete credentials/,
    ],
    ['no expiration', (xml) => xml.replace(/<Expiration>[^<]*<\/Expiration>/, ''), /without complete credentials/],
  ];
  for (const [name, fn, why] of cases) {
    rewrite = fn;
    const before = sts.calls.AssumeRole;
    const r = await attempt();
    t.equal(r.json.Code, 'StsUnavailable', `${name}: StsUnavailable`);
    t.equal(r.status, 502, `${name}: 502, nothing served`);
    t.match(r.json.Message, why, name);
    t.notOk(r.text.includes('AccessKeyId'), `${name}: no credentials in the answer`);
    t.ok(sts.calls.AssumeRole > before, `${name}: STS was asked`);
  }
  rewrite = (xml) => xml;
  const good = await attempt();
  t.equal(good.status, 200, 'served once STS answers properly (a refused answer is not cached)');
  t.ok(
    sts.issued.some((c) => c.accessKeyId === good.json.AccessKeyId),
    'with credentials the emulator issued',
  );
});
