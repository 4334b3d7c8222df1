// The client's half of DESIGN §3.1: before it sends anything (a token, a profile name) or believes any answer (AWS
// keys), a client makes sure the socket is its own user's daemon's. With XDG_RUNTIME_DIR unset the runtime dir is
// `${TMPDIR:-/tmp}/sentinel-$UID`, a name another local user can create first and listen in; the kernel lets her, so
// only ownership and mode tell the two apart. Those checks come before the connect, so the path can still change
// between them and it (and a socket named with --socket names any path): once connected, the kernel's word on who
// listens there (assertOwnDaemon) decides whether anything is sent.
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { SentinelError } from '../core/errors.js';
import { assertTrusted, assertTrustedDirectory, currentUid, statIfPresent } from '../core/path-trust.js';
import { isNativeLoadError, peerOf, type NativeError } from '../native/index.js';

const INTERCEPT_HINT = (dir: string, uid: number) =>
  `Another user may have created ${dir} to intercept Sentinel's requests: do not use it. ` +
  `Have it removed (by its owner or root), or set XDG_RUNTIME_DIR to a directory of uid ${uid}; then \`sentinel daemon start\`.`;

/**
 * Throws UnsafePath unless the socket's directory belongs to this user and is private (0700; a directory named with
 * SENTINEL_SOCKET/--socket need only be closed to writes by others, as the daemon requires), and the socket is this
 * user's. A socket that is not there is left to connect() to report (the daemon is not running).
 */
export function assertOwnSocket(socketPath: string, options: { privateDir: boolean }, uid = currentUid()): void {
  const dir = dirname(socketPath);
  if (!ownDirPresent(dir, options.privateDir ? 0o077 : 0o022, uid)) return;
  const socketStat = statIfPresent(socketPath);
  if (!socketStat) return;
  assertTrusted(
    socketPath,
    socketStat,
    { owners: [uid], forbidden: 0, what: 'socket', ownerHint: INTERCEPT_HINT(dir, uid) },
    uid,
  );
}

/**
 * Whether the runtime directory is there, throwing UnsafePath unless it is this user's and private (0700). Whatever a
 * client reads in it (the lock's pid, which `daemon stop` signals; daemon.json) is believed only after this: under the
 * /tmp fallback another user can create the directory first and put a lock there naming any of the user's processes.
 */
export function ownRuntimeDirPresent(dir: string, uid = currentUid()): boolean {
  return ownDirPresent(dir, 0o077, uid);
}

function ownDirPresent(dir: string, forbidden: number, uid: number): boolean {
  const st = statIfPresent(dir);
  if (!st) return false;
  assertTrusted(dir, st, { owners: [uid], forbidden, what: 'directory', ownerHint: INTERCEPT_HINT(dir, uid) }, uid);
  // Whoever can write above it can swap it for her own between this check and the connect.
  assertTrustedDirectory(dirname(dir), uid);
  return true;
}

/**
 * Throws unless the kernel says the other end of the connected `socket` is this user's: SO_PEERCRED (Linux) or
 * LOCAL_PEERCRED (macOS) give the uid of the process that called listen() — the daemon, or the user's own systemd
 * manager under socket activation. A daemon of another uid, root's included, is not this user's (DESIGN §3.1: it would
 * refuse the user's requests anyway). Credentials that cannot be read refuse too, and so does a missing native addon:
 * nothing is sent to a listener nobody vouched for. The caller destroys the socket on a throw, before writing to it.
 */
export function assertOwnDaemon(socket: Socket, socketPath: string, uid = currentEuid()): void {
  let peer: ReturnType<typeof peerOf>;
  try {
    peer = peerOf(socket);
  } catch (e) {
    throw unreadablePeer(e as NativeError, socketPath, uid);
  }
  if (peer === null) {
    throw new SentinelError(
      'PeerNotAllowed',
      `the kernel holds no credentials for the process listening on ${socketPath}; nothing was sent to it`,
      { hint: UNVOUCHED_HINT(uid) },
    );
  }
  if (peer.uid !== uid) {
    throw new SentinelError(
      'PeerNotAllowed',
      `${socketPath} is served by a process of uid ${peer.uid} (pid ${peer.pid}), not by your uid ${uid}; nothing was sent to it`,
      {
        hint:
          `Another user's process listens there and would receive your requests and session token: do not use it. ` +
          `Point --socket or SENTINEL_SOCKET at your own daemon's socket, or unset them for the default; if it is the ` +
          `default path, have that process stopped and the socket removed (by its owner or root), then \`sentinel daemon start\`.`,
      },
    );
  }
}

function currentEuid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : currentUid();
}

const UNVOUCHED_HINT = (uid: number) =>
  `Sentinel sends requests only to a daemon the kernel says runs as you (uid ${uid}). A daemon in another container ` +
  'or PID namespace cannot be reached through a shared socket: run the command where the daemon runs, or start your ' +
  'own with `sentinel daemon start`.';

function unreadablePeer(e: NativeError, socketPath: string, uid: number): SentinelError {
  if (isNativeLoadError(e)) {
    return new SentinelError('NativeAddonMissing', `nothing was sent to ${socketPath}: ${e.message}`, { cause: e });
  }
  return new SentinelError(
    'PeerNotAllowed',
    `cannot read the credentials of the process listening on ${socketPath} (${e.code ?? 'error'}: ${e.message}); nothing was sent to it`,
    { hint: UNVOUCHED_HINT(uid), cause: e },
  );
}
