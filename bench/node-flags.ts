// Which Node flags the daemon should run with (cli/daemon-node-flags.ts): daemons started with different flag sets,
// side by side, each with a session, under the same load — autocannon (10 connections, BENCH_DURATION s) against each
// in turn, the order alternating from round to round — then a sequential keep-alive client for its latency. A change
// of a few per cent disappears between two runs of bench/daemon.ts on a shared machine; within one run, against each
// other, it shows.
//
// BENCH_FLAG_SETS: flag sets separated by `|` (default: the 4 MiB young generation alone | the daemon's flags).
// BENCH_ROUNDS (default 5). Needs dist/ (`npm run build`).
import { DAEMON_NODE_FLAGS } from '../cli/daemon-node-flags.js';
import { BASE_ACCESS_KEY, BASE_ARN } from '../test/support/daemon.js';
import { startSts } from '../test/support/sts-emulator.js';
import {
  CONNECTIONS,
  DURATION_S,
  ROUNDS,
  cpuMs,
  fetchRun,
  median,
  sequentialLatencies,
  startBenchDaemon,
  stopAll,
  type BenchDaemon,
} from './_daemons.js';

const sets = (process.env.BENCH_FLAG_SETS ?? `--max-semi-space-size=4|${DAEMON_NODE_FLAGS.join(' ')}`)
  .split('|')
  .map((set) => set.split(' ').filter(Boolean));

interface Subject {
  flags: string[];
  daemon: BenchDaemon;
  token: string;
  cpuUs: number[];
  rps: number[];
  p50: number[];
  p99: number[];
  p999: number[];
}

const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
try {
  const subjects: Subject[] = [];
  for (const flags of sets) {
    const daemon = await startBenchDaemon(sts.url, { nodeFlags: flags });
    subjects.push({ flags, daemon, token: await daemon.open('dev'), cpuUs: [], rps: [], p50: [], p99: [], p999: [] });
  }
  for (const s of subjects) await fetchRun(s.daemon.socketPath, s.token); // warm: JIT, caches, heap sizes
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...subjects].reverse() : subjects;
    for (const s of order) {
      const cpu0 = cpuMs(s.daemon.pid);
      const r = await fetchRun(s.daemon.socketPath, s.token);
      s.cpuUs.push(((cpuMs(s.daemon.pid) - cpu0) * 1000) / r.requests);
      s.rps.push(r.rps);
    }
    for (const s of order) {
      const xs = await sequentialLatencies({ socketPath: s.daemon.socketPath }, s.token, 1500);
      s.p50.push(xs[Math.floor(xs.length / 2)]!);
      s.p99.push(xs[Math.floor(xs.length * 0.99)]!);
      s.p999.push(xs[Math.floor(xs.length * 0.999)]!);
    }
    console.error(
      `round ${round + 1}/${ROUNDS}: ` +
        subjects
          .map((s) => `[${s.flags.join(' ')}] ${s.cpuUs.at(-1)!.toFixed(1)} µs/req ${Math.round(s.rps.at(-1)!)}/s`)
          .join(', '),
    );
  }
  const first = subjects[0]!;
  const vsFirst = (s: Subject, k: 'cpuUs' | 'rps') => median(s[k].map((x, i) => x / first[k][i]!));
  console.log(
    `\nwarm GET /v1/credentials over the Unix socket, ${ROUNDS} rounds (autocannon ${CONNECTIONS} connections, ${DURATION_S}s; ` +
      `then 1.5 s of a sequential client), medians; ratios are per round against the first flag set:`,
  );
  for (const s of subjects) {
    console.log(
      `[${s.flags.join(' ') || 'no flags'}] CPU ${median(s.cpuUs).toFixed(1)} µs/request (${vsFirst(s, 'cpuUs').toFixed(3)}×), ` +
        `${Math.round(median(s.rps))} req/s (${vsFirst(s, 'rps').toFixed(3)}×), sequential p50 ${median(s.p50).toFixed(0)} ` +
        `p99 ${median(s.p99).toFixed(0)} p99.9 ${median(s.p999).toFixed(0)} µs`,
    );
  }
} finally {
  await stopAll();
  await sts.close();
}
