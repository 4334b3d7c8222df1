// The runtime directory holds the socket, the lock and daemon.json (DESIGN §2): it must be ours and private. The
// daemon refuses to start rather than repair a directory someone else owns or can read.
import { lstatSync, mkdirSync } from 'node:fs';
import { SentinelError } from '../../core/errors.js';

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

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

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/** Creates `dir` (0700) if needed; refuses one that is a symlink, not a directory, someone else's, or open to others. */
export function ensurePrivateDir(dir: string, uid: number = currentUid()): void {
  makeDir(dir);
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new SentinelError('UnsafePath', `${dir} is not a directory`);
  }
  if (st.uid !== uid) {
    throw new SentinelError('UnsafePath', `${dir} is owned by uid ${st.uid}, not by uid ${uid} who runs the daemon`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new SentinelError(
      'UnsafePath',
      `${dir} is accessible to other users (mode ${octal(st.mode)}); it must be 0700`,
    );
  }
}

/** A socket placed outside the runtime dir (SENTINEL_SOCKET) lives in a directory that is ours and that nobody else can
 * write to, so nobody can swap the socket for their own. */
export function ensureSocketDir(dir: string, uid: number = currentUid()): void {
  makeDir(dir);
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new SentinelError('UnsafePath', `${dir} is not a directory`);
  if (st.uid !== uid) {
    throw new SentinelError('UnsafePath', `${dir} is owned by uid ${st.uid}, not by uid ${uid} who runs the daemon`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new SentinelError('UnsafePath', `${dir} is writable by other users (mode ${octal(st.mode)})`);
  }
}
