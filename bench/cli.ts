// Cold start of the `sentinel` binary, against `node -e 0` measured in the same run (DESIGN §1: a credential_process
// call should cost about one Node start; the goal is ≤ 1.5×):
//   - `sentinel credentials --profile dev` end to end against a running daemon (its fast path, no commander);
//   - the same through the full parser (`--socket S credentials ...`), to show what the fast path saves;
//   - `sentinel --help` and `sentinel --version` (every command group loaded).
// Runs are interleaved so that load from elsewhere on the machine hits every variant alike.
//   npm run build && node --import tsx bench/cli.ts [runs]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLI_MAIN, startDaemon } from '../test/support/daemon.js';

const RUNS = Number(process.argv[2] ?? 25);

interface Variant {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The command must print this (proves it did the real work, e.g. fetched credentials). */
  expect?: RegExp;
}

/** Wall time from spawn to exit. Asynchronous on purpose: the STS emulator the daemon calls lives in this process. */
async function timeOnce(v: Variant): Promise<number> {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, v.args, { env: v.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (status !== 0 || (v.expect && !v.expect.test(stdout)))
    throw new Error(`${v.name} failed (status ${status}): ${stderr.slice(0, 500)}`);
  return ms;
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), min: s[0]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function main(): Promise<void> {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` first`);
  const teardowns: Array<() => unknown> = [];
  const harness = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
  // A subprocess daemon, so that only the STS emulator (idle once credentials are cached) shares this process.
  const d = await startDaemon(harness, { mode: 'subprocess' });
  try {
    const clientEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: d.home,
      XDG_CONFIG_HOME: d.env.XDG_CONFIG_HOME,
      XDG_RUNTIME_DIR: d.env.XDG_RUNTIME_DIR,
    };
    const variants: Variant[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      {
        name: 'sentinel credentials (fast path)',
        args: [CLI_MAIN, 'credentials', '--profile', 'dev'],
        env: clientEnv,
        expect: /"Version":1/,
      },
      {
        name: 'sentinel credentials (full parser)',
        args: [CLI_MAIN, '--socket', d.socketPath, 'credentials', '--profile', 'dev'],
        env: clientEnv,
        expect: /"Version":1/,
      },
      { name: 'sentinel --help', args: [CLI_MAIN, '--help'], env: clientEnv, expect: /Usage: sentinel/ },
      { name: 'sentinel --version', args: [CLI_MAIN, '--version'], env: clientEnv },
    ];
    for (const v of variants) await timeOnce(v); // warm-up: disk cache, and the daemon's credential cache
    const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
    for (let i = 0; i < RUNS; i++) for (const v of variants) samples.get(v.name)!.push(await timeOnce(v));

    const base = stats(samples.get('node -e 0')!).median;
    console.log(`cold start, ${RUNS} interleaved runs each (ms; ratio = median / median of node -e 0)`);
    console.log(
      `${'command'.padEnd(38)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'ratio'.padStart(7)}`,
    );
    for (const v of variants) {
      const s = stats(samples.get(v.name)!);
      console.log(
        `${v.name.padEnd(38)} ${s.median.toFixed(1).padStart(8)} ${s.p90.toFixed(1).padStart(8)} ${s.min.toFixed(1).padStart(8)} ${(s.median / base).toFixed(2).padStart(6)}×`,
      );
    }
    const ratio = stats(samples.get('sentinel credentials (fast path)')!).median / base;
    console.log(`credential_process goal ≤ 1.5× node -e 0: ${ratio <= 1.5 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×)`);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
