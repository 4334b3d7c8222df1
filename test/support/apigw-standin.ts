// A local stand-in for an API Gateway REST API with IAM authorization in front of a Lambda proxy integration: it
// verifies each request's SigV4 signature (service execute-api) with the secrets the STS emulator knows, refuses
// what IAM authorization refuses with API Gateway's own 403 bodies, and hands a valid request to the handler as a
// REST proxy event (payload format 1.0) whose requestContext.identity names the verified caller — the only thing a
// vendor may trust. The stage is the first path segment, as in a real invoke URL.
//
//   const gw = await startApiGatewayStandIn({ sts, handler });   // gw.url = http://127.0.0.1:<port>/prod
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBoundedBody, startLoopbackServer, type LoopbackServer } from './aws-protocol.js';
import { verifySigV4, type SigningSecrets } from './sigv4-verifier.js';

export interface RestProxyEvent {
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: Record<string, string> | null;
  stageVariables: null;
  requestContext: {
    accountId: string;
    apiId: string;
    stage: string;
    resourcePath: string;
    path: string;
    httpMethod: string;
    requestId: string;
    requestTimeEpoch: number;
    protocol: string;
    identity: {
      accessKey: string;
      accountId: string;
      caller: string;
      user: string;
      userArn: string;
      sourceIp: string;
      userAgent: string | null;
      cognitoIdentityId: null;
      cognitoIdentityPoolId: null;
      cognitoAuthenticationType: null;
      cognitoAuthenticationProvider: null;
    };
  };
  body: string | null;
  isBase64Encoded: boolean;
}

export interface ProxyResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, Array<string | number | boolean>>;
  body?: string;
  isBase64Encoded?: boolean;
}

export type ProxyHandler = (event: RestProxyEvent) => Promise<ProxyResult>;

/** What the stand-in needs of the STS emulator: who a key is, and its secret. */
export interface KeyMap extends SigningSecrets {
  callerOf(accessKeyId: string, sessionToken?: string): { arn: string; account: string; userId: string } | undefined;
}

export interface ApiGatewayStandIn {
  /** The invoke URL, stage included: what `vendor.url` is set to. */
  url: string;
  port: number;
  stage: string;
  region: string;
  /** Requests refused before the handler, by API Gateway's x-amzn-ErrorType. */
  refused: Record<string, number>;
  /** Events the handler was called with. */
  events: RestProxyEvent[];
  setHandler(handler: ProxyHandler): void;
  close(): Promise<void>;
}

/** API Gateway's payload limit is 10 MB; the stand-in refuses well before, which is all the tests need. */
const MAX_BODY_BYTES = 1024 * 1024;
const API_ID = 'sntnl12345';
const API_ACCOUNT = '444455556666';

export async function startApiGatewayStandIn(options: {
  keys: KeyMap;
  handler: ProxyHandler;
  stage?: string;
  region?: string;
}): Promise<ApiGatewayStandIn> {
  const stage = options.stage ?? 'prod';
  const region = options.region ?? 'us-east-1';
  let handler = options.handler;
  const refused: Record<string, number> = {};
  const events: RestProxyEvent[] = [];

  const refuse = (res: ServerResponse, status: number, kind: string, message: string) => {
    refused[kind] = (refused[kind] ?? 0) + 1;
    send(res, status, { 'content-type': 'application/json', 'x-amzn-errortype': kind }, JSON.stringify({ message }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const read = await readBoundedBody(req, MAX_BODY_BYTES);
    if (!read.ok) return refuse(res, 413, 'RequestTooLarge', 'Request Too Long');
    const rawPath = url.split('?')[0]!;
    // A path outside the stage is no resource of this API: API Gateway answers that, unsigned or not, like this.
    if (!rawPath.startsWith(`/${stage}/`)) {
      return refuse(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const verdict = verifySigV4(
      { method: req.method ?? 'GET', url, headers: req.headers, body: read.body },
      { service: 'execute-api', region },
      options.keys,
    );
    if (!verdict.ok) return refuse(res, 403, verdict.kind, verdict.message);
    const caller = options.keys.callerOf(verdict.accessKeyId, verdict.sessionToken)!;
    const event = proxyEvent(req, url, read.body, { stage, caller, accessKey: verdict.accessKeyId });
    events.push(event);
    let result: ProxyResult;
    try {
      result = await handler(event);
    } catch {
      // A Lambda that throws is a 502 with this body at a real API Gateway.
      return refuse(res, 502, 'InternalServerErrorException', 'Internal server error');
    }
    if (!result || typeof result.statusCode !== 'number') {
      return refuse(res, 502, 'InternalServerErrorException', 'Internal server error');
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
    for (const [k, vs] of Object.entries(result.multiValueHeaders ?? {})) headers[k.toLowerCase()] = vs.map(String);
    const body =
      result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
    send(res, result.statusCode, headers, body);
  };

  const server: LoopbackServer = await startLoopbackServer(handle);
  return {
    url: `${server.url}/${stage}`,
    port: server.port,
    stage,
    region,
    refused,
    events,
    setHandler(next) {
      handler = next;
    },
    close: () => server.close(),
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string | Buffer) {
  res.writeHead(status, { ...headers, 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function proxyEvent(
  req: IncomingMessage,
  url: string,
  body: Buffer,
  at: { stage: string; accessKey: string; caller: { arn: string; account: string; userId: string } },
): RestProxyEvent {
  const parsed = new URL(url, 'http://stand-in');
  const path = decodeOr(parsed.pathname).slice(at.stage.length + 1);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // rawHeaders keeps the client's spelling and each repetition, as API Gateway passes them on.
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i]!, req.rawHeaders[i + 1]!];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of parsed.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const hasQuery = Object.keys(query).length > 0;
  const { caller } = at;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: API_ACCOUNT,
      apiId: API_ID,
      stage: at.stage,
      resourcePath: '/{proxy+}',
      path: `/${at.stage}${path}`,
      httpMethod: req.method ?? 'GET',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      protocol: `HTTP/${req.httpVersion}`,
      identity: {
        accessKey: at.accessKey,
        accountId: caller.account,
        caller: caller.userId,
        user: caller.userId,
        userArn: caller.arn,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
      },
    },
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
  };
}

function decodeOr(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
