// A strict local CloudWatch Logs for tests: AWS JSON 1.1 (`X-Amz-Target: Logs_20140328.<Op>`) as the real SDK v3
// client speaks it, with PutLogEvents' real limits — at most 10,000 events and 1,048,576 bytes per batch counting 26
// bytes per event, chronological order within a batch, a span of at most 24 hours, events older than 14 days (or the
// retention) or more than 2 hours ahead rejected through rejectedLogEventsInfo — and GetLogEvents' forward paging.
// It can throttle (failNext), go down (setDown: connections dropped unanswered) and be slow (setDelay).
import {
  AwsServiceError,
  EMULATOR_ACCOUNT,
  FaultInjector,
  optBoolean,
  optInteger,
  optString,
  startJsonService,
  type FailureSpec,
  type JsonObject,
  type JsonValue,
} from './aws-protocol.js';

export const MAX_BATCH_EVENTS = 10_000;
export const MAX_BATCH_BYTES = 1_048_576;
export const EVENT_OVERHEAD_BYTES = 26;
export const MAX_EVENT_BYTES = 1_048_576;
const DAY_MS = 86_400_000;
const MAX_SPAN_MS = DAY_MS;
const TOO_OLD_MS = 14 * DAY_MS;
const TOO_NEW_MS = 2 * 3_600_000;
const GET_LIMIT = 10_000;
const GET_BYTES = 1_048_576;
const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const STREAM_NAME = /^[^:*]{1,512}$/;

export interface StoredEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface PutRecord {
  group: string;
  stream: string;
  events: number;
  bytes: number;
  accepted: number;
}

export interface LogsEmulator {
  url: string;
  calls: Record<string, number>;
  /** Every PutLogEvents that was accepted (whole or in part), in order. */
  puts: PutRecord[];
  /** A stream's events in the order GetLogEvents returns them (by timestamp, then arrival). */
  events(group: string, stream: string): StoredEvent[];
  /** How many events a stream has accepted (kept or, with keepEvents false, only counted). */
  count(group: string, stream: string): number;
  createGroup(group: string): void;
  /** Retention in days for a group (events older are "expired"); null: never. */
  setRetention(group: string, days: number | null): void;
  failNext(action: string, spec: FailureSpec, times?: number): void;
  setFailure(action: string, spec: FailureSpec | null): void;
  setDelay(ms: number): void;
  setDown(down: boolean): void;
  /** Requests that have reached the emulator, counted on arrival (before setDelay holds them). */
  arrivals(): number;
  /** The emulator's clock (default Date.now); limits on event age are measured with it. */
  now: () => number;
  close(): Promise<void>;
}

interface Stream {
  name: string;
  created: number;
  events: StoredEvent[];
  /** Accepted and not kept (keepEvents false). */
  counted: number;
  sorted: boolean;
  sequence: number;
}

interface Group {
  created: number;
  retentionDays: number | null;
  streams: Map<string, Stream>;
}

const STATUS_BY_CODE: Record<string, number> = { ServiceUnavailableException: 500, ThrottlingException: 400 };

function invalid(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message, 400);
}

