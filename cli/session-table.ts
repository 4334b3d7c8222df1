// The team session table, opened from an admin's machine (--table, --profile, --region): what enforce prune and the
// CloudTrail audits read session records from. Loads the SDK lazily.
import type { SessionStore } from '../core/sessions/types.js';
import type { AwsTarget } from './aws-target.js';
import { checkTableName } from './table-flags.js';

export { checkTableName };

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
