// A big policy does not stall the daemon (issue 10 item 7): a 2 MiB, 10,000-rule policy is parsed and validated in a
// worker thread while credential requests keep being answered, and it replaces the policy in force only when valid.
// The daemon runs from dist/ (a worker started under the tests' TypeScript loader would compile its module graph
// first, which says nothing about the daemon users run).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { DaemonClient } from '../cli/client.js';
import { parsePolicy } from '../core/policy/load.js';
import type * as OffThread from '../core/policy/parse-off-thread.js';
import { requireBuild } from './support/cli.js';
import { DEFAULT_POLICY, ROOT, startDaemon, type DaemonHarness } from './support/daemon.js';

requireBuild();
const { OFF_THREAD_MIN_BYTES, parsePolicyOffThread } = (await import(
  pathToFileURL(join(ROOT, 'dist', 'core', 'policy', 'parse-off-thread.js')).href
)) as typeof OffThread;

/** A reload of a big policy may take longer than the harness client's 20 s on a loaded machine. */
function reloadNow(d: DaemonHarness) {
  const client = new DaemonClient({ socketPath: d.socketPath, timeoutMs: 120_000 });
  return client.post<{ policy: { rules: number; lastError: string | null } }>('/v1/policy/reload', {});
}

const RULES = 10_000;

/** The default policy first (alice keeps dev), then 10,000 rules for other profiles, padded to about 2 MiB. */
function bigPolicy(): string {
  const filler = 'x'.repeat(120);
  const rules = Array.from(
    { length: RULES },
    (_, i) =>
      `  - name: rule-${i}\n    effect: ${i % 2 ? 'deny' : 'allow'}\n    conditions: { profiles: [team-${i}], users: [user${i}] }\n    reason: generated rule ${i} ${filler}\n`,
  ).join('');
  return `${DEFAULT_POLICY}${rules}`;
}

t.test('credential requests are served with bounded latency while a 2 MiB, 10,000-rule policy reloads', async (t) => {
  const text = bigPolicy();
  t.ok(text.length >= 2 * 1024 * 1024, `the policy is ${(text.length / 1048576).toFixed(2)} MiB`);
  const d = await startDaemon(t, { mode: 'subprocess' });
  const session = await d.openSession('dev');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200);

  writeFileSync(d.policyFile, text);
  const started = performance.now();
  let reloadMs = 0;
  const reloaded = reloadNow(d).finally(() => (reloadMs = performance.now() - started));
  let done = false;
  void reloaded.finally(() => (done = true)).catch(() => undefined);

  const latencies: number[] = [];
  const statuses = new Set<number>();
  while (!done) {
    const t0 = performance.now();
    const r = await d.fetch({ transport: 'tcp', token: session.token });
    latencies.push(performance.now() - t0);
    statuses.add(r.status);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const status = await reloaded;
  t.equal(status.policy.lastError, null, 'the big policy is valid and in force');
  t.equal(status.policy.rules, RULES + 3);
  t.same([...statuses], [200], 'every request during the reload was served');
  const max = Math.max(...latencies);
  const median = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)]!;
  t.comment(
    `reload ${reloadMs.toFixed(0)} ms; ${latencies.length} requests meanwhile, median ${median.toFixed(0)} ms, slowest ${max.toFixed(0)} ms`,
  );
  t.ok(latencies.length >= 10, `requests kept flowing during the reload (${latencies.length})`);
  // Bounds with room for a loaded shared machine; a parse on the event loop would hold one request for the whole
  // reload (seconds), which the last assertion rules out whatever the load.
  t.ok(median < 250, `a typical request did not wait (median ${median.toFixed(0)} ms)`);
  t.ok(max < 2000, `no request waited for the parse (slowest ${max.toFixed(0)} ms)`);
  t.ok(reloadMs > 4 * max, 'the reload took far longer than any request: the parse ran off the event loop');
});

t.test('a big invalid policy is refused off the event loop and the last good one stays', async (t) => {
  const d = await startDaemon(t, { mode: 'subprocess' });
  const session = await d.openSession('dev');
  writeFileSync(d.policyFile, bigPolicy().replace('effect: deny', 'effect: maybe'));
  const status = await reloadNow(d);
  t.match(status.policy.lastError, /effect/, 'the problem is reported');
  t.equal(status.policy.rules, 3, 'the last good policy stays in force');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200);
});

t.test('off the thread or inline, the result is the same; hostile bytes are refused, not thrown', async (t) => {
  const small = Buffer.from(DEFAULT_POLICY);
  t.ok(small.length < OFF_THREAD_MIN_BYTES, 'the default policy is parsed inline');
  t.same(await parsePolicyOffThread(small), parsePolicy(small));
  t.same(await parsePolicyOffThread(small, 0), parsePolicy(small), 'and forced through a worker, the same result');
  for (const [why, bytes] of [
    ['malformed YAML', Buffer.from('version: "1"\nrules: [\n'.repeat(8000))],
    ['control characters', Buffer.from(`version: "1"\nrules:\n  - name: "a\u0000b"\n`.repeat(3000))],
    ['not UTF-8', Buffer.alloc(OFF_THREAD_MIN_BYTES + 1, 0xff)],
    ['a billion laughs', Buffer.from(`a: &a ["x","x","x","x","x","x","x","x","x"]\n${laughs(9)}`.padEnd(70_000, ' '))],
  ] as const) {
    const r = await parsePolicyOffThread(bytes, 0);
    t.equal(r.ok, false, why);
    if (!r.ok) t.ok(r.problems.length > 0 && typeof r.problems[0]!.message === 'string', `${why}: a problem says why`);
  }
});

/** YAML aliases that expand exponentially: each level refers nine times to the one before. */
function laughs(levels: number): string {
  let out = '';
  let prev = 'a';
  for (let i = 1; i <= levels; i++) {
    const name = `l${i}`;
    out += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
    prev = name;
  }
  return out;
}
