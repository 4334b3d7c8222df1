// `sentinel init <table>`: creates a DynamoDB table a team shares (sessions, DESIGN §6; approval requests and
// break-glass events reuse it), after showing the plan and asking. The table logic lives in core/records/table.ts;
// this file parses flags, asks, and prints. A new table is one more entry in TABLES.
import type { Command } from 'commander';
import type { Config } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import type { TableShape } from '../core/records/shape.js';
import { checkTableName } from './table-flags.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';
import { REQUEST_TABLE } from '../core/approvals/record.js';
import { BREAKGLASS_TABLE } from '../core/breakglass/record.js';
import { describeTarget, requireRegion, resolveAwsTarget } from './aws-target.js';
import { ADMIN_ATTEMPT_MS, ADMIN_ATTEMPTS } from './aws-clients.js';
import { confirmPlan, printJson } from './output.js';
import { registerBootstrap } from './init-bootstrap.js';
import type { GlobalOptions } from './program.js';

/** One `sentinel init <name>` command: the table's shape and how the rest of the configuration refers to it. */
export interface TableInit {
  shape: TableShape;
  /** What the command's help says it creates. */
  description: string;
  /** The table config.yaml names, when it names one. */
  configured(config: Config): string | undefined;
  /** Who needs the daemon and admin policies, for the --plan text. */
  roles: { daemon: string; admin: string };
  /** The line that says how to use the table once it exists. */
  next(table: string, region: string): string;
}

const SESSIONS: TableInit = {
  shape: SESSION_TABLE,
  description: 'create the DynamoDB session table (keys, indexes, TTL, protections) and wait until it is ACTIVE',
  configured: (config) => config.sessions.table,
  roles: {
    daemon: "each daemon's AWS profile (sessions.store: dynamodb)",
    admin: 'admins (server sessions/session/revoke --table, init sessions)',
  },
  next: (table, region) =>
    `Point daemons at it with sessions: { store: dynamodb, table: ${table} } and region: ${region} in config.yaml.`,
};

const APPROVALS: TableInit = {
  shape: REQUEST_TABLE,
  description:
    'create the DynamoDB approval requests table (keys, indexes, TTL, protections) and wait until it is ACTIVE',
  configured: (config) => config.requests.table,
  roles: {
    daemon:
      "each requester's daemon (request, requests --mine, requests cancel, and the approval check per credential request)",
    admin: 'approvers (approve, deny, requests, requests revoke)',
  },
  next: (table, region) =>
    `Point daemons and approvers at it with requests: { table: ${table} }, sessions: { store: dynamodb } and region: ${region} in config.yaml.`,
};

const BREAKGLASS: TableInit = {
  shape: BREAKGLASS_TABLE,
  description:
    'create the DynamoDB break-glass table (events, locks, rate-limit slots; keys, indexes, TTL, protections) and wait until it is ACTIVE',
  configured: (config) => config.breakglass.table,
  roles: {
    daemon:
      "each invoker's daemon (breakglass invoke/list/show/close, and the break-glass check per credential request)",
    admin: 'reviewers and admins (reading the table, init breakglass)',
  },
  next: (table, region) =>
    `Point daemons at it with breakglass: { table: ${table} }, sessions: { store: dynamodb } and region: ${region} in config.yaml.`,
};

export const TABLES: readonly TableInit[] = [SESSIONS, APPROVALS, BREAKGLASS];

interface InitTableFlags {
  table?: string;
  region?: string;
  profile?: string;
  plan?: boolean;
  yes?: boolean;
  json?: boolean;
}

export function planText(shape: TableShape, table: string, region: string, who: string): string {
  return [
    `Sentinel will create (or check) the DynamoDB table ${table} in ${region}, using ${who}:`,
    `  partition key     ${shape.partitionKey} (string); billing PAY_PER_REQUEST`,
    ...shape.indexes.map((i) => `  index ${i.name.padEnd(20)} (${i.hash}, ${i.range}), projects all attributes`),
    `  TTL               on ${shape.ttlAttribute} (${shape.ttlNote})`,
    '  protections       encryption with the AWS managed KMS key, point-in-time recovery, deletion protection',
    'An existing table with these keys and indexes is kept as it is (protections that are off are turned on);',
    'one with other keys or indexes is reported and left unchanged.',
    '',
  ].join('\n');
}

async function initTable(spec: TableInit, flags: InitTableFlags, globals: GlobalOptions): Promise<number> {
  const { shape } = spec;
  const target = await resolveAwsTarget(flags, globals);
  const region = requireRegion(target);
  let tableName = flags.table;
  if (tableName === undefined) {
    const { loadConfig } = await import('../core/config.js');
    tableName = spec.configured(loadConfig({ configFlag: globals.config })) ?? shape.defaultName;
  }
  checkTableName(tableName);
  const { iamPolicies, tableDefinition, ensureTable } = await import('../core/records/table.js');

  if (flags.plan) {
    const iam = iamPolicies(shape, tableName, region);
    if (flags.json) {
      printJson({
        table: tableName,
        region,
        profile: target.profile ?? null,
        definition: tableDefinition(shape, tableName),
        iam,
      });
    } else {
      process.stdout.write(planText(shape, tableName, region, describeTarget({ ...target, region: undefined })));
      process.stdout.write(`\nIAM policy for ${spec.roles.daemon}:\n${JSON.stringify(iam.daemon, null, 2)}\n`);
      process.stdout.write(`\nIAM policy for ${spec.roles.admin}:\n${JSON.stringify(iam.admin, null, 2)}\n`);
      process.stdout.write('\nNothing was changed (--plan). Run again without --plan to create the table.\n');
    }
    return 0;
  }

  if (
    !(await confirmPlan(
      planText(shape, tableName, region, describeTarget({ ...target, region: undefined })),
      flags.yes,
      'create a table',
    ))
  )
    return 1;

  const { createTableClient } = await import('../core/records/client.js');
  // Table administration calls are slower than item reads: allow them longer than the daemon's 2 s.
  const client = createTableClient({ ...target, region, timeoutMs: ADMIN_ATTEMPT_MS, maxAttempts: ADMIN_ATTEMPTS });
  try {
    const report = await ensureTable(client, shape, tableName, {
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
      process.stdout.write(`${spec.next(report.table, region)}\n`);
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
  $ sentinel init sessions --table sentinel-sessions --region eu-west-1 --profile admin
  $ sentinel init bootstrap dev prod --with-sessions --region eu-west-1 --plan`,
    );
  for (const spec of TABLES) registerTableInit(init, spec);
  registerBootstrap(init, TABLES);
}

function registerTableInit(init: Command, spec: TableInit): void {
  const { init: name, defaultName } = spec.shape;
  init
    .command(name)
    .description(spec.description)
    .option('--table <name>', `table name (default: the one config.yaml names, else ${defaultName})`)
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
  $ sentinel init ${name} --table ${defaultName} --region eu-west-1 --plan
  $ sentinel init ${name} --table ${defaultName} --region eu-west-1 --profile admin
  $ sentinel init ${name} --region eu-west-1 -y --json

Exit codes: 0 created or already in place; 1 AWS error, a table of another shape, or declined; 2 usage.`,
    )
    .action(async (flags: InitTableFlags, command: Command) => {
      process.exitCode = await initTable(spec, flags, command.optsWithGlobals<GlobalOptions>());
    });
}
