// What Sentinel's own work on a warm credential request costs, without HTTP (issue 10): LocalSessions.credentials()
// — revocation read, policy, issuer cache, decision-log line, touch — called in this process on a daemon run with
// runDaemon() from dist/, 10 calls in flight at a time, CPU time per call from process.cpuUsage(). The baseline, in
// the same run, is the CPU a bare node:http server (its own process) spends per request answering the same bytes
// over a Unix socket: bench/daemon.ts's goal of ≤ 1.4× bare CPU per request leaves Sentinel 0.4 × that for
// everything it adds, HTTP checks included, and this shows how much of it the decision path alone takes.
//
// CPU time moves far less with the neighbours' load than requests/s does, so this is the bench for telling one build
// of the path from another: BENCH_BASELINE_DIST=<another build's dist/> runs that build's path in the same process,
// interleaved round by round, and prints the ratio. BENCH_ROUNDS (default 6), BENCH_CALLS per round (default 30000).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { BASE_ACCESS_KEY, BASE_ARN, prepareHome } from '../test/support/daemon.js';
import { startSts } from '../test/support/sts-emulator.js';
import { cpuMs, median, startBareServer } from './_daemons.js';
import { DAEMON_NODE_FLAGS } from '../cli/daemon-node-flags.js';

// The daemon runs in this process, so this process needs the daemon's heap settings: the young generation's size
// decides how often the path's garbage is collected (a build that allocated more per call measured 4.7 µs without the
// cap and 6.0 with it).
if (!DAEMON_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  const again = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(again.status ?? 1);
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CALLS = Number(process.env.BENCH_CALLS ?? 30_000);
const IN_FLIGHT = 10;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dists = [
  resolve(root, 'dist'),
  ...(process.env.BENCH_BASELINE_DIST ? [resolve(process.env.BENCH_BASELINE_DIST)] : []),
];

interface Subject {
  name: string;
  call(): Promise<unknown>;
  close(): Promise<void>;
}

const peer = { transport: 'unix' as const, pid: process.pid, uid: process.getuid!() };

async function subject(dist: string, stsUrl: string): Promise<Subject> {
  const runJs = `${dist}/daemon/run.js`;
  if (!existsSync(runJs)) throw new Error(`${runJs} is missing: run \`npm run build\` first`);
  const { runDaemon } = await import(runJs);
  const home = prepareHome({}, stsUrl);
  // The issuer's AWS clients read endpoints from the process environment, as a daemon's do from its own.
  Object.assign(process.env, home.env, { SENTINEL_LOG_LEVEL: 'warn' });
  const daemon = await runDaemon({ env: process.env });
  const opened = await daemon.sessions.openSession({ profile: 'dev', mode: 'server' }, peer);
  const match = daemon.sessions.tokenRegistry.resolve(opened.token);
  return {
    name: dist,
    call: () => daemon.sessions.credentials(match, peer),
    async close() {
      await daemon.close();
      rmSync(home.home, { recursive: true, force: true });
    },
  };
}

/** CPU µs per call, IN_FLIGHT calls at a time. */
async function perCall(s: Subject, calls: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i += IN_FLIGHT) {
    const batch: Promise<unknown>[] = [];
    for (let j = 0; j < IN_FLIGHT; j++) batch.push(s.call());
    await Promise.all(batch);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

async function bareServer(body: string, socketPath: string) {
  const child = await startBareServer(body, socketPath);
  return {
    /** Server CPU µs per request under autocannon (10 connections, 2 s). */
    async perRequest(): Promise<number> {
      const cpu0 = cpuMs(child.pid!);
      const result = await autocannon({ url: 'http://localhost/', socketPath, connections: 10, duration: 2 });
      return ((cpuMs(child.pid!) - cpu0) * 1000) / result.requests.total;
    },
    close: () => new Promise((r) => (child.kill(), child.once('exit', r))),
  };
}

const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
const subjects: Subject[] = [];
try {
  for (const dist of dists) subjects.push(await subject(dist, sts.url));
  const body = JSON.stringify(await subjects[0]!.call());
  const bare = await bareServer(body, `${process.env.SENTINEL_RUNTIME_DIR ?? process.env.XDG_RUNTIME_DIR}/bare.sock`);
  for (const s of subjects) await perCall(s, 20_000); // warm: JIT, caches, the decision log's first batches
  const path = new Map(subjects.map((s) => [s, [] as number[]]));
  const bareCpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...subjects].reverse() : subjects;
    for (const s of order) path.get(s)!.push(await perCall(s, CALLS));
    bareCpu.push(await bare.perRequest());
    console.error(
      `round ${round + 1}/${ROUNDS}: ${subjects.map((s) => `${path.get(s)!.at(-1)!.toFixed(2)} µs/call`).join(' vs ')}, bare node:http ${bareCpu.at(-1)!.toFixed(1)} µs/request`,
    );
  }
  await bare.close();
  const b = median(bareCpu);
  console.log(
    `\nwarm sessions.credentials() in process, ${ROUNDS} rounds of ${CALLS} calls (${IN_FLIGHT} in flight), medians:`,
  );
  for (const s of subjects) {
    const p = median(path.get(s)!);
    console.log(
      `${s.name}: ${p.toFixed(2)} µs CPU per call = ${((100 * p) / b).toFixed(0)} % of a bare node:http request's ${b.toFixed(1)} µs ` +
        `(the ≤ 1.4× goal leaves ${(0.4 * b).toFixed(1)} µs for everything Sentinel adds)`,
    );
  }
  if (subjects.length === 2) {
    const ratios = path.get(subjects[0]!)!.map((x, i) => x / path.get(subjects[1]!)![i]!);
    console.log(`this build / baseline build: ${median(ratios).toFixed(2)}× (median of the per-round ratios)`);
  }
} finally {
  for (const s of subjects) await s.close();
  await sts.close();
}
