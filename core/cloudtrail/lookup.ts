// Reading CloudTrail's event history (LookupEvents) for the assurance audits (DESIGN §15): paginated, paced to the
// API's 2 requests per second per region (the SDK's own retries absorb a ThrottlingException that slips through),
// and each record's `CloudTrailEvent` JSON parsed without trusting it: a record that is not JSON is reported, not
// thrown.
import { NO_CREDENTIALS_HINT, boundedClientConfig, noCredentialsFound } from '../aws-http.js';
import { SentinelError } from '../errors.js';

/** LookupEvents allows 2 requests per second per account and region. */
const MIN_INTERVAL_MS = 500;
/** Per LookupEvents attempt (a page of up to 50 records). */
export const LOOKUP_ATTEMPT_MS = 15_000;

export interface TrailEvent {
  event_id: string;
  time: string;
  event_name: string;
  region: string;
  /** The parsed CloudTrailEvent; undefined when it is missing or not a JSON object (see parse_error). */
  record?: Record<string, unknown>;
  parse_error?: string;
}

export interface LookupQuery {
  region: string;
  eventName?: string;
  start: Date;
  end: Date;
}

export interface LookupOptions {
  profile?: string;
  /** Waits between calls; replaceable in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Per attempt (default LOOKUP_ATTEMPT_MS). */
  timeoutMs?: number;
  /** Attempts per call (default 6: throttling is expected at 2 requests a second). */
  maxAttempts?: number;
}

export async function* lookupEvents(query: LookupQuery, options: LookupOptions = {}): AsyncGenerator<TrailEvent> {
  const ct = await import('@aws-sdk/client-cloudtrail');
  const client = new ct.CloudTrailClient(
    boundedClientConfig(
      { region: query.region, profile: options.profile },
      { timeoutMs: options.timeoutMs ?? LOOKUP_ATTEMPT_MS, maxAttempts: options.maxAttempts ?? 6 },
    ),
  );
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = 0;
  let token: string | undefined;
  // A token answered twice would page the same events forever (and count them again each time): the audit stops and
  // says it could not read everything, rather than hang or report a count it never finished.
  const seen = new Set<string>();
  try {
    do {
      const wait = last + MIN_INTERVAL_MS - Date.now();
      if (wait > 0) await sleep(wait);
      last = Date.now();
      let out;
      try {
        out = await client.send(
          new ct.LookupEventsCommand({
            StartTime: query.start,
            EndTime: query.end,
            MaxResults: 50,
            ...(query.eventName
              ? { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: query.eventName }] }
              : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
      } catch (err) {
        throw cloudTrailError(err, query.region);
      }
      for (const e of out.Events ?? []) yield toTrailEvent(e, query.region);
      token = out.NextToken;
      if (token !== undefined) {
        if (seen.has(token)) {
          throw new SentinelError(
            'CloudTrailUnavailable',
            `CloudTrail LookupEvents in ${query.region} answered a NextToken it had already given (after ${seen.size} page(s)): its pages loop, so not every event could be read`,
          );
        }
        seen.add(token);
      }
    } while (token);
  } finally {
    client.destroy();
  }
}

function cloudTrailError(err: unknown, region: string): SentinelError {
  const name = (err as { name?: string } | null)?.name ?? '';
  if (noCredentialsFound(err)) {
    return new SentinelError(
      'CloudTrailUnavailable',
      `CloudTrail LookupEvents in ${region}: no AWS credentials could be found`,
      {
        cause: err,
        hint: NO_CREDENTIALS_HINT,
      },
    );
  }
  if (/AccessDenied|UnauthorizedOperation/.test(name)) {
    return new SentinelError('AwsAccessDenied', `not allowed to call cloudtrail:LookupEvents in ${region}`, {
      cause: err,
    });
  }
  return new SentinelError(
    'CloudTrailUnavailable',
    `CloudTrail LookupEvents in ${region} failed${name ? ` (${name})` : ''}`,
    {
      cause: err,
    },
  );
}

function toTrailEvent(
  e: { EventId?: string; EventName?: string; EventTime?: Date; CloudTrailEvent?: string },
  region: string,
): TrailEvent {
  const base = {
    event_id: e.EventId ?? 'unknown',
    time: e.EventTime instanceof Date && !Number.isNaN(e.EventTime.getTime()) ? e.EventTime.toISOString() : 'unknown',
    event_name: e.EventName ?? 'unknown',
    region,
  };
  if (typeof e.CloudTrailEvent !== 'string') return { ...base, parse_error: 'the event has no CloudTrailEvent' };
  try {
    const parsed: unknown = JSON.parse(e.CloudTrailEvent);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ...base, parse_error: 'CloudTrailEvent is not a JSON object' };
    }
    return { ...base, record: parsed as Record<string, unknown> };
  } catch {
    return { ...base, parse_error: 'CloudTrailEvent is not JSON' };
  }
}

/** A string member at a path of a record, or undefined (never throws on a record of the wrong shape). */
export function field(record: Record<string, unknown> | undefined, ...path: string[]): string | undefined {
  let v: unknown = record;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return typeof v === 'string' ? v : undefined;
}
