// The DynamoDB client Sentinel uses for its tables (sessions, and every record kind after them). Short timeouts and
// one retry: the daemon reads the session table on every credential request and must refuse fast (fail closed)
// when DynamoDB is away, not hang in an SDK call.
// Endpoints are never special-cased: AWS_ENDPOINT_URL_DYNAMODB points it at dynalite in tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_ATTEMPT_BUDGET_MS, MAX_ATTEMPTS, boundedClientConfig, type ClientTarget } from '../aws-http.js';
import type { OpLogger } from '../log.js';

export interface TableClientOptions extends ClientTarget {
  /** Milliseconds; default 2000 for both the connection and the whole request. */
  timeoutMs?: number;
  maxAttempts?: number;
  /** Where the SDK's own warnings go (default: nowhere; never plain text on stderr). */
  log?: OpLogger;
}

export function createTableClient(options: TableClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(
    boundedClientConfig(options, {
      timeoutMs: options.timeoutMs ?? DYNAMODB_ATTEMPT_BUDGET_MS,
      maxAttempts: Math.min(options.maxAttempts ?? 2, MAX_ATTEMPTS),
      log: options.log,
    }),
  );
}
