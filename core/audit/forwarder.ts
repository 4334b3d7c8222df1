// CloudWatch Logs forwarding (DESIGN §14): the anchor a user cannot rewrite. The forwarder tails the decision log from
// a cursor persisted in the state directory, so a restart or an outage of any length loses nothing, and sends every
// line — exactly as in the file — in order, in batches within PutLogEvents' limits. It runs beside the credential path
// and never in it: the path reads one field (refusal()) that the forwarder keeps current.
//
// Event timestamps: the decision's own time, held within what CloudWatch accepts for any retention (no older than 20
// hours before now, no later than now) and never decreasing unless the one before is more than 5 minutes ahead of now
// (a clock stepped back), so a batch is always chronological, a backlog is never refused for its age, and a clock once
// fast cannot make every later event too new. Events CloudWatch still rejects for their time are sent again stamped
// now; the saved cursor does not pass them until they are accepted or given up.
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, openSync, readSync, statSync, fstatSync, type Stats } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SentinelError } from '../errors.js';
import { assertTrustedDirectory, currentUid, openOwnRegularFile, readOwnSmallFile } from '../path-trust.js';
import { describeCause } from './redact.js';
import type { OpLogger } from '../log.js';
import { loadLogs, putLogEventsCommand } from './cloudwatch-client.js';
import { LogEventsBody } from './log-events-body.js';
import { RFC3339_UTC } from '../text/timestamp.js';

export const MAX_BATCH_EVENTS = 10_000;
/** With at least this many lines unsent the forwarder sends batch after batch; with fewer it waits for the next poll. */
export const CATCH_UP_LINES = 1000;
export const MAX_BATCH_BYTES = 1_048_576;
export const EVENT_OVERHEAD_BYTES = 26;
/** One event, its 26 bytes counted: the PutLogEvents reference says 256 KB, some newer pages 1 MB; the lower limit is
 * the one every region and every emulator honours. A decision-log line is a few KiB (line-reader.ts). */
export const MAX_EVENT_BYTES = 262_144;
/** DESIGN §14: with `required`, a lag past either bound refuses credentials. */
export const MAX_LAG_LINES = 10_000;
export const MAX_LAG_MS = 15 * 60_000;
const SPAN_MS = 23 * 3_600_000; // inside the 24-hour span, with room for clock drift
const FLOOR_MS = 20 * 3_600_000; // inside the shortest retention (1 day) and the 14-day age limit
const READ_BYTES = MAX_BATCH_BYTES + 64 * 1024;
/** Rounds (with backoff between them) before events CloudWatch keeps rejecting are given up and counted. */
const RESEND_LIMIT = 10;
/** How far ahead of now an event may be stamped to keep timestamps from decreasing after the clock stepped back:
 * well inside the 2 hours CloudWatch accepts, so a clock that was once fast cannot make every later event too new. */
const FUTURE_SKEW_MS = 5 * 60_000;
/** A cursor is about 200 bytes; anything much larger is not one (and is not read into memory). */
const MAX_CURSOR_BYTES = 4096;

export interface ForwarderOptions {
  file: string;
  cursorFile: string;
  logGroup: string;
  /** The stream, or how to find it (`<host>-<policy user>`) on first use. */
  logStream: string | (() => Promise<string>);
  client: () => Promise<CloudWatchLogsClient>;
  log: OpLogger;
  required: boolean;
  pollMs?: number;
  maxLagLines?: number;
  maxLagMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  now?: () => number;
  /** Called whenever the status may have changed (after each round and each poll), with the time of the oldest line
   * not yet accepted (null when none): what forwarder-worker.ts posts to the daemon's thread. */
  onUpdate?: (status: ForwarderStatus, oldestPendingAt: number | null) => void;
}

export interface ForwarderStatus {
  log_group: string;
  log_stream: string | null;
  required: boolean;
  /** Lines in the file not yet accepted by CloudWatch. */
  pending_lines: number;
  /** Age of the oldest of them (0 when none). */
  lag_seconds: number;
  forwarded_lines: number;
  resent_events: number;
  rejected_events: number;
  /** Lines too long for one event, each sent as a stand-in naming its offset, length and SHA-256 (standIn()). */
  oversized_lines: number;
  last_success_at: string | null;
  last_error: string | null;
  /** Why the cursor cannot be saved (null when it can): forwarding goes on, a restart would send lines again. */
  cursor_error: string | null;
  /** Why credentials are refused, when `required` and the lag is past the bound. */
  refusing: string | null;
}

