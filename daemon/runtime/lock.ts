// One daemon per runtime dir (DESIGN §2). The lock is a file created atomically (link(2) of a complete temp file, so
// nobody reads half a lock) that names its holder by pid and, on Linux, by the holder's start time, so a pid reused
// after a crash is not mistaken for a live daemon. A lock whose holder is gone is taken over. The socket gets its own
// proof: a leftover socket file is removed only once nothing answers on it.
import { connect } from 'node:net';
import { linkSync, lstatSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import { lockFile } from '../../core/paths.js';
import { pidAlive, processStartTime } from './pid.js';
import { currentUid } from './runtime-dir.js';

interface Holder {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); null where unavailable. */
  start: string | null;
}

export interface Lock {
  readonly path: string;
  release(): void;
}

function readHolder(path: string): Holder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof value.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) return undefined;
    return { pid: value.pid, start: typeof value.start === 'string' ? value.start : null };
  } catch {
    return undefined;
  }
}

function holderAlive(holder: Holder): boolean {
  if (!pidAlive(holder.pid)) return false;
  if (holder.start === null) return true;
  const now = processStartTime(holder.pid);
  return now === null || now === holder.start;
}

/** The pid of the live daemon holding the lock of `runtimeDir`, if one does (whether or not it still answers). */
export function lockHolderPid(runtimeDir: string): number | undefined {
  const holder = readHolder(lockFile(runtimeDir));
  return holder && holderAlive(holder) ? holder.pid : undefined;
}

export function acquireLock(runtimeDir: string, log: OpLogger): Lock {
  const path = lockFile(runtimeDir);
  const me: Holder = { pid: process.pid, start: processStartTime(process.pid) };
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        linkSync(tmp, path);
        return {
          path,
          release() {
            const holder = readHolder(path);
            if (holder && holder.pid === me.pid && holder.start === me.start) rmSync(path, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(path);
      if (holder && holderAlive(holder)) {
        throw new SentinelError(
          'DaemonAlreadyRunning',
          `a Sentinel daemon (pid ${holder.pid}) already runs for ${runtimeDir}`,
        );
      }
      log.warn(
        { event: 'stale_lock', path, holder_pid: holder?.pid ?? null },
        'taking over the lock of a daemon that is gone',
      );
      rmSync(path, { force: true });
    }
    throw new SentinelError('DaemonAlreadyRunning', `another Sentinel daemon is starting for ${runtimeDir}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** true when something accepts connections on the socket path. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    // A listener that accepts but never answers still holds the path: treat a timeout as "answers".
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Makes `path` free for a new socket: nothing there, or a socket of ours that nobody answers on (left by a daemon that
 * was killed). Anything else stops the start: a live daemon, a file that is not a socket, someone else's socket.
 */
export async function clearStaleSocket(path: string, log: OpLogger, uid: number = currentUid()): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new SentinelError('UnsafePath', `${path} exists and is not a socket; not removing it`);
  if (st.uid !== uid)
    throw new SentinelError('UnsafePath', `${path} is owned by uid ${st.uid}, not by uid ${uid} who runs the daemon`);
  if (await socketAnswers(path)) {
    throw new SentinelError('DaemonAlreadyRunning', `a daemon already answers on ${path}`);
  }
  log.warn({ event: 'stale_socket', path }, 'removing the socket of a daemon that is gone');
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
