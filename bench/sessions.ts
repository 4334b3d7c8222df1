// The cost of the per-request revocation read (issue 5, "Measure"): warm credential fetches (cache hit) over the Unix
// socket with keep-alive and a fixed concurrency, from
//  - a daemon with the DynamoDB session store (dynalite in its own process),
//  - a daemon with the memory store,
//  - a baseline that does only what the DynamoDB daemon cannot avoid: the same strongly consistent GetItem per request,
//    with the same client settings, against the same dynalite, at the same concurrency.
// All three run in one process tree in the same run, rounds interleaved (the machine is a loaded 2-core box); the
// table reports medians and same-run ratios. Goal: the DynamoDB daemon ≥ 50 % of the GetItem baseline's throughput.
// Throughput on a shared machine swings with its load, so CPU time per request is reported too: the daemon process's
// (from /proc) against the baseline client's, which is the daemon's own cost beyond the read whatever the load.
// Needs dist/ (`npm run build`). BENCH_DURATION (s per target per round), BENCH_ROUNDS, BENCH_CONNECTIONS.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  BASE_SECRET_KEY,
  CLI_MAIN,
  ROOT,
  fetchFrom,
  prepareHome,
  waitForSocket,
} from '../test/support/daemon.js';
import { startSts } from '../test/support/sts-emulator.js';

