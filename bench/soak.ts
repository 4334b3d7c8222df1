// A soak of the per-user daemon (users run it for weeks as a systemd/launchd user service): a real daemon from dist/
// under the churn of a working day, compressed, for BENCH_SOAK_S seconds (default 300), sampled every
// BENCH_SOAK_SAMPLE_S (default 10). It looks for what grows and does not level off: heap after a forced GC, RSS,
// open fds, threads, handles, and the sessions the daemon still holds.
//
// The load, all at once:
//  - warm GET /v1/credentials from keep-alive connections (autocannon, paced: BENCH_SOAK_UNIX_RPS over the Unix socket,
//    BENCH_SOAK_TCP_RPS over loopback TCP), for two sessions that live the whole run;
//  - a churn loop: sessions opened (POST /v1/sessions), fetched over new connections on both transports, ended (DELETE);
//    some revoked and asked again with their retired token; credential_process (POST /v1/credentials) for an allowed
//    and a denied profile; refusals: an unknown token (kept under the per-peer failure limit, which would otherwise
//    refuse the warm traffic too), an unknown session, a malformed body, an oversized header, no token at all;
//  - `sentinel exec`-like sessions: a process is started, a session opened with its pid, the process killed after 1–3 s,
//    and the daemon's pid poll ends the session;
//  - sessions opened with the shortest ttl (1m) and no pid: half are asked again after they expired (refused), half are
//    abandoned, as an API client that never ends its sessions does;
//  - a reload every 30 s (SIGHUP and POST /v1/reload in turn) after an edit of the policy file.
// The warm sessions' credentials (15 minutes, served while more than 10 remain) are refreshed from the STS emulator
// about every 5 minutes; every session opened is a fresh AssumeRole through the single flight.
//
// Heap after GC, and the handles, come through the inspector: the daemon runs with --inspect=127.0.0.1:0, and each
// sample connects, sends HeapProfiler.collectGarbage, Runtime.getHeapUsage and a Runtime.evaluate of
// process.memoryUsage() and process.getActiveResourcesInfo(), and disconnects (Runtime is never enabled, so the
// inspector keeps no console messages or objects of its own between samples). Unref'd timers are not in
// getActiveResourcesInfo(): most of the daemon's timers cannot be counted from outside.
//
// Needs dist/ (`npm run build`). `npm run bench -- soak`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  CLI_MAIN,
  DEFAULT_POLICY,
  fetchFrom,
  prepareHome,
  waitForSocket,
  type FetchOptions,
  type FetchResult,
} from '../test/support/daemon.js';
import { startSts } from '../test/support/sts-emulator.js';
import { DAEMON_NODE_FLAGS } from '../cli/daemon-node-flags.js';

const MAIN = process.env.BENCH_CLI_MAIN ?? CLI_MAIN;
const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 300);
const SAMPLE_S = Number(process.env.BENCH_SOAK_SAMPLE_S ?? 10);
const UNIX_RPS = Number(process.env.BENCH_SOAK_UNIX_RPS ?? 200);
const TCP_RPS = Number(process.env.BENCH_SOAK_TCP_RPS ?? 100);
const RELOAD_S = 30;
/** Samples before this are the warm-up (lazy imports, JIT, the first STS calls): growth is measured after it. */
const WARMUP_S = Math.min(60, SOAK_S / 5);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const MiB = (bytes: number) => bytes / 1024 / 1024;

// --- what the daemon's process shows -----------------------------------------------------------------------------

