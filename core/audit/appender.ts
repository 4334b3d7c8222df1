// An append-only file writer for the request path: push() only queues an item; a batch — everything queued since the
// last one — is rendered and written a few milliseconds later with one write(2), on the event loop, after the
// responses of that period have gone out. Writes are synchronous and made by one loop, so lines reach the file in
// exactly the order they were pushed (the HMAC chain depends on it) and no write can overtake another.
//
// Overflow: the queue is bounded. A push that fills it writes the batch at once, on the caller's turn, instead of
// waiting for the timer — the caller pays the write, nothing is dropped, memory stays bounded. A disk that stalls
// therefore stalls the daemon, which then answers nobody: no credentials leave without their record.
//
// flush() and close() resolve only once every queued line is written and fsynced, so a SIGTERM loses nothing.
import { close, fsync, writeSync } from 'node:fs';
import type { OpLogger } from '../log.js';

export interface Appender<T> {
  /** Queues one item; it is rendered and written with its batch. Never throws. */
  push(item: T): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Items lost to render or write errors, or pushed after close (each batch of them is reported in the log). */
  readonly dropped: number;
  /** Items queued and not yet written. */
  readonly pending: number;
}

export interface AppenderOptions<T> {
  /** One item's line, newline included; null when it cannot be rendered (the renderer reports why). Called in push
   * order, once per item, so it may keep state from line to line (the HMAC chain). */
  render(item: T): string | null;
  /** How long a batch collects before it is written. */
  batchDelayMs?: number;
  /** The queue bound: a push that reaches it writes the batch at once. */
  maxPending?: number;
}

export const DEFAULT_BATCH_DELAY_MS = 5;
export const DEFAULT_MAX_PENDING = 1024;

/** Bytes of the reusable batch buffer. A batch larger than this goes out in several writes, still in order. */
const BUFFER_BYTES = 64 * 1024;

/** Writes all of `buf[0, length)`, however many calls the kernel wants. */
function writeAllSync(fd: number, buf: Buffer, length: number): void {
  let offset = 0;
  while (offset < length) offset += writeSync(fd, buf, offset, length - offset);
}

const fsyncAsync = (fd: number) =>
  new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
const closeAsync = (fd: number) =>
  new Promise<void>((resolve, reject) => close(fd, (e) => (e ? reject(e) : resolve())));

/** Takes ownership of `fd` (opened for appending); `what` names the file in error reports. */
export function createAppender<T>(fd: number, what: string, log: OpLogger, options: AppenderOptions<T>): Appender<T> {
  const { render } = options;
  const delay = options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  const maxPending = Math.max(1, options.maxPending ?? DEFAULT_MAX_PENDING);
  let queue: T[] = [];
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;
  let dropped = 0;
  // Lines are encoded one by one into this buffer: concatenating a batch into one string and encoding that costs
  // several times more (V8 flattens a rope of thousands of pieces).
  const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let used = 0;
  let linesInBuffer = 0;
  let failure: { code: string | undefined; lines: number } | null = null;

  /** Sends the buffer's lines to the file; a failure loses them (counted, reported once per batch). */
  function drainBuffer(): void {
    if (used === 0) return;
    try {
      writeAllSync(fd, buffer, used);
    } catch (e) {
      dropped += linesInBuffer;
      failure = {
        code: (e as NodeJS.ErrnoException).code ?? failure?.code,
        lines: (failure?.lines ?? 0) + linesInBuffer,
      };
    }
    used = 0;
    linesInBuffer = 0;
  }

  function append(line: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so this guarantees the line fits before it is encoded.
    if (line.length * 3 > BUFFER_BYTES - used) drainBuffer();
    if (line.length * 3 > BUFFER_BYTES) {
      try {
        const bytes = Buffer.from(line, 'utf8');
        writeAllSync(fd, bytes, bytes.length);
      } catch (e) {
        dropped++;
        failure = { code: (e as NodeJS.ErrnoException).code ?? failure?.code, lines: (failure?.lines ?? 0) + 1 };
      }
      return;
    }
    used += buffer.write(line, used, 'utf8');
    linesInBuffer++;
  }

  function writeBatch(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    for (const item of batch) {
      let line: string | null = null;
      try {
        line = render(item);
      } catch {
        line = null; // the renderer reports its own failures; a throw is one more unrecorded item
      }
      if (line === null) dropped++;
      else append(line);
    }
    drainBuffer();
    if (failure) {
      log.error({ file: what, code: failure.code, lines: failure.lines }, 'decision log write failed; lines lost');
      failure = null;
    }
  }

  async function settle(): Promise<void> {
    writeBatch();
    try {
      await fsyncAsync(fd);
    } catch (e) {
      log.error({ file: what, code: (e as NodeJS.ErrnoException).code }, 'decision log fsync failed');
    }
  }

  return {
    push(item) {
      if (closed) {
        dropped++;
        log.error({ file: what }, 'decision log is closed; line lost');
        return;
      }
      queue.push(item);
      if (queue.length >= maxPending) writeBatch();
      else timer ??= setTimeout(writeBatch, delay);
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
    get pending() {
      return queue.length;
    },
  };
}
