// Secrets never reach the logs (DESIGN §3.2, §7): after a run that exercises every path — sessions in both modes,
// credential_process, fetches on both listeners and by a real SDK, bad tokens, an STS failure, revocation, reload —
// neither the decision log nor the operational log on stderr contains any issued secret, session token, access key
// or session token of the daemon.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { BASE_ACCESS_KEY, BASE_SECRET_KEY, fetchWithClient, startDaemon } from './support/daemon.js';

t.test('no secret, token or key in the decision log or on stderr', async (t) => {
  const d = await startDaemon(t, { mode: 'subprocess' });
  const tokens: string[] = [];

  const dev = await d.openSession('dev');
  const prod = await d.openSession('prod');
  tokens.push(dev.token, prod.token);
  for (const transport of ['tcp', 'unix'] as const) {
    t.equal((await d.fetch({ transport, token: dev.token })).status, 200);
    t.equal((await d.fetch({ transport, authorization: `Bearer ${prod.token}` })).status, 200);
  }
  t.equal((await fetchWithClient('js-sdk', dev.url, dev.token)).code, 0, 'a real SDK fetched too');
  const viaProcess = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/credentials',
    body: { profile: 'dev' },
  });
  t.equal(viaProcess.status, 200);

  // Near misses of real tokens, so a log that echoed the header would contain most of a live token.
  for (const token of [dev.token.slice(0, 42) + 'x', `Bearer ${prod.token.slice(1)}`, dev.token + dev.token]) {
    t.equal((await d.fetch({ transport: 'tcp', authorization: token })).status, 403);
  }
  d.sts.failNext('AssumeRole', { code: 'AccessDenied', status: 403, message: `not authorized ${BASE_ACCESS_KEY}` }, 2);
  t.equal(
    (await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'prod' } })).status,
    502,
  );
  await d.client.post(`/v1/sessions/${prod.id}/revoke`, { reason: 'rotation drill' });
  t.equal((await d.fetch({ transport: 'tcp', token: prod.token })).status, 403);
  await d.client.delete(`/v1/sessions/${dev.id}`);
  await d.client.post('/v1/policy/reload', {});
  await d.stop();

  const decisions = readFileSync(d.decisionLogFile, 'utf8');
  const stderr = d.logs();
  const lines = decisions
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(lines.length >= 12, `the decision log recorded the run (${lines.length} lines)`);
  t.ok(
    lines.some((l) => l.event === 'credential_process'),
    'including credential_process',
  );
  t.match(stderr, /"event":"stopped"/, 'the operational log is complete');

  const secrets = new Map<string, string>();
  tokens.forEach((tok, i) => secrets.set(`session token ${i}`, tok));
  d.sts.issued.forEach((c, i) => {
    secrets.set(`issued secret ${i}`, c.secretAccessKey);
    secrets.set(`issued session token ${i}`, c.sessionToken);
    secrets.set(`issued access key ${i}`, c.accessKeyId);
  });
  secrets.set('base secret key', BASE_SECRET_KEY);
  secrets.set('base access key', BASE_ACCESS_KEY);
  t.ok(d.sts.issued.length >= 3, 'credentials were issued, so there was something to leak');
  for (const [what, secret] of secrets) {
    // A 16-character piece is enough to recognise a leak (even a truncated one) without false positives.
    const pieces = [secret, secret.slice(0, 16), secret.slice(-16)];
    t.notOk(
      pieces.some((p) => decisions.includes(p)),
      `${what} is not in the decision log`,
    );
    t.notOk(
      pieces.some((p) => stderr.includes(p)),
      `${what} is not on stderr`,
    );
  }
});
