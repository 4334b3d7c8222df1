// A strict local CloudTrail event history for tests: AWS JSON 1.1
// (`X-Amz-Target: CloudTrail_20131101.LookupEvents`, or the long com.amazonaws.cloudtrail.v20131101 form) as the real SDK v3 client
// speaks it. Events are seeded as CloudTrail records; LookupEvents answers them newest first with `CloudTrailEvent` as
// the record's JSON text, one lookup attribute at most, StartTime/EndTime, MaxResults up to 50, opaque NextTokens
// bound to their query, per-region history (the region of the request's SigV4 scope) and the API's rate of
// 2 requests per second per region, beyond which it answers ThrottlingException. See docs/testing.md.
import { createHash, randomUUID } from 'node:crypto';
import {
  AwsServiceError,
  FaultInjector,
  optInteger,
  optString,
  startJsonService,
  type FailureSpec,
  type JsonCallContext,
  type JsonObject,
  type JsonValue,
} from './aws-protocol.js';

// Current SDKs send the short form; the long one is the service's original shape id, which CloudTrail still accepts.
const TARGET_PREFIXES = ['CloudTrail_20131101', 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101'];
const ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const;
/** LookupEvents' documented rate: 2 requests per second, per account and region. */
export const LOOKUP_EVENTS_PER_SECOND = 2;

export interface SeededEvent {
  eventId: string;
  eventName: string;
  eventTime: Date;
  eventSource: string;
  region: string;
  username?: string;
  accessKeyId?: string;
  readOnly?: boolean;
  resources: Array<{ ResourceType?: string; ResourceName?: string }>;
  /** Exactly what LookupEvents returns as `CloudTrailEvent`. */
  cloudTrailEvent: string;
}

export interface CloudTrailEmulator {
  url: string;
  calls: Record<string, number>;
  /** LookupEvents calls refused by the rate limit. */
  throttled: number;
  /**
   * Seeds a CloudTrail record (the object CloudTrail writes). The summary fields are read from it the way CloudTrail
   * fills them; `rawCloudTrailEvent` replaces the JSON text returned (to seed events with missing or broken fields).
   */
  addEvent(record: Record<string, unknown>, opts?: { rawCloudTrailEvent?: string }): SeededEvent;
  events: SeededEvent[];
  /** Turns the 2 requests/s limit off (false) or back on. */
  setThrottle(on: boolean): void;
  /** A paging bug: every answer carries this NextToken (the first page's events each time); null: paging as AWS does. */
  setStuckNextToken(token: string | null): void;
  failNext(action: string, spec: FailureSpec, times?: number): void;
  setFailure(action: string, spec: FailureSpec | null): void;
  /**
   * Every LookupEvents signed for `region` answers this (null: none), before the rate limit: a region the account has
   * not enabled refuses the credentials themselves (`notEnabledRegion`), a region in trouble answers 5xx.
   */
  setRegionFailure(region: string, spec: FailureSpec | null): void;
  /** LookupEvents calls per region of the request's signature, refused ones included. */
  callsByRegion: Record<string, number>;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/**
 * What CloudTrail (AWS JSON 1.1) answers in a region the account has not enabled (an opt-in region such as
 * ap-east-1): the credentials are unknown there, as for a key that does not exist.
 */
export const notEnabledRegion: FailureSpec = {
  code: 'UnrecognizedClientException',
  status: 400,
  message: 'The security token included in the request is invalid.',
};

const STATUS_BY_CODE: Record<string, number> = {
  ThrottlingException: 400,
  InternalServerError: 500,
  UnrecognizedClientException: 400,
};

export async function startCloudTrail(options: { throttle?: boolean } = {}): Promise<CloudTrailEmulator> {
  const events: SeededEvent[] = [];
  const calls: Record<string, number> = {};
  const faults = new FaultInjector(STATUS_BY_CODE);
  const recent = new Map<string, number[]>();
  let throttle = options.throttle ?? true;
  let delayMs = 0;
  let throttled = 0;
  let stuckToken: string | null = null;
  const regionFailures = new Map<string, FailureSpec>();
  const callsByRegion: Record<string, number> = {};

  const rateLimit = (region: string) => {
    if (!throttle) return;
    const now = Date.now();
    const window = (recent.get(region) ?? []).filter((at) => now - at < 1000);
    if (window.length >= LOOKUP_EVENTS_PER_SECOND) {
      recent.set(region, window);
      throttled++;
      throw new AwsServiceError('ThrottlingException', 'Rate exceeded', 400);
    }
    window.push(now);
    recent.set(region, window);
  };

  const lookupEvents = (input: JsonObject, ctx: JsonCallContext): JsonObject => {
    callsByRegion[ctx.region] = (callsByRegion[ctx.region] ?? 0) + 1;
    const failure = regionFailures.get(ctx.region);
    if (failure) {
      throw new AwsServiceError(
        failure.code,
        failure.message ?? `Injected ${failure.code} by the test emulator`,
        failure.status ?? STATUS_BY_CODE[failure.code] ?? 400,
      );
    }
    rateLimit(ctx.region);
    const attributes = input.LookupAttributes;
    let filter: { key: (typeof ATTRIBUTE_KEYS)[number]; value: string } | undefined;
    if (attributes !== undefined && attributes !== null) {
      if (!Array.isArray(attributes)) throw serialization('LookupAttributes', 'a list');
      if (attributes.length > 1) {
        throw new AwsServiceError(
          'InvalidLookupAttributesException',
          'You can only specify one lookup attribute.',
          400,
        );
      }
      const first = attributes[0];
      if (first !== undefined) {
        if (typeof first !== 'object' || first === null || Array.isArray(first)) {
          throw serialization('LookupAttributes', 'a list of structures');
        }
        const key = optString(first, 'AttributeKey');
        const value = optString(first, 'AttributeValue');
        if (!key || !(ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
          throw new AwsServiceError(
            'InvalidLookupAttributesException',
            `Invalid attribute key: ${String(key)}. Valid keys are ${ATTRIBUTE_KEYS.join(', ')}.`,
            400,
          );
        }
        if (value === undefined || value.length < 1 || value.length > 2000) {
          throw new AwsServiceError(
            'InvalidLookupAttributesException',
            'Attribute value must be 1 to 2000 characters.',
            400,
          );
        }
        filter = { key: key as (typeof ATTRIBUTE_KEYS)[number], value };
      }
    }
    const start = optTimestamp(input, 'StartTime');
    const end = optTimestamp(input, 'EndTime');
    if (start !== undefined && end !== undefined && start > end) {
      throw new AwsServiceError('InvalidTimeRangeException', 'Start time must be before end time.', 400);
    }
    const max = optInteger(input, 'MaxResults') ?? 50;
    if (max < 1 || max > 50) {
      throw new AwsServiceError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.', 400);
    }
    const category = optString(input, 'EventCategory');
    if (category !== undefined && category !== 'insight') {
      throw new AwsServiceError('InvalidEventCategoryException', `Invalid event category: ${category}`, 400);
    }
    const queryKey = createHash('sha256')
      .update(JSON.stringify([ctx.region, filter ?? null, start ?? null, end ?? null, category ?? null]))
      .digest('hex')
      .slice(0, 16);
    let offset = 0;
    const token = optString(input, 'NextToken');
    if (token !== undefined && token === stuckToken) {
      // The loop being emulated: whatever page was asked for, the same one again.
    } else if (token !== undefined) {
      const decoded = decodeToken(token);
      if (!decoded || decoded.query !== queryKey) {
        throw new AwsServiceError('InvalidNextTokenException', 'Invalid NextToken.', 400);
      }
      offset = decoded.offset;
    }
    const matching =
      category === 'insight'
        ? []
        : events
            .filter((e) => e.region === ctx.region)
            .filter(
              (e) =>
                (start === undefined || e.eventTime.getTime() >= start) &&
                (end === undefined || e.eventTime.getTime() <= end),
            )
            .filter((e) => !filter || matches(e, filter.key, filter.value))
            .sort((a, b) => b.eventTime.getTime() - a.eventTime.getTime());
    const page = matching.slice(offset, offset + max);
    const next = offset + max < matching.length ? encodeToken({ query: queryKey, offset: offset + max }) : undefined;
    return {
      Events: page.map(summary),
      ...(stuckToken !== null ? { NextToken: stuckToken } : next !== undefined ? { NextToken: next } : {}),
    };
  };

  const service = await startJsonService({
    signingName: 'cloudtrail',
    targetPrefix: TARGET_PREFIXES,
    operations: { LookupEvents: lookupEvents },
    faults,
    calls,
    getDelay: () => delayMs,
  });

  return {
    url: service.url,
    calls,
    get throttled() {
      return throttled;
    },
    events,
    addEvent(record, opts = {}) {
      const seeded = seed(record, opts.rawCloudTrailEvent);
      events.push(seeded);
      return seeded;
    },
    setThrottle(on) {
      throttle = on;
    },
    setStuckNextToken(token) {
      stuckToken = token;
    },
    failNext: (action, spec, times) => faults.failNext(action, spec, times),
    setFailure: (action, spec) => faults.setFailure(action, spec),
    setRegionFailure(region, spec) {
      if (spec) regionFailures.set(region, { ...spec });
      else regionFailures.delete(region);
    },
    callsByRegion,
    setDelay(ms) {
      delayMs = ms;
    },
    close: () => service.close(),
  };
}

function seed(record: Record<string, unknown>, raw?: string): SeededEvent {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const identity = (record.userIdentity ?? {}) as Record<string, unknown>;
  const time = new Date(str(record.eventTime) ?? '');
  if (Number.isNaN(time.getTime())) throw new Error('addEvent: the record needs an eventTime (RFC 3339)');
  const resources = Array.isArray(record.resources)
    ? (record.resources as Array<Record<string, unknown>>).map((r) => ({
        ...(str(r.type) ? { ResourceType: str(r.type)! } : {}),
        ...(str(r.ARN) ? { ResourceName: str(r.ARN)! } : {}),
      }))
    : [];
  const sessionName = /assumed-role\/[^/]+\/(.+)$/.exec(str(identity.arn) ?? '')?.[1];
  const username = str(identity.userName) ?? sessionName;
  const readOnly = record.readOnly;
  return {
    eventId: str(record.eventID) ?? randomUUID(),
    eventName: str(record.eventName) ?? '',
    eventTime: time,
    eventSource: str(record.eventSource) ?? '',
    region: str(record.awsRegion) ?? 'us-east-1',
    ...(username !== undefined ? { username } : {}),
    ...(str(identity.accessKeyId) ? { accessKeyId: str(identity.accessKeyId)! } : {}),
    ...(typeof readOnly === 'boolean' ? { readOnly } : {}),
    resources,
    cloudTrailEvent: raw ?? JSON.stringify(record),
  };
}

function summary(e: SeededEvent): JsonObject {
  const out: JsonObject = {
    EventId: e.eventId,
    EventName: e.eventName,
    // JSON 1.1 timestamps are epoch seconds.
    EventTime: e.eventTime.getTime() / 1000,
    EventSource: e.eventSource,
    Resources: e.resources as JsonValue,
    CloudTrailEvent: e.cloudTrailEvent,
  };
  if (e.username !== undefined) out.Username = e.username;
  if (e.accessKeyId !== undefined) out.AccessKeyId = e.accessKeyId;
  if (e.readOnly !== undefined) out.ReadOnly = String(e.readOnly);
  return out;
}

function matches(e: SeededEvent, key: (typeof ATTRIBUTE_KEYS)[number], value: string): boolean {
  switch (key) {
    case 'EventId':
      return e.eventId === value;
    case 'EventName':
      return e.eventName === value;
    case 'ReadOnly':
      return String(e.readOnly) === value;
    case 'Username':
      return e.username === value;
    case 'EventSource':
      return e.eventSource === value;
    case 'AccessKeyId':
      return e.accessKeyId === value;
    case 'ResourceType':
      return e.resources.some((r) => r.ResourceType === value);
    case 'ResourceName':
      return e.resources.some((r) => r.ResourceName === value);
  }
}

function optTimestamp(input: JsonObject, member: string): number | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw serialization(member, 'a timestamp (epoch seconds)');
  return v * 1000;
}

function serialization(member: string, expected: string): AwsServiceError {
  return new AwsServiceError('SerializationException', `Member '${member}' must be ${expected}`, 400);
}

function encodeToken(t: { query: string; offset: number }): string {
  return Buffer.from(JSON.stringify(t), 'utf8').toString('base64');
}

function decodeToken(token: string): { query: string; offset: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { query, offset } = parsed as Record<string, unknown>;
    if (typeof query !== 'string' || typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)
      return undefined;
    return { query, offset };
  } catch {
    return undefined;
  }
}

// Records as CloudTrail writes them, for seeding. Field names follow the CloudTrail record contents reference.

export interface AssumeRoleEventSpec {
  callerArn: string;
  roleArn: string;
  sessionName?: string;
  sourceIdentity?: string;
  /** The caller's own role session's SourceIdentity (a chained AssumeRole): `userIdentity.sessionContext`. */
  callerSourceIdentity?: string;
  time: Date;
  region?: string;
  eventId?: string;
}

/** An `AssumeRole` record: the caller in `userIdentity`, the stamp in `requestParameters.sourceIdentity`. */
export function assumeRoleRecord(spec: AssumeRoleEventSpec): Record<string, unknown> {
  const account = /::(\d{12}):/.exec(spec.roleArn)?.[1] ?? '123456789012';
  const callerAccount = /::(\d{12}):/.exec(spec.callerArn)?.[1] ?? account;
  const sessionName = spec.sessionName ?? 'session';
  const roleName = spec.roleArn.split('/').at(-1);
  const userName = /:user\/(?:.*\/)?([^/]+)$/.exec(spec.callerArn)?.[1];
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: spec.callerArn.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser',
      principalId: 'AIDAEXAMPLE',
      arn: spec.callerArn,
      accountId: callerAccount,
      accessKeyId: 'AKIAEXAMPLE',
      ...(userName ? { userName } : {}),
      ...(spec.callerSourceIdentity !== undefined
        ? {
            sessionContext: {
              sessionIssuer: {
                type: 'Role',
                arn: spec.callerArn.replace(/:sts::(\d+):assumed-role\/([^/]+)\/.*/, ':iam::$1:role/$2'),
              },
              sourceIdentity: spec.callerSourceIdentity,
            },
          }
        : {}),
    },
    eventTime: spec.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    awsRegion: spec.region ?? 'us-east-1',
    sourceIPAddress: '192.0.2.10',
    userAgent: 'aws-sdk-js/3',
    requestParameters: {
      roleArn: spec.roleArn,
      roleSessionName: sessionName,
      durationSeconds: 900,
      ...(spec.sourceIdentity !== undefined ? { sourceIdentity: spec.sourceIdentity } : {}),
    },
    responseElements: {
      credentials: { accessKeyId: 'ASIAEXAMPLE', sessionToken: 'redacted', expiration: 'Jan 1, 2027, 12:00:00 AM' },
      assumedRoleUser: {
        assumedRoleId: `AROAEXAMPLE:${sessionName}`,
        arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      },
      ...(spec.sourceIdentity !== undefined ? { sourceIdentity: spec.sourceIdentity } : {}),
    },
    requestID: randomUUID(),
    eventID: spec.eventId ?? randomUUID(),
    readOnly: true,
    resources: [{ accountId: account, type: 'AWS::IAM::Role', ARN: spec.roleArn }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}

export interface RoleSessionCallSpec {
  roleArn: string;
  sessionName: string;
  sourceIdentity?: string;
  eventName: string;
  eventSource: string;
  time: Date;
  region?: string;
  eventId?: string;
  readOnly?: boolean;
}

/** A call made with role-session credentials: the stamp in `userIdentity.sessionContext.sourceIdentity`. */
export function roleSessionCallRecord(spec: RoleSessionCallSpec): Record<string, unknown> {
  const account = /::(\d{12}):/.exec(spec.roleArn)?.[1] ?? '123456789012';
  const roleName = spec.roleArn.split('/').at(-1);
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${spec.sessionName}`,
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${spec.sessionName}`,
      accountId: account,
      accessKeyId: 'ASIAEXAMPLE',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLE',
          arn: spec.roleArn,
          accountId: account,
          userName: roleName,
        },
        attributes: { creationDate: spec.time.toISOString(), mfaAuthenticated: 'false' },
        ...(spec.sourceIdentity !== undefined ? { sourceIdentity: spec.sourceIdentity } : {}),
      },
    },
    eventTime: spec.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: spec.eventSource,
    eventName: spec.eventName,
    awsRegion: spec.region ?? 'us-east-1',
    sourceIPAddress: '192.0.2.10',
    userAgent: 'aws-cli/2',
    requestParameters: null,
    responseElements: null,
    requestID: randomUUID(),
    eventID: spec.eventId ?? randomUUID(),
    readOnly: spec.readOnly ?? true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}
