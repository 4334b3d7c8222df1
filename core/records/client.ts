// The DynamoDB client Sentinel uses for its tables (sessions, and every record kind after them). Short timeouts and
// one retry: the daemon reads the session table on every credential request and must refuse fast (fail closed)
// when DynamoDB is away, not hang in an SDK call.
// Endpoints are never special-cased: AWS_ENDPOINT_URL_DYNAMODB points it at dynalite in tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_ATTEMPT_BUDGET_MS, MAX_ATTEMPTS, boundedRequestHandler } from '../aws-http.js';
import type { OpLogger } from '../log.js';

export interface TableClientOptions {
  region?: string | null;
  profile?: string | null;
  /** Milliseconds; default 2000 for both the connection and the whole request. */
  timeoutMs?: number;
  maxAttempts?: number;
  /** Where the SDK's own warnings go (default: nowhere; never plain text on stderr). */
  log?: OpLogger;
}

export function createTableClient(options: TableClientOptions = {}): DynamoDBClient {
  const timeout = options.timeoutMs ?? DYNAMODB_ATTEMPT_BUDGET_MS;
  return new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: Math.min(options.maxAttempts ?? 2, MAX_ATTEMPTS),
    requestHandler: boundedRequestHandler({ timeoutMs: timeout, log: options.log }),
  });
}
