// `audit verify-logs --against-cloudwatch` (DESIGN §14): the file and its forwarded copy, compared line for event.
// The forwarder sends every line in order, but the stream is not always the file's lines once each in order: a line
// CloudWatch rejected for its timestamp is sent again stamped later (up to a batch further on), a restart before the
// cursor was saved and a damaged cursor send lines a second time, and a line too long for an event is sent as a
// stand-in naming its offset, length and SHA-256. So lines and events are matched by content within a window, a repeat
// of a line already matched is counted as re-sent rather than reported, and what is left unmatched is the finding: a
// cut tail shows as events CloudWatch has after the file's last line, a chain rewritten by someone holding the key as
// lines and events that differ. Both streams are read page by page and the window is bounded: memory stays bounded
// whatever their length.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { SentinelError } from '../errors.js';
import { createLogsClient, streamEvents } from './cloudwatch-client.js';
import { EVENT_OVERHEAD_BYTES, MAX_EVENT_BYTES, STAND_IN_PREFIX } from './forwarder.js';
import { readFileLines, type NumberedLine } from './line-reader.js';
import type { Finding } from './verify.js';

export interface CompareTarget {
  logGroup: string;
  logStream: string;
  profile?: string;
  region?: string;
}

export interface CompareResult {
  events: number;
  /** Events that repeat a line already matched (sent again after a rejection, a restart or a damaged cursor). */
  resent: number;
  findings: Finding[];
}

/**
 * How far apart a line and its event may be and still be matched: more than one batch (10,000 events), the furthest a
 * re-send after a timestamp rejection lands from where the line was. Also how many matched lines are remembered to
 * recognise a repeat nearby.
 */
export const MATCH_WINDOW = 20_000;
/**
 * Unmatched lines and events kept for a late match. When the events reach it, the file read so far is searched for
 * them (a whole log sent again in one block); beyond it, when that no longer frees half, they are reported as they are.
 */
export const MAX_UNRESOLVED = 100_000;

/** Where a line is: a line longer than an event can hold is only known by its place (its event is a stand-in). */
interface LocalLine {
  n: number;
  key: string | null;
  offset: number;
  length: number;
  /** Matched, or given up as missing: no longer pending. */
  done?: true;
}

interface StandIn {
  offset: number;
  length: number;
  sha256: string;
}

/** The longest line the forwarder sends as it is. */
const MAX_MESSAGE_BYTES = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES;

/** A line by its place: how a stand-in names it. */
const placeKey = (offset: number, length: number): string => `@${offset}:${length}`;

const textKey = (text: string): string => createHash('sha256').update(text).digest('base64');

function parseStandIn(message: string): StandIn | null {
  if (!message.startsWith(STAND_IN_PREFIX)) return null;
  try {
    const v = JSON.parse(message) as Record<string, unknown>;
    const { offset, length, sha256 } = v;
    if (
      Number.isSafeInteger(offset) &&
      (offset as number) >= 0 &&
      Number.isSafeInteger(length) &&
      (length as number) >= 0 &&
      typeof sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(sha256)
    )
      return { offset: offset as number, length: length as number, sha256 };
  } catch {
    // Not JSON: an ordinary message that happens to start the same way.
  }
  return null;
}

/** Whether the file holds, at the stand-in's offset, bytes of its length and SHA-256 (read in pieces: any length). */
export function standInHolds(file: string, s: StandIn): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(64 * 1024);
    let done = 0;
    while (done < s.length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, s.length - done), s.offset + done);
      if (n === 0) return false;
      hash.update(buf.subarray(0, n));
      done += n;
    }
    return hash.digest('hex') === s.sha256;
  } finally {
    closeSync(fd);
  }
}

