// Wall-clock time in a rule's IANA time zone, through Intl (so DST and historical offsets come from the tz database
// Node ships), and the half-open hour windows `[start, end)` that may wrap midnight.

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const HOUR_PATTERN = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

export interface WallClock {
  weekday: Weekday;
  /** Seconds since local midnight, 0..86399. */
  second: number;
}

// Building a DateTimeFormat costs tens of microseconds and formatting with one several; both are too slow to do for
// every time condition of every decision. So Intl is asked only for a zone's UTC offset, and the answer is kept for
// the quarter hour (UTC) it was asked about, when the offsets at both ends of that quarter hour agree: no zone changes
// its offset twice within fifteen minutes, so the offset then holds for every instant in it. A quarter hour that
// contains a transition is answered by Intl for each instant. The key '' is the process's own zone (rules without
// `timezone`, as in the original Sentinel).
const formatters = new Map<string, Intl.DateTimeFormat>();
const BUCKET_MS = 15 * 60_000;
const MAX_CACHED_BUCKETS = 50_000;
const offsets = new Map<string, Map<number, number>>();

function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(key, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Canonical zone names, for "did you mean" hints. */
export function knownTimeZones(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone')];
}

/** The zone's offset from UTC at `ms` (whole seconds), read from Intl's wall-clock rendering of that instant. */
function offsetFromIntl(ms: number, timeZone: string | undefined): number {
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) p[part.type] = part.value;
  let year = Number(p.year);
  if (p.era === 'BC' || p.era === 'B') year = 1 - year;
  const wall = Date.UTC(
    year,
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour) % 24,
    Number(p.minute),
    Number(p.second),
  );
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const fixed = year >= 0 && year < 100 ? new Date(wall).setUTCFullYear(year) : wall;
  return fixed - Math.floor(ms / 1000) * 1000;
}

function offsetAt(ms: number, timeZone: string | undefined): number {
  const key = timeZone ?? '';
  let zone = offsets.get(key);
  if (!zone) {
    zone = new Map();
    offsets.set(key, zone);
  }
  const bucket = Math.floor(ms / BUCKET_MS);
  const cached = zone.get(bucket);
  if (cached !== undefined) return Number.isNaN(cached) ? offsetFromIntl(ms, timeZone) : cached;
  const first = offsetFromIntl(bucket * BUCKET_MS, timeZone);
  const last = offsetFromIntl(bucket * BUCKET_MS + BUCKET_MS - 1000, timeZone);
  if (zone.size >= MAX_CACHED_BUCKETS) zone.clear();
  // NaN marks a quarter hour with a transition in it: ask Intl for each instant there.
  zone.set(bucket, first === last ? first : Number.NaN);
  return first === last ? first : offsetFromIntl(ms, timeZone);
}

/** The weekday and second of the day at `time` in `timeZone` (the process's zone when undefined). */
export function wallClock(time: Date, timeZone?: string): WallClock {
  const ms = time.getTime();
  const localSecond = Math.floor((ms + offsetAt(ms, timeZone)) / 1000);
  const day = Math.floor(localSecond / 86_400);
  // 1970-01-01 was a Thursday (index 3 of WEEKDAYS).
  return { weekday: WEEKDAYS[(((day + 3) % 7) + 7) % 7]!, second: localSecond - day * 86_400 };
}

/** "HH:MM" → seconds since midnight; undefined when malformed. */
export function parseHour(text: string): number | undefined {
  const m = HOUR_PATTERN.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60;
}

/**
 * Whether `second` lies in `[start, end)`. A window whose start is after its end wraps midnight (22:00–06:00); one
 * whose start equals its end is empty (the original Sentinel matched nothing there either).
 */
export function inHours(second: number, start: number, end: number): boolean {
  if (start < end) return second >= start && second < end;
  if (start > end) return second >= start || second < end;
  return false;
}

/**
 * The weekday a time window's `days` are checked against. For a window that wraps midnight, the early-morning part
 * belongs to the night that began the day before: `days: [friday]`, `22:00`–`06:00` covers Friday 22:00 to
 * Saturday 06:00.
 */
export function windowDay(clock: WallClock, start: number | undefined, end: number | undefined): Weekday {
  if (start !== undefined && end !== undefined && start > end && clock.second < end) {
    return WEEKDAYS[(WEEKDAYS.indexOf(clock.weekday) + 6) % 7]!;
  }
  return clock.weekday;
}
