// The flags of the commands that read or write a team table directly, with the caller's own AWS identity (sessions,
// approval requests, break-glass, init): one check of a table name, and one refusal of --profile/--region given
// without --table, where the daemon path would silently ignore them.
import { TABLE_NAME } from '../core/records/shape.js';
import type { AwsTargetFlags } from './aws-target.js';
import { usageError } from './output.js';

export interface TableFlags extends AwsTargetFlags {
  table?: string;
}

/** The name, or a usage error that says what a DynamoDB table name is. */
export function checkTableName(table: string, flag = '--table'): string {
  if (!TABLE_NAME.test(table)) {
    throw usageError(
      `${flag} ${JSON.stringify(table.slice(0, 40))} is not a DynamoDB table name`,
      'Table names are 3-255 letters, digits, _ . and -.',
    );
  }
  return table;
}

/** `hint` says what to add for the table, or what to use instead, on this command. */
export function checkTableFlags(flags: TableFlags, hint: string): void {
  if (flags.table !== undefined) checkTableName(flags.table);
  if (flags.table === undefined && (flags.profile !== undefined || flags.region !== undefined)) {
    throw usageError(
      '--profile and --region choose the AWS identity and account for --table; without --table the local daemon answers',
      hint,
    );
  }
}
