// Typed face of the native addon (native/src/sentinel.cc): who is on the other end of a Unix socket, who owns the client
// end of a TCP connection, and sd_notify.
// The addon is loaded on first use, so importing this module never fails; a missing build fails the first call with
// an error that says how to build it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The kernel's word on the client end of a TCP connection: its owner's uid, or why there is none. */
export type TcpConnectionOwner = number | 'not-found' | 'unsupported';

interface Binding {
  peerCredentials(fd: number): PeerCredentials;
  sdNotify(socketPath: string, message: string): void;
  tcpConnectionOwner(
    clientAddress: string,
    clientPort: number,
    serverAddress: string,
    serverPort: number,
  ): TcpConnectionOwner;
  tcpConnectionOwnerSupported(): boolean;
}

/** An Error with the stable `code` the addon (or this loader) attaches; `errno`/`syscall` when the kernel refused. */
export interface NativeError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
}

const ADDON = join('build', 'Release', 'sentinel_native.node');

// The package root is the nearest folder holding binding.gyp: `..` from native/index.ts (tests, tsx) and `../..` from
// dist/native/index.js (the built CLI). binding.gyp ships in the package (`files`), so this holds when installed too.
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

let binding: Binding | undefined;

function load(): Binding {
  if (binding) return binding;
  const root = packageRoot();
  const file = join(root, ADDON);
  const fix = `run \`npm rebuild\` (or \`npm run build:native\`) in ${root}`;
  if (!existsSync(file)) {
    throw nativeError('ERR_NATIVE_MISSING', `Sentinel's native addon is not built (${file} is missing): ${fix}`);
  }
  try {
    binding = createRequire(import.meta.url)(file) as Binding;
  } catch (cause) {
    throw nativeError('ERR_NATIVE_LOAD', `Sentinel's native addon at ${file} does not load: ${fix}`, cause);
  }
  return binding;
}

function nativeError(code: string, message: string, cause?: unknown): NativeError {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as NativeError;
  error.code = code;
  return error;
}

/** Loads the addon now (a daemon calls this at start-up to fail fast rather than on its first connection). */
export function loadNative(): void {
  load();
}

/**
 * The kernel's credentials for the peer of a connected Unix stream socket: SO_PEERCRED on Linux, LOCAL_PEERCRED +
 * LOCAL_PEERPID on macOS. Throws a NativeError (`ERR_INVALID_FD`, `ERR_PEERCRED_SYSCALL`, `ERR_NOT_UNIX_STREAM`,
 * `ERR_SOCKET_LISTENING`, `ERR_PEERCRED_UNAVAILABLE`, `ERR_UNSUPPORTED_PLATFORM`) instead of ever guessing.
 */
export function peerCredentials(fd: number): PeerCredentials {
  return load().peerCredentials(fd);
}

const NO_UID = 4294967295; // (uid_t)-1: the kernel's "no credentials"

interface HandleLike {
  fd?: unknown;
}

/**
 * Peer credentials of the process on the other end of `socket`, or null when there are none to read: no handle
 * (fastify `inject()`), a handle that is not a Unix `Pipe` (TCP), a closed or destroyed socket, or the kernel's
 * non-answer (pid 0 — e.g. a peer outside our PID namespace — or uid 4294967295). A failing syscall throws.
 * Callers must refuse the request on null and on a throw alike.
 */
export function peerOf(socket: Socket): PeerCredentials | null {
  if (socket.destroyed) return null;
  // `_handle` is Node's private libuv wrapper; it is the only way to the fd. Its class name tells Unix from TCP.
  const handle = (socket as unknown as { _handle?: HandleLike | null })._handle;
  if (handle === undefined || handle === null || handle.constructor?.name !== 'Pipe') return null;
  const fd = handle.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) return null;
  const cred = load().peerCredentials(fd);
  if (cred.pid === 0 || cred.uid === NO_UID || cred.gid === NO_UID) return null;
  return cred;
}

/**
 * The uid owning the client end of an ESTABLISHED TCP connection, from the kernel's socket table through
 * NETLINK_SOCK_DIAG (inet_diag): one hash lookup of the 4-tuple, whatever the size of the table. Linux only.
 * `'not-found'` when no established socket has exactly these ends (a client gone, a listener, a TIME_WAIT socket);
 * `'unsupported'` when the kernel or a sandbox offers no TCP sock_diag, and on other platforms. Throws a TypeError
 * (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) for arguments that name no TCP end, and `ERR_SOCK_DIAG` with
 * errno when the kernel's answer could not be had or read.
 */
export function tcpConnectionOwner(
  clientAddress: string,
  clientPort: number,
  serverAddress: string,
  serverPort: number,
): TcpConnectionOwner {
  return load().tcpConnectionOwner(clientAddress, clientPort, serverAddress, serverPort);
}

/**
 * Whether tcpConnectionOwner can answer here (IPv4): false where it would say `'unsupported'`. Throws
 * `ERR_SOCK_DIAG` when the kernel does not answer the probe as it should.
 */
export function tcpConnectionOwnerSupported(): boolean {
  return load().tcpConnectionOwnerSupported();
}

/** True for the loader's own errors: the addon is not built or does not load. */
export function isNativeLoadError(error: unknown): boolean {
  const code = (error as Partial<NativeError> | null)?.code;
  return code === 'ERR_NATIVE_MISSING' || code === 'ERR_NATIVE_LOAD';
}

/**
 * Sends one datagram to a NOTIFY_SOCKET address: an absolute path or an abstract `@name`. Throws a NativeError
 * (`ERR_NOTIFY_ADDRESS`, `ERR_NOTIFY_MESSAGE`, `ERR_NOTIFY_SEND` with errno, `ERR_INVALID_ARG_TYPE`). Never blocks:
 * a receiver whose queue is full gives `ERR_NOTIFY_SEND` with errno EAGAIN.
 */
export function sdNotify(socketPath: string, message: string): void {
  load().sdNotify(socketPath, message);
}

/**
 * sd_notify(3): `message` (e.g. `READY=1\nSTATUS=serving`) to `$NOTIFY_SOCKET`. Returns false when the variable is
 * unset or empty (not started by systemd with Type=notify), true once sent; a failed send throws.
 */
export function notify(message: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const address = env.NOTIFY_SOCKET;
  if (address === undefined || address === '') return false;
  sdNotify(address, message);
  return true;
}
