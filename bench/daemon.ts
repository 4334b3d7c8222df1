// The daemon's hot path against bare node:http, same transport, same run (issue 4, "Measure"):
//  - warm credential fetches (cache hit: peer check, token, revocation read, policy, cache, decision-log line) over
//    the Unix socket and over loopback TCP with keep-alive, against a bare node:http server in its own process
//    answering the same JSON bytes on the same transport: requests/s and server CPU per request (autocannon, 10
//    connections), and p50/p99 of a sequential keep-alive client (µs resolution);
//  - time from spawn to READY=1 against `node -e 0`;
//  - idle RSS after 1,000 requests, against the bare server's;
//  - for scale, the floor the stack sets: an empty Node that only imports the libraries the daemon is built on
//    (fastify, zod, pino, yaml), with the daemon's flags — its time to exit and its RSS once they are loaded.
//
// Built for a shared 2-core machine whose load changes from second to second: every measurement of the daemon is
// paired with the same measurement of the baseline taken right next to it (the order alternates from round to
// round), each round gives a ratio, and the report is the median of the rounds' ratios. Server CPU per request (from
// /proc/<pid>/stat) is printed as well: it moves much less with the neighbours' load than requests/s does.
//
// Needs dist/ (`npm run build`), or BENCH_CLI_MAIN=<path to a built cli/main.js> to measure another build.
// BENCH_ROUNDS (default 5), BENCH_DURATION seconds per throughput run (default 3), BENCH_LATENCY_MS per latency run
// (default 1500), BENCH_START_RUNS (default 7), BENCH_NODE (the node binary to measure, default the one running this). Goals: ≥ 70 % of the bare throughput, p99 within 1.5× of the bare p99.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  CLI_MAIN,
  ROOT,
  fetchFrom,
  prepareHome,
  waitForSocket,
} from '../test/support/daemon.js';
import { startNotifyReceiver } from '../test/support/notify-receiver.js';
import { startSts } from '../test/support/sts-emulator.js';
import { DAEMON_NODE_FLAGS } from '../cli/daemon-node-flags.js';
import { cpuMs, sequentialLatencies } from './_daemons.js';

const MAIN = process.env.BENCH_CLI_MAIN ?? CLI_MAIN;
/** The Node that runs the daemon, the bare server and `node -e 0` (users run 22 and 24: BENCH_NODE=/path/to/node). */
const NODE = process.env.BENCH_NODE ?? process.execPath;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 1500);
const START_RUNS = Number(process.env.BENCH_START_RUNS ?? 7);

type Transport = 'unix' | 'tcp';

interface Target {
  name: string;
  pid: number;
  socketPath?: string;
  port?: number;
  token: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface AutocannonResult {
  non2xx: number;
  errors: number;
  requests: { average: number; total: number };
  latency: { p99: number };
}

async function throughput(target: Target): Promise<{ rps: number; cpuUsPerRequest: number; acP99: number }> {
  const cpu0 = cpuMs(target.pid);
  const result: AutocannonResult = await autocannon({
    url: target.socketPath ? 'http://localhost/v1/credentials' : `http://127.0.0.1:${target.port}/v1/credentials`,
    ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    connections: 10,
    duration: DURATION_S,
    headers: { authorization: target.token },
  });
  const cpu = cpuMs(target.pid) - cpu0;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return {
    rps: result.requests.average,
    cpuUsPerRequest: (cpu * 1000) / result.requests.total,
    acP99: result.latency.p99,
  };
}

/** One keep-alive connection, one request at a time, for `ms`: latencies in µs, sorted. */
const sequential = (target: Target, ms: number) => sequentialLatencies(target, target.token, ms, target.name);

/** A bare node:http server in its own process answering `body` on a Unix socket and a TCP port. */
async function startBare(body: string, socketPath: string): Promise<{ child: ChildProcess; port: number }> {
  const script = `
const http = require('node:http');
const body = Buffer.from(${JSON.stringify(body)});
const handler = (req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); };
const unix = http.createServer(handler); const tcp = http.createServer(handler);
unix.listen(${JSON.stringify(socketPath)}, () => tcp.listen(0, '127.0.0.1', () => process.stdout.write(String(tcp.address().port) + '\\n')));
`;
  const child = spawn(NODE, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))),
  );
  return { child, port };
}

