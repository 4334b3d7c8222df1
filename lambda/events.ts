// API Gateway's Lambda proxy events, as AWS documents them ("Input format of a Lambda function for proxy integration"
// for REST APIs, payload format 1.0; "Working with AWS Lambda proxy integrations for HTTP APIs", payload format 2.0),
// reduced to one request shape. Only what the vendor reads is typed; everything else in an event is ignored. The
// caller is ONLY what API Gateway's IAM authorization verified: requestContext.identity.userArn (REST) or
// requestContext.authorizer.iam.userArn (HTTP) — never a header, a query parameter or a body field.
import { SentinelError } from '../core/errors.js';

/** REST API (and HTTP API payload 1.0) proxy event. */
export interface APIGatewayProxyEvent {
  version?: '1.0';
  resource?: string;
  path: string;
  httpMethod: string;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  pathParameters?: Record<string, string | undefined> | null;
  stageVariables?: Record<string, string | undefined> | null;
  requestContext: {
    accountId?: string;
    apiId?: string;
    httpMethod?: string;
    path?: string;
    stage?: string;
    requestId?: string;
    resourcePath?: string;
    identity?: {
      accessKey?: string | null;
      accountId?: string | null;
      caller?: string | null;
      user?: string | null;
      userArn?: string | null;
      sourceIp?: string;
      userAgent?: string | null;
      principalOrgId?: string | null;
    } | null;
    authorizer?: unknown;
  };
  body: string | null;
  isBase64Encoded: boolean;
}

/** HTTP API proxy event, payload format 2.0. */
export interface APIGatewayProxyEventV2 {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  pathParameters?: Record<string, string | undefined>;
  stageVariables?: Record<string, string | undefined>;
  requestContext: {
    accountId?: string;
    apiId?: string;
    domainName?: string;
    stage?: string;
    requestId?: string;
    routeKey?: string;
    time?: string;
    timeEpoch?: number;
    http: { method: string; path: string; protocol?: string; sourceIp?: string; userAgent?: string };
    authorizer?: {
      iam?: {
        accessKey?: string;
        accountId?: string;
        callerId?: string;
        principalOrgId?: string | null;
        userArn?: string;
        userId?: string;
      };
    };
  };
  body?: string;
  isBase64Encoded: boolean;
}

export type VendorEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** What every route sees of a request, whichever API kind carried it. */
export interface VendorRequest {
  method: string;
  /** The path below the stage, e.g. `/v1/credentials`. */
  path: string;
  query: Record<string, string>;
  /** The raw body text (decoded when API Gateway base64-encoded it); null when there is none. */
  body: string | null;
  /** The caller ARN API Gateway's IAM authorization verified; null when the event carries none. */
  callerArn: string | null;
  /** API Gateway's request id, for the operational log. */
  requestId: string | null;
}

/** Bodies larger than this are refused unread (the daemon's control API accepts the same). */
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_PATH = 2048;
const MAX_QUERY_PARAMS = 32;
const MAX_QUERY_VALUE = 1024;
const METHODS = new Set(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS']);

const malformed = (what: string) => new SentinelError('BadRequest', `malformed API Gateway event: ${what}`);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringField(v: unknown, what: string): string {
  if (typeof v !== 'string') throw malformed(`${what} is not text`);
  return v;
}

/** A query map with string values only (API Gateway joins repeated REST parameters into the multi-value map, and HTTP
 * APIs into one comma-separated value; the vendor's parameters are single-valued, so a repeated one is refused). */
function queryOf(raw: unknown, multi: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (raw === undefined || raw === null) return out;
  if (!isRecord(raw)) throw malformed('queryStringParameters is not a mapping');
  const entries = Object.entries(raw);
  if (entries.length > MAX_QUERY_PARAMS) throw new SentinelError('BadRequest', 'too many query parameters');
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    if (typeof v !== 'string') throw malformed('a query parameter is not text');
    if (v.length > MAX_QUERY_VALUE)
      throw new SentinelError('BadRequest', `query parameter "${printable(k)}" is too long`);
    if (isRecord(multi) && Array.isArray(multi[k]) && (multi[k] as unknown[]).length > 1)
      throw new SentinelError('BadRequest', `query parameter "${printable(k)}" is given more than once`);
    out[k] = v;
  }
  return out;
}

function printable(text: string): string {
  const clean = text.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
  return text.length > 40 ? `${clean}…` : clean;
}

function bodyOf(body: unknown, base64: unknown): string | null {
  if (body === undefined || body === null || body === '') return null;
  if (typeof body !== 'string') throw malformed('body is not text');
  // A base64 body is 4/3 the size of what it carries; the bound applies to what the route would read.
  if (body.length > Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4 || (!base64 && Buffer.byteLength(body) > MAX_BODY_BYTES))
    throw new SentinelError('PayloadTooLarge', `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
  if (base64 !== true) return body;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw malformed('body is not valid base64');
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_BODY_BYTES)
    throw new SentinelError('PayloadTooLarge', `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return text.decode(bytes);
  } catch {
    throw new SentinelError('BadRequest', 'the request body is not UTF-8 text');
  }
}

function checkedPath(path: string): string {
  if (path.length === 0 || path.length > MAX_PATH || !path.startsWith('/') || /[^\x21-\x7e]/.test(path))
    throw new SentinelError('BadRequest', 'the request path is not a valid URL path');
  return path;
}

function checkedMethod(method: string): string {
  const m = method.toUpperCase();
  if (!METHODS.has(m)) throw new SentinelError('BadRequest', 'unsupported HTTP method');
  return m;
}

function callerArnOf(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/**
 * The request an event carries, or BadRequest / PayloadTooLarge. REST events give the path without the stage
 * (`path` may include a base-path mapping; `requestContext.resourcePath` is the template, so `path` is used); HTTP API
 * events give `rawPath`, which includes the stage unless it is `$default`, so the stage prefix is removed.
 */
export function readEvent(event: unknown): VendorRequest {
  if (!isRecord(event)) throw malformed('not an object');
  const ctx = event.requestContext;
  if (!isRecord(ctx)) throw malformed('requestContext is missing');
  const requestId = typeof ctx.requestId === 'string' ? ctx.requestId.slice(0, 128) : null;
  if (event.version === '2.0') {
    const http = ctx.http;
    if (!isRecord(http)) throw malformed('requestContext.http is missing');
    let path = stringField(event.rawPath, 'rawPath');
    const stage = typeof ctx.stage === 'string' ? ctx.stage : '$default';
    if (stage !== '$default' && (path === `/${stage}` || path.startsWith(`/${stage}/`)))
      path = path.slice(stage.length + 1) || '/';
    const authorizer = isRecord(ctx.authorizer) ? ctx.authorizer : {};
    const iam = isRecord(authorizer.iam) ? authorizer.iam : {};
    return {
      method: checkedMethod(stringField(http.method, 'requestContext.http.method')),
      path: checkedPath(path),
      query: queryOf(event.queryStringParameters, undefined),
      body: bodyOf(event.body, event.isBase64Encoded),
      callerArn: callerArnOf(iam.userArn),
      requestId,
    };
  }
  if (event.version !== undefined && event.version !== '1.0') throw malformed('unknown payload format version');
  const identity = isRecord(ctx.identity) ? ctx.identity : {};
  return {
    method: checkedMethod(stringField(event.httpMethod, 'httpMethod')),
    path: checkedPath(stringField(event.path, 'path')),
    query: queryOf(event.queryStringParameters, event.multiValueQueryStringParameters),
    body: bodyOf(event.body, event.isBase64Encoded),
    callerArn: callerArnOf(identity.userArn),
    requestId,
  };
}
