// What the daemon benchmarks share: a real daemon (the built CLI, dist/) in a child process with its own home, a
// session opened on it, warm GET /v1/credentials under autocannon over the Unix socket, and same-run comparisons in
// alternating rounds (the machine is shared: only same-run ratios mean anything). Not a benchmark itself (the `_`).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { CLI_MAIN, fetchFrom, prepareHome, waitForSocket } from '../test/support/daemon.js';
import { DAEMON_NODE_FLAGS } from '../cli/daemon-node-flags.js';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
/** Concurrent connections: 10 saturates the machine; 1 is one client's sequential fetches. */
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks on every Linux Node supports. */
const CLK_TCK = 100;

/** utime + stime of a process (all its threads), in ms. */
export function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

function statCpuMs(file: string): number {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** CPU time (ms) of a process's main thread — the one that answers credentials — and of all its other threads (V8's,
 * libuv's, workers such as the decision-log forwarder). A thread that has exited no longer counts. */
export function threadCpuMs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ms: number;
    try {
      ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    if (tid === String(pid)) main = ms;
    else others += ms;
  }
  return { main, others };
}

export interface BenchDaemon {
  pid: number;
  socketPath: string;
  /** Opens a session on `profile` (POST /v1/sessions) and returns its token. */
  open(profile: string): Promise<string>;
  /** POST on the control socket; the parsed answer (throws with the status, never the body, on failure). */
  post(path: string, body: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** Every daemon started here, stopped by stopAll() even when a start failed half-way. */
const running: BenchDaemon[] = [];

export async function startBenchDaemon(
  stsUrl: string,
  options: { config?: string; policy?: string; env?: Record<string, string>; nodeFlags?: readonly string[] } = {},
): Promise<BenchDaemon> {
  const home = prepareHome(
    { config: options.config ?? '', env: options.env ?? {}, ...(options.policy ? { policy: options.policy } : {}) },
    stsUrl,
  );
  // The daemon's own Node flags, as the service units and `npm start` run it (or `nodeFlags`); BENCH_DAEMON_ARGS adds
  // more (for example `--cpu-prof --cpu-prof-dir=/tmp/p`, which Node does not take from NODE_OPTIONS).
  const extra = (process.env.BENCH_DAEMON_ARGS ?? '').split(' ').filter(Boolean);
  const flags = options.nodeFlags ?? DAEMON_NODE_FLAGS;
  const child: ChildProcess = spawn(process.execPath, [...flags, ...extra, CLI_MAIN, 'daemon', 'run'], {
    env: { ...home.env, SENTINEL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const post = async (path: string, body: unknown) => {
    const r = await fetchFrom({ socketPath: home.socketPath }, { transport: 'unix', method: 'POST', path, body });
    // The answer may hold a session token: say only what went wrong.
    if (r.status < 200 || r.status > 299) throw new Error(`POST ${path} answered ${r.status} ${r.json?.error?.code}`);
    return r.json;
  };
  const daemon: BenchDaemon = {
    pid: child.pid!,
    socketPath: home.socketPath,
    open: async (profile) => (await post('/v1/sessions', { profile })).token as string,
    post,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(home.home, { recursive: true, force: true });
    },
  };
  running.push(daemon);
  if (!(await waitForSocket(home.socketPath, 30_000, () => child.exitCode !== null)))
    throw new Error('a daemon did not start');
  return daemon;
}

export async function stopAll(): Promise<void> {
  for (const d of running.splice(0)) await d.stop();
}

export interface FetchRun {
  /** Requests per second (autocannon's average). */
  rps: number;
  requests: number;
  /** Autocannon's p50 and p99 latency, ms (whole milliseconds: too coarse for an unloaded fetch). */
  p50Ms: number;
  p99Ms: number;
}

/** Warm credential fetches per second for one session token. */
export async function requestsPerSecond(socketPath: string, token: string): Promise<number> {
  return (await fetchRun(socketPath, token)).rps;
}

/**
 * One autocannon run of warm credential fetches for one session token: as fast as the server answers, or paced at
 * `overallRate` requests per second across all connections (a busy machine rather than a saturated one).
 */
export async function fetchRun(socketPath: string, token: string, overallRate?: number): Promise<FetchRun> {
  const result = await autocannon({
    url: 'http://localhost/v1/credentials',
    socketPath,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { authorization: token },
    ...(overallRate ? { overallRate } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

/** `subject` against `baseline` in ROUNDS alternating rounds; the median of the per-round ratios subject/baseline. */
export async function compareRounds(
  names: [string, string],
  subject: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<number> {
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let a: number;
    let b: number;
    if (round % 2 === 0) {
      a = await subject();
      b = await baseline();
    } else {
      b = await baseline();
      a = await subject();
    }
    ratios.push(a / b);
    console.error(
      `round ${round + 1}/${ROUNDS}: ${names[0]} ${Math.round(a)} req/s, ${names[1]} ${Math.round(b)} req/s (${(100 * (a / b)).toFixed(1)} %)`,
    );
  }
  return median(ratios);
}

/** Warm fetches from one keep-alive connection, one request at a time, for `ms`: latencies in µs, sorted. */
export async function sequentialLatencies(
  target: { socketPath?: string; port?: number },
  token: string,
  ms: number,
  name = 'server',
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          ...(target.socketPath ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port }),
          path: '/v1/credentials',
          agent,
          headers: { authorization: token },
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`${name}: HTTP ${res.statusCode}`));
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 200; i += 1) await once();
  const samples: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t0 = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  agent.destroy();
  return samples.sort((a, b) => a - b);
}

/** A bare node:http server in its own process answering `body` on a Unix socket, after spinning `spinUs` µs per
 * request (0: none) — the baseline the benches measure Sentinel against, or a stand-in for work added to it. */
export async function startBareServer(body: string, socketPath: string, spinUs = 0): Promise<ChildProcess> {
  const script = `const http=require('node:http');const body=Buffer.from(${JSON.stringify(body)});const ns=${spinUs * 1000};
http.createServer((q,s)=>{if(ns>0){const t=process.hrtime.bigint();while(Number(process.hrtime.bigint()-t)<ns);}
s.writeHead(200,{'content-type':'application/json','content-length':body.length});s.end(body);})
.listen(${JSON.stringify(socketPath)},()=>process.stdout.write('up\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
  return child;
}
