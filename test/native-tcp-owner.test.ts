// tcpConnectionOwner (native/src/sentinel.cc): the kernel's answer, through NETLINK_SOCK_DIAG, to "which uid owns the
// client end of this TCP connection", on real sockets of this kernel — IPv4, IPv6, IPv4 seen by a dual-stack listener,
// a client of another uid — and its refusals: a tuple nobody has, a listening socket, a TIME_WAIT socket, and
// arguments that name no TCP end.
import t from 'tap';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type net from 'node:net';
import { clientRowKeys, parseProcNetTcpLine } from '../daemon/server/tcp-peer.js';
import { tcpConnectionOwner, tcpConnectionOwnerSupported } from '../native/index.js';
import { isRoot, NEEDS_ROOT } from './support/as-user.js';
import { connectAsUser, connectPair, tcpServer } from './support/tcp-server.js';

const ourUid = process.geteuid!();
/** A second real user of the test machine (`cloudsdk`); 65534 is tried by test/tcp-peer.test.ts. */
const OTHER_UID = 1000;
const TCP_TIME_WAIT = 0x06;

/** The kernel's answer for the client end of a connection our server accepted. */
const ownerOf = (socket: net.Socket) =>
  tcpConnectionOwner(socket.remoteAddress!, socket.remotePort!, socket.localAddress!, socket.localPort!);

t.test('this kernel answers TCP sock_diag requests', async (t) => {
  t.equal(
    tcpConnectionOwnerSupported(),
    true,
    'the kernel (or a sandbox around the tests) offers no NETLINK_SOCK_DIAG with inet_diag/tcp_diag: the daemon would ' +
      'fall back to the /proc scan, which a padded socket table defeats (docs/internals-native.md)',
  );
});

for (const [serverHost, clientHost, clientFamily] of [
  ['127.0.0.1', '127.0.0.1', 'IPv4'],
  ['::1', '::1', 'IPv6'],
  ['::', '127.0.0.1', 'IPv4'], // the server sees ::ffff:127.0.0.1 on both ends; the client's socket is AF_INET
  ['::', '::ffff:127.0.0.1', 'IPv6'], // the same addresses, but the client's socket is AF_INET6
] as const) {
  t.test(`server on ${serverHost}, ${clientFamily} client to ${clientHost}: the client's uid`, async (t) => {
    const listening = await tcpServer(t, serverHost);
    const { client, socket } = await connectPair(t, listening, clientHost);
    t.equal(client.remoteFamily, clientFamily, 'the client socket is of the family under test');
    t.equal(ownerOf(socket), ourUid);
    t.equal(
      tcpConnectionOwner(
        socket.remoteAddress!,
        socket.remotePort! === 65535 ? 1 : socket.remotePort! + 1,
        socket.localAddress!,
        socket.localPort!,
      ),
      'not-found',
      'a client port nobody connected from',
    );
    t.equal(
      tcpConnectionOwner(
        socket.localAddress!,
        socket.localPort!,
        socket.remoteAddress!,
        socket.remotePort! === 1 ? 2 : 1,
      ),
      'not-found',
      "the listener's own address and port as the client end: the kernel's lookup falls back to the listening socket, which is not an answer",
    );

    const tuple = [socket.remoteAddress!, socket.remotePort!, socket.localAddress!, socket.localPort!] as const;
    const closed = once(socket, 'close');
    client.destroy(); // the client closes first, so its socket lingers in TIME_WAIT, under the same 4-tuple
    await closed;
    t.equal(clientRowState(...tuple), TCP_TIME_WAIT, "the client's socket is in TIME_WAIT (/proc/net says so)");
    t.equal(tcpConnectionOwner(...tuple), 'not-found', 'which the kernel reports with uid 0: not an answer either');
  });
}

t.test(`a client running as uid ${OTHER_UID} is reported as ${OTHER_UID}`, async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  for (const serverHost of ['127.0.0.1', '::', '::1']) {
    const listening = await tcpServer(t, serverHost);
    const clientHost = serverHost === '::1' ? '::1' : '127.0.0.1';
    const { socket, done } = await connectAsUser(t, OTHER_UID, listening, clientHost);
    t.equal(ownerOf(socket), OTHER_UID, `server on ${serverHost}, client to ${clientHost}`);
    const { code, stderr } = await done();
    t.equal(code, 0, `the client exited cleanly ${stderr}`);
  }
});

t.test('tuples nobody has are not found', async (t) => {
  const { port } = await tcpServer(t, '127.0.0.1');
  t.equal(tcpConnectionOwner('127.0.0.1', 1, '127.0.0.1', port), 'not-found', 'IPv4');
  t.equal(tcpConnectionOwner('::1', 1, '::1', port), 'not-found', 'IPv6');
  t.equal(tcpConnectionOwner('::ffff:127.0.0.1', 1, '::ffff:127.0.0.1', port), 'not-found', 'mapped');
  t.equal(tcpConnectionOwner('0.0.0.0', 65535, '255.255.255.255', 65535), 'not-found', 'addresses no socket has');
  t.equal(tcpConnectionOwner('::', 1, '::', 1), 'not-found');
  t.equal(tcpConnectionOwner('2001:db8::1', 40000, '2001:db8::2', 443), 'not-found', 'a network we are not on');
});

