// The runtime directory holds the socket, the lock and daemon.json (DESIGN §2): it must be ours and private, and so
// must be what names it: whoever can write to a directory above it can rename it away, put her own in its place, and
// answer on its socket (assertTrustedDirectory; /tmp, root's and sticky, is fine). The daemon refuses to start rather
// than repair a directory someone else owns or can read.
import { lstatSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SentinelError } from '../../core/errors.js';
import { assertTrusted, assertTrustedDirectory, currentUid } from '../../core/path-trust.js';

export { currentUid };

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Something that is not a directory is in the way: the checks below say what it is.
    if (code !== 'EEXIST' && code !== 'ENOTDIR')
      throw new SentinelError('UnsafePath', `${dir} cannot be created (${code ?? 'error'})`);
  }
}

/** Creates `dir` (0700) if needed; refuses one that is a symlink, not a directory, someone else's, or open to others. */
export function ensurePrivateDir(dir: string, uid: number = currentUid()): void {
  makeDir(dir);
  assertTrusted(dir, lstatSync(dir), { owners: [uid], forbidden: 0o077, what: 'directory' }, uid);
  assertTrustedDirectory(dirname(dir), uid);
}

/** A socket placed outside the runtime dir (SENTINEL_SOCKET) lives in a directory that is ours and that nobody else can
 * write to, so nobody can swap the socket for their own. */
export function ensureSocketDir(dir: string, uid: number = currentUid()): void {
  makeDir(dir);
  assertTrusted(dir, lstatSync(dir), { owners: [uid], forbidden: 0o022, what: 'directory' }, uid);
  assertTrustedDirectory(dirname(dir), uid);
}
