// API Gateway Lambda proxy events as AWS documents them, for the vendor's handler: the REST API input format
// (payload 1.0, "Input format of a Lambda function for proxy integration") and the HTTP API payload format 2.0, with
// IAM authorization filling in the verified caller. Every field AWS shows is present, so the handler is tested
// against the shape it will really get, not a minimal one.
export interface EventInput {
  method: string;
  /** Path below the stage, with an optional query string (`/v1/credentials?profile=prod`). */
  path: string;
  /** The IAM-verified caller; null for an event without one. */
  callerArn: string | null;
  body?: string | null;
  base64?: boolean;
  headers?: Record<string, string>;
  stage?: string;
}

function split(path: string): { path: string; raw: string; query: Record<string, string> | null } {
  const [p, raw = ''] = path.split('?', 2) as [string, string?];
  if (!raw) return { path: p, raw: '', query: null };
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) query[k] = v;
  return { path: p, raw, query };
}

export function restEvent(input: EventInput) {
  const { path, query } = split(input.path);
  const stage = input.stage ?? 'v1stage';
  const headers = { Host: 'abc123.execute-api.us-east-1.amazonaws.com', ...(input.headers ?? {}) };
  const accessKey = input.callerArn ? 'AKIAEXAMPLECALLER001' : null;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: input.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      authorizer: null,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      httpMethod: input.method,
      identity: {
        accessKey,
        accountId: input.callerArn ? input.callerArn.split(':')[4] : null,
        caller: input.callerArn ? 'AIDAEXAMPLECALLERID:session' : null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: input.callerArn ? 'AIDAEXAMPLECALLERID:session' : null,
        userAgent: 'aws-sdk-js/3',
        userArn: input.callerArn,
      },
      path: `/${stage}${path}`,
      protocol: 'HTTP/1.1',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTime: '06/Dec/2026:12:00:00 +0000',
      requestTimeEpoch: 1796472000000,
      resourceId: 'abc1de',
      resourcePath: '/{proxy+}',
      stage,
    },
    body: input.body ?? null,
    isBase64Encoded: input.base64 ?? false,
  };
}

export function httpEvent(input: EventInput) {
  const { path, raw, query } = split(input.path);
  const stage = input.stage ?? '$default';
  const rawPath = stage === '$default' ? path : `/${stage}${path}`;
  return {
    version: '2.0' as const,
    routeKey: '$default',
    rawPath,
    rawQueryString: raw,
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', ...(input.headers ?? {}) },
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      ...(input.callerArn
        ? {
            authorizer: {
              iam: {
                accessKey: 'AKIAEXAMPLECALLER001',
                accountId: input.callerArn.split(':')[4],
                callerId: 'AIDAEXAMPLECALLERID',
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: input.callerArn,
                userId: 'AIDAEXAMPLECALLERID',
              },
            },
          }
        : {}),
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: input.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'aws-sdk-js/3',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage,
      time: '06/Dec/2026:12:00:00 +0000',
      timeEpoch: 1796472000000,
    },
    ...(input.body !== undefined && input.body !== null ? { body: input.body } : {}),
    isBase64Encoded: input.base64 ?? false,
  };
}