/** A set that forgets its oldest keys past a size (a ring: a Map's own order slows as its head is deleted). */
class Recent {
  private readonly set = new Set<string>();
  private readonly ring: string[] = [];
  private next = 0;
  constructor(private readonly limit: number) {}
  has(key: string): boolean {
    return this.set.has(key);
  }
  remember(key: string): void {
    if (this.set.has(key)) return;
    const old = this.ring[this.next];
    if (old !== undefined) this.set.delete(old);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.limit;
    this.set.add(key);
  }
}

interface Run {
  from: number;
  to: number;
}

/** Events after the same matched line, in a row. */
interface EventRun {
  first: number;
  last: number;
  after: number;
}

/** Appends events first..last to runs, joining the last run when they follow it after the same line. */
function extendEvents(runs: EventRun[], first: number, last: number, after: number): void {
  const end = runs.at(-1);
  if (end && end.last + 1 === first && end.after === after) end.last = last;
  else runs.push({ first, last, after });
}

/** Appends from..to to runs of consecutive numbers, joining the last run when it follows it (from never decreases). */
function extend(runs: Run[], from: number, to = from): void {
  const end = runs.at(-1);
  if (end && end.to + 1 === from) end.to = to;
  else runs.push({ from, to });
}

/**
 * Matches the file's lines with the stream's messages. Both are consumed once, in order; the file is read a second
 * time only when events are left that may repeat a line matched long before.
 */