function procStatus(pid: number): { rssKb: number; anonKb: number; threads: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), anonKb: field('RssAnon'), threads: field('Threads') };
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** One inspector connection: the calls in order, their results; closed afterwards. */
async function inspect(wsUrl: string, calls: Array<[string, Record<string, unknown>?]>): Promise<any[]> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('the inspector did not accept a connection')), { once: true });
  });
  const pending = new Map<number, (r: any) => void>();
  ws.addEventListener('message', (m) => {
    const msg = JSON.parse(String(m.data));
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  const results: any[] = [];
  try {
    for (const [i, [method, params]] of calls.entries()) {
      const answer = await new Promise<any>((resolve) => {
        pending.set(i + 1, resolve);
        ws.send(JSON.stringify({ id: i + 1, method, params: params ?? {} }));
      });
      if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
      results.push(answer.result);
    }
  } finally {
    ws.close();
  }
  return results;
}

/** BENCH_SOAK_SNAPSHOT=<file>: a heap snapshot of the daemon at the end (open it in Chrome's DevTools, Memory tab). */
async function heapSnapshot(wsUrl: string, file: string): Promise<void> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve) => ws.addEventListener('open', () => resolve(), { once: true }));
  const chunks: string[] = [];
  await new Promise<void>((resolve) => {
    ws.addEventListener('message', (m) => {
      const msg = JSON.parse(String(m.data));
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(msg.params.chunk);
      if (msg.id === 1) resolve();
    });
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.takeHeapSnapshot', params: {} }));
  });
  ws.close();
  writeFileSync(file, chunks.join(''));
}

interface Sample {
  t: number;
  sessionsOpened: number;
  requests: number;
  rssKb: number;
  anonKb: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  fds: number;
  threads: number;
  /** process.getActiveResourcesInfo(), by kind (ref'd handles and requests; unref'd timers are not listed). */
  resources: Record<string, number>;
  /** /v1/status sessions.active: the daemon's live tokens. */
  daemonActive: number;
  /** What the bench holds live: not ended, revoked or past its ttl. */
  expectedActive: number;
  /** Session records the store holds (GET /v1/sessions, every status): the memory store keeps each 30 days past its
   * expiry, as DynamoDB's TTL would, so they grow with the sessions opened by design. */
  records: number;
}

// --- the load ----------------------------------------------------------------------------------------------------

interface Tally {
  requests: number;
  byStatus: Map<number, number>;
  errors: number;
  sessionsOpened: number;
  pidSessions: number;
  expiringSessions: number;
  reloads: number;
}

const tally: Tally = {
  requests: 0,
  byStatus: new Map(),
  errors: 0,
  sessionsOpened: 0,
  pidSessions: 0,
  expiringSessions: 0,
  reloads: 0,
};
const count = (status: number) => {
  tally.requests += 1;
  tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
};

