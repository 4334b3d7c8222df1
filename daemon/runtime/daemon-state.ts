// daemon.json in the runtime dir: how clients and `sentinel daemon status` find the running daemon's pid and port; and
// last-port, where the next daemon listens again. Both written 0600 and atomically (temp file + rename).
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { daemonStateFile, lastPortFile } from '../../core/paths.js';
import { replaceFile } from '../../core/replace-file.js';

export interface DaemonState {
  pid: number;
  port: number;
  version: string;
  socket: string;
  started_at: string;
}

export function writeDaemonState(runtimeDir: string, state: DaemonState): string {
  const file = daemonStateFile(runtimeDir);
  replaceFile(file, JSON.stringify(state, null, 2) + '\n', 0o600);
  return file;
}

export function readDaemonState(runtimeDir: string): DaemonState | undefined {
  try {
    const value = JSON.parse(readFileSync(daemonStateFile(runtimeDir), 'utf8')) as Partial<DaemonState>;
    if (typeof value.pid !== 'number' || typeof value.port !== 'number' || typeof value.socket !== 'string')
      return undefined;
    return value as DaemonState;
  } catch {
    return undefined;
  }
}

/** Removes daemon.json if it still describes this daemon (a successor may already have replaced it). */
export function removeDaemonState(runtimeDir: string, pid: number = process.pid): void {
  const current = readDaemonState(runtimeDir);
  if (current && current.pid !== pid) return;
  rmSync(daemonStateFile(runtimeDir), { force: true });
}

/**
 * The loopback port of the last daemon of this runtime directory, or undefined (none, or not a port). Only a regular
 * file counts: a symlink is not followed and a FIFO is not waited on (opened non-blocking, then refused by fstat).
 */
export function readLastPort(runtimeDir: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(lastPortFile(runtimeDir), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(8); // a port and a newline; a longer file is not ours
    const text = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
    if (!/^\d{1,5}\n?$/.test(text)) return undefined;
    const port = Number(text);
    return port >= 1 && port <= 65535 ? port : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Kept after the daemon stops (daemon.json is not), so the next start can listen where the last one did. Returns the
 * error message when it could not be written (say, `last-port` is a directory): the daemon runs without it.
 */
export function writeLastPort(runtimeDir: string, port: number): string | undefined {
  try {
    replaceFile(lastPortFile(runtimeDir), `${port}\n`, 0o600);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
