// The team session table, opened from an admin's machine (--table, --profile, --region): what enforce prune and the
// CloudTrail audits read session records from. Loads the SDK lazily.
import type { SessionStore } from '../core/sessions/types.js';
import type { AwsTarget } from './aws-target.js';
import { usageError } from './output.js';

const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;

export function checkTableName(table: string): string {
  if (!TABLE.test(table)) {
    throw usageError(
      `--table ${JSON.stringify(table.slice(0, 80))} is not a DynamoDB table name`,
      'Table names are 3-255 characters: letters, digits, _ . -',
    );
  }
  return table;
}

export async function openSessionTable(target: AwsTarget, table: string): Promise<SessionStore> {
  const [{ createTableClient }, { DynamoSessionStore }] = await Promise.all([
    import('../core/records/client.js'),
    import('../core/sessions/dynamodb.js'),
  ]);
  return new DynamoSessionStore({
    client: createTableClient(target),
    table: checkTableName(table),
    ownsClient: true,
  });
}
