import t from 'tap';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientRowKeys,
  DEFAULT_MAX_BYTES,
  encodeProcAddress,
  encodeProcPort,
  findRowUid,
  parseProcNetTcpLine,
  procTcpPeerUid,
  tcpPeerMethod,
  tcpPeerUid,
  type TcpEnds,
  type TcpPeerOptions,
} from '../daemon/server/tcp-peer.js';
import type { TcpConnectionOwner } from '../native/index.js';
import { isRoot, NEEDS_ROOT, NOBODY } from './support/as-user.js';
import { connectAsUser, connectPair, tcpServer } from './support/tcp-server.js';

const ourUid = process.geteuid!();

// Real lines captured from this kernel's /proc/net/tcp and tcp6 (header included), with the tuple edited.
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const line = (local: string, remote: string, state: string, uid: number, inode = 4242) =>
  `   7: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;

t.test('encodeProcAddress matches the kernel encoding (little-endian host)', async (t) => {
  t.equal(encodeProcAddress('127.0.0.1', 'tcp', 'LE'), '0100007F');
  t.equal(encodeProcAddress('10.1.2.3', 'tcp', 'LE'), '0302010A');
  t.equal(encodeProcAddress('::1', 'tcp6', 'LE'), '00000000000000000000000001000000');
  t.equal(encodeProcAddress('::ffff:127.0.0.1', 'tcp6', 'LE'), '0000000000000000FFFF00000100007F');
  t.equal(
    encodeProcAddress('::FFFF:7f00:1', 'tcp6', 'LE'),
    '0000000000000000FFFF00000100007F',
    'hex spelling of a mapped address',
  );
  t.equal(
    encodeProcAddress('127.0.0.1', 'tcp6', 'LE'),
    '0000000000000000FFFF00000100007F',
    'IPv4 in tcp6 is its mapped form',
  );
  t.equal(encodeProcAddress('::ffff:127.0.0.1', 'tcp', 'LE'), '0100007F', 'mapped address in tcp is plain IPv4');
  t.equal(encodeProcAddress('fe80::1%lo', 'tcp6', 'LE'), '000080FE000000000000000001000000', 'zone id dropped');
  t.equal(encodeProcAddress('2001:db8:0:0:1:2:3:4', 'tcp6', 'LE'), 'B80D0120000000000200010004000300');
  t.equal(encodeProcAddress('::', 'tcp6', 'LE'), '0'.repeat(32));
  t.equal(encodeProcAddress('::1', 'tcp', 'LE'), null, 'a real IPv6 address has no tcp row');
});

t.test('encodeProcAddress on a big-endian host prints bytes in order', async (t) => {
  t.equal(encodeProcAddress('127.0.0.1', 'tcp', 'BE'), '7F000001');
  t.equal(encodeProcAddress('::ffff:127.0.0.1', 'tcp6', 'BE'), '00000000000000000000FFFF7F000001');
});

t.test('encodeProcAddress refuses what is not an IP address', async (t) => {
  for (const bad of [
    '',
    'localhost',
    '1.2.3',
    '256.0.0.1',
    '127.0.0.1.5',
    ':::',
    '1::2::3',
    '::ffff:1.2.3.999',
    'g::1',
    '%lo',
  ]) {
    t.equal(encodeProcAddress(bad, 'tcp6', 'LE'), null, JSON.stringify(bad));
    t.equal(encodeProcAddress(bad, 'tcp', 'LE'), null, JSON.stringify(bad));
  }
});

t.test('encodeProcPort is %04X', async (t) => {
  t.equal(encodeProcPort(9911), '26B7');
  t.equal(encodeProcPort(1), '0001');
  t.equal(encodeProcPort(65535), 'FFFF');
});

t.test('parseProcNetTcpLine reads real rows and rejects garbage', async (t) => {
  t.same(parseProcNetTcpLine(line('0100007F:8CAC', '0100007F:B261', '01', 1000, 555)), {
    localAddress: '0100007F',
    localPort: 0x8cac,
    remoteAddress: '0100007F',
    remotePort: 0xb261,
    state: 1,
    uid: 1000,
    inode: 555,
  });
  const six = parseProcNetTcpLine(
    line('0000000000000000ffff00000100007f:0050', '0000000000000000FFFF00000100007F:C350', '0A', 0),
  );
  t.equal(six?.localAddress, '0000000000000000FFFF00000100007F', 'tcp6 row, upper-cased');
  t.equal(six?.state, 0x0a);
  const garbage = [
    HEADER,
    '',
    '   ',
    'garbage',
    '\u0000\u0001\u00ff binary junk',
    line('0100007F:8CAC', '0100007F', '01', 0), // no port
    line('0100007F:8CAC', '0100007F:B2610', '01', 0), // 5-digit port
    line('0100007G:8CAC', '0100007F:B261', '01', 0), // not hex
    line('0100007F:8CAC', '0000000000000000FFFF00000100007F:B261', '01', 0), // families mixed
    line('0100007F:8CAC', '0100007F:B261', '1', 0), // one-digit state
    line('0100007F:8CAC', '0100007F:B261', '01', 99999999999), // uid beyond 32 bits
    line('0100007F:8CAC', '0100007F:B261', '01', 0).replace(' 0        0 ', ' -1        0 '), // negative uid
    line('0100007F:8CAC', '0100007F:B261', '01', 0).replace('   7:', 'x7:'), // bad slot
    line('0100007F:8CAC', '0100007F:B261', '01', 0).split(' ').slice(0, 12).join(' '), // truncated
  ];
  for (const bad of garbage) t.equal(parseProcNetTcpLine(bad), null, JSON.stringify(bad.slice(0, 60)));
});

const ends: TcpEnds = { localAddress: '127.0.0.1', localPort: 0xb261, remoteAddress: '127.0.0.1', remotePort: 0x8cac };

t.test('clientRowKeys looks for the client row in both tables for IPv4, in tcp6 only for IPv6', async (t) => {
  t.same(clientRowKeys(ends, 'LE'), [
    { table: 'tcp', localAddress: '0100007F', localPort: 0x8cac, remoteAddress: '0100007F', remotePort: 0xb261 },
    {
      table: 'tcp6',
      localAddress: '0000000000000000FFFF00000100007F',
      localPort: 0x8cac,
      remoteAddress: '0000000000000000FFFF00000100007F',
      remotePort: 0xb261,
    },
  ]);
  const mapped = clientRowKeys({ ...ends, localAddress: '::ffff:127.0.0.1', remoteAddress: '::ffff:127.0.0.1' }, 'LE');
  t.same(
    mapped.map((k) => [k.table, k.localAddress]),
    [
      ['tcp', '0100007F'],
      ['tcp6', '0000000000000000FFFF00000100007F'],
    ],
  );
  const v6 = clientRowKeys({ ...ends, localAddress: '::1', remoteAddress: '::1' }, 'LE');
  t.same(
    v6.map((k) => k.table),
    ['tcp6'],
  );
  for (const bad of [
    {},
    { ...ends, remoteAddress: undefined },
    { ...ends, localPort: 0 },
    { ...ends, remotePort: 70000 },
    { ...ends, remotePort: 1.5 },
    { ...ends, remoteAddress: 'junk' },
  ]) {
    t.same(clientRowKeys(bad as TcpEnds, 'LE'), [], JSON.stringify(bad));
  }
});

t.test('findRowUid picks the established client row, not the server row or an old one', async (t) => {
  const key = clientRowKeys(ends, 'LE')[0]!;
  const server = line('0100007F:B261', '0100007F:8CAC', '01', 0); // our own accepted socket: reversed tuple
  const timeWait = line('0100007F:8CAC', '0100007F:B261', '06', 0); // an earlier connection on the same tuple
  const client = line('0100007F:8CAC', '0100007F:B261', '01', 1000);
  t.equal(findRowUid([HEADER, 'junk', server, timeWait, client], key), 1000);
  t.equal(findRowUid([HEADER, server, timeWait], key), null, 'no established client row');
  t.equal(findRowUid([client, client], key), 1000, 'a duplicated identical row is still one answer');
  t.equal(findRowUid([client, line('0100007F:8CAC', '0100007F:B261', '01', 0)], key), null, 'conflicting rows: refuse');
  t.equal(findRowUid([], key), null);
});

t.test('tcpPeerUid on crafted files: garbage, size cap, unreadable files never throw', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-procnet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = line('0100007F:8CAC', '0100007F:B261', '01', 1000);
  const junk = 'x'.repeat(149) + '\n';

  writeFileSync(join(dir, 'tcp'), [HEADER, 'garbage', '\u0000\u0007 binary', client, 'trailing junk'].join('\n'));
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }), 1000, 'row among garbage');

  writeFileSync(join(dir, 'tcp'), HEADER + '\n' + client); // no final newline
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }), 1000, 'last line without newline');

  writeFileSync(join(dir, 'tcp'), junk.repeat(100) + client + '\n');
  t.equal(
    procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE', maxBytes: 150 * 100 + client.length + 1 }),
    1000,
    'row inside the cap',
  );
  t.equal(
    procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE', maxBytes: 150 * 100 + client.length - 3 }),
    null,
    'row cut by the cap is not read half',
  );
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE', maxBytes: 150 * 50 }), null, 'row beyond the cap');

  writeFileSync(join(dir, 'tcp'), junk.repeat(Math.ceil(DEFAULT_MAX_BYTES / junk.length)) + client + '\n');
  t.equal(
    procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }),
    null,
    'a file past the default cap is read only up to it',
  );

  writeFileSync(join(dir, 'tcp'), 'z'.repeat(300_000) + '\n' + client + '\n');
  t.equal(
    procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }),
    1000,
    'an overlong line is skipped, the next row read',
  );
  writeFileSync(join(dir, 'tcp'), 'z'.repeat(300_000) + client + '\n');
  t.equal(
    procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }),
    null,
    'a row glued to an overlong line is not read',
  );
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE', maxBytes: 0 }), null, 'a zero cap reads nothing');
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE', maxBytes: NaN }), null, 'a NaN cap reads nothing');

  rmSync(join(dir, 'tcp'));
  mkdirSync(join(dir, 'tcp'));
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }), null, 'a directory where the file should be');

  writeFileSync(
    join(dir, 'tcp6'),
    line('0000000000000000FFFF00000100007F:8CAC', '0000000000000000FFFF00000100007F:B261', '01', 77) + '\n',
  );
  t.equal(
    procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }),
    77,
    'an IPv4 tuple also found as a mapped tcp6 row',
  );

  t.equal(procTcpPeerUid(ends, { procNetDir: join(dir, 'absent'), endianness: 'LE' }), null, 'missing files');

  writeFileSync(
    join(dir, 'tcp6'),
    line('00000000000000000000FFFF7F000001:8CAC', '00000000000000000000FFFF7F000001:B261', '01', 88) + '\n',
  );
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'BE' }), 88, 'big-endian encoding');
  t.equal(procTcpPeerUid(ends, { procNetDir: dir, endianness: 'LE' }), null, 'wrong byte order finds nothing');
});

t.test('tcpPeerUid asks the kernel first, and scans /proc only where the kernel cannot be asked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-procnet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tcp'), [HEADER, line('0100007F:8CAC', '0100007F:B261', '01', 1000)].join('\n') + '\n');
  const asked: unknown[][] = [];
  const withKernel = (answer: () => TcpConnectionOwner): TcpPeerOptions => ({
    procNetDir: dir,
    endianness: 'LE',
    kernelLookup: (...args) => {
      asked.push(args);
      return answer();
    },
  });
  const fail = (code: string) => () => {
    throw Object.assign(new Error(code), { code });
  };

  t.equal(
    tcpPeerUid(
      ends,
      withKernel(() => 4242),
    ),
    4242,
    "the kernel's uid, not the file's",
  );
  t.same(asked, [['127.0.0.1', 0x8cac, '127.0.0.1', 0xb261]], 'asked with the client end first, then ours');
  t.equal(
    tcpPeerUid(
      ends,
      withKernel(() => 'unsupported'),
    ),
    1000,
    'unsupported: the /proc row',
  );
  t.equal(
    tcpPeerUid(ends, withKernel(fail('ERR_NATIVE_MISSING'))),
    1000,
    'no addon is no kernel lookup: the /proc row',
  );
  t.equal(
    tcpPeerUid(
      ends,
      withKernel(() => 'not-found'),
    ),
    null,
    'not found is final: the /proc row (which whoever pads the table can hide) is not consulted',
  );
  t.throws(
    () => tcpPeerUid(ends, withKernel(fail('ERR_SOCK_DIAG'))),
    { code: 'ERR_SOCK_DIAG' },
    'a failed kernel lookup is thrown for the caller to refuse and log, never answered from /proc',
  );
  asked.length = 0;
  for (const bad of [{}, { ...ends, remotePort: 0 }, { ...ends, localAddress: undefined }]) {
    t.equal(
      tcpPeerUid(
        bad as TcpEnds,
        withKernel(() => 4242),
      ),
      null,
      JSON.stringify(bad),
    );
  }
  t.same(asked, [], 'a socket without a whole TCP tuple is not even asked about');
});

t.test('tcpPeerMethod: the kernel lookup on this machine, the scan where the kernel cannot be asked', async (t) => {
  t.equal(
    tcpPeerMethod(),
    'sock_diag',
    'this kernel answers sock_diag (if not, TCP peers are found by the /proc scan)',
  );
  t.equal(
    tcpPeerMethod(() => false),
    'proc',
    'a kernel without TCP sock_diag',
  );
  const failing = (code: string) => () => {
    throw Object.assign(new Error(code), { code });
  };
  t.equal(tcpPeerMethod(failing('ERR_NATIVE_LOAD')), 'proc', 'an addon that does not load');
  t.throws(() => tcpPeerMethod(failing('ERR_SOCK_DIAG')), { code: 'ERR_SOCK_DIAG' }, 'a probe that fails oddly');
});

for (const [serverHost, clientHost, expectMapped] of [
  ['127.0.0.1', '127.0.0.1', false],
  ['::', '127.0.0.1', true],
  ['::1', '::1', false],
] as const) {
  t.test(`a loopback client of a server on ${serverHost} (client ${clientHost}) is this uid`, async (t) => {
    const { socket, client } = await connectPair(t, await tcpServer(t, serverHost), clientHost);
    t.equal(socket.remoteAddress?.startsWith('::ffff:'), expectMapped, `remote address ${socket.remoteAddress}`);
    t.equal(tcpPeerUid(socket), ourUid, 'asked of the kernel');
    t.equal(procTcpPeerUid(socket), ourUid, 'found in /proc');

    const tuple: TcpEnds = {
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
    };
    const closed = once(socket, 'close');
    client.destroy();
    await closed;
    t.equal(tcpPeerUid(tuple), null, 'once the client has closed, the kernel has no established socket');
    t.equal(procTcpPeerUid(tuple), null, 'and its row is no longer established');
  });
}

for (const serverHost of ['127.0.0.1', '::']) {
  t.test(`a client running as uid ${NOBODY} (server on ${serverHost}) is reported as ${NOBODY}`, async (t) => {
    if (!isRoot()) return t.fail(NEEDS_ROOT);
    const { socket, done } = await connectAsUser(t, NOBODY, await tcpServer(t, serverHost), '127.0.0.1');
    t.equal(tcpPeerUid(socket), NOBODY, 'asked of the kernel');
    t.equal(procTcpPeerUid(socket), NOBODY, 'found in /proc');
    t.not(NOBODY, ourUid, 'the answer is not simply our own uid');
    const { code, stderr } = await done();
    t.equal(code, 0, stderr);
  });
}

t.test('sockets without a TCP tuple answer null', async (t) => {
  t.equal(tcpPeerUid({}), null);
  t.equal(tcpPeerUid(new net.Socket()), null, 'never connected');
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-tcppeer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const server = net.createServer((s) => s.destroy());
  server.listen(path);
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = net.connect(path);
  client.on('error', () => {});
  await once(client, 'connect');
  t.equal(tcpPeerUid(client), null, 'a Unix socket');
  client.destroy();
});
