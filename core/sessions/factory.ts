// The store config.yaml asks for (`sessions.store`). The DynamoDB client is built here unless the caller hands one
// in (tests point it at dynalite through AWS_ENDPOINT_URL_DYNAMODB or pass their own); the store owns and closes it.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.js';
import { createTableClient } from '../records/client.js';
import { DynamoSessionStore } from './dynamodb.js';
import { MemorySessionStore } from './memory.js';
import type { SessionStore } from './types.js';

export interface SessionStoreDeps {
  dynamodb?: () => DynamoDBClient;
  now?: () => Date;
}

export function createSessionStore(config: Config, deps: SessionStoreDeps = {}): SessionStore {
  if (config.sessions.store === 'memory') return new MemorySessionStore({ now: deps.now });
  const client = deps.dynamodb
    ? deps.dynamodb()
    : createTableClient({ region: config.region, profile: config.awsProfile });
  return new DynamoSessionStore({ client, table: config.sessions.table, now: deps.now, ownsClient: true });
}
