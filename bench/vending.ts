// Vending and decision-log costs, as ratios against baselines measured in the same run:
//  - a cache hit of vendor.credentials() against an async Map lookup returning the same shape;
//  - 500 concurrent misses of one session (single flight) against one bare SDK AssumeRole to the same emulator;
//  - decision-log lines per second, plain and HMAC-signed, against JSON.stringify of the same entry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { resolveConfig } from '../core/config.js';
import { silentLogger } from '../core/log.js';
import { createVendor } from '../daemon/vending/vendor.js';
import { createDecisionLog } from '../core/audit/decision-log.js';
import type { DecisionEntry } from '../core/audit/types.js';
import { awsEnv, writeAwsConfig } from '../test/support/aws-env.js';
import { startSts } from '../test/support/sts-emulator.js';
import { writeFileSync } from 'node:fs';

const KEY = 'AKIAEXAMPLEBENCH0001';
const SECRET = 'benchSecret00000000000000000000000000001';
const ROLE = 'arn:aws:iam::111122223333:role/bench';

async function opsPerSecond(fn: () => Promise<unknown> | unknown, ms = 1000): Promise<number> {
  for (let i = 0; i < 2000; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 500; i++) await fn();
    n += 500;
  }
  return n / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Subject and baseline measured in alternating slices, medians compared: a busy shared machine skews both alike. */
async function compare(
  subject: () => Promise<unknown> | unknown,
  baseline: () => Promise<unknown> | unknown,
): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 7; i++) {
    a.push(await opsPerSecond(subject, 200));
    b.push(await opsPerSecond(baseline, 200));
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return [median(a), median(b)];
}

const dir = mkdtempSync(join(tmpdir(), 'sentinel-bench-'));
const sts = await startSts({ identities: { [KEY]: 'arn:aws:iam::111122223333:user/alice' } });
try {
  const files = writeAwsConfig(dir, {
    config: `[profile base]\n[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`,
    credentials: `[base]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n`,
  });
  Object.assign(process.env, awsEnv({ sts: sts.url }), {
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
  });
  const vendor = createVendor(resolveConfig({}, 'bench.yaml', { HOME: dir }), { log: silentLogger() });
  const req = {
    sessionId: '00000000000bec40',
    requestId: '0123456789abcdef',
    profile: 'prod',
    user: 'alice',
    marker: 'direct' as const,
    durationSeconds: 900,
  };

  // 1. Cache hit.
  const first = await vendor.credentials(req);
  const map = new Map([['bench', { ...first, fromCache: false }]]);
  const [hit, bare] = await compare(
    () => vendor.credentials(req),
    async () => ({ ...map.get('bench')!, fromCache: true }),
  );
  console.log(
    `cache hit        ${fmt(hit)} ops/s   bare async Map lookup ${fmt(bare)} ops/s   ratio ${(hit / bare).toFixed(2)}`,
  );

  // 2. Single flight under a crowd vs one bare call.
  const client = new STSClient({ region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  const rounds = 20;
  let bareMs = 0;
  let crowdMs = 0;
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    await client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: `bench-${i}`, DurationSeconds: 900 }));
    bareMs += performance.now() - t0;
    vendor.forget(req.sessionId);
    t0 = performance.now();
    await Promise.all(Array.from({ length: 500 }, () => vendor.credentials(req)));
    crowdMs += performance.now() - t0;
  }
  console.log(
    `500 misses       ${(crowdMs / rounds).toFixed(2)} ms   one bare AssumeRole ${(bareMs / rounds).toFixed(2)} ms   ratio ${(crowdMs / bareMs).toFixed(2)}` +
      `   (AssumeRole calls by the vendor: ${sts.assumeRoleRequests.filter((r) => r.RoleSessionName.startsWith('sentinel-')).length} for ${rounds + 1} rounds)`,
  );
  client.destroy();
  vendor.close();

  // 3. Decision log.
  const entry: DecisionEntry = {
    timestamp: new Date().toISOString(),
    event: 'credentials',
    outcome: 'allow',
    user: 'alice',
    profile: 'prod',
    effect: 'allow',
    rule: 'oncall',
    rule_index: 0,
    reason: 'on-call may use prod',
    policy_source: 'file:/p.yaml',
    policy_version: 'abc123',
    mode: 'server',
    session_id: '0123456789abcdef',
    request_id: 'fedcba9876543210',
    source_identity: 'sentinel-alice-direct-fedcba9876543210',
    role_arn: ROLE,
    duration_seconds: 900,
    peer_pid: 1,
    peer_uid: 1000,
  };
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, 'k'.repeat(64), { mode: 0o600 });
  for (const [label, hmac] of [
    ['plain', null],
    ['signed', keyFile],
  ] as const) {
    const log = createDecisionLog(
      resolveConfig({ audit: { file: join(dir, `${label}.log`), hmac_key_file: hmac } }, 'bench.yaml', { HOME: dir }),
      { log: silentLogger() },
    );
    const [rate, stringify] = await compare(
      () => log.write(entry),
      () => JSON.stringify(entry),
    );
    await log.close();
    console.log(
      `decision log ${label.padEnd(6)} ${fmt(rate)} lines/s   JSON.stringify ${fmt(stringify)} /s   ratio ${(rate / stringify).toFixed(2)}`,
    );
  }
} finally {
  await sts.close();
  rmSync(dir, { recursive: true, force: true });
}