export interface Forwarder {
  start(): void;
  /** Nudged after a write: forwards now rather than at the next poll. */
  kick(): void;
  refusal(): string | null;
  status(): ForwarderStatus;
  close(): Promise<void>;
}

interface Cursor {
  log_group: string;
  log_stream: string;
  dev: number;
  ino: number;
  offset: number;
  last_timestamp: number;
}

interface PendingEvent {
  /** Where the line's text is in the file (without its newline). */
  offset: number;
  length: number;
  /** The text, read back only for events sent again. */
  message?: string;
  timestamp: number;
  /** The line's own time (for the lag). */
  lineTime: number;
  /** Bytes of the file this event accounts for (its line, newline and any blank lines before it). */
  span: number;
  /** Lines of the file it accounts for (1 + blank lines before it). */
  lines: number;
  /** Set for a line too long for one event: what is sent in its place (standIn()). */
  standIn?: string;
}

/** How every stand-in's JSON starts (standIn()). */
export const STAND_IN_PREFIX = '{"sentinel_forwarder":"line_not_forwarded"';

/**
 * The event sent for a line no CloudWatch event can hold: where it is and what it was, so `verify-logs
 * --against-cloudwatch` and a reader of the stream see that a line was there and can check it against the file
 * (`tail -c +<offset+1> decisions.log | head -c <length> | sha256sum`). Skipping it silently would let whoever can
 * append to the log stop forwarding for good with one long line.
 */
export function standIn(offset: number, length: number, sha256: string): string {
  // sentinel_forwarder stays the first key: --against-cloudwatch recognises a stand-in by STAND_IN_PREFIX.
  return JSON.stringify({
    sentinel_forwarder: 'line_not_forwarded',
    reason: `longer than a CloudWatch Logs event can be (${MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES} bytes)`,
    offset,
    length,
    sha256,
  });
}

const TIMESTAMP_KEY = Buffer.from('"timestamp":"');
// Consecutive lines mostly share their millisecond: the bytes of the last time parsed are kept with its value.
const lastStamp = Buffer.alloc(40);
let lastStampLength = 0;
let lastParsed = NaN;

/** The time of the line `buf[start, end)`: its first `"timestamp":"<RFC 3339 UTC>"`; `fallback` when it has none. */
function lineTime(buf: Buffer, start: number, end: number, fallback: number): number {
  for (let from = start; ;) {
    const key = buf.indexOf(TIMESTAMP_KEY, from);
    if (key === -1 || key >= end) return fallback;
    from = key + TIMESTAMP_KEY.length;
    // The closing quote and the comparison with the last time, in a few bytes: a call into C++ for each cost more.
    const limit = Math.min(end, from + lastStamp.length + 1);
    let quote = from;
    while (quote < limit && buf[quote] !== 0x22) quote++;
    if (quote === limit || quote === from) continue;
    if (!sameAsLast(buf, from, quote)) {
      const text = buf.toString('latin1', from, quote);
      if (!RFC3339_UTC.test(text)) continue;
      lastStampLength = buf.copy(lastStamp, 0, from, quote);
      lastParsed = Date.parse(text);
    }
    return Number.isFinite(lastParsed) ? lastParsed : fallback;
  }
}

function sameAsLast(buf: Buffer, from: number, to: number): boolean {
  if (to - from !== lastStampLength) return false;
  for (let k = 0; k < lastStampLength; k++) if (buf[from + k] !== lastStamp[k]) return false;
  return true;
}

/** An empty or whitespace-only line (the decision log's probe writes); decision-log lines start with '{'. */
const isBlank = (buf: Buffer, start: number, end: number): boolean =>
  end === start || (buf[start] !== 0x7b && buf.toString('utf8', start, end).trim() === '');

/** What CloudWatch counts of a message: its UTF-8 bytes (invalid sequences are sent as U+FFFD). */
const messageBytes = (buf: Buffer, start: number, end: number, utf8: boolean): number =>
  utf8 ? end - start : Buffer.byteLength(buf.toString('utf8', start, end), 'utf8');

const transient = (e: unknown): boolean => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = err.$metadata?.httpStatusCode;
  return (
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    /Throttl|ServiceUnavailable|TooManyRequests|RequestTimeout/.test(err.name ?? '')
  );
};

