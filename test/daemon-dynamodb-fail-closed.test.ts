// Fail closed with the DynamoDB session store (DESIGN §3.4 step 2): when the table cannot be read — the engine gone,
// or DynamoDB throttling — every credential request is 503 SessionStoreUnavailable with no credentials, even though the
// daemon holds fresh ones for the session; when it answers again, service resumes in the same daemon.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type FetchResult } from './support/daemon.js';
import { startDynalite } from './support/dynalite.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';

function refused(t: Test, r: FetchResult, what: string): void {
  t.equal(r.status, 503, `${what}: 503`);
  t.equal(r.json?.Code, 'SessionStoreUnavailable', `${what}: SessionStoreUnavailable`);
  t.notMatch(r.text, /AccessKeyId|SecretAccessKey|"Token"|"token"/, `${what}: no credentials or token`);
}

/** A port nothing listens on right now (dynalite must come back on the same one). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('dynalite stops mid-run: 503, no credentials; it restarts: the same daemon serves again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-dynalite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const team = await startTeamTable(t, { port, path: dir });
  const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });

  const session = await d.openSession('dev');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'served while the table answers');
  t.equal(
    (await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } })).status,
    200,
    'credential_process too',
  );
  const assumed = d.sts.calls.AssumeRole;

  await team.dynalite.close();
  refused(t, await d.fetch({ transport: 'tcp', token: session.token }), 'GET /v1/credentials, credentials cached');
  refused(t, await d.fetch({ transport: 'unix', token: session.token }), 'on the Unix socket');
  refused(
    t,
    await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } }),
    'credential_process',
  );
  const open = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } });
  refused(t, open, 'opening a session');
  const down = await d.fetch({ transport: 'tcp', token: session.token });
  t.match(down.json?.Message, /session table team-sessions cannot be reached/, 'the message says what is wrong');
  t.match(down.json?.hint, /DynamoDB/, 'and the hint what to check');
  t.notMatch(
    down.text,
    new RegExp(`connect |127\\.0\\.0\\.1|:${port}`),
    'no raw network error text (only the error name, in details)',
  );
  t.equal(down.json?.details?.aws_error, 'ECONNREFUSED');

  const restarted = await startDynalite({ port, path: dir });
  t.teardown(() => restarted.close());
  t.equal(restarted.port, port);
  const back = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(back.status, 200, 'the next request after the restart is served, without restarting the daemon');
  t.ok(back.json?.AccessKeyId, 'with credentials');
  t.equal(
    (await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } })).status,
    200,
    'credential_process too',
  );
  t.ok(d.sts.calls.AssumeRole >= assumed, 'STS is only asked when credentials need it');

  const lines = (await d.decisions()).filter((l) => l.error_code === 'SessionStoreUnavailable');
  t.ok(lines.length >= 4, 'every refusal is a decision-log line');
  t.ok(lines.every((l) => l.outcome === 'deny'));
  t.notOk(
    lines.some((l) => l.event === 'credentials' && l.source_identity),
    'no credentials behind any of them',
  );
});

t.test('DynamoDB throttling the revocation read: 503 (never served because the check failed)', async (t) => {
  const team = await startTeamTable(t, { proxy: true });
  const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
  const session = await d.openSession('dev');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200);

  const reads = team.proxy!.count('GetItem');
  team.proxy!.fail('GetItem', 'ThrottlingException');
  const throttled = await d.fetch({ transport: 'tcp', token: session.token });
  refused(t, throttled, 'throttled');
  t.match(throttled.json?.Message, /throttling/);
  t.notMatch(throttled.text, /injected by the test proxy/, 'no AWS error text in the answer');
  t.ok(team.proxy!.count('GetItem') > reads, 'the daemon did ask the table');
  const consistent = team.proxy!.operations.filter((o) => o.op === 'GetItem');
  t.ok(
    consistent.every((o) => o.body?.ConsistentRead === true),
    'every revocation read is strongly consistent',
  );

  team.proxy!.fail('GetItem', 'ProvisionedThroughputExceededException');
  refused(t, await d.fetch({ transport: 'tcp', token: session.token }), 'throughput exceeded');
  team.proxy!.fail('GetItem', 'AccessDeniedException');
  const denied = await d.fetch({ transport: 'tcp', token: session.token });
  refused(t, denied, "the daemon's profile lost its permission");
  t.match(denied.json?.hint, /IAM policy/);
  team.proxy!.fail('GetItem', 'ResourceNotFoundException');
  const missing = await d.fetch({ transport: 'tcp', token: session.token });
  refused(t, missing, 'the table was deleted');
  t.match(missing.json?.hint, /sentinel init sessions/);

  team.proxy!.fail('GetItem', null);
  t.equal(
    (await d.fetch({ transport: 'tcp', token: session.token })).status,
    200,
    'served again once DynamoDB answers',
  );
});
