// Reading config.yaml's bytes, apart from parsing them: every client command that may need `runtime_dir` reads the
// file before it can find the daemon (`sentinel credentials` once per AWS CLI call), so this must stay light
// (node:fs and the error catalogue only) and must never hang or balloon on what happens to sit at the path.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SentinelError } from './errors.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * config.yaml's text: undefined when the file does not exist and need not; an unreadable, oversized or missing
 * required file is an error that names the problem, never a silent fallback. A FIFO, a directory or a device is
 * refused without being read: reading a FIFO blocks until someone writes to it.
 */
export function readConfigText(file: string, required: boolean): string | undefined {
  let fd: number | undefined;
  try {
    refuseUnlessFile(file, statSync(file));
    // O_NONBLOCK: should the path become a FIFO between the stat and the open, the open does not wait for a writer;
    // the fstat below then refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    refuseUnlessFile(file, fstatSync(fd));
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1); // only the bytes read are used
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) {
      n = readSync(fd, buffer, length, buffer.length - length, null);
    }
    if (length > MAX_CONFIG_BYTES) throw tooLarge(file);
    return buffer.toString('utf8', 0, length);
  } catch (e) {
    if (e instanceof SentinelError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new SentinelError('ConfigInvalid', `${file} cannot be read (${code ?? 'error'})`);
    if (required) throw new SentinelError('ConfigInvalid', `${file} does not exist`);
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function refuseUnlessFile(file: string, st: { isFile(): boolean; size: number }): void {
  if (!st.isFile()) throw new SentinelError('ConfigInvalid', `${file} is not a regular file`);
  if (st.size > MAX_CONFIG_BYTES) throw tooLarge(file);
}

const tooLarge = (file: string) => new SentinelError('ConfigInvalid', `${file} is larger than 1 MiB`);
