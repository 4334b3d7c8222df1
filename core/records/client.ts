// The DynamoDB client Sentinel uses for its tables (sessions, and every record kind after them). Short timeouts and
// one retry: the daemon reads the session table on every credential request and must refuse fast (fail closed)
// when DynamoDB is away, not hang in an SDK call.
// Endpoints are never special-cased: AWS_ENDPOINT_URL_DYNAMODB points it at dynalite in tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface TableClientOptions {
  region?: string | null;
  profile?: string | null;
  /** Milliseconds; default 2000 for both the connection and the whole request. */
  timeoutMs?: number;
  maxAttempts?: number;
}

export function createTableClient(options: TableClientOptions = {}): DynamoDBClient {
  const timeout = options.timeoutMs ?? 2000;
  return new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: { connectionTimeout: timeout, requestTimeout: timeout },
  });
}