/**
 * The decision log, opened for reading only where nobody but the user can have put it (DESIGN §5.4): its directory
 * and those above it trusted, the file itself no symlink and the user's. What the forwarder sends is the anchor a user
 * cannot rewrite; a file another user could swap in would make it send her lines, or any file the user can read.
 * Undefined when there is no file yet.
 */
function openLogForReading(file: string): number | undefined {
  assertTrustedDirectory(dirname(file));
  try {
    return openOwnRegularFile(file);
  } catch (e) {
    throw new SentinelError('UnsafePath', `the decision log ${file} ${(e as Error).message}`);
  }
}

/**
 * The cursor's text: undefined when there is none. Read only as a regular file of the user's, never through a symlink
 * and never waiting (readOwnSmallFile): a FIFO in its place had blocked the worker in open() (and the daemon's stop with
 * it), and a link to /dev/zero ran it out of memory. Whatever else is there is damaged (thrown as the reason).
 */
const readCursorText = (cursorFile: string) => readOwnSmallFile(cursorFile, MAX_CURSOR_BYTES);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
// Device and inode numbers are only compared; large ones lose precision as a number but stay equal to themselves.
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Why a parsed cursor cannot be used (null: it can); a wrong offset had made every read throw, retried forever. */
function cursorProblem(c: Partial<Cursor> | null, logGroup: string): string | null {
  if (!c || typeof c !== 'object') return 'it is not a JSON object';
  if (c.log_group !== logGroup) return `it names another log group (${String(c.log_group)})`;
  if (typeof c.log_stream !== 'string') return 'its log_stream is not a string';
  if (!isId(c.dev) || !isId(c.ino)) return 'its dev or ino is not a whole number';
  if (!isCount(c.offset)) return `its offset (${String(c.offset)}) is not a whole number of bytes`;
  if (!isCount(c.last_timestamp)) return `its last_timestamp (${String(c.last_timestamp)}) is not a time in ms`;
  return null;
}

/** A failure of CloudWatch Logs (or of reaching it), as opposed to one of the local files. */
const remoteFailures = new WeakSet<object>();
async function remote<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e && typeof e === 'object') remoteFailures.add(e);
    throw e;
  }
}