function requireName(input: JsonObject, member: string, pattern: RegExp): string {
  const v = optString(input, member);
  if (v === undefined)
    throw invalid(
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  if (!pattern.test(v))
    throw invalid(
      `1 validation error detected: Value '${v.slice(0, 64)}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`,
    );
  return v;
}

export interface LogsOptions {
  /** False: accepted events are checked and counted but not kept (bench/audit.ts: a stream of a million lines kept in
   * the emulator's heap is a cost of the stand-in, not of the service, and its collections compete with the daemon for
   * the machine's memory). GetLogEvents then has nothing to return. Default true. */
  keepEvents?: boolean;
}

export async function startLogs(options: LogsOptions = {}): Promise<LogsEmulator> {
  const keepEvents = options.keepEvents ?? true;
  const groups = new Map<string, Group>();
  const calls: Record<string, number> = {};
  const puts: PutRecord[] = [];
  const faults = new FaultInjector(STATUS_BY_CODE);
  let delayMs = 0;
  let down = false;
  let arrivals = 0;
  const emulator = { now: () => Date.now() } as LogsEmulator;

  const groupOf = (name: string): Group => {
    const g = groups.get(name);
    if (!g) throw new AwsServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    return g;
  };
  const streamOf = (group: string, name: string): Stream => {
    const s = groupOf(group).streams.get(name);
    if (!s) throw new AwsServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
    return s;
  };
  const ordered = (s: Stream): StoredEvent[] => {
    if (!s.sorted) {
      // Array.prototype.sort is stable: equal timestamps keep their arrival order, as CloudWatch returns them.
      s.events.sort((a, b) => a.timestamp - b.timestamp);
      s.sorted = true;
    }
    return s.events;
  };

  const operations: Record<string, (input: JsonObject) => JsonObject> = {
    CreateLogGroup(input) {
      const name = requireName(input, 'logGroupName', GROUP_NAME);
      if (groups.has(name))
        throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
      groups.set(name, { created: emulator.now(), retentionDays: null, streams: new Map() });
      return {};
    },
    CreateLogStream(input) {
      const group = requireName(input, 'logGroupName', GROUP_NAME);
      const name = requireName(input, 'logStreamName', STREAM_NAME);
      const g = groupOf(group);
      if (g.streams.has(name))
        throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      g.streams.set(name, { name, created: emulator.now(), events: [], counted: 0, sorted: true, sequence: 0 });
      return {};
    },
    DescribeLogStreams(input) {
      const group = requireName(input, 'logGroupName', GROUP_NAME);
      const prefix = optString(input, 'logStreamNamePrefix') ?? '';
      const limit = optInteger(input, 'limit') ?? 50;
      if (limit < 1 || limit > 50) throw invalid('limit must be between 1 and 50');
      const token = optString(input, 'nextToken');
      const start = token === undefined ? 0 : Number(token.replace(/^ds\//, ''));
      if (!Number.isInteger(start) || start < 0) throw invalid('The specified nextToken is invalid.');
      const all = [...groupOf(group).streams.values()]
        .filter((s) => s.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const page = all.slice(start, start + limit);
      return {
        logStreams: page.map((s) => {
          const events = ordered(s);
          return {
            logStreamName: s.name,
            creationTime: s.created,
            arn: `arn:aws:logs:us-east-1:${EMULATOR_ACCOUNT}:log-group:${group}:log-stream:${s.name}`,
            storedBytes: 0,
            ...(events.length
              ? {
                  firstEventTimestamp: events[0]!.timestamp,
                  lastEventTimestamp: events.at(-1)!.timestamp,
                  lastIngestionTime: Math.max(...events.slice(-100).map((e) => e.ingestionTime)),
                }
              : {}),
          };
        }),
        ...(start + limit < all.length ? { nextToken: `ds/${start + limit}` } : {}),
      };
    },
    PutLogEvents(input) {
      const group = requireName(input, 'logGroupName', GROUP_NAME);
      const name = requireName(input, 'logStreamName', STREAM_NAME);
      const raw = input.logEvents;
      if (!Array.isArray(raw))
        throw invalid(
          "1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: Member must not be null",
        );
      if (raw.length < 1 || raw.length > MAX_BATCH_EVENTS)
        throw invalid(
          `1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and ${MAX_BATCH_EVENTS}`,
        );
      const events = raw.map((e: JsonValue, i) => {
        if (!e || typeof e !== 'object' || Array.isArray(e)) throw invalid(`logEvents.${i + 1} must be a structure`);
        const timestamp = optInteger(e, 'timestamp');
        const message = optString(e, 'message');
        if (timestamp === undefined || message === undefined)
          throw invalid(`logEvents.${i + 1}: timestamp and message are required`);
        if (message.length < 1)
          throw invalid(`logEvents.${i + 1}.message: Member must have length greater than or equal to 1`);
        return { timestamp, message, bytes: Buffer.byteLength(message, 'utf8') + EVENT_OVERHEAD_BYTES };
      });
      const total = events.reduce((n, e) => n + e.bytes, 0);
      const big = events.find((e) => e.bytes > MAX_EVENT_BYTES);
      if (big) throw invalid(`Log event too large: ${big.bytes} bytes exceeds limit of ${MAX_EVENT_BYTES}`);
      if (total > MAX_BATCH_BYTES)
        throw invalid(`Upload too large: ${total} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
      for (let i = 1; i < events.length; i++) {
        if (events[i]!.timestamp < events[i - 1]!.timestamp)
          throw invalid('Log events in a single PutLogEvents request must be in chronological order.');
      }
      if (events.at(-1)!.timestamp - events[0]!.timestamp > MAX_SPAN_MS)
        throw invalid('The batch of log events in a single PutLogEvents request cannot span more than 24 hours.');
      const g = groupOf(group);
      const s = streamOf(group, name);
      const now = emulator.now();
      // Chronological, so the too-old events are a prefix and the too-new ones a suffix.
      let tooOldEnd = 0;
      while (tooOldEnd < events.length && events[tooOldEnd]!.timestamp < now - TOO_OLD_MS) tooOldEnd++;
      let expiredEnd = 0;
      if (g.retentionDays !== null) {
        const limit = now - g.retentionDays * DAY_MS;
        while (expiredEnd < events.length && events[expiredEnd]!.timestamp < limit) expiredEnd++;
      }
      let tooNewStart = events.length;
      while (tooNewStart > 0 && events[tooNewStart - 1]!.timestamp > now + TOO_NEW_MS) tooNewStart--;
      const from = Math.max(tooOldEnd, expiredEnd);
      let accepted = 0;
      for (let i = from; i < tooNewStart; i++) {
        if (keepEvents)
          s.events.push({ timestamp: events[i]!.timestamp, message: events[i]!.message, ingestionTime: now });
        else s.counted++;
        accepted++;
      }
      if (accepted > 0) s.sorted = false;
      puts.push({ group, stream: name, events: events.length, bytes: total, accepted });
      s.sequence++;
      const rejected: JsonObject = {};
      if (tooOldEnd > 0) rejected.tooOldLogEventEndIndex = tooOldEnd;
      if (expiredEnd > 0) rejected.expiredLogEventEndIndex = expiredEnd;
      if (tooNewStart < events.length) rejected.tooNewLogEventStartIndex = tooNewStart;
      return {
        nextSequenceToken: String(s.sequence).padStart(56, '0'),
        ...(Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {}),
      };
    },
    GetLogEvents(input) {
      const group = requireName(input, 'logGroupName', GROUP_NAME);
      const name = requireName(input, 'logStreamName', STREAM_NAME);
      const limit = optInteger(input, 'limit') ?? GET_LIMIT;
      if (limit < 1 || limit > GET_LIMIT) throw invalid(`limit must be between 1 and ${GET_LIMIT}`);
      const fromHead = optBoolean(input, 'startFromHead') ?? false;
      const token = optString(input, 'nextToken');
      const events = ordered(streamOf(group, name));
      let start: number;
      if (token !== undefined) {
        const m = /^([fb])\/(\d{1,56})$/.exec(token);
        if (!m) throw invalid('The specified nextToken is invalid.');
        start = m[1] === 'f' ? Number(m[2]) : Math.max(0, Number(m[2]) - limit);
      } else start = fromHead ? 0 : Math.max(0, events.length - limit);
      const page: StoredEvent[] = [];
      let bytes = 0;
      for (let i = start; i < events.length && page.length < limit; i++) {
        bytes += Buffer.byteLength(events[i]!.message) + EVENT_OVERHEAD_BYTES;
        if (bytes > GET_BYTES && page.length > 0) break;
        page.push(events[i]!);
      }
      const end = start + page.length;
      return {
        events: page.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
        nextForwardToken: `f/${String(end).padStart(56, '0')}`,
        nextBackwardToken: `b/${String(start).padStart(56, '0')}`,
      };
    },
  };

  const service = await startJsonService({
    signingName: 'logs',
    targetPrefix: 'Logs_20140328',
    operations,
    faults,
    calls,
    getDelay: () => delayMs,
    maxBodyBytes: 4 * MAX_BATCH_BYTES,
    isDown: () => down,
    onArrival: () => void arrivals++,
  });

  return Object.assign(emulator, {
    url: service.url,
    calls,
    puts,
    events: (group: string, stream: string) => [...ordered(streamOf(group, stream))],
    count(group: string, stream: string) {
      const s = streamOf(group, stream);
      return s.events.length + s.counted;
    },
    createGroup(group: string) {
      operations.CreateLogGroup!({ logGroupName: group });
    },
    setRetention(group: string, days: number | null) {
      groupOf(group).retentionDays = days;
    },
    failNext: (action: string, spec: FailureSpec, times?: number) => faults.failNext(action, spec, times),
    setFailure: (action: string, spec: FailureSpec | null) => faults.setFailure(action, spec),
    setDelay(ms: number) {
      delayMs = ms;
    },
    setDown(value: boolean) {
      down = value;
    },
    arrivals: () => arrivals,
    close: () => service.close(),
  });
}
