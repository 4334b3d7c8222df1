// Which uid owns the client end of a loopback TCP connection (DESIGN §3.1). The kernel offers no SO_PEERCRED for
// TCP. It does answer, through NETLINK_SOCK_DIAG, which socket has a given 4-tuple and who created it: one hash lookup
// (native/index.ts, tcpConnectionOwner), exact however many sockets exist. Kernels (or sandboxes) without TCP
// sock_diag get the older way: /proc/net/tcp{,6}, which lists every socket of this network namespace with its owner's
// uid, scanned for the CLIENT's row (its local end is our peer, its remote end is us, state ESTABLISHED) up to a byte
// cap — so there another user who pads the table with her own sockets can push the row out of reach, and the
// connection is refused (DESIGN §3.1, docs/internals-native.md).
// Anything unexpected (other platforms, unreadable or malformed files, no row, conflicting rows) answers null, which
// callers treat as a refusal.
import { closeSync, openSync, readSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { join } from 'node:path';
import {
  isNativeLoadError,
  tcpConnectionOwner,
  tcpConnectionOwnerSupported,
  type TcpConnectionOwner,
} from '../../native/index.js';

export type ProcTable = 'tcp' | 'tcp6';
export type Endianness = 'LE' | 'BE';

/** One socket row of /proc/net/tcp{,6}; addresses are kept in the file's own hex encoding, upper-cased. */
export interface ProcTcpRow {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: number;
  uid: number;
  inode: number;
}

/** The 4-tuple of a connection as seen by the server's accepted socket. */
export interface TcpEnds {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
}

/** How the owner of a TCP connection is found here: the kernel's exact lookup, or the bounded /proc scan. */
export type TcpPeerMethod = 'sock_diag' | 'proc';

/** The kernel's exact lookup: asked with the client's end first, then the server's. */
export type KernelLookup = (
  clientAddress: string,
  clientPort: number,
  serverAddress: string,
  serverPort: number,
) => TcpConnectionOwner;

export interface TcpPeerOptions {
  /** The kernel's lookup (default: the native addon's); tests put a stand-in in its place to reach the fallback. */
  kernelLookup?: KernelLookup;
  /** Where tcp and tcp6 live (tests point this at crafted files). */
  procNetDir?: string;
  /** Read at most this many bytes of each file; a row beyond it is not found (null). */
  maxBytes?: number;
  endianness?: Endianness;
}

export const TCP_ESTABLISHED = 0x01;
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

const ADDRESS = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/;
const DECIMAL = /^\d{1,10}$/;

/**
 * Parses one line of /proc/net/tcp or tcp6 (format: Documentation/networking/proc_net_tcp.rst). Returns null for the
 * header and for anything malformed.
 */
export function parseProcNetTcpLine(line: string): ProcTcpRow | null {
  const fields = line.trim().split(/\s+/);
  if (fields.length < 10 || !/^\d+:$/.test(fields[0]!)) return null;
  const local = ADDRESS.exec(fields[1]!);
  const remote = ADDRESS.exec(fields[2]!);
  if (!local || !remote || local[1]!.length !== remote[1]!.length) return null;
  if (!/^[0-9A-Fa-f]{2}$/.test(fields[3]!) || !DECIMAL.test(fields[7]!) || !DECIMAL.test(fields[9]!)) return null;
  const uid = Number(fields[7]);
  if (uid > 0xffffffff) return null;
  return {
    localAddress: local[1]!.toUpperCase(),
    localPort: parseInt(local[2]!, 16),
    remoteAddress: remote[1]!.toUpperCase(),
    remotePort: parseInt(remote[2]!, 16),
    state: parseInt(fields[3]!, 16),
    uid,
    inode: Number(fields[9]),
  };
}

/**
 * The hex form an IP address takes in `table`: each 32-bit word of the network-order address printed as a host
 * integer (`%08X`), so on little-endian hosts 127.0.0.1 is `0100007F`. IPv4 and IPv4-mapped IPv6 addresses encode in
 * both tables (a mapped address is how a `::` listener sees an IPv4 client); a real IPv6 address only in tcp6.
 * Returns null for anything that is not an IP address (zone ids `%eth0` are dropped first).
 */
export function encodeProcAddress(ip: string, table: ProcTable, order: Endianness = endianness()): string | null {
  const bytes = ipBytes(ip);
  if (!bytes) return null;
  const mapped = bytes.subarray(0, 12).equals(V4_MAPPED_PREFIX);
  const words = table === 'tcp' ? (mapped ? bytes.subarray(12) : null) : bytes;
  if (!words) return null;
  let hex = '';
  for (let i = 0; i < words.length; i += 4) {
    const word = Buffer.from(words.subarray(i, i + 4));
    if (order === 'LE') word.reverse();
    hex += word.toString('hex');
  }
  return hex.toUpperCase();
}

const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** 16 bytes, network order; IPv4 becomes its mapped IPv6 form so both families compare alike. */
function ipBytes(input: string): Buffer | null {
  const ip = input.split('%')[0]!;
  if (isIPv4(ip)) return Buffer.concat([V4_MAPPED_PREFIX, Buffer.from(ip.split('.').map(Number))]);
  if (!isIPv6(ip)) return null;
  let text = ip;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tail = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}0:0`; // stand-in groups, replaced below
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(rest);
  const all =
    rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8) return null;
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  if (tail.length === 4) Buffer.from(tail).copy(out, 12);
  return out;
}

/** The `%04X` port column. */
export function encodeProcPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

export interface RowKey {
  table: ProcTable;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * The rows the client's socket may have: in tcp when both ends are IPv4 (or mapped), in tcp6 always (a client may
 * use an IPv6 socket to reach a mapped address). tcp comes first because that is where an IPv4 client lives.
 */
export function clientRowKeys(ends: TcpEnds, order: Endianness = endianness()): RowKey[] {
  const { localAddress, localPort, remoteAddress, remotePort } = ends;
  if (!localAddress || !remoteAddress || !validPort(localPort) || !validPort(remotePort)) return [];
  const keys: RowKey[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    const clientAddress = encodeProcAddress(remoteAddress, table, order);
    const serverAddress = encodeProcAddress(localAddress, table, order);
    if (clientAddress && serverAddress) {
      keys.push({
        table,
        localAddress: clientAddress,
        localPort: remotePort,
        remoteAddress: serverAddress,
        remotePort: localPort,
      });
    }
  }
  return keys;
}

function validPort(port: number | undefined): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 0xffff;
}

/** Collects the uid of the ESTABLISHED rows matching one key, line by line. */
class ClientRowMatcher {
  private readonly needle: string;
  private uid: number | null = null;
  private conflict = false;

  constructor(private readonly key: Omit<RowKey, 'table'>) {
    // The kernel prints addresses and ports as upper-case %08X/%04X; a substring test skips other rows cheaply.
    this.needle = `${key.localAddress}:${encodeProcPort(key.localPort)}`;
  }

  line(line: string): void {
    if (!line.includes(this.needle)) return;
    const row = parseProcNetTcpLine(line);
    const key = this.key;
    if (
      !row ||
      row.state !== TCP_ESTABLISHED ||
      row.localPort !== key.localPort ||
      row.remotePort !== key.remotePort ||
      row.localAddress !== key.localAddress ||
      row.remoteAddress !== key.remoteAddress
    ) {
      return;
    }
    if (this.uid !== null && this.uid !== row.uid) this.conflict = true;
    this.uid = row.uid;
  }

  /** A 4-tuple is unique per network namespace, so rows that disagree mean something is off: refuse. */
  get result(): number | null {
    return this.conflict ? null : this.uid;
  }
}

/** The uid of the ESTABLISHED row matching `key` in `lines`; null when none matches or matching rows disagree. */
export function findRowUid(lines: Iterable<string>, key: Omit<RowKey, 'table'>): number | null {
  const matcher = new ClientRowMatcher(key);
  for (const line of lines) matcher.line(line);
  return matcher.result;
}

/**
 * The uid that owns the client end of `socket` (a connection accepted by our TCP listener). Asks the kernel
 * (sock_diag, one hash lookup); only where the kernel cannot be asked at all (`'unsupported'`, or the addon does not
 * load) does it scan /proc/net/tcp and tcp6 instead (procTcpPeerUid). A kernel that answers "no such connection" is
 * final: scanning /proc after it would hand the answer back to whoever can pad the table. null when the owner
 * cannot be established; throws (ERR_SOCK_DIAG) when the kernel's answer could not be had or read. Callers refuse
 * on both, and ask once per connection (server/auth.ts caches the answer with the socket).
 */
export function tcpPeerUid(socket: TcpEnds, options: TcpPeerOptions = {}): number | null {
  const ends = connectedEnds(socket);
  if (!ends) return null;
  const owner = askKernel(ends, options.kernelLookup ?? tcpConnectionOwner);
  if (owner === 'unsupported') return procTcpPeerUid(ends, options);
  return owner === 'not-found' ? null : owner;
}

function askKernel(ends: Required<TcpEnds>, lookup: KernelLookup): TcpConnectionOwner {
  try {
    return lookup(ends.remoteAddress, ends.remotePort, ends.localAddress, ends.localPort);
  } catch (e) {
    if (isNativeLoadError(e)) return 'unsupported';
    throw e;
  }
}

/** Which way tcpPeerUid finds owners on this machine; throws (ERR_SOCK_DIAG) when the kernel's probe answer is odd. */
export function tcpPeerMethod(probe: () => boolean = tcpConnectionOwnerSupported): TcpPeerMethod {
  try {
    return probe() ? 'sock_diag' : 'proc';
  } catch (e) {
    if (isNativeLoadError(e)) return 'proc';
    throw e;
  }
}

function connectedEnds(socket: TcpEnds): Required<TcpEnds> | null {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (!localAddress || !remoteAddress || !validPort(localPort) || !validPort(remotePort)) return null;
  return { localAddress, localPort, remoteAddress, remotePort };
}

/**
 * The owner of `socket`'s client end from /proc/net/tcp and tcp6: what tcpPeerUid falls back to where the kernel
 * cannot be asked. Linux only; null when it cannot be established. Never throws. It reads at most `maxBytes` (4 MiB)
 * of each file, so a table padded beyond that (about 28,000 rows: another local user can make that many TIME_WAIT
 * sockets in seconds) hides rows and refuses their connections; and producing these files costs the kernel a walk of
 * its whole connection table, synchronously, on the caller's thread (about 2 ms on a quiet machine, 50 ms padded).
 */
export function procTcpPeerUid(socket: TcpEnds, options: TcpPeerOptions = {}): number | null {
  try {
    for (const { file, key } of lookups(socket, options)) {
      const matcher = new ClientRowMatcher(key);
      if (scanSync(file, maxBytesOf(options), matcher) && matcher.result !== null) return matcher.result;
    }
  } catch {
    // fall through: unknown
  }
  return null;
}

function lookups(socket: TcpEnds, options: TcpPeerOptions): Array<{ file: string; key: RowKey }> {
  if (process.platform !== 'linux' && options.procNetDir === undefined) return [];
  const dir = options.procNetDir ?? '/proc/net';
  const ends: TcpEnds = {
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
  };
  return clientRowKeys(ends, options.endianness).map((key) => ({ file: join(dir, key.table), key }));
}

function maxBytesOf(options: TcpPeerOptions): number {
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return Number.isFinite(max) && max > 0 ? Math.floor(max) : 0;
}

const CHUNK = 64 * 1024;
const MAX_LINE = 4096;

/**
 * Cuts a byte stream into complete lines, up to a byte cap (these files can be large on a busy host, and /proc
 * reports size 0, so stat cannot size the read). A line cut by the cap is dropped, never matched half-read.
 */
class LineSplitter {
  private carry = '';
  private total = 0;
  private skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
  ) {}

  get room(): number {
    return Math.max(0, this.maxBytes - this.total);
  }

  push(bytes: Buffer): void {
    this.total += bytes.length;
    let text = bytes.toString('latin1');
    if (this.skipping) {
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      text = text.slice(newline + 1);
      this.skipping = false;
    }
    const lines = (this.carry + text).split('\n');
    this.carry = lines.pop()!;
    // Real rows are under 200 bytes; an endless "line" is dropped rather than accumulated and re-copied.
    if (this.carry.length > MAX_LINE) {
      this.carry = '';
      this.skipping = true;
    }
    for (const line of lines) if (line.length <= MAX_LINE) this.onLine(line);
  }

  /** End of file: a last line without a newline is complete. */
  end(): void {
    if (this.carry && !this.skipping) this.onLine(this.carry);
    this.carry = '';
  }
}

/** False when the file could not be read to its end or the cap. */
function scanSync(file: string, maxBytes: number, matcher: ClientRowMatcher): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const splitter = new LineSplitter(maxBytes, (line) => matcher.line(line));
    const buffer = Buffer.alloc(CHUNK);
    while (splitter.room > 0) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK, splitter.room), null);
      if (n === 0) {
        splitter.end();
        break;
      }
      splitter.push(buffer.subarray(0, n));
    }
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
