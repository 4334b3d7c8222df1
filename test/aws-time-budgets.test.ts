// Every AWS call ends within its budget (DESIGN §3.4: STS 5 s; DynamoDB 2 s per attempt, at most 3 attempts) with the
// catalogue's code — never a hung request, never a single flight that later requests queue behind — and the first
// request after the upstream answers again is served at once. The SDK's own warnings never reach stderr as plain text.
import t, { type Test } from 'tap';
import { startDaemon, type DaemonHarness, type FetchResult } from './support/daemon.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';

const STS_BUDGET_MS = 5_000;
/** Two DynamoDB attempts of 2 s and the SDK's backoff between them. */
const DYNAMODB_BUDGET_MS = 2 * 2_000 + 1_000;
/** Scheduling on a shared 2-core machine. */
const SLACK_MS = 2_500;

async function timed(call: () => Promise<FetchResult>): Promise<{ r: FetchResult; ms: number }> {
  const started = Date.now();
  const r = await call();
  return { r, ms: Date.now() - started };
}

function noPlainStderr(t: Test, d: DaemonHarness): void {
  const plain = d
    .logs()
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
  t.same(plain, [], 'every line the daemon wrote is JSON (no SDK warning as plain text)');
}

t.test('a frozen DynamoDB: 503 within the budget, then served at once when it answers again', async (t) => {
  const team = await startTeamTable(t, { proxy: true });
  const d = await startDaemon(t, {
    mode: 'subprocess',
    config: teamConfig(),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });
  const session = await d.openSession('dev');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'served while DynamoDB answers');

  team.proxy!.freeze(true);
  const frozen = await timed(() => d.fetch({ transport: 'tcp', token: session.token }));
  t.equal(frozen.r.status, 503, 'a hung revocation read is 503');
  t.equal(frozen.r.json?.Code, 'SessionStoreUnavailable');
  t.notMatch(frozen.r.text, /AccessKeyId/, 'no credentials');
  t.ok(frozen.ms < DYNAMODB_BUDGET_MS + SLACK_MS, `within the budget (${frozen.ms} ms)`);
  t.ok(team.proxy!.count('GetItem') <= 1 + 3, 'at most 3 attempts for the request');

  team.proxy!.freeze(false);
  const back = await timed(() => d.fetch({ transport: 'tcp', token: session.token }));
  t.equal(back.r.status, 200, 'served again by the same daemon');
  t.ok(back.ms < 1_000, `at once (${back.ms} ms)`);
  noPlainStderr(t, d);
});

t.test('a hanging STS: 502 within the budget for every waiter, then served at once', async (t) => {
  const d = await startDaemon(t, { mode: 'subprocess' });
  // The base identity is looked up (and cached) here; dev's credentials are not issued yet.
  await d.openSession('prod');
  d.sts.setDelay(120_000);
  const started = Date.now();
  const credentialProcess = () =>
    d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } });
  const waiters = await Promise.all([0, 1, 2].map(() => timed(credentialProcess)));
  for (const [i, w] of waiters.entries()) {
    t.equal(w.r.status, 502, `waiter ${i}: 502`);
    t.equal(w.r.json?.Code, 'StsUnavailable', `waiter ${i}: StsUnavailable`);
    t.ok(w.ms < STS_BUDGET_MS + SLACK_MS, `waiter ${i}: within the STS budget (${w.ms} ms)`);
  }
  t.ok(Date.now() - started < STS_BUDGET_MS + SLACK_MS, 'every waiter was answered within the budget');

  d.sts.setDelay(0);
  const back = await timed(credentialProcess);
  t.equal(back.r.status, 200, 'the next request after STS recovers is served');
  t.ok(back.ms < 2_000, `at once, not behind the hung call (${back.ms} ms)`);
  noPlainStderr(t, d);
});

t.test('opening a session while STS hangs: the CLI gets 502 in time, not a dropped connection', async (t) => {
  const d = await startDaemon(t);
  d.sts.setDelay(120_000);
  const started = Date.now();
  const error = await d.client.post('/v1/sessions', { profile: 'dev', mode: 'server' }).then(
    () => undefined,
    (e: { code?: string; status?: number }) => e,
  );
  const ms = Date.now() - started;
  t.equal(error?.code, 'StsUnavailable', 'the catalogue code reaches the client');
  t.ok(ms < STS_BUDGET_MS + SLACK_MS, `within the STS budget (${ms} ms)`);
  d.sts.setDelay(0);
  const opened = await d.openSession('dev');
  t.match(opened.id, /^[0-9a-f]{16}$/, 'opens at once when STS answers again');
});
