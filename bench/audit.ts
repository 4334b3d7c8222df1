// Decision-log forwarding must not slow the credential path (issue 15, "Measure"): warm credential fetches from a
// daemon that forwards its decision log to CloudWatch Logs (the logs emulator on loopback) against the same daemon
// set-up without forwarding, same run, same transport (Unix socket, autocannon, 10 connections). Goal: forwarding on
// within 5 % of forwarding off.
//
// A third daemon, "control", is set up exactly as "off" and measured in the same rounds. On a shared 2-core machine
// two identical daemons measured a few seconds apart differ by more than 5 % on most of these figures, so every
// on / off ratio is printed beside control / off: a difference forwarding makes has to stand out of that. Each round
// runs the three in another order.
//
// Printed, per round and as medians of the per-round ratios to "off":
//  - throughput (what a client sees at saturation);
//  - the daemons' CPU per request (utime + stime of the whole process, every thread, from /proc/<pid>/stat) and its
//    ratio on / off. On this 2-core machine the emulator's own CPU — parsing about a megabyte of JSON a second, which
//    a real CloudWatch never costs the user's machine — competes with autocannon and the daemon for the same cores,
//    so the throughput ratio also counts the emulator; the daemon's CPU per request is the direct measure of what the
//    credential path and the forwarder cost the user's machine. A forwarder that finishes a round's backlog during
//    the next run would dodge the per-round figure, so the summary also divides each daemon's CPU over the whole
//    bench (rounds and a 3 s drain after them) by the requests it served;
//  - the same split by thread: the main thread, which answers credentials, and the others (V8's, libuv's and the
//    forwarder's worker), so what forwarding costs the thread on the credential path shows apart from its own work;
//  - a single client's warm fetch, one at a time, with the daemon idle but its forwarder busy with the backlog, and
//    again while autocannon holds the daemon at half the off daemon's saturated throughput: the latency a fetch sees
//    on a busy machine rather than a saturated one, where the forwarder's thread has a core to itself part of the time;
//  - the emulator process's CPU per forwarded line (whole bench), for scale.
//
// BENCH_PIN=1 puts every thread of the three daemons on CPU 0 and autocannon and the emulator on CPU 1 (taskset), so
// the forwarder's worker has no core of its own and must share the one the credential thread runs on: what its
// priority (nice 19, core/audit/forwarder-worker.ts) is for. Unpinned, on this machine's virtual CPUs, even a nice 19
// busy loop on the other core costs a bare server about 45 % of its throughput (as much as one at nice 0), so the
// unpinned figures cannot show what the priority does.
//
// Needs dist/ (`npm run build`). BENCH_ROUNDS (default 5), BENCH_DURATION seconds per run (default 3),
// BENCH_BUSY_FRACTION the busy run's share of the off daemon's saturated rate (default 0.5).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
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
// BENCH_KEEP_EVENTS=1 keeps every event in the emulator's heap (hundreds of MiB by the end of a run); by default it
// checks and counts them only: a real CloudWatch does not live in the user's memory.
const logs = await spawnLogsProcess({ keepEvents: process.env.BENCH_KEEP_EVENTS === '1' });
// It stands in for a service on another machine, so by default every one of its threads runs at nice 19 and takes only
// the CPU that autocannon and the daemons leave; at nice 0 (BENCH_EMULATOR_NICE=0) it parses a megabyte of JSON a
// second at their expense, a cost no user's machine pays.
const EMULATOR_NICE = Number(process.env.BENCH_EMULATOR_NICE ?? 19);
for (const tid of readdirSync(`/proc/${logs.pid}/task`)) setPriority(Number(tid), EMULATOR_NICE);
/** BENCH_PIN=1: the daemons on one core, the load and the emulator on the other (see the header). */
const PIN = process.env.BENCH_PIN === '1';
const pin = (pid: number, cpu: number) => execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)]);
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

/** A share (half by default) of the off daemon's saturated throughput, fixed after the first round: a busy machine,
 * not a saturated one. */
