// What the CloudWatch Logs forwarder costs per forwarded decision-log line, on its own: the forwarder (dist/, as the
// daemon runs it) in a worker thread of its own, as in the daemon, sending N real signed decision-log lines to the logs
// emulator in a child process (a fresh one per run, so every run finds the same empty emulator). The figure is the
// worker thread's CPU (process.threadCpuUsage() inside it) from start() until every line is accepted, per line; wall
// time beside it. Each worker first forwards a smaller file to a stream of its own, so module loading, the SDK's first
// request and JIT warm-up are not counted: what is measured is the steady cost of a backlog, as at saturation.
//
// In the same rounds, two floors measured the same way (a worker, warmed up, its thread CPU over the same file):
//  - read+sha256: reading the file in the forwarder's chunks and SHA-256 over every byte, once per chunk (SigV4 must
//    hash each PutLogEvents body: CloudWatch Logs takes no UNSIGNED-PAYLOAD), the least any forwarder can cost;
//  - read+stringify: reading it and JSON.stringify of every line as a string (what any JSON-encoding forwarder pays).
// The forwarder's ratio to read+sha256 is the figure to watch: same process run, never a timing asserted anywhere.
//
// BENCH_LINES (default 60,000), BENCH_ROUNDS (default 5). BENCH_BASELINE=<a copy of dist/> adds that build as a
// variant in the same rounds (each round runs the variants in another order), to compare a change against what it
// replaced: `cp -r dist tmp/dist-before`, change, `npm run build`, `BENCH_BASELINE=tmp/dist-before npm run bench --
// forwarder`. Needs dist/ (`npm run build`) and Node 22.19 or later.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { credentialEntry } from '../test/support/decision-log-fixture.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const GROUP = 'sentinel-decisions';
/** As the daemon starts its forwarder's worker (forwarder-thread.ts). */
const WORKER_HEAP_MB = 128;

// Node 22.19+ and 23.9+ (the @types/node here predates it): this thread's CPU time, not the process's.
const threadCpuUsage = (prev?: NodeJS.CpuUsage): NodeJS.CpuUsage => {
  const p = process as unknown as { threadCpuUsage?: (prev?: NodeJS.CpuUsage) => NodeJS.CpuUsage };
  if (!p.threadCpuUsage)
    throw new Error(`process.threadCpuUsage() needs Node 22.19 or later (this is ${process.version})`);
  return p.threadCpuUsage(prev);
};

interface Job {
  kind: 'forwarder' | 'read+sha256' | 'read+stringify';
  /** The build whose core/audit/forwarder.js runs (forwarder only). */
  dist?: string;
  warmFile: string;
  file: string;
  lines: number;
  warmLines: number;
  dir: string;
  url?: string;
  warmUrl?: string;
}

interface Result {
  cpuUs: number;
  wallMs: number;
}

/** Forwards `file` from its beginning to a fresh stream; resolves when CloudWatch (the emulator) holds every line. */
async function forwardOnce(
  job: Job,
  file: string,
  lines: number,
  url: string,
  stream: string,
): Promise<{ cpuUs: number; wallMs: number }> {
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS = url;
  const dist = pathToFileURL(resolve(job.dist!)).href;
  const { createForwarder } = (await import(
    `${dist}/core/audit/forwarder.js`
  )) as typeof import('../core/audit/forwarder.js');
  const { createLogsClient } = (await import(
    `${dist}/core/audit/cloudwatch-client.js`
  )) as typeof import('../core/audit/cloudwatch-client.js');
  const noop = () => undefined;
  const log = { debug: noop, info: noop, warn: noop, error: noop } as never;
  let done!: (r: { cpuUs: number; wallMs: number }) => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<{ cpuUs: number; wallMs: number }>((res, rej) => {
    done = res;
    fail = rej;
  });
  let cpu0: NodeJS.CpuUsage | null = null;
  let wall0 = 0;
  let reported = false;
  const forwarder = createForwarder({
    file,
    // A cursor of its own each time: one left by an earlier run would say everything is sent.
    cursorFile: join(job.dir, `cursor-${stream}-${randomBytes(6).toString('hex')}.json`),
    logGroup: GROUP,
    logStream: stream,
    client: () => createLogsClient({ region: 'us-east-1', maxAttempts: 1 }),
    log,
    required: false,
    pollMs: 20,
    onUpdate(status) {
      if (process.env.BENCH_DEBUG) console.error(JSON.stringify(status));
      if (status.last_error) fail(new Error(`forwarding failed: ${status.last_error}`));
      if (reported || status.forwarded_lines < lines) return;
      reported = true;
      const cpu = threadCpuUsage(cpu0!);
      done({ cpuUs: cpu.user + cpu.system, wallMs: performance.now() - wall0 });
    },
  });
  cpu0 = threadCpuUsage();
  wall0 = performance.now();
  forwarder.start();
  const r = await finished;
  await forwarder.close();
  return r;
}

