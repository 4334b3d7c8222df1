// Decision-log forwarding must not slow the credential path (issue 15, "Measure"): warm credential fetches from a
// daemon that forwards its decision log to CloudWatch Logs (the logs emulator on loopback) against the same daemon
// set-up without forwarding, same run, same transport (Unix socket, autocannon, 10 connections). Rounds alternate
// which daemon goes first. Goal: forwarding on within 5 % of forwarding off.
//
// Printed, per round and as medians:
//  - throughput on / off (the headline: what a client sees);
//  - the daemons' CPU per request (utime + stime of the whole process, every thread, from /proc/<pid>/stat) and its
//    ratio on / off. On this 2-core machine the emulator's own CPU — parsing about a megabyte of JSON a second, which
//    a real CloudWatch never costs the user's machine — competes with autocannon and the daemon for the same cores,
//    so the throughput ratio also counts the emulator; the daemon's CPU per request is the direct measure of what the
//    credential path and the forwarder cost the user's machine. A forwarder that finishes a round's backlog during
//    the next run would dodge the per-round figure, so the summary also divides each daemon's CPU over the whole
//    bench (rounds and a 3 s drain after them) by the requests it served;
//  - the same split by thread: the main thread, which answers credentials, and the others (V8's, libuv's and the
//    forwarder's worker), so what forwarding costs the thread on the credential path shows apart from its own work;
//  - autocannon's p99 latency on and off;
//  - a single client's warm fetch, one at a time, with the daemon idle but its forwarder busy with the backlog, and
//    again while autocannon holds the daemon at half the off daemon's saturated throughput: the latency a fetch sees
//    on a busy machine rather than a saturated one, where the forwarder's thread has a core to itself part of the time;
//  - the emulator process's CPU per forwarded line (whole bench), for scale.
//
// Needs dist/ (`npm run build`). BENCH_ROUNDS (default 5), BENCH_DURATION seconds per run (default 3).
import { BASE_ACCESS_KEY, BASE_ARN } from '../test/support/daemon.js';
import { spawnLogsProcess } from '../test/support/logs-process.js';
import { startSts } from '../test/support/sts-emulator.js';
import {
  CONNECTIONS,
  DURATION_S,
  ROUNDS,
  cpuMs,
  fetchRun,
  threadCpuMs,
  median,
  sequentialLatencies,
  startBenchDaemon,
  stopAll,
  type BenchDaemon,
} from './_daemons.js';

const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
// The emulator runs in a child process: in the measuring process, its work on each 1 MiB batch would stall
// autocannon's event loop and be counted against the daemon that forwards.
const logs = await spawnLogsProcess();
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

interface Side {
  daemon: BenchDaemon;
  token: string;
  requests: number;
  rps: number[];
  cpuUs: number[];
  p99: number[];
  /** A single client's warm fetches, one at a time (µs), while the forwarder works through the rounds' backlog. */
  seqP50: number[];
  seqP99: number[];
  /** The same client's fetches while autocannon holds the daemon at half the off daemon's saturated throughput. */
  busyP50: number[];
  busyP99: number[];
  busyCpuUs: number[];
  /** Per saturated run: the main thread's CPU per request (µs), and the other threads'. */
  mainUs: number[];
  othersUs: number[];
}

/** Half the off daemon's saturated throughput, fixed after the first round: a busy machine, not a saturated one. */
let busyRate = 0;

async function busyRun(side: Side): Promise<void> {
  const cpu0 = cpuMs(side.daemon.pid);
  const [load, xs] = await Promise.all([
    fetchRun(side.daemon.socketPath, side.token, busyRate),
    sequentialLatencies({ socketPath: side.daemon.socketPath }, side.token, DURATION_S * 1000 - 500),
  ]);
  const cpu = cpuMs(side.daemon.pid) - cpu0;
  side.requests += load.requests + xs.length;
  side.busyP50.push(xs[Math.floor(xs.length / 2)]!);
  side.busyP99.push(xs[Math.floor(xs.length * 0.99)]!);
  side.busyCpuUs.push((cpu * 1000) / (load.requests + xs.length + 200));
}

async function run(side: Side): Promise<void> {
  const cpu0 = cpuMs(side.daemon.pid);
  const threads0 = threadCpuMs(side.daemon.pid);
  const r = await fetchRun(side.daemon.socketPath, side.token);
  const cpu = cpuMs(side.daemon.pid) - cpu0;
  const threads = threadCpuMs(side.daemon.pid);
  side.mainUs.push(((threads.main - threads0.main) * 1000) / r.requests);
  side.othersUs.push(((threads.others - threads0.others) * 1000) / r.requests);
  side.requests += r.requests;
  side.rps.push(r.rps);
  side.cpuUs.push((cpu * 1000) / r.requests);
  side.p99.push(r.p99Ms);
}