/** Start-up runs share one cache directory, as a user's daemon restarts do (Node's compile cache, cli/compile-cache.ts):
 * the first run fills it; the median covers the runs after it. */
const startCache = mkdtempSync(join(tmpdir(), 'sentinel-bench-cache-'));

/** Wall time and the process's own CPU time (user + system) from spawn to READY=1: on a loaded machine the CPU time
 * moves far less than the wall time. */
async function spawnToReady(stsUrl: string): Promise<{ ms: number; cpuMs: number }> {
  const receiver = await startNotifyReceiver();
  const home = prepareHome({}, stsUrl);
  home.env.XDG_CACHE_HOME = startCache;
  try {
    const t0 = process.hrtime.bigint();
    const child = spawn(NODE, [...DAEMON_NODE_FLAGS, MAIN, 'daemon', 'run'], {
      env: { ...home.env, NOTIFY_SOCKET: receiver.address },
      stdio: 'ignore',
    });
    await receiver.waitFor((m) => m.data.startsWith('READY=1'), 30_000);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = cpuMs(child.pid!);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return { ms, cpuMs: cpu };
  } finally {
    await receiver.close();
    rmSync(home.home, { recursive: true, force: true });
  }
}

/** Spawns NODE with `args` and waits for it to exit: wall time from spawn to exit, and what it printed (nothing is
 * read with `capture` false, as for the daemon's own spawn). */
async function runNode(
  args: string[],
  options: { cwd?: string; capture?: boolean } = {},
): Promise<{ ms: number; out: string }> {
  const capture = options.capture ?? true;
  const t0 = process.hrtime.bigint();
  const child = spawn(NODE, args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'ignore',
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.once('exit', r));
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
}

/** `node -e 0`, and the CPU a node process has used when its script runs (what `-e 0` costs, bar the exit). */
async function nodeStart(): Promise<{ ms: number; cpuMs: number }> {
  const { ms } = await runNode(['-e', '0'], { capture: false });
  const probe = await runNode([
    '-e',
    'const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000))',
  ]);
  return { ms, cpuMs: Number(probe.out) };
}

/** The libraries alone: spawn to exit of a Node that imports them (from the repository, as the daemon resolves them) and
 * reports its CPU and its RSS once they are loaded. */
const STACK = ['fastify', 'zod', 'pino', 'yaml'];
async function stackStart(): Promise<{ ms: number; cpuMs: number; rssKb: number }> {
  const script =
    `await Promise.all(${JSON.stringify(STACK)}.map((m) => import(m)));` +
    'const u = process.cpuUsage(); process.stdout.write(`${(u.user + u.system) / 1000} ${process.memoryUsage().rss / 1024}`)';
  const { ms, out } = await runNode([...DAEMON_NODE_FLAGS, '--input-type=module', '-e', script], { cwd: ROOT });
  const [cpu, rss] = out.split(' ').map(Number);
  if (!Number.isFinite(cpu) || !Number.isFinite(rss))
    throw new Error(`the stack-only Node printed ${JSON.stringify(out)}`);
  return { ms, cpuMs: cpu!, rssKb: rss! };
}

