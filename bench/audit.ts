// Decision-log forwarding must not slow the credential path (issue 15, "Measure"): warm credential fetches from a
// daemon that forwards its decision log to CloudWatch Logs (the logs emulator on loopback) against the same daemon
// set-up without forwarding, same run, same transport (Unix socket, autocannon, 10 connections). Rounds alternate
// which daemon goes first, and the report is the median of the per-round ratios. Goal: forwarding on within 5 % of
// forwarding off.
//
// Needs dist/ (`npm run build`). BENCH_ROUNDS (default 5), BENCH_DURATION seconds per run (default 3).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BASE_ACCESS_KEY, BASE_ARN } from '../test/support/daemon.js';
import { startSts } from '../test/support/sts-emulator.js';
import {
  CONNECTIONS,
  DURATION_S,
  ROUNDS,
  compareRounds,
  requestsPerSecond,
  startBenchDaemon,
  stopAll,
} from './_daemons.js';

const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
// The emulator runs in a child process: see bench/_logs-process.ts.
const logs = spawn(
  process.execPath,
  ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), '_logs-process.ts')],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const answers = createInterface({ input: logs.stdout! })[Symbol.asyncIterator]();
const answer = async () => String((await answers.next()).value ?? '');
const logsUrl = await answer();
try {
  const off = await startBenchDaemon(sts.url);
  const on = await startBenchDaemon(sts.url, {
    config:
      'aws_profile: base\naudit:\n  cloudwatch: { log_group: bench-sentinel, log_stream: bench, region: us-east-1 }\n',
    env: { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logsUrl },
  });
  const [offToken, onToken] = [await off.open('dev'), await on.open('dev')];
  const ratio = await compareRounds(
    ['forwarding on', 'off'],
    () => requestsPerSecond(on.socketPath, onToken),
    () => requestsPerSecond(off.socketPath, offToken),
  );
  await new Promise((r) => setTimeout(r, 3000));
  logs.stdin!.write('count bench-sentinel bench\n');
  const forwarded = Number(await answer());
  console.log(
    `\nwarm GET /v1/credentials over the Unix socket, ${ROUNDS} rounds of ${DURATION_S}s (autocannon, ${CONNECTIONS} connection(s)):`,
  );
  console.log(`forwarding on / off, median of the per-round ratios: ${(100 * ratio).toFixed(1)} %`);
  console.log(`decision-log lines the forwarder had delivered to the emulator 3 s after the last round: ${forwarded}`);
} finally {
  await stopAll();
  logs.stdin!.end();
  await new Promise((r) => (logs.exitCode !== null ? r(null) : logs.once('exit', r)));
  await sts.close();
}
