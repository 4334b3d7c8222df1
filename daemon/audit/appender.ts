// An append-only file writer that never blocks its caller: lines are queued and written by one background loop, which
// batches whatever accumulated while the previous write was in flight. flush() and close() resolve only once every
// queued line is on disk (written and fsynced) — sonic-boom's flush returns early when it does not buffer, which is
// not good enough for an audit log that must survive a SIGTERM.
import { close, fsync, write } from 'node:fs';
import type { OpLogger } from '../log.js';

export interface Appender {
  write(line: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Lines lost to write errors or written after close (each is also reported in the operational log). */
  readonly dropped: number;
}

function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number) => {
      write(fd, buf, offset, buf.length - offset, null, (err, n) => {
        if (err) return reject(err);
        if (offset + n < buf.length) return step(offset + n);
        resolve();
      });
    };
    step(0);
  });
}

const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
const closeAsync = (fd: number) => new Promise<void>((resolve, reject) => close(fd, (e) => (e ? reject(e) : resolve())));

/** Takes ownership of `fd` (opened for appending); `what` names the file in error reports. */
export function createAppender(fd: number, what: string, log: OpLogger): Appender {
  let queue: string[] = [];
  let draining: Promise<void> | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;
  let dropped = 0;

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        try {
          await writeAll(fd, Buffer.from(batch.join(''), 'utf8'));
        } catch (e) {
          dropped += batch.length;
          log.error({ file: what, code: (e as NodeJS.ErrnoException).code, lines: batch.length }, 'decision log write failed; lines lost');
        }
      }
    } finally {
      draining = null;
    }
  }

  async function settle(): Promise<void> {
    while (draining) await draining;
    try {
      await fsyncAsync(fd);
    } catch (e) {
      log.error({ file: what, code: (e as NodeJS.ErrnoException).code }, 'decision log fsync failed');
    }
  }

  return {
    write(line) {
      if (closed) {
        dropped++;
        log.error({ file: what }, 'decision log is closed; line lost');
        return;
      }
      queue.push(line);
      draining ??= drain();
    },
    flush: () => (closed ? (closing ?? Promise.resolve()) : settle()),
    close() {
      if (closing) return closing;
      closed = true;
      closing = settle().then(() => closeAsync(fd));
      return closing;
    },
    get dropped() {
      return dropped;
    },
  };
}
