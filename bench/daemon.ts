// The daemon's hot path against bare node:http, same transport, same run (issue 4, "Measure"):
//  - warm credential fetches (cache hit: peer check, token, revocation read, policy, cache, decision-log line) over
//    the Unix socket and over loopback TCP with keep-alive, against a bare node:http server in its own process
//    answering the same JSON bytes on the same transport: requests/s (autocannon, 10 connections) and p50/p99 of a
//    sequential keep-alive client (µs resolution);
//  - time from spawn to READY=1 against `node -e 0`;
//  - idle RSS after 1,000 requests, against the bare server's.
// Needs dist/ (`npm run build`). Goals: ≥ 70 % of the bare throughput, p99 within 1.5× of the bare p99.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { BASE_ACCESS_KEY, BASE_ARN, CLI_MAIN, fetchFrom, prepareHome, waitForSocket } from '../test/support/daemon.js';
import { startNotifyReceiver } from '../test/support/notify-receiver.js';
import { startSts } from '../test/support/sts-emulator.js';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Target {
  name: string;
  socketPath?: string;
  port?: number;
  token: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface AutocannonResult {
  non2xx: number;
  errors: number;
  requests: { average: number };
  latency: { p50: number; p99: number };
}

async function throughput(target: Target): Promise<{ rps: number; p50: number; p99: number }> {
  const result: AutocannonResult = await autocannon({
    url: target.socketPath ? 'http://localhost/v1/credentials' : `http://127.0.0.1:${target.port}/v1/credentials`,
    ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    connections: 10,
    duration: DURATION_S,
    headers: { authorization: target.token },
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/** One keep-alive connection, one request at a time, for `ms`: latencies in µs. */
async function sequential(target: Target, ms: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          ...(target.socketPath ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port }),
          path: '/v1/credentials',
          agent,
          headers: { authorization: target.token },
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`${target.name}: HTTP ${res.statusCode}`));
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 300; i += 1) await once();
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

/** A bare node:http server in its own process answering `body` on a Unix socket and a TCP port. */
async function startBare(body: string, socketPath: string): Promise<{ child: ChildProcess; port: number }> {
  const script = `
const http = require('node:http');
const body = Buffer.from(${JSON.stringify(body)});
const handler = (req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); };
const unix = http.createServer(handler); const tcp = http.createServer(handler);
unix.listen(${JSON.stringify(socketPath)}, () => tcp.listen(0, '127.0.0.1', () => process.stdout.write(String(tcp.address().port) + '\\n')));
`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
  return { child, port };
}

async function spawnToReady(env: Record<string, string>, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const receiver = await startNotifyReceiver();
    const home = prepareHome({}, env.AWS_ENDPOINT_URL_STS!);
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI_MAIN, 'daemon', 'run'], { env: { ...home.env, NOTIFY_SOCKET: receiver.address }, stdio: 'ignore' });
    await receiver.waitFor((m) => m.data.startsWith('READY=1'), 30_000);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await receiver.close();
    rmSync(home.home, { recursive: true, force: true });
  }
  return times;
}

async function nodeStart(runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

async function main(): Promise<void> {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` first`);
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  const home = prepareHome({}, sts.url);
  const scratch = mkdtempSync(join(tmpdir(), 'sentinel-bench-'));
  const children: ChildProcess[] = [];
  try {
    const daemon = spawn(process.execPath, [CLI_MAIN, 'daemon', 'run'], { env: { ...home.env, SENTINEL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(daemon);
    if (!(await waitForSocket(home.socketPath, 30_000))) throw new Error('the daemon did not start');
    const session = (await fetchFrom({ socketPath: home.socketPath }, { transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } })).json;
    const port = JSON.parse(readFileSync(join(home.runtimeDir, 'daemon.json'), 'utf8')).port as number;
    const sample = await fetchFrom({ port }, { transport: 'tcp', token: session.token });
    const bare = await startBare(sample.text, join(scratch, 'bare.sock'));
    children.push(bare.child);

    const targets: Record<string, Target> = {
      'sentinel unix': { name: 'sentinel unix', socketPath: home.socketPath, token: session.token },
      'bare unix': { name: 'bare unix', socketPath: join(scratch, 'bare.sock'), token: session.token },
      'sentinel tcp': { name: 'sentinel tcp', port, token: session.token },
      'bare tcp': { name: 'bare tcp', port: bare.port, token: session.token },
    };

    // Idle RSS after 1,000 requests (each a full credential request for the daemon).
    for (const name of ['sentinel unix', 'bare unix']) {
      for (let i = 0; i < 1000; i += 1) await fetchFrom(targets[name]!, { transport: 'unix', token: session.token });
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rss = { sentinel: rssKb(daemon.pid!), bare: rssKb(bare.child.pid!) };

    const rps: Record<string, number[]> = {};
    const acP99: Record<string, number[]> = {};
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const name of Object.keys(targets)) {
        const r = await throughput(targets[name]!);
        (rps[name] ??= []).push(r.rps);
        (acP99[name] ??= []).push(r.p99);
      }
    }
    const lat: Record<string, number[]> = {};
    for (const name of Object.keys(targets)) lat[name] = await sequential(targets[name]!, 2000);

    const ready = await spawnToReady({ AWS_ENDPOINT_URL_STS: sts.url }, 5);
    const bareNode = await nodeStart(5);

    console.log(`\nwarm GET /v1/credentials, ${ROUNDS}×${DURATION_S}s per target, autocannon 10 connections (median req/s); sequential keep-alive p50/p99 in µs`);
    console.log('target          req/s      p50 µs   p99 µs   autocannon p99 ms');
    for (const name of Object.keys(targets)) {
      const l = lat[name]!;
      console.log(`${name.padEnd(14)} ${fmt(median(rps[name]!)).padStart(8)}   ${fmt(pct(l, 50)).padStart(6)}   ${fmt(pct(l, 99)).padStart(6)}   ${fmt(median(acP99[name]!), 1).padStart(6)}`);
    }
    for (const transport of ['unix', 'tcp']) {
      const s = `sentinel ${transport}`;
      const b = `bare ${transport}`;
      const tput = median(rps[s]!) / median(rps[b]!);
      const p99 = pct(lat[s]!, 99) / pct(lat[b]!, 99);
      console.log(
        `${transport}: throughput ${fmt(tput * 100)} % of bare (goal ≥ 70 %) ${tput >= 0.7 ? 'ok' : 'MISSED'}; ` +
          `p99 ${fmt(p99, 2)}× bare (goal ≤ 1.5×) ${p99 <= 1.5 ? 'ok' : 'MISSED'}; p50 ${fmt(pct(lat[s]!, 50) / pct(lat[b]!, 50), 2)}× bare`,
      );
    }
    console.log(`spawn → READY=1: median ${fmt(median(ready))} ms (runs: ${ready.map((x) => fmt(x)).join(', ')}); node -e 0: median ${fmt(median(bareNode))} ms; ratio ${fmt(median(ready) / median(bareNode), 1)}×`);
    console.log(`idle RSS after 1,000 requests: sentinel ${fmt(rss.sentinel / 1024, 1)} MiB, bare node:http ${fmt(rss.bare / 1024, 1)} MiB (${fmt(rss.sentinel / rss.bare, 1)}×)`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await sts.close();
    rmSync(home.home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
