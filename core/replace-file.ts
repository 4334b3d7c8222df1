// Every file Sentinel rewrites in place (daemon.json, last-port, the accepted-serial state, a pulled policy, a session's
// AWS config copy, service units) is replaced through one temp file and a rename, so a reader sees the old file or the
// new one, never half of either.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export interface ReplaceOptions {
  /** The new file's mode (default 0600). */
  mode?: number;
  /** fsync the data before the rename, for files a crash must not leave empty. */
  sync?: boolean;
}

/**
 * Replaces `file` with `data`. The temp file's name is new each time and created exclusively (`wx`): a name known in
 * advance (`<file>.<pid>.tmp`) could be a symlink another user planted in a shared directory such as /tmp, and writing
 * through it would overwrite a file of their choosing with ours (O_EXCL never follows a symlink). A failure leaves no
 * temp file behind.
 */
export function replaceFile(file: string, data: string | Uint8Array, options: ReplaceOptions = {}): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', options.mode ?? 0o600);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
    if (options.sync) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