async function forward(job: Job): Promise<Result> {
  await forwardOnce(job, job.warmFile, job.warmLines, job.warmUrl!, 'warm-up');
  const r = await forwardOnce(job, job.file, job.lines, job.url!, 'measured');
  return { cpuUs: r.cpuUs / job.lines, wallMs: r.wallMs };
}

/** The floor: the file read as the forwarder reads it (1 MiB + 64 KiB at a time) and only hashed or stringified. */
function floor(job: Job): Result {
  const chunk = Buffer.allocUnsafe(1_048_576 + 64 * 1024);
  let sink = 0;
  const pass = (file: string): void => {
    const fd = openSync(file, 'r');
    try {
      for (let offset = 0; ;) {
        const n = readSync(fd, chunk, 0, chunk.length, offset);
        if (n <= 0) break;
        const last = chunk.lastIndexOf(0x0a, n - 1);
        const end = last === -1 ? n : last + 1;
        if (job.kind === 'read+sha256')
          sink += createHash('sha256').update(chunk.subarray(0, end)).digest('hex').length;
        else
          for (let pos = 0; pos < end;) {
            const nl = chunk.indexOf(0x0a, pos);
            sink += JSON.stringify(chunk.toString('utf8', pos, nl)).length;
            pos = nl + 1;
          }
        offset += end;
      }
    } finally {
      closeSync(fd);
    }
  };
  pass(job.warmFile);
  const cpu0 = threadCpuUsage();
  const wall0 = performance.now();
  pass(job.file);
  const cpu = threadCpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  if (sink === 0) throw new Error('nothing was read');
  return { cpuUs: (cpu.user + cpu.system) / job.lines, wallMs };
}

