// Which kind of Sentinel table a table name points at, before a listing reads it. The requests, break-glass and
// session tables are told apart by their indexes (gsi-requester, gsi-invoker, gsi-user): a listing of the wrong table
// would otherwise query an index it lacks or one whose partitions hold other records, and answer "nothing matches"
// (a reviewer with a typo in the table name would see nothing pending). One DescribeTable; when it cannot answer
// (the caller may not DescribeTable, or the table is missing) nothing is decided here and the read reports it.
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUEST_TABLE } from '../core/approvals/record.js';
import { BREAKGLASS_TABLE } from '../core/breakglass/record.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';
import { shapeProblems } from '../core/records/table.js';
import { withArticle, type TableShape } from '../core/records/shape.js';
import { SentinelError } from '../core/errors.js';
import { usageError } from './output.js';

const KNOWN: ReadonlyArray<{ shape: TableShape; configKey: string }> = [
  { shape: REQUEST_TABLE, configKey: 'requests.table' },
  { shape: BREAKGLASS_TABLE, configKey: 'breakglass.table' },
  { shape: SESSION_TABLE, configKey: 'sessions.table' },
];

/** Refuses (UsageError) when `table` has the shape of another Sentinel table, or of no table of `shape`'s kind. */
export async function assertTableKind(client: DynamoDBClient, shape: TableShape, table: string): Promise<void> {
  let desc;
  try {
    desc = (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch {
    return; // no DescribeTable permission, a missing table, an outage: the read that follows says what it can
  }
  if (!desc) return;
  const problems = shapeProblems(shape, desc);
  if (problems.length === 0) return;
  const key = KNOWN.find((k) => k.shape === shape)?.configKey ?? 'the table';
  const other = KNOWN.find((k) => k.shape !== shape && shapeProblems(k.shape, desc).length === 0);
  const hint = `Check --table (or ${key} in config.yaml): the ${shape.noun} table is the one \`sentinel init ${shape.init}\` created.`;
  if (other) {
    throw usageError(
      `table ${table} is ${withArticle(other.shape.noun)} table (the shape \`sentinel init ${other.shape.init}\` creates), not ${withArticle(shape.noun)} table`,
      hint,
    );
  }
  throw usageError(`table ${table} is not ${withArticle(shape.noun)} table: ${problems.join('; ')}`, hint);
}

/**
 * `work`, except that a NotFound from it first asks whether `table` is of `shape`'s kind: an id looked for in another
 * Sentinel table is a wrong --table, and "no approval request <id>" would send its reader looking for the wrong thing.
 * Costs a DescribeTable on that path only.
 */
export async function explainNotFound<T>(
  client: DynamoDBClient,
  shape: TableShape,
  table: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SentinelError && error.code === 'NotFound') await assertTableKind(client, shape, table);
    throw error;
  }
}