const MAIN = process.env.BENCH_CLI_MAIN ?? CLI_MAIN;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TABLE = 'bench-sessions';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per request of the process doing the work (the daemon; the baseline's client). */
  cpuUs: number;
  /** dynalite's CPU µs per request. */
  dynaliteUs: number;
}

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** utime + stime of a process, in µs. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** dynalite in a process of its own, so the daemon and the baseline reach it the same way: over loopback TCP. */
async function startDynaliteProcess(): Promise<{ child: ChildProcess; url: string }> {
  const script = `
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 0, updateTableMs: 0, deleteTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function daemonThroughput(
  name: string,
  socketPath: string,
  token: string,
  pid: number,
  dynalitePid: number,
): Promise<Run> {
  const cpu0 = cpuOf(pid);
  const dyn0 = cpuOf(dynalitePid);
  const result = await autocannon({
    url: 'http://localhost/v1/credentials',
    socketPath,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { authorization: token },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const n = Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: (cpuOf(pid) - cpu0) / n,
    dynaliteUs: (cpuOf(dynalitePid) - dyn0) / n,
  };
}

/** CONNECTIONS workers, each sending the daemon's revocation read back to back for DURATION_S. */
async function getItemThroughput(send: () => Promise<unknown>, dynalitePid: number): Promise<Run> {
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const dyn0 = cpuOf(dynalitePid);
  const end = Date.now() + DURATION_S * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint();
      await send();
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const n = Math.max(1, latencies.length);
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return {
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    cpuUs: (cpu.user + cpu.system) / n,
    dynaliteUs: (cpuOf(dynalitePid) - dyn0) / n,
  };
}

async function startDaemon(home: ReturnType<typeof prepareHome>, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, 'daemon', 'run'], {
    env: { ...home.env, ...env, SENTINEL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!(await waitForSocket(home.socketPath, 30_000))) throw new Error('a daemon did not start');
  return child;
}

async function openSession(socketPath: string): Promise<{ id: string; token: string }> {
  const r = await fetchFrom(
    { socketPath },
    { transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } },
  );
  if (r.status !== 201) throw new Error(`opening a session: HTTP ${r.status} ${r.text}`);
  return r.json as { id: string; token: string };
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  // Set before the SDK loads (it warns at import time); the daemons inherit it through prepareHome's env.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const [{ GetItemCommand }, { createTableClient }, { ensureTable }, { SESSION_TABLE }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('../core/records/client.js'),
    import('../core/records/table.js'),
    import('../core/sessions/schema.js'),
  ]);
  const children: ChildProcess[] = [];
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  const homes: string[] = [];
  try {
    const dynalite = await startDynaliteProcess();
    children.push(dynalite.child);
    // The baseline's client is built exactly as the daemon builds its own (timeouts, retries), with the same keys.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.url,
      AWS_ACCESS_KEY_ID: BASE_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: BASE_SECRET_KEY,
      AWS_REGION: 'us-east-1',
    });
    const client = createTableClient({ region: 'us-east-1' });
    await ensureTable(client, SESSION_TABLE, TABLE, { pollMs: 5 });

    const teamHome = prepareHome(
      { config: `aws_profile: base\nregion: us-east-1\nsessions: { store: dynamodb, table: ${TABLE} }\n` },
      sts.url,
    );
    const soloHome = prepareHome({}, sts.url);
    homes.push(teamHome.home, soloHome.home);
    const teamDaemon = await startDaemon(teamHome, { AWS_ENDPOINT_URL_DYNAMODB: dynalite.url });
    children.push(teamDaemon);
    const soloDaemon = await startDaemon(soloHome, {});
    children.push(soloDaemon);
    const dynalitePid = dynalite.child.pid!;
    const team = await openSession(teamHome.socketPath);
    const solo = await openSession(soloHome.socketPath);

    const getItem = new GetItemCommand({ TableName: TABLE, Key: { id: { S: team.id } }, ConsistentRead: true });
    const check = await client.send(getItem);
    if (check.Item?.status?.S !== 'active') throw new Error("the baseline does not read the daemon's session");

    const targets: Record<string, () => Promise<Run>> = {
      'daemon, dynamodb store': () =>
        daemonThroughput('dynamodb', teamHome.socketPath, team.token, teamDaemon.pid!, dynalitePid),
      'GetItem baseline': () => getItemThroughput(() => client.send(getItem), dynalitePid),
      'daemon, memory store': () =>
        daemonThroughput('memory', soloHome.socketPath, solo.token, soloDaemon.pid!, dynalitePid),
    };
    // Warm-up: JIT, connection pools, dynalite's LevelDB.
    for (const run of Object.values(targets)) await run();
    const runs: Record<string, Run[]> = {};
    for (let round = 0; round < ROUNDS; round += 1) {
      // Rotate the order each round so no target always runs right after the same neighbour.
      const names = Object.keys(targets);
      const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
      for (const name of order) (runs[name] ??= []).push(await targets[name]!());
    }

    const team2 = (await client.send(getItem)).Item;
    console.log(
      `\nwarm GET /v1/credentials over the Unix socket, keep-alive, ${CONNECTIONS} concurrent; ${ROUNDS} interleaved rounds × ${DURATION_S}s (after one warm-up round); medians`,
    );
    console.log('target                    req/s     p50 ms   p99 ms   CPU µs/req   dynalite µs/req   rounds (req/s)');
    for (const [name, rs] of Object.entries(runs)) {
      console.log(
        `${name.padEnd(24)} ${fmt(median(rs.map((r) => r.rps))).padStart(7)}   ${fmt(median(rs.map((r) => r.p50)), 2).padStart(6)}   ${fmt(median(rs.map((r) => r.p99)), 2).padStart(6)}   ` +
          `${fmt(median(rs.map((r) => r.cpuUs))).padStart(10)}   ${fmt(median(rs.map((r) => r.dynaliteUs))).padStart(15)}   ${rs.map((r) => fmt(r.rps)).join(', ')}`,
      );
    }
    const dyn = median(runs['daemon, dynamodb store']!.map((r) => r.rps));
    const base = median(runs['GetItem baseline']!.map((r) => r.rps));
    const mem = median(runs['daemon, memory store']!.map((r) => r.rps));
    const perRound = runs['daemon, dynamodb store']!.map((r, i) => r.rps / runs['GetItem baseline']![i]!.rps);
    console.log(
      `dynamodb daemon / GetItem baseline: ${fmt((dyn / base) * 100)} % (goal ≥ 50 %) ${dyn / base >= 0.5 ? 'ok' : 'MISSED'}; per round: ${perRound.map((x) => `${fmt(x * 100)} %`).join(', ')}`,
    );
    console.log(
      `dynamodb daemon / memory daemon: ${fmt((dyn / mem) * 100)} % (the price of the per-request revocation read)`,
    );
    const cpu = (name: string) => median(runs[name]!.map((r) => r.cpuUs));
    console.log(
      `CPU per request: dynamodb daemon ${fmt(cpu('daemon, dynamodb store'))} µs = GetItem client ${fmt(cpu('GetItem baseline'))} µs + ` +
        `${fmt(cpu('daemon, dynamodb store') - cpu('GetItem baseline'))} µs of its own (the memory daemon's whole request: ${fmt(cpu('daemon, memory store'))} µs)`,
    );
    console.log(
      `request_count recorded for the benchmarked session (coalesced touches): ${team2?.request_count?.N ?? 'none'}`,
    );
    client.destroy();
  } finally {
    // Daemons first (they end their sessions in the table at stop), dynalite last.
    for (const c of children.reverse()) {
      if (c.exitCode !== null) continue;
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
    await sts.close();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
