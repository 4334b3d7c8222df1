// `sentinel init sessions`: creates the DynamoDB session table a team of daemons shares (DESIGN §6), after showing
// the plan and asking. The table logic lives in core/sessions/table.ts; this file parses flags, asks, and prints.
import type { Command } from 'commander';
import { SentinelError } from '../core/errors.js';
import { DEFAULT_TABLE, INDEX_LIST, PARTITION_KEY, TABLE_NAME, TTL_ATTRIBUTE } from '../core/sessions/schema.js';
import { describeTarget, requireRegion, resolveAwsTarget } from './aws-target.js';
import { confirmPlan, printJson, usageError } from './output.js';

interface Globals {
  config?: string;
}

interface InitSessionsFlags {
  table?: string;
  region?: string;
  profile?: string;
  plan?: boolean;
  yes?: boolean;
  json?: boolean;
}

export function planText(table: string, region: string, who: string): string {
  return [
    `Sentinel will create (or check) the DynamoDB table ${table} in ${region}, using ${who}:`,
    `  partition key     ${PARTITION_KEY} (string); billing PAY_PER_REQUEST`,
    ...INDEX_LIST.map((i) => `  index ${i.name.padEnd(20)} (${i.hash}, ${i.range}), projects all attributes`),
    `  TTL               on ${TTL_ATTRIBUTE} (history is kept 30 days past each session's expiry)`,
    '  protections       encryption with the AWS managed KMS key, point-in-time recovery, deletion protection',
    'An existing table with these keys and indexes is kept as it is (protections that are off are turned on);',
    'one with other keys or indexes is reported and left unchanged.',
    '',
  ].join('\n');
}

async function initSessions(flags: InitSessionsFlags, globals: Globals): Promise<number> {
  const target = await resolveAwsTarget(flags, globals);
  const region = requireRegion(target);
  let tableName = flags.table;
  if (tableName === undefined) {
    const { loadConfig } = await import('../core/config.js');
    tableName = loadConfig({ configFlag: globals.config }).sessions.table ?? DEFAULT_TABLE;
  }
  if (!TABLE_NAME.test(tableName)) {
    throw usageError(
      `--table ${JSON.stringify(tableName.slice(0, 40))} is not a DynamoDB table name`,
      'Table names are 3-255 letters, digits, _ . and -.',
    );
  }
  const { iamPolicies, tableDefinition, ensureSessionTable } = await import('../core/sessions/table.js');

  if (flags.plan) {
    const iam = iamPolicies(tableName, region);
    if (flags.json) {
      printJson({
        table: tableName,
        region,
        profile: target.profile ?? null,
        definition: tableDefinition(tableName),
        iam,
      });
    } else {
      process.stdout.write(planText(tableName, region, describeTarget({ ...target, region: undefined })));
      process.stdout.write(
        `\nIAM policy for each daemon's AWS profile (sessions.store: dynamodb):\n${JSON.stringify(iam.daemon, null, 2)}\n`,
      );
      process.stdout.write(
        `\nIAM policy for admins (server sessions/session/revoke --table, init sessions):\n${JSON.stringify(iam.admin, null, 2)}\n`,
      );
      process.stdout.write('\nNothing was changed (--plan). Run again without --plan to create the table.\n');
    }
    return 0;
  }

  if (
    !(await confirmPlan(
      planText(tableName, region, describeTarget({ ...target, region: undefined })),
      flags.yes,
      'create a table',
    ))
  )
    return 1;

  const { createSessionTableClient } = await import('../core/sessions/dynamodb-client.js');
  // Table administration calls are slower than item reads: allow them longer than the daemon's 2 s.
  const client = createSessionTableClient({ ...target, region, timeoutMs: 15_000, maxAttempts: 3 });
  try {
    const report = await ensureSessionTable(client, tableName, {
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    if (flags.json) {
      printJson({ ...report, region });
    } else {
      process.stdout.write(
        `Table ${report.table} in ${region}: ${report.action === 'created' ? 'created' : 'already in place'}, ${report.status}.\n`,
      );
      for (const f of report.features) {
        process.stdout.write(
          `  ${f.feature.replace(/_/g, ' ').padEnd(22)}  ${f.state}${f.error ? ` (${f.error})` : ''}\n`,
        );
      }
      process.stdout.write(
        `Point daemons at it with sessions: { store: dynamodb, table: ${report.table} } and region: ${region} in config.yaml.\n`,
      );
    }
    return 0;
  } catch (err) {
    if (flags.json && err instanceof SentinelError && err.code === 'Conflict') {
      printJson({ table: tableName, region, action: 'refused', problems: err.details?.problems ?? [] });
    }
    throw err;
  } finally {
    client.destroy();
  }
}

export function register(program: Command): void {
  const init = program
    .command('init')
    .description('set up shared AWS resources for a team')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel init sessions --table sentinel-sessions --region eu-west-1 --plan
  $ sentinel init sessions --table sentinel-sessions --region eu-west-1 --profile admin`,
    );
  init
    .command('sessions')
    .description('create the DynamoDB session table (keys, indexes, TTL, protections) and wait until it is ACTIVE')
    .option('--table <name>', `table name (default: sessions.table in config.yaml, else ${DEFAULT_TABLE})`)
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else region in config.yaml)')
    .option(
      '--profile <profile>',
      'AWS profile with permission to create the table (default: $AWS_PROFILE, else aws_profile in config.yaml)',
    )
    .option('--plan', 'print what would be created and the IAM policies daemons and admins need; change nothing')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--json', 'print the result as JSON: {table, action, status, features: [{feature, state, error?}], region}')
    .addHelpText(
      'after',
      `
Encryption, point-in-time recovery, deletion protection and TTL are each attempted and reported as enabled,
already, unsupported (the endpoint has no such operation, e.g. dynalite), failed (with the AWS error name) or
unknown (the endpoint does not report it). Running it again is safe: an existing table with the right keys and
indexes is left as it is; a table with other keys or indexes is reported (exit 1) and not modified.

Examples:
  $ sentinel init sessions --table sentinel-sessions --region eu-west-1 --plan
  $ sentinel init sessions --table sentinel-sessions --region eu-west-1 --profile admin
  $ sentinel init sessions --region eu-west-1 -y --json

Exit codes: 0 created or already in place; 1 AWS error, a table of another shape, or declined; 2 usage.`,
    )
    .action(async (flags: InitSessionsFlags, command: Command) => {
      process.exitCode = await initSessions(flags, command.optsWithGlobals<Globals>());
    });
}