const BUSY_FRACTION = Number(process.env.BENCH_BUSY_FRACTION ?? 0.5);
if (!(BUSY_FRACTION > 0 && BUSY_FRACTION < 1)) throw new Error('BENCH_BUSY_FRACTION must be between 0 and 1');
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
  const controlDaemon = await startBenchDaemon(sts.url);
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
  const [on, off, control] = [await side(onDaemon), await side(offDaemon), await side(controlDaemon)];
  if (PIN) {
    // Every thread of the daemons (the forwarder's worker included, and the threads they start later) on CPU 0; this
    // process (autocannon) and the emulator on CPU 1. The forwarder then has no core of its own: whenever it works, it
    // takes CPU 0 from the thread that answers credentials or the scheduler makes it wait, as its priority says.
    for (const d of [onDaemon, offDaemon, controlDaemon]) pin(d.pid, 0);
    pin(process.pid, 1);
    pin(logs.pid, 1);
  }
  const all = [on, off, control];
  const pids = () => ({ on: cpuMs(on.daemon.pid), off: cpuMs(off.daemon.pid), control: cpuMs(control.daemon.pid) });
  const start = { ...pids(), logs: cpuMs(logs.pid) };
  // Each round runs the three daemons in another order (a rotation), so none is always first or last.
  const order = (round: number) => all.map((_, i) => all[(i + round) % all.length]!);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const s of order(round)) await run(s);
    for (const s of order(round)) {
      const xs = await sequentialLatencies({ socketPath: s.daemon.socketPath }, s.token, 1500);
      s.seqP50.push(xs[Math.floor(xs.length / 2)]!);
      s.seqP99.push(xs[Math.floor(xs.length * 0.99)]!);
    }
    if (round === 0) busyRate = Math.max(1, Math.round(off.rps[0]! * BUSY_FRACTION));
    for (const s of order(round)) await busyRun(s);
    console.error(
      `round ${round + 1}/${ROUNDS}: req/s on ${Math.round(on.rps.at(-1)!)}, off ${Math.round(off.rps.at(-1)!)}, ` +
        `control ${Math.round(control.rps.at(-1)!)}; CPU/request on ${on.cpuUs.at(-1)!.toFixed(1)} µs, ` +
        `off ${off.cpuUs.at(-1)!.toFixed(1)} µs, control ${control.cpuUs.at(-1)!.toFixed(1)} µs`,
    );
  }
  await new Promise((r) => setTimeout(r, 3000));
  const end = pids();
  const used = { on: end.on - start.on, off: end.off - start.off, control: end.control - start.control };
  const logsUsed = cpuMs(logs.pid) - start.logs;
  const forwarded = await logs.count('bench-sentinel', 'bench');
  const whole = (s: Side, key: keyof typeof used) => (used[key] * 1000) / s.requests;

  type Key = 'rps' | 'cpuUs' | 'mainUs' | 'othersUs' | 'seqP50' | 'seqP99' | 'busyP50' | 'busyP99' | 'busyCpuUs';
  /** Median over the rounds of a side's per-round ratio to the off daemon. */
  const ratio = (s: Side, k: Key) => median(s[k].map((x, i) => x / off[k][i]!));
  const rows: [string, Key, string][] = [
    ['throughput at saturation', 'rps', 'req/s'],
    ['daemon CPU per request at saturation (whole process)', 'cpuUs', 'µs'],
    ['  of which the main thread (answers credentials)', 'mainUs', 'µs'],
    ['  of which the other threads (V8, libuv, the forwarder)', 'othersUs', 'µs'],
    ["one client's warm fetch p50 (forwarder busy with the backlog)", 'seqP50', 'µs'],
    ['the same, p99', 'seqP99', 'µs'],
    [
      `one client's warm fetch p50 at ${busyRate} req/s (${pct(BUSY_FRACTION)} of the off daemon's saturated rate)`,
      'busyP50',
      'µs',
    ],
    ['the same, p99', 'busyP99', 'µs'],
    ['daemon CPU per request at that rate', 'busyCpuUs', 'µs'],
  ];
  const value = (s: Side, k: Key) => median(s[k]).toFixed(k === 'rps' ? 0 : 1);
  console.log(
    `\nwarm GET /v1/credentials over the Unix socket, ${ROUNDS} rounds of ${DURATION_S}s ` +
      `(autocannon, ${CONNECTIONS} connections), medians of the per-round ratios to the off daemon.\n` +
      `"control" is a second daemon without forwarding, measured in the same rounds: control / off is what this ` +
      `machine's noise alone makes of each ratio, the yardstick for on / off.\n` +
      (PIN ? 'Pinned: every daemon thread on CPU 0, autocannon and the emulator on CPU 1.\n' : ''),
  );
  console.log('| measure | on / off | control / off | on, off, control |');
  console.log('| --- | --- | --- | --- |');
  for (const [label, k, unit] of rows)
    console.log(
      `| ${label} | ${pct(ratio(on, k))} | ${pct(ratio(control, k))} | ` +
        `${value(on, k)}, ${value(off, k)}, ${value(control, k)} ${unit} |`,
    );
  console.log(
    `| daemon CPU per request over the whole bench (rounds + 3 s drain) | ${pct(whole(on, 'on') / whole(off, 'off'))} | ` +
      `${pct(whole(control, 'control') / whole(off, 'off'))} | ${whole(on, 'on').toFixed(1)}, ` +
      `${whole(off, 'off').toFixed(1)}, ${whole(control, 'control').toFixed(1)} µs |`,
  );
  console.log(
    `\ndecision-log lines the forwarder had delivered to the emulator 3 s after the last round: ${forwarded} ` +
      `(the on daemon answered ${on.requests} requests)`,
  );
  console.log(
    `emulator CPU per forwarded line: ${forwarded ? ((logsUsed * 1000) / forwarded).toFixed(1) : '-'} µs ` +
      `(${Math.round(logsUsed)} ms in all), at nice ${EMULATOR_NICE}`,
  );
} finally {
  await stopAll();
  await logs.close();
  await sts.close();
}
