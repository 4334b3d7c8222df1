// Single flight through the whole daemon (DESIGN §3.4 step 4): however many requests wait on a session whose
// credentials need refreshing, STS sees one call; when that call fails, every waiter gets the same answer and the next
// request makes exactly one new attempt. The vendor's clock is moved forward so the session's cached credentials are
// due for refresh (as they would be 11 minutes after issue), while STS issues real ones.
import t, { type Test } from 'tap';
import type { Config } from '../core/config.js';
import type { OpLogger } from '../core/log.js';
import { createVendor } from '../daemon/vending/vendor.js';
import { fetchFrom, startDaemon, type FetchResult } from './support/daemon.js';

const ELEVEN_MINUTES = 11 * 60_000;

async function daemonWithClock(t: Test) {
  const clock = { skewMs: 0 };
  const d = await startDaemon(t, {
    parts: {
      vendor: (config: Config, log: OpLogger, env: NodeJS.ProcessEnv) =>
        createVendor(config, { log, env, now: () => Date.now() + clock.skewMs }),
    },
  });
  return { d, clock };
}

function many(n: number, fetchOne: () => Promise<FetchResult>): Promise<FetchResult[]> {
  return Promise.all(Array.from({ length: n }, fetchOne));
}

t.test('500 concurrent requests on a session with expired credentials cause exactly one AssumeRole', async (t) => {
  const { d, clock } = await daemonWithClock(t);
  const session = await d.openSession('dev');
  t.equal(d.sts.calls.AssumeRole, 1, 'the session was opened with one AssumeRole');
  const first = d.sts.issued.at(-1)!.accessKeyId;

  clock.skewMs = ELEVEN_MINUTES;
  // STS answers slowly, so every request arrives while the one refresh is in flight.
  d.sts.setDelay(3000);
  const results = await many(500, () =>
    fetchFrom({ socketPath: d.socketPath }, { transport: 'unix', token: session.token }),
  );
  t.equal(d.sts.calls.AssumeRole, 2, 'one refresh for 500 waiters');
  t.same([...new Set(results.map((r) => r.status))], [200], 'every waiter was served');
  const keys = new Set(results.map((r) => r.json.AccessKeyId as string));
  t.same([...keys], [d.sts.issued.at(-1)!.accessKeyId], 'all 500 got the one refreshed set');
  t.not(d.sts.issued.at(-1)!.accessKeyId, first, 'and it is a new set, not the expiring one');
  const lines = (await d.decisions()).filter((l) => l.event === 'credentials' && l.session_id === session.id);
  t.equal(lines.length, 500, 'one decision line per request');
});

t.test('STS throttling: every waiter gets the same 502/503, and the next request retries once', async (t) => {
  const { d, clock } = await daemonWithClock(t);
  const session = await d.openSession('dev');
  clock.skewMs = ELEVEN_MINUTES;
  const before = d.sts.calls.AssumeRole;
  // Both attempts the vendor's STS client makes (the SDK retries a throttled call once) are throttled.
  d.sts.failNext('AssumeRole', { code: 'Throttling', status: 400, message: 'Rate exceeded' }, 2);
  d.sts.setDelay(1000);
  const results = await many(100, () => d.fetch({ transport: 'tcp', token: session.token }));
  const statuses = new Set(results.map((r) => r.status));
  t.equal(statuses.size, 1, 'one answer for every waiter');
  const status = [...statuses][0]!;
  t.ok(status === 502 || status === 503, `an upstream status, never a 403 or a 500 (${status})`);
  t.same([...new Set(results.map((r) => r.json.Code))], ['StsUnavailable']);
  t.same([...new Set(results.map((r) => r.text))].length, 1, 'the same body for all');
  t.match(results[0]!.json.Message, /throttling/i);
  t.notMatch(results[0]!.text, /Rate exceeded/, 'the raw AWS error text stays out of the answer');
  t.equal(d.sts.calls.AssumeRole - before, 2, "one flight (with the SDK's single retry) for 100 waiters, no storm");

  d.sts.setDelay(0);
  const next = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(next.status, 200, 'the failure was not cached');
  t.equal(d.sts.calls.AssumeRole - before, 3, 'the next request made exactly one new call');
});
