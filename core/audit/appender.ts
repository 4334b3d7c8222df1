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
//
// Health (DESIGN §14, "no decision unrecorded"): a write that fails (disk full), or a file the configured path no
// longer names (removed, renamed, replaced) or that was made read-only, marks the appender unhealthy; the daemon
// refuses credentials while it is. Before each batch and on a probe timer the target is checked; recovery reopens the
// configured path and needs one successful write (the queued lines, or a blank line when none are queued).
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
  /** Null while lines are being written; otherwise why they cannot be. */
  readonly problem: string | null;
}

/** The file behind the fd, checked against the configured path (see decision-log.ts). */
export interface AppendTarget {
  /** Why the held file is no longer the one to write (null when it still is). Cheap: one lstat. */
  check(fd: number): string | null;
  /** Opens the configured path again (with the same safety checks); throws with the reason when it cannot. */
  reopen(): number;
}

export interface AppenderOptions<T> {
  /** One item's line, newline included; null when it cannot be rendered (the renderer reports why). Called in push
   * order, once per item, so it may keep state from line to line (the HMAC chain). */
  render(item: T): string | null;
  /** How long a batch collects before it is written. */
  batchDelayMs?: number;
  /** The queue bound: a push that reaches it writes the batch at once. */
  maxPending?: number;
  /** Health checks against the configured path; without it only write errors count. */
  target?: AppendTarget;
  /** How often the target is checked (and, while unhealthy, a recovery tried) when no batch is due. */
  probeMs?: number;
  /** Told on every change of health. */
  onHealth?(problem: string | null): void;
}

export const DEFAULT_BATCH_DELAY_MS = 5;
export const DEFAULT_MAX_PENDING = 1024;
/** DESIGN §14: a probe at least every 5 s; a check a second keeps an idle daemon's view of its file current. */
export const DEFAULT_PROBE_MS = 1000;

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
export function createAppender<T>(
  initialFd: number,
  what: string,
  log: OpLogger,
  options: AppenderOptions<T>,
): Appender<T> {
  const { render, target } = options;
  let fd = initialFd;
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
  let problem: string | null = null;

  function setProblem(next: string | null): void {
    if (next === problem) return;
    const was = problem;
    problem = next;
    if (next) log.error({ file: what, problem: next }, 'decision log cannot be written; credentials are refused');
    else log.info({ file: what, was }, 'decision log writable again; credentials are served');
    options.onHealth?.(next);
  }

  /** True when the batch may be written: the held file is still the configured one, or was reopened. */
  function targetReady(): boolean {
    if (!target) return true;
    const why = target.check(fd);
    if (why === null) return true;
    let next: number;
    try {
      next = target.reopen();
    } catch (e) {
      setProblem(`${why}; reopening failed (${(e as Error).message})`);
      return false;
    }
    const old = fd;
    fd = next;
    close(old, () => undefined);
    log.warn({ file: what, problem: why }, 'the decision log path no longer named the file held open; reopened it');
    const still = target.check(fd);
    if (still !== null) {
      setProblem(still);
      return false;
    }
    return true;
  }

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
    if (!targetReady()) {
      dropped += batch.length;
      log.error({ file: what, lines: batch.length }, 'decision log cannot be written; lines lost');
      return;
    }
    let wrote = false;
    for (const item of batch) {
      let line: string | null = null;
      try {
        line = render(item);
      } catch {
        line = null; // the renderer reports its own failures; a throw is one more unrecorded item
      }
      if (line === null) dropped++;
      else {
        append(line);
        wrote = true;
      }
    }
    drainBuffer();
    if (failure) {
      log.error({ file: what, code: failure.code, lines: failure.lines }, 'decision log write failed; lines lost');
      setProblem(`write failed (${failure.code ?? 'error'})`);
      failure = null;
    } else if (wrote) {
      setProblem(null);
    }
  }

  /** The timer's turn: checks the target when idle; while unhealthy, a blank line is the probe write. */
  function probe(): void {
    if (closed) return;
    if (queue.length > 0) return writeBatch();
    if (!targetReady()) return;
    if (problem === null) return;
    try {
      writeSync(fd, '\n');
      setProblem(null);
    } catch (e) {
      setProblem(`write failed (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const prober = setInterval(probe, options.probeMs ?? DEFAULT_PROBE_MS);
  prober.unref();

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
      clearInterval(prober);
      closing = settle().then(() => closeAsync(fd));
      return closing;
    },
    get dropped() {
      return dropped;
    },
    get pending() {
      return queue.length;
    },
    get problem() {
      return problem;
    },
  };
}
