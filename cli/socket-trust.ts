// The client's half of DESIGN §3.1: before it sends anything (a token, a profile name) or believes any answer (AWS
// keys), a client makes sure the socket is its own user's daemon's. With XDG_RUNTIME_DIR unset the runtime dir is
// `${TMPDIR:-/tmp}/sentinel-$UID`, a name another local user can create first and listen in; the kernel lets her, so
// only ownership and mode tell the two apart.
import { dirname } from 'node:path';
import { assertTrusted, assertTrustedDirectory, currentUid, statIfPresent } from '../core/path-trust.js';

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
