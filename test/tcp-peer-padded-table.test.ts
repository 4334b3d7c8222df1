// The attack that locked a daemon's owner out of its TCP endpoint (found by attacking a running daemon as a second
// local user): another user opens and closes tens of thousands of loopback connections of her own; their TIME_WAIT
// rows push the owner's row in /proc/net/tcp past the 4 MiB the scan reads, and every fetch over TCP whose row lands
// there is refused, for as long as she keeps it up. The kernel's lookup (sock_diag) does not read the table: the owner
// is served on the very connection the scan alone refuses.
// The test runs itself again in a network namespace of its own: the padding outlives it by a minute and would refuse
// the TCP peers of every other process on the machine (other tests running beside it included).
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_BYTES, procTcpPeerUid, tcpPeerUid, type TcpEnds } from '../daemon/server/tcp-peer.js';
import { peerOf, tcpConnectionOwnerSupported } from '../native/index.js';
import { isRoot } from './support/as-user.js';
import { startDaemon } from './support/daemon.js';
import {
  inOwnNetworkNamespace,
  ownNetworkNamespace,
  padWithTimeWait,
  procNetTcpBytes,
} from './support/socket-table.js';

const ourUid = process.geteuid!();
/** About 37,000 TIME_WAIT rows of 150 bytes: the scan's 4 MiB and a quarter more, so that about one connection in
 * five has its row past the cap. */
const PADDING = 40_000;

if (!inOwnNetworkNamespace()) {
  t.test('in a network namespace of its own', async (t) => {
    if (!isRoot()) {
      return t.fail('this test must run as root: it pads the TCP table of a network namespace it creates (unshare)');
    }
    const { command, args, env } = ownNetworkNamespace(fileURLToPath(import.meta.url));
    await t.spawn(command, args, { env }, 'padded table, own network namespace');
  });
} else {
  t.test('this kernel answers sock_diag (the fix depends on it)', async (t) => {
    t.equal(
      tcpConnectionOwnerSupported(),
      true,
      'no TCP sock_diag here: the daemon would fall back to the /proc scan, which the padding below defeats',
    );
  });

  t.test('a table padded past 4 MiB: the owner is served over TCP; the /proc scan alone refuses her', async (t) => {
    const ms = await padWithTimeWait(PADDING);
    const bytes = procNetTcpBytes();
    t.comment(`${PADDING} connections opened and closed in ${ms} ms: /proc/net/tcp is ${bytes} bytes`);
    t.ok(
      bytes > DEFAULT_MAX_BYTES * 1.2,
      `the table (${bytes} bytes) is well past the scan's cap (${DEFAULT_MAX_BYTES})`,
    );

    const fixed = await startDaemon(t);
    const scanOnly = await startDaemon(t, {
      parts: { peers: { peerOf, tcpPeerUid: (s) => procTcpPeerUid(s), tcpPeerMethod: () => 'proc' } },
    });
    t.equal((await fixed.client.get<any>('/v1/status')).listeners.tcp.peer_lookup, 'sock_diag');

    for (const [d, expected] of [
      [fixed, 200],
      [scanOnly, 403],
    ] as const) {
      const session = await d.openSession('dev');
      const { socket, ends, tries } = await connectionHiddenFromScan(d.port);
      t.comment(`a connection whose row lies past the cap found in ${tries} tries`);
      t.equal(procTcpPeerUid(ends), null, "the scan misses this connection's row: it lies past 4 MiB");
      t.equal(tcpPeerUid(ends), ourUid, 'the kernel finds its owner all the same');
      const answer = await fetchOn(socket, d.port, session.token);
      if (expected === 200) {
        t.equal(answer.status, 200, 'the daemon (kernel lookup) serves its owner on that very connection');
        t.ok(answer.json?.AccessKeyId, 'with credentials');
      } else {
        t.equal(answer.status, 403, 'a daemon with the scan alone refuses its owner: the lock-out this fixes');
        t.equal(answer.json?.Code, 'PeerNotAllowed');
        t.match(d.logs(), /"event":"peer_unreadable","transport":"tcp"/);
      }
    }
    for (let i = 0; i < 20; i++) {
      const session = await fixed.openSession('dev');
      const r = await fixed.fetch({ transport: 'tcp', token: session.token });
      if (r.status !== 200) return t.fail(`fetch ${i} over TCP: ${r.status} ${r.text}`);
    }
    t.pass('20 more fetches over fresh TCP connections: all served');

    const { socket, ends } = await connectionHiddenFromScan(fixed.port);
    const cost = (f: () => unknown, n: number) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) f();
      return Number(process.hrtime.bigint() - start) / 1e3 / n;
    };
    const kernel = cost(() => tcpPeerUid(ends), 2000);
    const scan = cost(() => procTcpPeerUid(ends), 10);
    t.comment(`one lookup in this table: kernel ${kernel.toFixed(1)} µs, /proc scan ${(scan / 1000).toFixed(1)} ms`);
    socket.destroy();
  });
}

/**
 * A fresh connection to `port` whose client row lies past the scan's cap: its ends as the daemon sees them, and the
 * client socket to send a request on. Where a row lands in /proc/net/tcp is set by the hash of its 4-tuple (the
 * kernel's bucket order; consecutive client ports land in consecutive buckets), so each try connects from another
 * address of 127.0.0.0/8, which moves the row to a random place in the table.
 */
async function connectionHiddenFromScan(port: number) {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  for (let tries = 1; tries <= 60; tries++) {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.${byte()}.${byte()}.${byte()}` });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const ends: TcpEnds = {
      localAddress: socket.remoteAddress,
      localPort: socket.remotePort,
      remoteAddress: socket.localAddress,
      remotePort: socket.localPort,
    };
    if (procTcpPeerUid(ends) === null && procTcpPeerUid(ends, { maxBytes: 1 << 30 }) === ourUid) {
      return { socket, ends, tries };
    }
    socket.destroy();
  }
  throw new Error('60 connections, and the row of every one lay within the first 4 MiB: is the table padded?');
}

/** GET /v1/credentials on an open connection (the one whose row the scan misses). */
function fetchOn(socket: net.Socket, port: number, token: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/credentials',
        headers: { authorization: token },
        createConnection: () => socket,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
          socket.destroy();
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
