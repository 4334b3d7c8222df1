// The daemon as the SigV4 bridge to the vendor (issue 16, "Measure"): a credential fetch through the bridge
// (daemon → API Gateway stand-in with SigV4 verification → the Lambda handler on dynalite → STS emulator) against a
// direct one from a local daemon (memory store, STS emulator), same run, same transport (loopback TCP with the
// session token, one request at a time). Warm: the same session again (the vendor's or the daemon's credential cache
// answers); cold: the first fetch of a new session (an AssumeRole behind it). Medians of alternating rounds.
//
// BENCH_ROUNDS (default 5) rounds of BENCH_WARM (default 200) warm and BENCH_COLD (default 20) cold fetches each.
import { performance } from 'node:perf_hooks';
import { ALICE, startBridge } from '../test/support/bridge.js';
import { startDaemon, type DaemonHarness } from '../test/support/daemon.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARM = Number(process.env.BENCH_WARM ?? 200);
const COLD = Number(process.env.BENCH_COLD ?? 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };

async function fetchOnce(d: DaemonHarness, token: string): Promise<void> {
  const r = await d.fetch({ transport: 'tcp', path: '/v1/credentials', token });
  if (r.status !== 200) throw new Error(`credential fetch answered ${r.status}: ${r.text.slice(0, 200)}`);
}

/** Mean µs per warm fetch of one open session. */
async function warm(d: DaemonHarness, token: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < WARM; i++) await fetchOnce(d, token);
  return ((performance.now() - start) * 1000) / WARM;
}

/** Mean µs of the first fetch of a new session (the session's open is not timed). */
async function cold(d: DaemonHarness): Promise<number> {
  let total = 0;
  for (let i = 0; i < COLD; i++) {
    const s = await d.openSession('dev');
    const start = performance.now();
    await fetchOnce(d, s.token);
    total += performance.now() - start;
    await d.client.delete(`/v1/sessions/${s.id}`);
  }
  return (total * 1000) / COLD;
}

try {
  process.env.SENTINEL_LOG_LEVEL = 'silent';
  const bridge = await startBridge(t, { daemon: { env: { SENTINEL_LOG_LEVEL: 'silent' } } });
  // The direct daemon shares the STS emulator, and with it the same AWS settings in process.env.
  const direct = await startDaemon(t, { sts: bridge.vendor.sts, env: { SENTINEL_LOG_LEVEL: 'silent' } });
  // startDaemon registers the user's key without its secret; the stand-in needs it to verify signatures.
  bridge.vendor.sts.setIdentity(ALICE.accessKeyId, ALICE.arn, ALICE.secretAccessKey);
  const bridged = bridge.daemon;
  const [bs, ds] = [await bridged.openSession('dev'), await direct.openSession('dev')];
  await fetchOnce(bridged, bs.token);
  await fetchOnce(direct, ds.token);
  const rows = {
    bridgeWarm: [] as number[],
    directWarm: [] as number[],
    bridgeCold: [] as number[],
    directCold: [] as number[],
  };
  for (let r = 0; r < ROUNDS; r++) {
    rows.bridgeWarm.push(await warm(bridged, bs.token));
    rows.directWarm.push(await warm(direct, ds.token));
    rows.bridgeCold.push(await cold(bridged));
    rows.directCold.push(await cold(direct));
  }
  const us = (xs: number[]) => `${Math.round(median(xs)).toLocaleString('en-US')} µs`;
  const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!)).toFixed(1);
  console.log(`credential fetch over loopback TCP, one at a time; median of ${ROUNDS} rounds`);
  console.log(
    `  warm (cached credentials, ${WARM} fetches/round)   direct ${us(rows.directWarm)}   bridge ${us(rows.bridgeWarm)}   bridge/direct ×${ratio(rows.bridgeWarm, rows.directWarm)}`,
  );
  console.log(
    `  cold (first fetch of a session, ${COLD}/round)     direct ${us(rows.directCold)}   bridge ${us(rows.bridgeCold)}   bridge/direct ×${ratio(rows.bridgeCold, rows.directCold)}`,
  );
  console.log(
    `  bridge cold/warm ×${ratio(rows.bridgeCold, rows.bridgeWarm)}; stand-in requests verified: ${bridge.gw.events.length}, refused: ${JSON.stringify(bridge.gw.refused)}`,
  );
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