try {
  const offDaemon = await startBenchDaemon(sts.url);
  const onDaemon = await startBenchDaemon(sts.url, {
    config:
      'aws_profile: base\naudit:\n  cloudwatch: { log_group: bench-sentinel, log_stream: bench, region: us-east-1 }\n',
    env: { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.url },
  });
  const side = async (daemon: BenchDaemon): Promise<Side> => ({
    daemon,
    token: await daemon.open('dev'),
    requests: 0,
    rps: [],
    cpuUs: [],
    p99: [],
    seqP50: [],
    seqP99: [],
    busyP50: [],
    busyP99: [],
    busyCpuUs: [],
    mainUs: [],
    othersUs: [],
  });
  const [on, off] = [await side(onDaemon), await side(offDaemon)];
  const start = { on: cpuMs(on.daemon.pid), off: cpuMs(off.daemon.pid), logs: cpuMs(logs.pid) };
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const s of round % 2 === 0 ? [on, off] : [off, on]) await run(s);
    for (const s of round % 2 === 0 ? [on, off] : [off, on]) {
      const xs = await sequentialLatencies({ socketPath: s.daemon.socketPath }, s.token, 1500);
      s.seqP50.push(xs[Math.floor(xs.length / 2)]!);
      s.seqP99.push(xs[Math.floor(xs.length * 0.99)]!);
    }
    if (round === 0) busyRate = Math.round(off.rps[0]! / 2);
    for (const s of round % 2 === 0 ? [on, off] : [off, on]) await busyRun(s);
    const [a, b] = [on.rps.at(-1)!, off.rps.at(-1)!];
    const [ca, cb] = [on.cpuUs.at(-1)!, off.cpuUs.at(-1)!];
    ratios.push(a / b);
    cpuRatios.push(ca / cb);
    console.error(
      `round ${round + 1}/${ROUNDS}: on ${Math.round(a)} req/s, off ${Math.round(b)} req/s (${pct(a / b)}); ` +
        `CPU/request on ${ca.toFixed(1)} µs, off ${cb.toFixed(1)} µs (${pct(ca / cb)}); ` +
        `p99 on ${on.p99.at(-1)} ms, off ${off.p99.at(-1)} ms`,
    );
  }
  await new Promise((r) => setTimeout(r, 3000));
  const used = {
    on: cpuMs(on.daemon.pid) - start.on,
    off: cpuMs(off.daemon.pid) - start.off,
    logs: cpuMs(logs.pid) - start.logs,
  };
  const forwarded = await logs.count('bench-sentinel', 'bench');
  const wholeOn = (used.on * 1000) / on.requests;
  const wholeOff = (used.off * 1000) / off.requests;
  console.log(
    `\nwarm GET /v1/credentials over the Unix socket, ${ROUNDS} rounds of ${DURATION_S}s (autocannon, ${CONNECTIONS} connection(s)):`,
  );
  console.log(`throughput, forwarding on / off, median of the per-round ratios: ${pct(median(ratios))}`);
  console.log(
    `daemon CPU per request, on / off, median of the per-round ratios: ${pct(median(cpuRatios))} ` +
      `(medians ${median(on.cpuUs).toFixed(1)} µs / ${median(off.cpuUs).toFixed(1)} µs)`,
  );
  console.log(
    `daemon CPU per request over the whole bench (rounds + 3 s drain), on / off: ${pct(wholeOn / wholeOff)} ` +
      `(${wholeOn.toFixed(1)} µs / ${wholeOff.toFixed(1)} µs; ${on.requests} / ${off.requests} requests)`,
  );
  console.log(
    `CPU per request by thread, medians of the saturated runs: the main thread (which answers credentials) on ` +
      `${median(on.mainUs).toFixed(1)} µs, off ${median(off.mainUs).toFixed(1)} µs ` +
      `(${pct(median(on.mainUs.map((x, i) => x / off.mainUs[i]!)))}); the other threads (V8, libuv, the forwarder) on ` +
      `${median(on.othersUs).toFixed(1)} µs, off ${median(off.othersUs).toFixed(1)} µs`,
  );
  console.log(`autocannon p99, median of the rounds: on ${median(on.p99)} ms, off ${median(off.p99)} ms`);
  const seqRatio = (k: 'seqP50' | 'seqP99') => median(on[k].map((x, i) => x / off[k][i]!));
  console.log(
    `one client's warm fetch (sequential keep-alive, 1.5 s per side per round, the forwarder busy with the backlog): ` +
      `p50 on/off ${pct(seqRatio('seqP50'))} (${median(on.seqP50).toFixed(0)} / ${median(off.seqP50).toFixed(0)} µs), ` +
      `p99 on/off ${pct(seqRatio('seqP99'))} (${median(on.seqP99).toFixed(0)} / ${median(off.seqP99).toFixed(0)} µs)`,
  );
  const busyRatio = (k: 'busyP50' | 'busyP99' | 'busyCpuUs') => median(on[k].map((x, i) => x / off[k][i]!));
  console.log(
    `one client's warm fetch while autocannon holds the daemon at ${busyRate} req/s (half the off daemon's ` +
      `saturated rate): p50 on/off ${pct(busyRatio('busyP50'))} (${median(on.busyP50).toFixed(0)} / ` +
      `${median(off.busyP50).toFixed(0)} µs), p99 on/off ${pct(busyRatio('busyP99'))} (${median(on.busyP99).toFixed(0)} / ` +
      `${median(off.busyP99).toFixed(0)} µs); daemon CPU per request on/off ${pct(busyRatio('busyCpuUs'))}`,
  );
  console.log(
    `decision-log lines the forwarder had delivered to the emulator 3 s after the last round: ${forwarded} ` +
      `(the on daemon answered ${on.requests} requests)`,
  );
  console.log(
    `emulator CPU per forwarded line: ${forwarded ? ((used.logs * 1000) / forwarded).toFixed(1) : '-'} µs ` +
      `(${Math.round(used.logs)} ms in all)`,
  );
} finally {
  await stopAll();
  await logs.close();
  await sts.close();
}
