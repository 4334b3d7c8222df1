// Decision-log forwarding must not slow the credential path (issue 15, "Measure"): warm credential fetches from a
// daemon that forwards its decision log to CloudWatch Logs (the logs emulator on loopback) against the same daemon
// set-up without forwarding, same run, same transport (Unix socket, autocannon, 10 connections). Rounds alternate
// which daemon goes first, and the report is the median of the per-round ratios (the machine is shared: only
// same-run ratios mean anything). Goal: forwarding on within 5 % of forwarding off.
//
// Needs dist/ (`npm run build`). BENCH_ROUNDS (default 5), BENCH_DURATION seconds per run (default 3).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { BASE_ACCESS_KEY, BASE_ARN, CLI_MAIN, fetchFrom, prepareHome, waitForSocket } from '../test/support/daemon.js';
import { startLogs } from '../test/support/logs-emulator.js';
import { startSts } from '../test/support/sts-emulator.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Started {
  child: ChildProcess;
  socketPath: string;
  token: string;
  home: string;
}

async function startDaemon(stsUrl: string, config: string, env: Record<string, string>): Promise<Started> {
  const home = prepareHome({ config, env }, stsUrl);
  const child = spawn(process.execPath, [CLI_MAIN, 'daemon', 'run'], {
    env: { ...home.env, SENTINEL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!(await waitForSocket(home.socketPath, 30_000))) throw new Error('a daemon did not start');
  const opened = await fetchFrom(
    { socketPath: home.socketPath },
    { transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } },
  );
  if (opened.status !== 200) throw new Error(`opening a session answered ${opened.status}: ${opened.text}`);
  return { child, socketPath: home.socketPath, token: opened.json.token as string, home: home.home };
}

async function requestsPerSecond(target: Started): Promise<number> {
  const result = await autocannon({
    url: 'http://localhost/v1/credentials',
    socketPath: target.socketPath,
    connections: 10,
    duration: DURATION_S,
    headers: { authorization: target.token },
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average as number;
}

async function main(): Promise<void> {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  const logs = await startLogs();
  const started: Started[] = [];
  try {
    const off = await startDaemon(sts.url, '', {});
    started.push(off);
    const on = await startDaemon(
      sts.url,
      'aws_profile: base\naudit:\n  cloudwatch: { log_group: bench-sentinel, log_stream: bench, region: us-east-1 }\n',
      { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.url },
    );
    started.push(on);
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const rps = new Map<Started, number>();
      for (const target of round % 2 === 0 ? [on, off] : [off, on]) rps.set(target, await requestsPerSecond(target));
      const ratio = rps.get(on)! / rps.get(off)!;
      ratios.push(ratio);
      console.error(
        `round ${round + 1}/${ROUNDS}: forwarding on ${Math.round(rps.get(on)!)} req/s, off ${Math.round(rps.get(off)!)} req/s (${(100 * ratio).toFixed(1)} %)`,
      );
    }
    await new Promise((r) => setTimeout(r, 3000));
    const forwarded = logs.events('bench-sentinel', 'bench').length;
    console.log(
      `\nwarm GET /v1/credentials over the Unix socket, ${ROUNDS} rounds of ${DURATION_S}s (autocannon, 10 connections):`,
    );
    console.log(`forwarding on / off, median of the per-round ratios: ${(100 * median(ratios)).toFixed(1)} %`);
    console.log(
      `decision-log lines the forwarder had delivered to the emulator 3 s after the last round: ${forwarded}`,
    );
  } finally {
    for (const s of started) {
      s.child.kill('SIGTERM');
      await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)));
      rmSync(s.home, { recursive: true, force: true });
    }
    await logs.close();
    await sts.close();
  }
}

await main();