t.test('arguments that name no TCP end are a TypeError, never a crash or a guess', async (t) => {
  const ok = ['127.0.0.1', 40000, '127.0.0.1', 8080] as const;
  const cases: Array<[string, unknown[]]> = [
    ['no arguments', []],
    ['three arguments', ['127.0.0.1', 40000, '127.0.0.1']],
    ['client address a number', [0x7f000001, 40000, '127.0.0.1', 8080]],
    ['server address null', ['127.0.0.1', 40000, null, 8080]],
    ['address an object', [{ toString: () => '127.0.0.1' }, 40000, '127.0.0.1', 8080]],
    ['address empty', ['', 40000, '127.0.0.1', 8080]],
    ['host name', ['localhost', 40000, '127.0.0.1', 8080]],
    ['three octets', ['127.0.1', 40000, '127.0.0.1', 8080]],
    ['octet out of range', ['127.0.0.256', 40000, '127.0.0.1', 8080]],
    ['address with a port', ['127.0.0.1:80', 40000, '127.0.0.1', 8080]],
    ['address with spaces', [' 127.0.0.1', 40000, '127.0.0.1', 8080]],
    ['address with a NUL and more', ['127.0.0.1\0.5', 40000, '127.0.0.1', 8080]],
    ['IPv6 with a zone id', ['fe80::1%lo', 40000, 'fe80::2%lo', 8080]],
    ['IPv6 malformed', ['1::2::3', 40000, '::1', 8080]],
    ['IPv6 too long', ['1:2:3:4:5:6:7:8:9', 40000, '::1', 8080]],
    ['a megabyte of address', ['1'.repeat(1 << 20), 40000, '127.0.0.1', 8080]],
    ['families mixed (IPv4 and mapped)', ['127.0.0.1', 40000, '::ffff:127.0.0.1', 8080]],
    ['families mixed (IPv4 and IPv6)', ['127.0.0.1', 40000, '::1', 8080]],
    ['port a string', ['127.0.0.1', '40000', '127.0.0.1', 8080]],
    ['port a bigint', ['127.0.0.1', 40000n, '127.0.0.1', 8080]],
    ['port 0', ['127.0.0.1', 0, '127.0.0.1', 8080]],
    ['port negative', ['127.0.0.1', -1, '127.0.0.1', 8080]],
    ['port 65536', ['127.0.0.1', 65536, '127.0.0.1', 8080]],
    ['port that wraps to 80 in 16 bits', ['127.0.0.1', 65536 + 80, '127.0.0.1', 8080]],
    ['port 2^32 + 80', ['127.0.0.1', 2 ** 32 + 80, '127.0.0.1', 8080]],
    ['port fractional', ['127.0.0.1', 40000.5, '127.0.0.1', 8080]],
    ['port NaN', ['127.0.0.1', NaN, '127.0.0.1', 8080]],
    ['port Infinity', ['127.0.0.1', 40000, '127.0.0.1', Infinity]],
  ];
  const call = tcpConnectionOwner as (...args: unknown[]) => unknown;
  for (const [name, args] of cases) {
    t.throws(() => call(...args), { name: 'TypeError', code: /^ERR_INVALID_ARG_(TYPE|VALUE)$/ }, name);
  }
  t.equal(call(...ok, 'ignored', {}), 'not-found', 'extra arguments are ignored');
  t.equal(tcpConnectionOwner(...ok), 'not-found', 'and the addon still answers');
});

t.test('one socket per lookup, closed every time: no descriptor is left behind', async (t) => {
  const { socket } = await connectPair(t, await tcpServer(t, '127.0.0.1'), '127.0.0.1');
  const before = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 2000; i++) {
    if (ownerOf(socket) !== ourUid) return t.fail(`lookup ${i} answered something else`);
    if (tcpConnectionOwner('127.0.0.1', 1, '127.0.0.1', 1) !== 'not-found') return t.fail(`miss ${i}`);
  }
  t.equal(readdirSync('/proc/self/fd').length, before, 'as many open descriptors as before 4,000 lookups');
});

/** The state of the client's socket as /proc/net/tcp{,6} lists it (null when it has no row). */
function clientRowState(clientAddress: string, clientPort: number, serverAddress: string, serverPort: number) {
  const ends = {
    remoteAddress: clientAddress,
    remotePort: clientPort,
    localAddress: serverAddress,
    localPort: serverPort,
  };
  for (const key of clientRowKeys(ends)) {
    for (const text of readFileSync(`/proc/net/${key.table}`, 'latin1').split('\n')) {
      const row = parseProcNetTcpLine(text);
      if (
        row &&
        row.localAddress === key.localAddress &&
        row.localPort === key.localPort &&
        row.remoteAddress === key.remoteAddress &&
        row.remotePort === key.remotePort
      ) {
        return row.state;
      }
    }
  }
  return null;
}