/** Sessions the bench considers live, by id → when their ttl runs out (ms). */
const live = new Map<string, number>();

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  const home = prepareHome({}, sts.url);
  const children = new Set<ChildProcess>();
  let daemon: ChildProcess | undefined;
  let stopping = false;
  try {
    daemon = spawn(process.execPath, [...DAEMON_NODE_FLAGS, '--inspect=127.0.0.1:0', MAIN, 'daemon', 'run'], {
      env: { ...home.env, SENTINEL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const pid = daemon.pid!;
    let wsUrl: string | undefined;
    let logLines = 0;
    const shown: string[] = [];
    let partial = '';
    daemon.stderr!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const ws = /Debugger listening on (ws:\/\/\S+)/.exec(line);
        if (ws) wsUrl = ws[1];
        else if (line.startsWith('For help, see') || line === '') continue;
        else {
          logLines += 1;
          if (shown.length < 5) shown.push(line.slice(0, 300));
        }
      }
    });
    if (!(await waitForSocket(home.socketPath, 30_000, () => daemon!.exitCode !== null)))
      throw new Error('the daemon did not start');
    if (!wsUrl) throw new Error('the daemon did not print its inspector address');
    const port = JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')).port as number;
    const unix = { socketPath: home.socketPath };
    const tcp = { port };
    const call = async (target: { socketPath?: string; port?: number }, o: FetchOptions): Promise<FetchResult> => {
      try {
        const r = await fetchFrom(target, o);
        count(r.status);
        return r;
      } catch (e) {
        tally.errors += 1;
        throw e;
      }
    };
    const open = async (body: Record<string, unknown>, ttlMs = 12 * 3600_000) => {
      const r = await call(unix, { transport: 'unix', method: 'POST', path: '/v1/sessions', body });
      if (r.status !== 201) throw new Error(`POST /v1/sessions answered ${r.status} ${r.json?.error?.code}`);
      tally.sessionsOpened += 1;
      live.set(r.json.id, Date.now() + ttlMs);
      return r.json as { id: string; token: string };
    };
    const expect = (r: FetchResult, status: number, what: string) => {
      if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}`);
    };
    /** A refusal: any 4xx but 429 (the per-peer failure limit would mean the bench stopped measuring what it meant). */
    const refused = (r: FetchResult, what: string) => {
      if (r.status < 400 || r.status > 499 || r.status === 429) throw new Error(`${what}: answered ${r.status}`);
    };

    const status = async () => (await fetchFrom(unix, { transport: 'unix', path: '/v1/status' })).json;
    const records = async () => {
      let n = 0;
      let cursor: string | undefined;
      do {
        const path = `/v1/sessions?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = (await fetchFrom(unix, { transport: 'unix', path })).json;
        n += page.sessions.length;
        cursor = page.cursor;
      } while (cursor);
      return n;
    };
    const sample = async (t0: number): Promise<Sample> => {
      const [, , heap, evaluated] = await inspect(wsUrl!, [
        ['HeapProfiler.collectGarbage'],
        ['HeapProfiler.collectGarbage'],
        ['Runtime.getHeapUsage'],
        [
          'Runtime.evaluate',
          {
            expression:
              'JSON.stringify({ m: process.memoryUsage(), r: process.getActiveResourcesInfo().reduce((a, k) => (a[k] = (a[k] ?? 0) + 1, a), {}) })',
            returnByValue: true,
          },
        ],
      ]);
      const { m, r } = JSON.parse(evaluated.result.value);
      const s = await status();
      const held = await records();
      const now = Date.now();
      for (const [id, until] of live) if (until <= now) live.delete(id);
      return {
        t: (now - t0) / 1000,
        sessionsOpened: tally.sessionsOpened,
        requests: tally.requests + warmRequests(),
        ...procStatus(pid),
        heapUsed: heap.usedSize,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        fds: fdCount(pid),
        resources: r,
        daemonActive: s.sessions.active,
        expectedActive: live.size,
        records: held,
      };
    };

    // Two sessions that live the whole run, for the keep-alive traffic.
    const warmUnix = await open({ profile: 'dev' });
    const warmTcp = await open({ profile: 'dev' });
    const t0 = Date.now();
    const end = t0 + SOAK_S * 1000;
    const warm = { ok: 0, other: 0 };
    const warmRequests = () => warm.ok + warm.other;
    const cannon = (opts: Record<string, unknown>) =>
      new Promise<void>((resolve, reject) => {
        const instance = autocannon({ connections: 2, duration: SOAK_S, ...opts }, (err: Error | null) =>
          err ? reject(err) : resolve(),
        );
        instance.on('response', (_client: unknown, statusCode: number) => {
          if (statusCode === 200) warm.ok += 1;
          else warm.other += 1;
        });
      });
    const loops: Promise<unknown>[] = [
      cannon({
        url: 'http://localhost/v1/credentials',
        socketPath: home.socketPath,
        headers: { authorization: warmUnix.token },
        overallRate: UNIX_RPS,
      }),
      cannon({
        url: `http://127.0.0.1:${port}/v1/credentials`,
        headers: { authorization: warmTcp.token },
        overallRate: TCP_RPS,
      }),
    ];

    // The churn: sessions opened, used and ended, and every kind of refusal.
    loops.push(
      (async () => {
        let badTokens = 0;
        for (let i = 0; Date.now() < end; i += 1) {
          const s = await open({ profile: 'dev' });
          expect(await call(tcp, { transport: 'tcp', token: s.token }), 200, 'fetch over tcp');
          expect(await call(unix, { transport: 'unix', token: s.token }), 200, 'fetch over unix');
          if (i % 5 === 0) {
            const body = { reason: 'soak' };
            expect(
              await call(unix, { transport: 'unix', method: 'POST', path: `/v1/sessions/${s.id}/revoke`, body }),
              200,
              'revoke',
            );
            live.delete(s.id);
            refused(await call(tcp, { transport: 'tcp', token: s.token }), 'a revoked session');
          } else {
            expect(await call(unix, { transport: 'unix', method: 'DELETE', path: `/v1/sessions/${s.id}` }), 200, 'end');
            live.delete(s.id);
          }
          if (i % 4 === 0) {
            const cp = (profile: string) =>
              call(unix, { transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile } });
            expect(await cp('dev'), 200, 'credential_process dev');
            refused(await cp('blocked'), 'credential_process blocked');
          }
          if (i % 2 === 0) {
            const randomId = randomBytes(8).toString('hex');
            refused(
              await call(unix, { transport: 'unix', method: 'DELETE', path: `/v1/sessions/${randomId}` }),
              'an unknown session',
            );
            refused(
              await call(unix, { transport: 'unix', method: 'POST', path: '/v1/sessions', rawBody: '{"profile":' }),
              'a malformed body',
            );
            refused(
              await call(tcp, { transport: 'tcp', token: s.token, headers: { 'x-pad': 'a'.repeat(16_384) } }),
              'an oversized header',
            );
            refused(await call(tcp, { transport: 'tcp' }), 'no token');
          }
          // A token never minted: the per-peer limit (20 a minute) would refuse the warm traffic too, so ~8 a minute.
          const elapsedMin = (Date.now() - t0) / 60_000;
          if (badTokens < 8 * elapsedMin) {
            badTokens += 1;
            const r = await call(badTokens % 2 ? tcp : unix, {
              transport: badTokens % 2 ? 'tcp' : 'unix',
              token: randomBytes(32).toString('base64url'),
            });
            refused(r, 'an unknown token');
          }
          await sleep(20);
        }
      })(),
    );

    // `sentinel exec`: sessions owned by a process that exits; the daemon's pid poll ends them.
    loops.push(
      (async () => {
        while (Date.now() < end) {
          const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
          children.add(child);
          const s = await open({ profile: 'dev', pid: child.pid });
          tally.pidSessions += 1;
          expect(await call(unix, { transport: 'unix', token: s.token }), 200, 'fetch of an exec session');
          setTimeout(
            () => {
              child.kill('SIGKILL');
              children.delete(child);
              // The poll (2 s) ends it soon after; the bench counts it gone at once.
              live.delete(s.id);
            },
            1000 + Math.random() * 2000,
          ).unref();
          await sleep(1000);
        }
      })(),
    );

    // Sessions that expire (ttl 1m, no pid): half asked again after expiry, half abandoned.
    loops.push(
      (async () => {
        const later: Array<{ token: string; at: number }> = [];
        for (let i = 0; Date.now() < end; i += 1) {
          const s = await open({ profile: 'dev', ttl: 60 }, 60_000);
          tally.expiringSessions += 1;
          expect(await call(tcp, { transport: 'tcp', token: s.token }), 200, 'fetch of a 1m session');
          if (i % 2 === 0) later.push({ token: s.token, at: Date.now() + 62_000 });
          while (later.length > 0 && later[0]!.at <= Date.now()) {
            const { token } = later.shift()!;
            refused(await call(tcp, { transport: 'tcp', token }), 'an expired session');
          }
          await sleep(2000);
        }
      })(),
    );

    // A reload every 30 s, after an edit of the policy.
    loops.push(
      (async () => {
        for (let n = 1; ; n += 1) {
          await sleep(RELOAD_S * 1000);
          if (Date.now() >= end) return;
          writeFileSync(home.policyFile, `${DEFAULT_POLICY}# soak edit ${n}\n`, { mode: 0o600 });
          if (n % 2) process.kill(pid, 'SIGHUP');
          else
            expect(
              await call(unix, { transport: 'unix', method: 'POST', path: '/v1/reload', body: {} }),
              200,
              'reload',
            );
          tally.reloads += 1;
        }
      })(),
    );

    const samples: Sample[] = [];
    const header =
      '    t s  sessions   requests  RSS MiB  anon MiB  heap MiB  ext MiB  fds  threads  handles  records  active (bench)';
    console.log(header);
    const print = (s: Sample) => {
      const handles = Object.values(s.resources).reduce((a, b) => a + b, 0);
      console.log(
        `${fmt(s.t).padStart(7)}  ${fmt(s.sessionsOpened).padStart(8)}  ${fmt(s.requests).padStart(9)}  ` +
          `${fmt(s.rssKb / 1024, 1).padStart(7)}  ${fmt(s.anonKb / 1024, 1).padStart(8)}  ${fmt(MiB(s.heapUsed), 2).padStart(8)}  ` +
          `${fmt(MiB(s.external), 2).padStart(7)}  ${String(s.fds).padStart(3)}  ${String(s.threads).padStart(7)}  ` +
          `${String(handles).padStart(7)}  ${String(s.records).padStart(7)}  ${String(s.daemonActive).padStart(6)} (${s.expectedActive})`,
      );
    };
    const sampler = (async () => {
      while (!stopping) {
        const s = await sample(t0);
        samples.push(s);
        print(s);
        if (Date.now() >= end) return;
        await sleep(Math.min(SAMPLE_S * 1000, Math.max(0, end - Date.now())));
      }
    })();
    try {
      await Promise.all(loops);
    } finally {
      stopping = true;
    }
    await sampler;
    // After the load: the pid poll and the touch flush have run; what stays is what a quiet daemon keeps.
    await sleep(5000);
    const after = await sample(t0);
    samples.push(after);
    print(after);
    console.log(`(last row: 5 s after the load stopped; handles at the end: ${JSON.stringify(after.resources)})`);

    report(samples, after, logLines, shown, warm);
    if (process.env.BENCH_SOAK_SNAPSHOT) {
      await heapSnapshot(wsUrl, process.env.BENCH_SOAK_SNAPSHOT);
      console.log(`heap snapshot written to ${process.env.BENCH_SOAK_SNAPSHOT}`);
    }
  } finally {
    stopping = true;
    for (const c of children) c.kill('SIGKILL');
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    await sts.close();
    rmSync(home.home, { recursive: true, force: true });
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function report(
  samples: Sample[],
  after: Sample,
  logLines: number,
  shown: string[],
  warm: { ok: number; other: number },
): void {
  const during = samples.slice(0, -1);
  const steady = during.filter((s) => s.t >= WARMUP_S);
  const first = steady[0] ?? during[0]!;
  const last = during.at(-1)!;
  console.log(
    `\nnode ${process.version}, ${fmt(last.t)} s: ${fmt(last.requests)} requests (${fmt(warm.ok)} warm keep-alive 200s, ` +
      `${fmt(warm.other)} warm non-200), ${fmt(last.sessionsOpened)} sessions opened (${fmt(tally.pidSessions)} ended by the pid poll, ` +
      `${fmt(tally.expiringSessions)} with a 1m ttl), ${tally.reloads} reloads, ${tally.errors} transport errors`,
  );
  console.log(
    `answers by status (bench's own requests): ${[...tally.byStatus]
      .sort(([a], [b]) => a - b)
      .map(([k, v]) => `${k}: ${fmt(v)}`)
      .join(', ')}`,
  );
  if (logLines > 0)
    console.log(`the daemon wrote ${fmt(logLines)} warn/error lines; the first:\n  ${shown.join('\n  ')}`);

  const metrics: Array<{ name: string; get: (s: Sample) => number; unit: string; scale: number; noise: number }> = [
    { name: 'heap after GC', get: (s) => s.heapUsed, unit: 'KiB', scale: 1 / 1024, noise: 1024 * 1024 },
    { name: 'RSS', get: (s) => s.rssKb * 1024, unit: 'KiB', scale: 1 / 1024, noise: 8 * 1024 * 1024 },
    { name: 'RssAnon', get: (s) => s.anonKb * 1024, unit: 'KiB', scale: 1 / 1024, noise: 8 * 1024 * 1024 },
    { name: 'external', get: (s) => s.external, unit: 'KiB', scale: 1 / 1024, noise: 1024 * 1024 },
    { name: 'open fds', get: (s) => s.fds, unit: 'fds', scale: 1, noise: 4 },
    { name: 'threads', get: (s) => s.threads, unit: 'threads', scale: 1, noise: 2 },
    {
      name: 'handles',
      get: (s) => Object.values(s.resources).reduce((a, b) => a + b, 0),
      unit: 'handles',
      scale: 1,
      noise: 6,
    },
    { name: 'records', get: (s) => s.records, unit: 'records', scale: 1, noise: 0 },
    { name: 'sessions held', get: (s) => s.daemonActive - s.expectedActive, unit: 'sessions', scale: 1, noise: 6 },
  ];
  console.log(
    `\ngrowth after the ${fmt(WARMUP_S)} s warm-up (${fmt(first.t)} s → ${fmt(last.t)} s; "sessions held" is the daemon's live tokens beyond the sessions the bench holds live):`,
  );
  console.log(
    'metric          start → end (5 s after)      per 1,000 sessions   per 100,000 requests   1st half / 2nd half slope   verdict',
  );
  const flagged: string[] = [];
  const half = Math.floor(steady.length / 2);
  for (const m of metrics) {
    const a = m.get(first);
    const b = m.get(last);
    const perSession = slope(steady.map((s) => [s.sessionsOpened, m.get(s)])) * 1000;
    const perRequest = slope(steady.map((s) => [s.requests, m.get(s)])) * 100_000;
    const s1 = slope(steady.slice(0, half + 1).map((s) => [s.t, m.get(s)]));
    const s2 = slope(steady.slice(half).map((s) => [s.t, m.get(s)]));
    const grew = b - a > m.noise && m.get(after) - a > m.noise;
    // Levelling off: the second half grows at under half the first half's rate.
    const unbounded = grew && s2 > 0 && s2 >= 0.5 * s1;
    const byDesign = m.name === 'records';
    if (unbounded && !byDesign) flagged.push(m.name);
    const show = (v: number) => `${fmt(v * m.scale, m.scale === 1 ? 0 : 0)}`;
    console.log(
      `${m.name.padEnd(14)}  ${`${show(a)} → ${show(b)} (${show(m.get(after))}) ${m.unit}`.padEnd(27)}  ` +
        `${fmt(perSession * m.scale, 1).padStart(18)}   ${fmt(perRequest * m.scale, 1).padStart(20)}   ` +
        `${`${fmt(s1 * m.scale * 60, 1)} / ${fmt(s2 * m.scale * 60, 1)} per min`.padStart(26)}   ` +
        (byDesign
          ? 'by design: kept 30 days past expiry'
          : unbounded
            ? 'GROWS, not levelling off'
            : grew
              ? 'grew, levelling off'
              : 'flat'),
    );
  }
  const perRecord = slope(steady.map((s) => [s.records, s.heapUsed]));
  const extPerRecord = slope(steady.map((s) => [s.records, s.external]));
  console.log(
    `heap after GC per session record held: ${fmt(perRecord)} bytes, external ${fmt(extPerRecord)} bytes ` +
      `(the store's history, and up to 10,000 retired tokens: what a day of sessions costs until its records' TTL)`,
  );
  const memory = ['heap after GC', 'RSS', 'RssAnon'];
  const records = last.records - first.records;
  if (flagged.length === 0) console.log(`\nnothing grows without levelling off in ${fmt(last.t)} s.`);
  else if (records > 0 && flagged.every((name) => memory.includes(name)))
    console.log(
      `\n${flagged.join(', ')} grow with the ${fmt(records)} session records added (${fmt(perRecord)} bytes of heap each): ` +
        `bounded by the records' TTL, not by this run. Compare the heap per record between runs; nothing else grows.`,
    );
  else console.log(`\n${flagged.join(', ')} grow without levelling off in ${fmt(last.t)} s: look there.`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