interface RoundResult {
  rps: { s: number; b: number };
  cpu: { s: number; b: number };
  acP99: { s: number; b: number };
  p50: { s: number; b: number };
  p99: { s: number; b: number };
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  const home = prepareHome({}, sts.url);
  const scratch = mkdtempSync(join(tmpdir(), 'sentinel-bench-'));
  const children: ChildProcess[] = [];
  try {
    const daemon = spawn(NODE, [...DAEMON_NODE_FLAGS, MAIN, 'daemon', 'run'], {
      env: { ...home.env, SENTINEL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(daemon);
    if (!(await waitForSocket(home.socketPath, 30_000))) throw new Error('the daemon did not start');
    const session = (
      await fetchFrom(
        { socketPath: home.socketPath },
        { transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } },
      )
    ).json;
    const port = JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')).port as number;
    const sample = await fetchFrom({ port }, { transport: 'tcp', token: session.token });
    if (sample.status !== 200) throw new Error(`the daemon answered ${sample.status}: ${sample.text}`);
    const bare = await startBare(sample.text, join(scratch, 'bare.sock'));
    children.push(bare.child);

    const pairs: Record<Transport, { s: Target; b: Target }> = {
      unix: {
        s: { name: 'sentinel unix', pid: daemon.pid!, socketPath: home.socketPath, token: session.token },
        b: { name: 'bare unix', pid: bare.child.pid!, socketPath: join(scratch, 'bare.sock'), token: session.token },
      },
      tcp: {
        s: { name: 'sentinel tcp', pid: daemon.pid!, port, token: session.token },
        b: { name: 'bare tcp', pid: bare.child.pid!, port: bare.port, token: session.token },
      },
    };

    // Idle RSS after 1,000 requests (each a full credential request for the daemon), before any load.
    for (const target of [pairs.unix.s, pairs.unix.b]) {
      for (let i = 0; i < 1000; i += 1) await fetchFrom(target, { transport: 'unix', token: session.token });
    }
    await sleep(2000);
    const rss = { sentinel: rssKb(daemon.pid!), bare: rssKb(bare.child.pid!) };

    const rounds: Record<Transport, RoundResult[]> = { unix: [], tcp: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const transport of ['unix', 'tcp'] as const) {
        const { s, b } = pairs[transport];
        // ABBA: whoever went first last round goes second now, so a drift in load does not favour either side.
        const order = round % 2 === 0 ? [s, b] : [b, s];
        const tp = new Map<Target, Awaited<ReturnType<typeof throughput>>>();
        for (const target of order) tp.set(target, await throughput(target));
        const lat = new Map<Target, number[]>();
        for (const target of order) lat.set(target, await sequential(target, LATENCY_MS));
        const pair = <K extends keyof Awaited<ReturnType<typeof throughput>>>(k: K) => ({
          s: tp.get(s)![k],
          b: tp.get(b)![k],
        });
        rounds[transport].push({
          rps: pair('rps'),
          cpu: pair('cpuUsPerRequest'),
          acP99: pair('acP99'),
          p50: { s: pct(lat.get(s)!, 50), b: pct(lat.get(b)!, 50) },
          p99: { s: pct(lat.get(s)!, 99), b: pct(lat.get(b)!, 99) },
        });
        const r = rounds[transport].at(-1)!;
        console.error(
          `round ${round + 1}/${ROUNDS} ${transport}: ${fmt(r.rps.s)} vs ${fmt(r.rps.b)} req/s (${fmt((100 * r.rps.s) / r.rps.b)} %), ` +
            `cpu ${fmt(r.cpu.s, 1)} vs ${fmt(r.cpu.b, 1)} µs/req, p50 ${fmt(r.p50.s)} vs ${fmt(r.p50.b)} µs, p99 ${fmt(r.p99.s)} vs ${fmt(r.p99.b)} µs`,
        );
      }
    }

    // Start-up, interleaved the same way.
    const ready: { ms: number; cpuMs: number }[] = [];
    const bareNode: { ms: number; cpuMs: number }[] = [];
    const stack: { ms: number; cpuMs: number; rssKb: number }[] = [];
    for (let i = 0; i < START_RUNS; i += 1) {
      if (i % 2 === 0) {
        ready.push(await spawnToReady(sts.url));
        bareNode.push(await nodeStart());
        stack.push(await stackStart());
      } else {
        stack.push(await stackStart());
        bareNode.push(await nodeStart());
        ready.push(await spawnToReady(sts.url));
      }
    }

    const m = (rs: RoundResult[], k: keyof RoundResult, side: 's' | 'b') => median(rs.map((r) => r[k][side]));
    const ratio = (rs: RoundResult[], k: keyof RoundResult) => median(rs.map((r) => r[k].s / r[k].b));
    console.log(`\nnode ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()} (${NODE})`);
    console.log(
      `warm GET /v1/credentials: ${ROUNDS} rounds; per round and transport, ${DURATION_S}s of autocannon (10 connections) and`,
    );
    console.log(
      `${LATENCY_MS} ms of a sequential keep-alive client per server, alternating which server goes first. Medians of the rounds.`,
    );
    console.log('target          req/s   server CPU µs/req   p50 µs   p99 µs   autocannon p99 ms');
    for (const transport of ['unix', 'tcp'] as const) {
      for (const side of ['s', 'b'] as const) {
        const rs = rounds[transport];
        console.log(
          `${pairs[transport][side].name.padEnd(14)} ${fmt(m(rs, 'rps', side)).padStart(7)}   ${fmt(m(rs, 'cpu', side), 1).padStart(17)}   ` +
            `${fmt(m(rs, 'p50', side)).padStart(6)}   ${fmt(m(rs, 'p99', side)).padStart(6)}   ${fmt(m(rs, 'acP99', side), 1).padStart(6)}`,
        );
      }
    }
    console.log('\nratios (median of the per-round ratios, sentinel / bare):');
    for (const transport of ['unix', 'tcp'] as const) {
      const rs = rounds[transport];
      const tput = ratio(rs, 'rps');
      const p99 = ratio(rs, 'p99');
      console.log(
        `${transport}: throughput ${fmt(tput * 100)} % of bare (goal ≥ 70 %) ${tput >= 0.7 ? 'ok' : 'MISSED'}; ` +
          `p99 ${fmt(p99, 2)}× (goal ≤ 1.5×) ${p99 <= 1.5 ? 'ok' : 'MISSED'}; p50 ${fmt(ratio(rs, 'p50'), 2)}×; ` +
          `server CPU per request ${fmt(ratio(rs, 'cpu'), 2)}×; per-round throughput ${rs.map((r) => `${fmt((100 * r.rps.s) / r.rps.b)} %`).join(', ')}`,
      );
    }
    const warm = ready.slice(1);
    const wall = (xs: { ms: number }[]) => median(xs.map((x) => x.ms));
    const cpu = (xs: { cpuMs: number }[]) => median(xs.map((x) => x.cpuMs));
    console.log(
      `spawn → READY=1: median ${fmt(wall(warm))} ms wall, ${fmt(cpu(warm))} ms CPU after the first run (the first fills ` +
        `Node's compile cache on Node ≥ 22: ${fmt(ready[0]!.ms)} ms; runs: ${ready.map((x) => fmt(x.ms)).join(', ')}); ` +
        `node -e 0: median ${fmt(wall(bareNode))} ms wall, ${fmt(cpu(bareNode))} ms CPU; ` +
        `ratio ${fmt(wall(warm) / wall(bareNode), 1)}× wall, ${fmt(cpu(warm) / cpu(bareNode), 1)}× CPU (goal ≤ 2.5×)`,
    );
    console.log(
      `idle RSS after 1,000 requests: sentinel ${fmt(rss.sentinel / 1024, 1)} MiB, bare node:http ${fmt(rss.bare / 1024, 1)} MiB (${fmt(rss.sentinel / rss.bare, 1)}×) (goal ≤ 80 MiB)`,
    );
    console.log(
      `for scale, the stack alone (a Node that imports ${STACK.join(', ')} and exits): median ${fmt(wall(stack))} ms wall ` +
        `(${fmt(wall(stack) / wall(bareNode), 1)}× node -e 0), ${fmt(cpu(stack))} ms CPU; RSS with them loaded ` +
        `${fmt(median(stack.map((x) => x.rssKb)) / 1024, 1)} MiB`,
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined,
      ),
    );
    await sts.close();
    rmSync(home.home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
    rmSync(startCache, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