export async function matchStreams(
  file: string,
  lines: () => AsyncIterator<NumberedLine>,
  messages: AsyncIterator<string>,
): Promise<CompareResult> {
  const local = lines();
  let localDone = false;
  let lastLine = 0;
  /** Read, not yet matched: all of them by offset (in the file's order), and by content those that have one. */
  const pendingAt = new Map<number, LocalLine>();
  const pending = new Map<string, LocalLine>();
  /** Matched lines, to recognise a repeat: by content, and `@offset` for stand-ins. */
  const matched = new Recent(2 * MATCH_WINDOW);
  /** The pending lines in the file's order, from `head` on (settled ones are skipped when reached). */
  const queue: LocalLine[] = [];
  let head = 0;
  /** Lines that fell out of the window unmatched, and events that matched nothing yet. */
  const missing = new Map<string, number>();
  const missingUntracked: Run[] = [];
  const extra = new Map<string, { event: number; after: number; standIn?: StandIn }>();
  const extraUntracked: EventRun[] = [];
  let searchFile = true;
  let events = 0;
  let resent = 0;
  /** The line the last matched event matched, and the furthest line matched. */
  let after = 0;
  let furthest = 0;

  const keyOf = (l: LocalLine) => l.key ?? placeKey(l.offset, l.length);
  const unpend = (l: LocalLine) => {
    l.done = true;
    pendingAt.delete(l.offset);
    if (l.key !== null) pending.delete(l.key);
  };
  const markMissing = (l: LocalLine) => {
    if (missing.size < MAX_UNRESOLVED) missing.set(keyOf(l), l.n);
    else extend(missingUntracked, l.n);
  };
  const settle = (l: LocalLine) => {
    unpend(l);
    if (l.key !== null) matched.remember(l.key);
    matched.remember(placeKey(l.offset, l.length));
    after = l.n;
    if (l.n <= furthest) return;
    furthest = l.n;
    for (; head < queue.length && queue[head]!.n < furthest - MATCH_WINDOW; head++) {
      const p = queue[head]!;
      if (p.done) continue;
      unpend(p);
      markMissing(p);
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };
  /** The next line of the file, or null at its end; a line an earlier event named is matched on the way. */
  const readLine = async (): Promise<LocalLine | null> => {
    for (;;) {
      const r = await local.next();
      if (r.done) {
        localDone = true;
        return null;
      }
      const { n, text, offset, length } = r.value;
      if (text !== null && text.trim() === '') continue;
      lastLine = n;
      const key = text === null || length > MAX_MESSAGE_BYTES ? null : textKey(text);
      const line: LocalLine = { n, key, offset, length };
      const place = placeKey(offset, length);
      const early =
        key !== null && extra.has(key)
          ? key
          : extra.get(place)?.standIn && standInHolds(file, extra.get(place)!.standIn!)
            ? place
            : null;
      if (early) {
        extra.delete(early);
        matched.remember(early);
        if (n > furthest) furthest = n;
        continue;
      }
      // The same line twice in the file: each copy is looked for as a line of its own.
      if (key !== null && (pending.has(key) || missing.has(key))) {
        markMissing({ ...line, key: `${key}#${n}` });
        continue;
      }
      pendingAt.set(offset, line);
      if (key !== null) pending.set(key, line);
      queue.push(line);
      return line;
    }
  };
  /** Reads on, within the window, to the line that satisfies wanted. */
  const readUntil = async (wanted: (l: LocalLine) => boolean): Promise<LocalLine | undefined> => {
    while (!localDone && lastLine < furthest + MATCH_WINDOW) {
      const l = await readLine();
      if (l && wanted(l)) return l;
    }
    return undefined;
  };

  for (;;) {
    const r = await messages.next();
    if (r.done) break;
    events++;
    const message = r.value;
    const key = textKey(message);
    let line = pending.get(key);
    if (!line) {
      if (matched.has(key)) {
        resent++;
        continue;
      }
      // A late event (sent again after a rejection) for a line that already fell out of the window.
      if (missing.delete(key)) continue;
      // A stand-in is checked against the file only where a line of its length starts at its offset, so an event
      // naming a huge length costs nothing.
      const s = parseStandIn(message);
      const at = s ? placeKey(s.offset, s.length) : null;
      if (at !== null && (matched.has(at) || missing.has(at)) && standInHolds(file, s!)) {
        if (!missing.delete(at)) resent++;
        continue;
      }
      if (s) {
        const candidate = pendingAt.get(s.offset) ?? (await readUntil((l) => l.offset === s.offset));
        if (candidate && candidate.length === s.length && standInHolds(file, s)) line = candidate;
      } else line = await readUntil((l) => l.key === key);
      if (!line) {
        if (extra.size >= MAX_UNRESOLVED && searchFile) {
          const before = extra.size;
          await repeatsOfReadLines(lastLine);
          searchFile = extra.size <= before / 2;
        }
        if (extra.size < MAX_UNRESOLVED && !extra.has(at ?? key))
          extra.set(at ?? key, { event: events, after, ...(s ? { standIn: s } : {}) });
        else extendEvents(extraUntracked, events, events, after);
        continue;
      }
    }
    settle(line);
  }
  // The stream has ended: what is left of the file was not forwarded (or was removed there).
  for (const l of pendingAt.values()) markMissing(l);
  pendingAt.clear();
  pending.clear();
  while (!localDone) {
    const l = await readLine();
    if (l) {
      unpend(l);
      markMissing(l);
    }
  }
  await repeatsOfReadLines(lastLine);
  return { events, resent, findings: describe() };

  /**
   * Events left unmatched that repeat a line already read: a line read after an event arrived is matched with it on
   * the way (readLine), so one of these was matched before, and the event is a re-send.
   */
  async function repeatsOfReadLines(upTo: number): Promise<void> {
    if (extra.size === 0) return;
    for await (const l of { [Symbol.asyncIterator]: lines }) {
      if (extra.size === 0 || l.n > upTo) break;
      const place = extra.get(placeKey(l.offset, l.length))?.standIn;
      if (l.text !== null && extra.delete(textKey(l.text))) resent++;
      else if (place && standInHolds(file, place) && extra.delete(placeKey(l.offset, l.length))) resent++;
    }
  }

  function describe(): Finding[] {
    const gone: Run[] = [];
    const lost = [...missing.values()].map((n) => ({ from: n, to: n }));
    for (const r of [...lost, ...missingUntracked].sort((a, b) => a.from - b.from)) extend(gone, r.from, r.to);
    const extraRuns: EventRun[] = [];
    const spare = [...extra.values()].map((e) => ({ first: e.event, last: e.event, after: e.after }));
    for (const r of [...spare, ...extraUntracked].sort((a, b) => a.first - b.first))
      extendEvents(extraRuns, r.first, r.last, r.after);
    const startingAt = new Map(gone.map((g) => [g.from, g]));
    const findings: Finding[] = [];
    for (const run of extraRuns) {
      // Events that took the place of lines: the lines after the same matched line differ.
      const lost = startingAt.get(run.after + 1);
      if (lost) {
        const count = Math.min(lost.to - lost.from, run.last - run.first) + 1;
        const to = lost.from + count - 1;
        findings.push({
          line: lost.from,
          kind: 'altered',
          message:
            count === 1
              ? `differs from CloudWatch event ${run.first}: edited here, or the chain was rewritten`
              : `lines ${lost.from} to ${to} differ from CloudWatch events ${run.first} to ${run.first + count - 1}: edited here, or the chain was rewritten`,
        });
        startingAt.delete(lost.from);
        lost.from += count;
        if (lost.from <= lost.to) startingAt.set(lost.from, lost);
        run.first += count;
        run.after = to;
        if (run.first > run.last) continue;
      }
      const n = run.last - run.first + 1;
      findings.push(
        run.after >= lastLine
          ? {
              line: lastLine + 1,
              kind: 'extra_in_cloudwatch',
              message: `CloudWatch has ${n} event(s) after the file's last line: the file's tail was cut`,
            }
          : {
              line: run.after + 1,
              kind: 'extra_in_cloudwatch',
              message: `CloudWatch has ${n} event(s) (${run.first === run.last ? `event ${run.first}` : `events ${run.first} to ${run.last}`}) after line ${run.after} that are not in the file: lines removed here`,
            },
      );
    }
    for (const g of gone) {
      if (g.from > g.to) continue;
      const n = g.to - g.from + 1;
      findings.push({
        line: g.from,
        kind: 'missing_in_cloudwatch',
        message:
          g.to === lastLine
            ? `${n} line(s) from line ${g.from} on are not in CloudWatch: not forwarded yet, or removed there`
            : `${n} line(s) (${g.from} to ${g.to}) are not in CloudWatch: inserted here after they were forwarded, or removed there`,
      });
    }
    return findings.sort((a, b) => a.line - b.line);
  }
}

async function* messagesOf(events: AsyncIterable<{ message: string }>): AsyncGenerator<string> {
  for await (const e of events) yield e.message;
}

export async function compareWithCloudWatch(file: string, target: CompareTarget): Promise<CompareResult> {
  const client = await createLogsClient({ region: target.region, profile: target.profile });
  try {
    return await matchStreams(
      file,
      () => readFileLines(file, MAX_MESSAGE_BYTES),
      messagesOf(streamEvents(client, target.logGroup, target.logStream)),
    );
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'ResourceNotFoundException')
      throw new SentinelError('UsageError', `the log stream ${target.logGroup}/${target.logStream} does not exist`, {
        hint: 'Check --log-group/--log-stream (or audit.cloudwatch in config.yaml) and the region.',
      });
    // No answer at all (every attempt timed out, or no connection) is not a permission problem: say which it is.
    const code = (e as { code?: string }).code ?? '';
    if (name === 'TimeoutError' || /^(ECONN|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE)/.test(code))
      throw new SentinelError(
        'InternalError',
        `CloudWatch Logs did not answer (${name === 'TimeoutError' ? name : code})`,
        {
          hint: 'Check network access to CloudWatch Logs in the region (or AWS_ENDPOINT_URL_CLOUDWATCH_LOGS), then run it again.',
        },
      );
    throw new SentinelError('InternalError', `CloudWatch Logs could not be read (${name ?? 'error'})`, {
      hint: 'Check the AWS profile and region, and that it may call logs:GetLogEvents on the stream.',
    });
  } finally {
    client.destroy();
  }
}
