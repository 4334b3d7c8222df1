// What bench/daemon.ts's goals leave room for on this machine (issue 10): a bare node:http server answering the same
// kind of body over a Unix socket, and copies of it that first spin for a fixed number of microseconds per request —
// a stand-in for work a credential server must add (peer and token checks, revocation read, policy, decision line).
// Same run, rounds alternating, autocannon with 10 keep-alive connections as in bench/daemon.ts. On a machine whose
// client and server share two cores, each µs of server work costs more than a µs of throughput (the client waits,
// the kernel wakes it), so this prints the throughput and the server CPU per request against how much was added.
//
// BENCH_ROUNDS (default 3), BENCH_DURATION seconds per run (default 3), BENCH_ADDED_US (default "0,2,5,10,20").
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { cpuMs, median, startBareServer } from './_daemons.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
const ADDED = (process.env.BENCH_ADDED_US ?? '0,2,5,10,20').split(',').map(Number);
const BODY = JSON.stringify({
  AccessKeyId: 'ASIAXXXXXXXXXXXXXXXX',
  SecretAccessKey: 'x'.repeat(40),
  Token: 't'.repeat(700),
  Expiration: '2026-12-06T12:00:00Z',
});

const dir = mkdtempSync(join(tmpdir(), 'sentinel-headroom-'));
const servers: { added: number; socketPath: string; child: ChildProcess }[] = [];
try {
  for (const added of ADDED) {
    const socketPath = join(dir, `${added}.sock`);
    const child = await startBareServer(BODY, socketPath, added);
    servers.push({ added, socketPath, child });
  }
  const results = new Map(servers.map((s) => [s, [] as { rps: number; cpu: number }[]]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...servers].reverse() : servers;
    for (const s of order) {
      const cpu0 = cpuMs(s.child.pid!);
      const r = await autocannon({
        url: 'http://localhost/v1/credentials',
        socketPath: s.socketPath,
        connections: 10,
        duration: DURATION_S,
      });
      results.get(s)!.push({ rps: r.requests.average, cpu: ((cpuMs(s.child.pid!) - cpu0) * 1000) / r.requests.total });
    }
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
  const bare = servers[0]!;
  console.log(`\nbare node:http plus N µs of work per request, ${ROUNDS} rounds of ${DURATION_S}s, medians per round:`);
  console.log('added µs   req/s   throughput vs bare   server CPU µs/req   CPU vs bare');
  for (const s of servers) {
    const rs = results.get(s)!;
    const base = results.get(bare)!;
    const tput = median(rs.map((r, i) => r.rps / base[i]!.rps));
    const cpu = median(rs.map((r, i) => r.cpu / base[i]!.cpu));
    console.log(
      `${String(s.added).padStart(9)}   ${median(rs.map((r) => r.rps))
        .toFixed(0)
        .padStart(6)}   ${(100 * tput).toFixed(0).padStart(17)} %   ${median(rs.map((r) => r.cpu))
        .toFixed(1)
        .padStart(17)}   ${cpu.toFixed(2).padStart(10)}×`,
    );
  }
} finally {
  for (const s of servers) s.child.kill();
  rmSync(dir, { recursive: true, force: true });
}
