// The server-side vendor's bundle and handler (issue 16), as ratios against baselines measured in the same run:
//  - the bundle's size (raw and gzip, what Lambda unpacks) after `npm run build:lambda`;
//  - cold start proxy: a fresh `node` importing dist/lambda/handler.mjs, and importing it and answering a first
//    GET /v1/status (config, policy load, clients), against `node -e 0` (medians of alternating runs);
//  - warm handler invocations per second in-process: GET /v1/status (no I/O), and GET /v1/credentials?profile= on a
//    cached implicit session (one consistent GetItem and one touch against dynalite) against the same two DynamoDB
//    calls made bare with the SDK.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { restEvent } from '../test/support/api-gateway-events.js';
import { SESSIONS_TABLE, startVendor } from '../test/support/vendor.js';

const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'lambda', 'handler.mjs');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 1. Build and size.
const started = performance.now();
execFileSync(process.execPath, [join(root, 'scripts', 'build-lambda.mjs')], { stdio: 'ignore' });
const buildMs = performance.now() - started;
const bytes = statSync(bundle).size;
const gz = gzipSync(readFileSync(bundle)).length;
console.log(
  `bundle           ${(bytes / 1024).toFixed(0)} KiB (gzip ${(gz / 1024).toFixed(0)} KiB), built in ${(buildMs / 1000).toFixed(1)} s`,
);

// 2. Cold start proxy.
const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
try {
  const v = await startVendor(t);
  const statusEvent = JSON.stringify(
    restEvent({ method: 'GET', path: '/v1/status', callerArn: 'arn:aws:iam::111122223333:user/alice' }),
  );
  const childEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...v.env,
    EVENT: statusEvent,
  };
  const wall = (args: string[]) => {
    const s = performance.now();
    const r = spawnSync(process.execPath, args, { env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`child exited ${r.status}`);
    return performance.now() - s;
  };
  const importOnly = ['--input-type=module', '-e', `await import(${JSON.stringify(bundle)})`];
  const firstRequest = [
    '--input-type=module',
    '-e',
    `const { handler } = await import(${JSON.stringify(bundle)}); const r = await handler(JSON.parse(process.env.EVENT)); if (r.statusCode !== 200) process.exit(1);`,
  ];
  const runs = { bare: [] as number[], imp: [] as number[], first: [] as number[] };
  wall(['-e', '0']);
  wall(importOnly);
  for (let i = 0; i < 9; i++) {
    runs.bare.push(wall(['-e', '0']));
    runs.imp.push(wall(importOnly));
    runs.first.push(wall(firstRequest));
  }
  const [bare, imp, first] = [median(runs.bare), median(runs.imp), median(runs.first)];
  console.log(`node -e 0        ${bare.toFixed(0)} ms (median of 9)`);
  console.log(
    `import bundle    ${imp.toFixed(0)} ms   ratio ${(imp / bare).toFixed(2)}   (+${(imp - bare).toFixed(0)} ms)`,
  );
  console.log(
    `+ first request  ${first.toFixed(0)} ms   ratio ${(first / bare).toFixed(2)}   (+${(first - bare).toFixed(0)} ms; GET /v1/status: config, policy, clients)`,
  );

  // 3. Warm invocations in-process.
  const alice = 'arn:aws:iam::111122223333:user/alice';
  const status = restEvent({ method: 'GET', path: '/v1/status', callerArn: alice });
  const creds = restEvent({ method: 'GET', path: '/v1/credentials?profile=dev', callerArn: alice });
  const first200 = await v.handler(creds as never);
  if (first200.statusCode !== 200) throw new Error(`credentials: ${first200.body}`);
  const sessionId = v.decisions.at(-1)!.session_id!;
  const perSecond = async (fn: () => Promise<unknown>, ms: number) => {
    for (let i = 0; i < 50; i++) await fn();
    let n = 0;
    const s = performance.now();
    while (performance.now() - s < ms) {
      await fn();
      n++;
    }
    return n / ((performance.now() - s) / 1000);
  };
  const key = { id: { S: sessionId } };
  const bareCalls = async () => {
    await v.client.send(new GetItemCommand({ TableName: SESSIONS_TABLE, Key: key, ConsistentRead: true }));
    await v.client.send(
      new UpdateItemCommand({
        TableName: SESSIONS_TABLE,
        Key: key,
        UpdateExpression: 'SET request_count = request_count + :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
  };
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < 5; i++) {
    a.push(await perSecond(() => v.handler(status as never), 300));
    b.push(await perSecond(() => v.handler(creds as never), 300));
    c.push(await perSecond(bareCalls, 300));
  }
  v.decisions.length = 0;
  console.log(`warm /v1/status  ${fmt(median(a))} invocations/s in-process (no I/O)`);
  console.log(
    `warm credentials ${fmt(median(b))} invocations/s   bare GetItem+UpdateItem ${fmt(median(c))}/s   ratio ${(median(b) / median(c)).toFixed(2)}`,
  );
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