async function main(): Promise<void> {
  // Before it, a worker neither has it nor (Node 20) runs this file's TypeScript: say so rather than fail in a worker.
  if (!('threadCpuUsage' in process)) {
    console.error(
      `bench/forwarder.ts needs Node 22.19 or later (process.threadCpuUsage()); this is ${process.version}`,
    );
    process.exit(2);
  }
  const { spawnLogsProcess } = await import('../test/support/logs-process.js');
  const { median } = await import('./_daemons.js');
  const LINES = Number(process.env.BENCH_LINES ?? 60_000);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
  const WARM_LINES = Math.min(LINES, 10_000);
  const baseline = process.env.BENCH_BASELINE;

  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIAFORWARDERBENCH01',
    AWS_SECRET_ACCESS_KEY: 'forwarder-bench-secret',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;

  const dir = mkdtempSync(join(tmpdir(), 'sentinel-bench-forwarder-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  const key = join(dir, 'audit.key');
  writeFileSync(key, randomBytes(32).toString('hex'), { mode: 0o600 });
  chmodSync(key, 0o600);
  const file = join(state, 'decisions.log');
  const warmFile = join(state, 'warm.log');
  const lineBytes = await writeLog(file, key, LINES);
  await writeLog(warmFile, key, WARM_LINES);

  const variants: { name: string; job: Omit<Job, 'url' | 'warmUrl'> }[] = [];
  const common = { file, warmFile, lines: LINES, warmLines: WARM_LINES, dir: state };
  variants.push({ name: 'forwarder', job: { kind: 'forwarder', dist: join(ROOT, 'dist'), ...common } });
  if (baseline) variants.push({ name: 'baseline', job: { kind: 'forwarder', dist: baseline, ...common } });
  variants.push({ name: 'read+sha256', job: { kind: 'read+sha256', ...common } });
  variants.push({ name: 'read+stringify', job: { kind: 'read+stringify', ...common } });

  console.log(
    `${LINES} decision-log lines of ${lineBytes.toFixed(0)} bytes on average, ${ROUNDS} rounds, ${process.version}` +
      (baseline ? `, baseline ${baseline}` : ''),
  );
  const results = new Map<string, Result[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    if (round % 2 === 1) order.reverse();
    const row: string[] = [];
    for (const v of order) {
      const r = await run(v.job);
      results.get(v.name)!.push(r);
      row.push(`${v.name} ${r.cpuUs.toFixed(2)} µs`);
    }
    console.log(`round ${round + 1}: ${row.join(', ')}`);
  }

  const floorUs = results.get('read+sha256')!.map((r) => r.cpuUs);
  console.log('\nmedians (thread CPU per line; ratio to read+sha256 taken per round, then the median):');
  for (const v of variants) {
    const rs = results.get(v.name)!;
    const ratios = rs.map((r, i) => r.cpuUs / floorUs[i]!);
    console.log(
      `  ${v.name.padEnd(15)} ${median(rs.map((r) => r.cpuUs))
        .toFixed(2)
        .padStart(6)} µs/line  wall ${median(rs.map((r) => r.wallMs))
        .toFixed(0)
        .padStart(5)} ms  × ${median(ratios).toFixed(2)} read+sha256`,
    );
  }
  if (baseline) {
    const now = results.get('forwarder')!;
    const before = results.get('baseline')!;
    console.log(
      `  forwarder / baseline (per round): ${now.map((r, i) => (r.cpuUs / before[i]!.cpuUs).toFixed(2)).join(' ')}; ` +
        `median ${median(now.map((r, i) => r.cpuUs / before[i]!.cpuUs)).toFixed(2)}`,
    );
  }

  async function run(job: Omit<Job, 'url' | 'warmUrl'>): Promise<Result> {
    const logs = job.kind === 'forwarder' ? await spawnLogsProcess() : null;
    try {
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { ...job, ...(logs ? { url: logs.url, warmUrl: logs.url } : {}) } satisfies Job,
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      });
      const result = await new Promise<Result>((res, rej) => {
        worker.once('message', res);
        worker.once('error', rej);
        worker.once('exit', (code) => rej(new Error(`the bench worker exited (${code})`)));
      });
      await worker.terminate();
      if (logs && (await logs.count(GROUP, 'measured')) !== job.lines)
        throw new Error('the emulator does not hold every line');
      return result;
    } finally {
      await logs?.close();
    }
  }
}

/** `count` signed decision-log lines written through the real decision log, as the daemon writes them; their mean size. */
async function writeLog(file: string, key: string, count: number): Promise<number> {
  const { createDecisionLog } = await import('../core/audit/decision-log.js');
  const { resolveConfig } = await import('../core/config.js');
  const { silentLogger } = await import('../core/log.js');
  const { statSync } = await import('node:fs');
  const config = resolveConfig({ audit: { file, hmac_key_file: key } }, 'bench-config.yaml', { HOME: '/nonexistent' });
  const log = createDecisionLog(config, { log: silentLogger() });
  // About 10,000 decisions a second, the daemon's saturated rate, ending now (CloudWatch takes them as they are).
  const start = Date.now() - count / 10;
  for (let i = 0; i < count; i++) log.write(entry(i, new Date(start + i / 10)));
  await log.close();
  return statSync(file).size / count;
}

const entry = credentialEntry;

if (!isMainThread) {
  const job = workerData as Job;
  // The forwarder's timers are unref()'d (as in the daemon, where the port to the daemon's thread keeps its worker up).
  parentPort!.on('message', () => undefined);
  const result = job.kind === 'forwarder' ? await forward(job) : floor(job);
  parentPort!.postMessage(result);
} else await main();
