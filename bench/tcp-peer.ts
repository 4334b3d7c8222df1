// What it costs to learn who owns a loopback TCP connection (DESIGN §3.1), paid once per connection on the daemon's
// main thread: the kernel's lookup (sock_diag, tcpPeerUid) against the /proc/net/tcp scan it falls back to where the
// kernel cannot be asked (procTcpPeerUid, capped at 4 MiB). Measured on this machine's table as it is, then — as root,
// in a network namespace of the bench's own, so that nothing else on the machine sees it — on an empty table and on
// one padded with TIME_WAIT sockets as any local user can pad it (test/support/socket-table.ts).
//
// BENCH_PADDING connections to open and close (default 40000).
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { procTcpPeerUid, tcpPeerUid } from '../daemon/server/tcp-peer.js';
import { median } from './_daemons.js';
import {
  inOwnNetworkNamespace,
  ownNetworkNamespace,
  padWithTimeWait,
  procNetTcpBytes,
} from '../test/support/socket-table.js';

const PADDING = Number(process.env.BENCH_PADDING ?? 40_000);

/** Median µs per call over `rounds` rounds of `calls` calls each. */
function microseconds(f: () => unknown, calls: number, rounds = 5): number {
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    perRound.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  return median(perRound);
}

async function measure(table: string): Promise<void> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [socket] = (await accepted) as [net.Socket];
  await once(client, 'connect').catch(() => undefined);
  const kernelUid = tcpPeerUid(socket);
  const scanUid = procTcpPeerUid(socket);
  const kernel = microseconds(() => tcpPeerUid(socket), 2000);
  const scan = microseconds(() => procTcpPeerUid(socket), 10);
  const bytes = procNetTcpBytes();
  console.log(
    `${table.padEnd(26)} ${(bytes / 1e6).toFixed(2).padStart(7)} MB   ${kernel.toFixed(1).padStart(7)} µs (uid ${kernelUid})` +
      `   ${(scan / 1000).toFixed(2).padStart(7)} ms (${scanUid === null ? 'not found' : `uid ${scanUid}`})`,
  );
  client.destroy();
  socket.destroy();
  await new Promise((resolve) => server.close(resolve));
}

if (!inOwnNetworkNamespace()) {
  console.log('one lookup of a loopback connection, median of 5 rounds:');
  console.log('table                      /proc/net/tcp   kernel (sock_diag)     /proc scan (4 MiB cap)');
  await measure("this machine's");
  if (process.getuid?.() !== 0) {
    console.log('(the padded table needs root: a network namespace of its own, so that nothing else sees it)');
  } else {
    const { command, args, env } = ownNetworkNamespace(fileURLToPath(import.meta.url));
    const r = spawnSync(command, args, { env, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
} else {
  await measure('own namespace, empty');
  const ms = await padWithTimeWait(PADDING);
  await measure(`padded (${PADDING} in ${(ms / 1000).toFixed(1)} s)`);
}