/** `TimeoutError`, `ThrottlingException (400)`, `Error (ECONNREFUSED)`: a bare "Error" said nothing in status. */
function remoteError(cause: Record<string, unknown>): string {
  const name = String(cause.name ?? 'error');
  const detail = [cause.code !== undefined && cause.code !== cause.name ? cause.code : undefined, cause.status].filter(
    (d) => d !== undefined,
  );
  return detail.length > 0 ? `${name} (${detail.join(', ')})` : name;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const { log, file, cursorFile, logGroup } = options;
  const now = options.now ?? Date.now;
  const maxLagLines = options.maxLagLines ?? MAX_LAG_LINES;
  const maxLagMs = options.maxLagMs ?? MAX_LAG_MS;
  const pollMs = options.pollMs ?? 1000;
  const backoffBase = options.backoffBaseMs ?? 200;
  const backoffMax = options.backoffMaxMs ?? 30_000;

  let stream: string | null = typeof options.logStream === 'string' ? options.logStream : null;
  let client: CloudWatchLogsClient | null = null;
  let fd: number | null = null;
  let held: Stats | null = null;
  let cursor: Cursor | null = null;
  /** How far the file has been counted, and how many lines lie between the cursor and there. */
  let scanOffset = 0;
  let pendingLines = 0;
  let batch: PendingEvent[] = [];
  /** The batch's PutLogEvents body, kept while it is sent again after a failure; one buffer, reused. */
  const body = new LogEventsBody();
  let batchBody: Buffer | null = null;
  let resend: PendingEvent[] = [];
  let resendRounds = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let kicked = false;
  let closed = false;
  let refusing: string | null = null;
  let cursorError: string | null = null;
  const stats = {
    forwarded: 0,
    resent: 0,
    rejected: 0,
    oversized: 0,
    lastSuccess: null as string | null,
    lastError: null as string | null,
  };

  /** The persisted cursor; null (start at the log's beginning: duplicates, never a gap) when absent or damaged. */
  function loadCursor(): Cursor | null {
    let problem: string;
    try {
      // A cursor another user could write would tell the forwarder which lines to skip.
      assertTrustedDirectory(dirname(cursorFile));
      const text = readCursorText(cursorFile);
      if (text === undefined) return null;
      let c: Partial<Cursor> | null = null;
      try {
        c = JSON.parse(text) as Partial<Cursor> | null;
      } catch {
        // reported below as not an object
      }
      const why = cursorProblem(c, logGroup);
      if (why === null) return clampFuture(c as Cursor);
      problem = why;
    } catch (e) {
      problem = e instanceof SentinelError ? `${e.code}: ${e.message}` : (e as Error).message;
    }
    log.warn(
      { event: 'forwarding_cursor_damaged', file: cursorFile, problem },
      'the forwarding cursor cannot be used; forwarding the decision log again from its beginning',
    );
    return null;
  }

  /**
   * Saves the cursor; one that cannot be saved (a directory in its place, a full disk) is the cursor's problem, not
   * CloudWatch's: forwarding goes on from memory without backing off, status says so (`cursor_error`), and only a
   * restart meanwhile sends again what was sent since the last save.
   */
  async function persist(): Promise<void> {
    try {
      await saveCursor();
      if (cursorError)
        log.info({ event: 'forwarding_cursor_saved', file: cursorFile }, 'the forwarding cursor is saved again');
      cursorError = null;
    } catch (e) {
      const cause = describeCause(e);
      const why = `the forwarding cursor ${cursorFile} cannot be saved (${String(e instanceof SentinelError ? e.message : (cause.code ?? cause.name))})`;
      if (why !== cursorError)
        log.error(
          { event: 'forwarding_cursor_unsaved', file: cursorFile, cause },
          `${why}; forwarding goes on, but a restart sends again what was sent since it was last saved`,
        );
      cursorError = why;
    }
  }

  /** A last_timestamp ahead of now (a clock once fast, or an edit) would stamp every later event too new for good. */
  function clampFuture(c: Cursor): Cursor {
    const t = now();
    if (c.last_timestamp <= t + FUTURE_SKEW_MS) return c;
    log.warn(
      { event: 'forwarding_cursor_damaged', file: cursorFile, last_timestamp: c.last_timestamp, now: t },
      "the forwarding cursor's last event time is in the future; timestamps start again from now",
    );
    return { ...c, last_timestamp: t };
  }

  async function saveCursor(): Promise<void> {
    if (!cursor) return;
    await mkdir(dirname(cursorFile), { recursive: true, mode: 0o700 });
    assertTrustedDirectory(dirname(cursorFile));
    // A new name each time, created exclusively: a name fixed in advance could be a symlink planted to make the
    // daemon overwrite a file of the user's choosing (O_EXCL never follows one).
    const tmp = `${cursorFile}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      // Never past a line CloudWatch has not accepted: the resend queue lives in memory only, so a restart must read
      // those lines again (and the accepted ones after them: duplicates, never a gap).
      const offset = resend.length > 0 ? Math.min(cursor.offset, resend[0]!.offset) : cursor.offset;
      await writeFile(tmp, JSON.stringify({ ...cursor, offset }), { mode: 0o600, flag: 'wx' });
      await rename(tmp, cursorFile);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  /** The decision log as the path names it now; a new file (rotated, replaced) is taken once the old one is done. */
  function openCurrent(): boolean {
    let st: Stats;
    try {
      st = statSync(file);
    } catch {
      return fd !== null;
    }
    if (fd !== null && held && st.ino === held.ino && st.dev === held.dev) {
      if (st.size < cursor!.offset) {
        log.warn({ file }, 'the decision log shrank (truncated?); forwarding restarts at its beginning');
        cursor!.offset = 0;
        scanOffset = 0;
        pendingLines = 0;
        batch = [];
      }
      return true;
    }
    if (fd !== null) {
      // The path names another file: finish the one held (everything written to it, every resend accepted or given
      // up, so the saved cursor never points into a file no longer held) before switching.
      if (fstatSync(fd).size > cursor!.offset || resend.length > 0) return true;
      closeSync(fd);
      fd = null;
    }
    const opened = openLogForReading(file);
    if (opened === undefined) return false;
    fd = opened;
    held = fstatSync(fd);
    const sameFile = cursor && cursor.ino === held.ino && cursor.dev === held.dev;
    if (sameFile && cursor!.offset > held.size)
      log.warn(
        { event: 'forwarding_cursor_damaged', file: cursorFile, offset: cursor!.offset, size: held.size },
        'the forwarding cursor points past the end of the decision log; forwarding it again from its beginning',
      );
    if (!sameFile || cursor!.offset > held.size) {
      if (cursor && !sameFile) log.info({ file }, 'forwarding a new decision log file from its beginning');
      cursor = {
        log_group: logGroup,
        log_stream: stream ?? '',
        dev: held.dev,
        ino: held.ino,
        offset: 0,
        last_timestamp: cursor?.last_timestamp ?? 0,
      };
    }
    scanOffset = cursor!.offset;
    pendingLines = 0;
    batch = [];
    return true;
  }

  const chunk = Buffer.allocUnsafe(READ_BYTES);

  /** Counts the lines written since the last count (for the lag), without keeping them. */
  function scan(): void {
    if (fd === null) return;
    const size = fstatSync(fd).size;
    while (scanOffset < size) {
      const n = readSync(fd, chunk, 0, Math.min(READ_BYTES, size - scanOffset), scanOffset);
      if (n <= 0) break;
      for (let i = chunk.indexOf(0x0a, 0); i !== -1 && i < n; i = chunk.indexOf(0x0a, i + 1)) pendingLines++;
      // Every newline is counted once wherever the read ends, so a line longer than a read is counted, and so is
      // every line after it, once its newline is written.
      scanOffset += n;
    }
  }

  /** Where a line from `from` on ends (its newline), and the SHA-256 of its bytes before it; null while it has none. */
  let unfinished: { from: number; size: number } | null = null;
  function measureLine(from: number): { length: number; sha256: string } | null {
    const size = scanOffset;
    // A long line still being written is hashed again only once the file has grown.
    if (unfinished && unfinished.from === from && unfinished.size === size) return null;
    const hash = createHash('sha256');
    for (let at = from; at < size;) {
      const n = readSync(fd!, chunk, 0, Math.min(READ_BYTES, size - at), at);
      if (n <= 0) break;
      const nl = chunk.indexOf(0x0a, 0);
      if (nl !== -1 && nl < n) {
        hash.update(chunk.subarray(0, nl));
        unfinished = null;
        return { length: at + nl - from, sha256: hash.digest('hex') };
      }
      hash.update(chunk.subarray(0, n));
      at += n;
    }
    unfinished = { from, size };
    return null;
  }

  /** The next batch from the cursor: whole lines only, within every PutLogEvents limit. */
  function build(): PendingEvent[] {
    if (fd === null || !cursor) return [];
    scan();
    // Only what has been counted: a line appended after the count and sent would be subtracted from pending_lines
    // before it was added to it, and the count would stay one too high for good.
    const n = readSync(fd, chunk, 0, Math.max(0, Math.min(READ_BYTES, scanOffset - cursor.offset)), cursor.offset);
    const events: PendingEvent[] = [];
    let pos = 0;
    let blanks = 0;
    let blankLines = 0;
    let bytes = 0;
    const t = now();
    let last = Math.min(cursor.last_timestamp, t + FUTURE_SKEW_MS);
    let first = 0;
    // Valid UTF-8 cut at newlines is valid UTF-8 line by line (a newline is never part of a longer character): one
    // check of every whole line read, rather than one call and one view of the buffer for each.
    const lastNl = n > 0 ? chunk.lastIndexOf(0x0a, n - 1) : -1;
    const allUtf8 = lastNl > 0 && isUtf8(chunk.subarray(0, lastNl));
    while (pos < n && events.length < MAX_BATCH_EVENTS) {
      let nl = chunk.indexOf(0x0a, pos);
      if (nl >= n) nl = -1;
      // A line that goes on past this read is read again from its start by the next batch; only one that fills a
      // whole read is longer than an event can be, and one that ends before the file does is still being written.
      if (nl === -1 && (pos > 0 || n < READ_BYTES)) break;
      const end = nl === -1 ? n : nl > pos && chunk[nl - 1] === 0x0d ? nl - 1 : nl;
      if (nl !== -1 && isBlank(chunk, pos, end)) {
        blanks += nl + 1 - pos;
        blankLines++;
        pos = nl + 1;
        continue;
      }
      const utf8 = nl !== -1 && (allUtf8 || isUtf8(chunk.subarray(pos, end)));
      const size = nl === -1 ? MAX_EVENT_BYTES + 1 : messageBytes(chunk, pos, end, utf8) + EVENT_OVERHEAD_BYTES;
      const own = lineTime(chunk, pos, end, t);
      let line: { length: number; span: number; message?: string };
      if (size <= MAX_EVENT_BYTES) line = { length: end - pos, span: nl + 1 - pos };
      else {
        const measured =
          nl === -1
            ? measureLine(cursor.offset + pos)
            : { length: nl - pos, sha256: createHash('sha256').update(chunk.subarray(pos, nl)).digest('hex') };
        if (!measured) break; // no newline yet: a line still being written
        line = {
          length: measured.length,
          span: measured.length + 1,
          message: standIn(cursor.offset + pos, measured.length, measured.sha256),
        };
      }
      const eventBytes = line.message ? Buffer.byteLength(line.message) + EVENT_OVERHEAD_BYTES : size;
      if (bytes + eventBytes > MAX_BATCH_BYTES) break;
      const timestamp = Math.min(Math.max(own, t - FLOOR_MS, last), Math.max(t, last));
      if (events.length === 0) {
        first = timestamp;
        body.begin(logGroup, stream!);
      } else if (timestamp - first > SPAN_MS) break;
      if (line.message) body.addText(timestamp, line.message);
      else body.addBytes(timestamp, chunk, pos, end, utf8);
      events.push({
        offset: cursor.offset + pos,
        length: line.length,
        timestamp,
        lineTime: own,
        span: line.span + blanks,
        lines: 1 + blankLines,
        ...(line.message ? { standIn: line.message } : {}),
      });
      // The rest of this read is part of the long line: the next batch reads on from its end.
      if (nl === -1) {
        pos = n;
        break;
      }
      blanks = 0;
      blankLines = 0;
      bytes += eventBytes;
      last = timestamp;
      pos = nl + 1;
    }
    if (events.length > 0) batchBody = body.finish();
    if (events.length === 0 && blanks > 0) {
      // Only blank lines (probe writes): step over them.
      cursor.offset += blanks;
      pendingLines = Math.max(0, pendingLines - blankLines);
    }
    return events;
  }

  async function ensureStream(c: CloudWatchLogsClient): Promise<void> {
    const { CreateLogGroupCommand, CreateLogStreamCommand } = await loadLogs();
    for (const command of [
      new CreateLogGroupCommand({ logGroupName: logGroup }),
      new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: stream! }),
    ]) {
      try {
        await c.send(command as never);
      } catch (e) {
        if ((e as { name?: string }).name !== 'ResourceAlreadyExistsException') throw e;
      }
    }
    log.info({ log_group: logGroup, log_stream: stream }, 'created the CloudWatch Logs group/stream for forwarding');
  }

  async function put(c: CloudWatchLogsClient, encoded: Buffer) {
    const send = async () =>
      c.send(await putLogEventsCommand({ logGroupName: logGroup, logStreamName: stream! }, encoded));
    try {
      return await send();
    } catch (e) {
      if ((e as { name?: string }).name !== 'ResourceNotFoundException') throw e;
      await ensureStream(c);
      return send();
    }
  }

  /** One round: send what is due (a resend first), advance and persist the cursor. */
  async function round(): Promise<boolean> {
    if (!openCurrent()) return false;
    scan();
    if (stream === null) {
      stream = await remote(options.logStream as () => Promise<string>);
      if (cursor && cursor.log_stream !== stream) cursor.log_stream = stream;
    }
    if (cursor && cursor.log_stream === '') cursor.log_stream = stream;
    if (cursor && cursor.log_stream !== stream) {
      log.info({ log_stream: stream }, 'the forwarding stream changed; forwarding the decision log from its beginning');
      cursor = { ...cursor, log_stream: stream, offset: 0 };
      scanOffset = 0;
      pendingLines = 0;
      scan();
    }
    client ??= await remote(options.client);
    if (resend.length > 0) {
      // Really now: CloudWatch wants timestamps in order only within a batch, and this batch is all one time.
      const t = now();
      const events = resend.map((e) => ({ ...e, timestamp: t }));
      body.begin(logGroup, stream!);
      for (const e of events) body.addText(e.timestamp, e.message!);
      const r = await remote(() => put(client!, body.finish()));
      cursor!.last_timestamp = Math.max(Math.min(cursor!.last_timestamp, t + FUTURE_SKEW_MS), t);
      const rejected = rejectedIndexes(r.rejectedLogEventsInfo, events.length);
      stats.resent += events.length - rejected.length;
      resend = rejected.map((i) => events[i]!);
      if (resend.length > 0 && ++resendRounds >= RESEND_LIMIT) {
        stats.rejected += resend.length;
        log.error(
          {
            event: 'lines_not_forwarded',
            file,
            log_group: logGroup,
            log_stream: stream,
            events: resend.length,
            lines: resend.map((e) => ({ offset: e.offset, length: e.length })),
          },
          'CloudWatch Logs keeps rejecting these decision-log lines for their timestamps; they are not in the stream',
        );
        resend = [];
      }
      await persist();
      // Still rejected: try again after a backoff (a clock that is off may be corrected meanwhile).
      if (resend.length > 0)
        throw Object.assign(new Error(`${resend.length} event(s) rejected for their timestamps`), {
          name: 'Rejected',
        });
      return true;
    }
    if (batch.length === 0) batch = build();
    if (batch.length === 0) return false;
    const events = batch;
    const r = await remote(() => put(client!, batchBody!));
    const rejected = rejectedIndexes(r.rejectedLogEventsInfo, events.length);
    if (rejected.length > 0) {
      log.warn(
        { log_group: logGroup, log_stream: stream, rejected: rejected.length, info: r.rejectedLogEventsInfo },
        'CloudWatch Logs rejected some events for their timestamps; sending them again stamped now',
      );
      resend = rejected.map((i) => ({ ...events[i]!, message: events[i]!.standIn ?? readText(events[i]!) }));
      resendRounds = 0;
    }
    stats.forwarded += events.length - rejected.length;
    for (const e of events) {
      if (!e.standIn) continue;
      stats.oversized++;
      log.error(
        {
          event: 'line_not_forwarded',
          file,
          log_group: logGroup,
          log_stream: stream,
          offset: e.offset,
          length: e.length,
        },
        'a decision-log line is longer than a CloudWatch Logs event can be; an event naming its offset, length and SHA-256 was sent in its place',
      );
    }
    cursor!.offset += events.reduce((n, e) => n + e.span, 0);
    cursor!.last_timestamp = Math.max(cursor!.last_timestamp, events.at(-1)!.timestamp);
    pendingLines = Math.max(0, pendingLines - events.reduce((n, e) => n + e.lines, 0));
    batch = [];
    await persist();
    return true;
  }

  function rejectedIndexes(
    info:
      | { tooOldLogEventEndIndex?: number; expiredLogEventEndIndex?: number; tooNewLogEventStartIndex?: number }
      | undefined,
    n: number,
  ): number[] {
    if (!info) return [];
    const out: number[] = [];
    const oldEnd = Math.max(info.tooOldLogEventEndIndex ?? 0, info.expiredLogEventEndIndex ?? 0);
    for (let i = 0; i < Math.min(oldEnd, n); i++) out.push(i);
    for (let i = Math.max(oldEnd, info.tooNewLogEventStartIndex ?? n); i < n; i++) out.push(i);
    return out;
  }

  function updateRefusal(): void {
    const oldest = oldestPending();
    const lagMs = lagMillis(oldest);
    const next =
      !options.required || (pendingLines + resend.length <= maxLagLines && lagMs <= maxLagMs)
        ? null
        : `CloudWatch Logs forwarding is ${pendingLines + resend.length} line(s) and ${Math.round(lagMs / 1000)} s behind (bound: ${maxLagLines} lines, ${Math.round(maxLagMs / 60_000)} min)`;
    if (next !== refusing) {
      if (next)
        log.error({ event: 'forwarding_lag', problem: next }, 'forwarding is too far behind; credentials are refused');
      else if (refusing) log.info({ event: 'forwarding_caught_up' }, 'forwarding caught up; credentials are served');
      refusing = next;
    }
    options.onUpdate?.(status(lagMs), oldest);
  }

  const status = (lagMs = lagMillis()): ForwarderStatus => ({
    log_group: logGroup,
    log_stream: stream,
    required: options.required,
    pending_lines: pendingLines + resend.length,
    lag_seconds: Math.round(lagMs / 1000),
    forwarded_lines: stats.forwarded,
    resent_events: stats.resent,
    rejected_events: stats.rejected,
    oversized_lines: stats.oversized,
    last_success_at: stats.lastSuccess,
    last_error: stats.lastError,
    cursor_error: cursorError,
    refusing,
  });

  function oldestPending(): number | null {
    if (pendingLines === 0 && resend.length === 0) return null;
    return resend[0]?.lineTime ?? batch[0]?.lineTime ?? oldestUnsentTime();
  }

  function lagMillis(oldest = oldestPending()): number {
    return oldest === null ? 0 : Math.max(0, now() - oldest);
  }

  function oldestUnsentTime(): number | null {
    if (fd === null || !cursor) return null;
    const n = readSync(fd, chunk, 0, 64 * 1024, cursor.offset);
    for (let pos = 0; pos < n;) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl === -1 || nl >= n ? n : nl;
      if (!isBlank(chunk, pos, end)) return lineTime(chunk, pos, end, now());
      pos = end + 1;
    }
    return null;
  }

  /** An event's text, read back from the file (only for the few events CloudWatch rejects). */
  function readText(e: PendingEvent): string {
    const buf = Buffer.allocUnsafe(e.length);
    const n = fd === null ? 0 : readSync(fd, buf, 0, e.length, e.offset);
    return buf.toString('utf8', 0, n);
  }

  async function loop(): Promise<void> {
    while (!closed) {
      kicked = false;
      let progressed = false;
      try {
        progressed = await round();
        if (progressed) {
          failures = 0;
          stats.lastSuccess = new Date(now()).toISOString();
          stats.lastError = null;
        }
      } catch (e) {
        failures++;
        const cause = describeCause(e);
        const rejected = (e as Error).name === 'Rejected';
        const local = !(e && typeof e === 'object' && remoteFailures.has(e)) && !rejected;
        stats.lastError =
          e instanceof SentinelError || rejected
            ? `${e instanceof SentinelError ? e.code : 'Rejected'}: ${(e as Error).message}`
            : local
              ? `the decision log cannot be read (${String(cause.code ?? cause.name ?? 'error')}: ${String(cause.message ?? '')})`
              : remoteError(cause);
        if (e instanceof SentinelError)
          log.error(
            { event: 'forwarding_failed', log_group: logGroup, log_stream: stream, cause, failures },
            'the decision log or the forwarding cursor is not safe to use; nothing is forwarded until it is',
          );
        else if (rejected)
          log.warn(
            { event: 'forwarding_failed', log_group: logGroup, log_stream: stream, cause, failures },
            'CloudWatch Logs still rejects events for their timestamps; sending them again after a pause',
          );
        else if (local)
          log.error(
            { event: 'forwarding_failed', file, cause, failures },
            'the decision log cannot be read; retrying with backoff',
          );
        else
          log.warn(
            { event: 'forwarding_failed', log_group: logGroup, log_stream: stream, cause, failures },
            transient(e)
              ? 'CloudWatch Logs unavailable; retrying with backoff'
              : 'CloudWatch Logs refused the batch; retrying with backoff',
          );
      }
      updateRefusal();
      if (failures > 0) {
        const wait = Math.min(backoffMax, backoffBase * 2 ** Math.min(failures - 1, 16));
        await sleep(wait / 2 + Math.random() * (wait / 2));
        continue;
      }
      if (!progressed && !kicked) return;
      // Caught up (less than a batch worth waiting): the next poll sends what arrives meanwhile. Sending again at once
      // would put one tiny, signed PutLogEvents per decision-log write on the event loop that serves credentials.
      if (progressed && !kicked && resend.length === 0 && pendingLines < CATCH_UP_LINES) return;
    }
  }

  let wake: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      t.unref();
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  function tick(): void {
    if (closed) return;
    if (running) {
      kicked = true;
      return;
    }
    running = loop().finally(() => {
      running = null;
    });
  }

  return {
    start() {
      void (async () => {
        cursor = loadCursor();
        if (cursor && stream === null) stream = cursor.log_stream || null;
        tick();
        timer = setInterval(() => {
          tick();
          // Counted on every poll, so pending_lines stays current while a backoff holds the next round.
          try {
            scan();
          } catch {
            // the next round reports what is wrong with the file
          }
          updateRefusal();
        }, pollMs);
        timer.unref();
      })();
    },
    kick: tick,
    refusal: () => refusing,
    status: () => status(),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      wake?.();
      await Promise.race([running ?? Promise.resolve(), new Promise((r) => setTimeout(r, 2000).unref())]);
      await persist();
      if (fd !== null) closeSync(fd);
      fd = null;
      client?.destroy();
    },
  };
}
