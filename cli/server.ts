// `sentinel server sessions | session <id> | revoke <id>`: inspect and revoke sessions, through the local daemon's
// control API by default, or straight against the DynamoDB session table with --table (an admin's machine, no
// daemon). This file wires the commands: flags are checked in session-flags.ts, sessions come from session-source.ts
// and are shown by session-render.ts.
import type { Command } from 'commander';
import { EXIT } from '../core/errors.js';
import { SESSION_STATUSES } from '../core/sessions/types.js';
import { resolveAwsTarget } from './aws-target.js';
import { formatError, printJson, usageError } from './output.js';
import type { GlobalOptions } from './program.js';
import {
  buildQuery,
  checkFormat,
  checkId,
  checkReason,
  MAX_LIMIT,
  type ListFlags,
  type RevokeFlags,
  type ShowFlags,
} from './session-flags.js';
import { sessionDetail, sessionsTable, toCsv } from './session-render.js';
import { withSource } from './session-source.js';
import { visible } from '../core/text/printable.js';
import { vendorAdmin } from './vendor-admin.js';

export { buildQuery, checkId, checkReason, parseSince } from './session-flags.js';
export { sessionDetail, sessionsTable, toCsv } from './session-render.js';

// --- commands ---------------------------------------------------------------------------------------------------------

const TABLE_OPTIONS_HELP = `
Without --table the local daemon answers (its own store). With --table T the DynamoDB session table is read
directly, with AWS credentials from --profile (else $AWS_PROFILE, else aws_profile in config.yaml) and the
region from --region (else $AWS_REGION, else region in config.yaml). --profile is always the AWS profile used to
reach the table; filter sessions by the profile they were opened for with --for-profile.`;

function addTableOptions(command: Command): Command {
  return command
    .option('--table <name>', 'read the DynamoDB session table directly instead of asking the local daemon')
    .option('--region <region>', 'AWS region of --table (default: $AWS_REGION, else region in config.yaml)')
    .option(
      '--profile <profile>',
      'AWS profile used to reach --table (default: $AWS_PROFILE, else aws_profile in config.yaml)',
    );
}

export function register(program: Command): void {
  const server = program
    .command('server')
    .description('inspect and revoke sessions (the local daemon, or the DynamoDB table with --table)')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel server sessions --status active
  $ sentinel server session 3f9a0c1d2e4b5a69
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "laptop reported stolen" --table sentinel-sessions --region eu-west-1`,
    );

  addTableOptions(
    server
      .command('sessions')
      .description('list sessions, newest first')
      .option('--status <status>', `only sessions in this state: ${SESSION_STATUSES.join(', ')}`)
      .option('--user <user>', 'only sessions of this policy user')
      .option('--for-profile <profile>', 'only sessions opened for this AWS profile')
      .option('--server-instance <id>', 'only sessions served by this daemon instance')
      .option(
        '--since <when>',
        'only sessions created since: a duration back from now (7d, 24h, 30m) or an RFC 3339 time',
      )
      .option('--limit <n>', `at most this many sessions (1-${MAX_LIMIT}, default 100)`)
      .option('--cursor <cursor>', 'continue after the page that printed this cursor')
      .option('--output <format>', 'human, json or csv (default human)')
      .option('--json', 'same as --output json: {sessions: [...], cursor?}'),
  )
    .addHelpText(
      'after',
      `${TABLE_OPTIONS_HELP}

A session past its expiry is listed as expired even before anything recorded it. When more sessions match than
--limit, the last line (stderr) gives the --cursor for the next page; --json includes it as "cursor".

Examples:
  $ sentinel server sessions
  $ sentinel server sessions --status active --for-profile prod --since 24h
  $ sentinel server sessions --table sentinel-sessions --region eu-west-1 --profile security --user alice
  $ sentinel server sessions --table sentinel-sessions --since 7d --output csv > sessions.csv

Exit codes: 0 ok; 1 store or daemon error; 2 usage (unknown status, bad --since or --limit); 4 daemon not running.`,
    )
    .action(async (flags: ListFlags, command: Command) => {
      const format = checkFormat(flags, ['human', 'json', 'csv']);
      const q = buildQuery(flags);
      const page = await withSource(flags, command.optsWithGlobals<GlobalOptions>(), (source) => source.list(q));
      if (format === 'json') printJson(page);
      else if (format === 'csv') process.stdout.write(toCsv(page.sessions));
      else if (page.sessions.length === 0) process.stderr.write('No sessions match.\n');
      else process.stdout.write(sessionsTable(page.sessions));
      if (format !== 'json' && page.cursor) process.stderr.write(`More sessions follow: add --cursor ${page.cursor}\n`);
    });

  addTableOptions(
    server
      .command('session')
      .description('show one session: state, who revoked it and why, counters')
      .argument('<id>', 'session id (16 hex, from `sentinel server sessions` or $SENTINEL_SESSION)')
      .option('--output <format>', 'human or json (default human)')
      .option('--json', 'same as --output json'),
  )
    .addHelpText(
      'after',
      `${TABLE_OPTIONS_HELP}

Examples:
  $ sentinel server session 3f9a0c1d2e4b5a69
  $ sentinel server session "$SENTINEL_SESSION" --json
  $ sentinel server session 3f9a0c1d2e4b5a69 --table sentinel-sessions --region eu-west-1

Exit codes: 0 ok; 1 no such session, or a store or daemon error; 2 usage (malformed id); 4 daemon not running.`,
    )
    .action(async (id: string, flags: ShowFlags, command: Command) => {
      const format = checkFormat(flags, ['human', 'json']);
      checkId(id);
      const session = await withSource(flags, command.optsWithGlobals<GlobalOptions>(), (source) => source.get(id));
      if (format === 'json') printJson(session);
      else process.stdout.write(sessionDetail(session));
    });

  addTableOptions(
    server
      .command('revoke')
      .description('revoke an active session: its next credential request is refused')
      .argument('<id>', 'session id (16 hex)')
      .requiredOption('--reason <text>', 'why (1-1024 characters, one line); recorded with your name')
      .option('--aws', "also deny the session's credentials in AWS: an inline policy on its role (needs --table)")
      .option('--json', 'print the revoked session as JSON'),
  )
    .addHelpText(
      'after',
      `${TABLE_OPTIONS_HELP}

With --table, the revocation is recorded under your policy user name as STS reports it for the admin credentials
(sts:GetCallerIdentity); through the daemon, the daemon records it. In vendor mode (vendor: in config.yaml) the
command calls the vendor's API itself, SigV4-signed with your credentials (--profile, default vendor.profile;
--region, default vendor.region): the vendor lets the session's owner or an approver of its profile revoke it and
records your ARN as revoked_by; --table and --aws are refused there, because only the vendor writes the tables.
Credentials the session already holds stay valid until they expire (15 minutes by default), so revocation takes
effect at the session's next request.

With --aws (admin CLI, --table only: the daemon never holds IAM write permissions), the inline policy
sentinel-revoke-<id> is then added to the session's role, denying everything to credentials stamped with the
session; IAM applies it to credentials already issued, typically within minutes. If that step fails the session
stays revoked in the store, the AWS step is reported, and the exit code is 1; run the command again to retry it.

Examples:
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "laptop reported stolen"
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "INC-1234" --table sentinel-sessions --region eu-west-1 --profile security
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "INC-1234" --aws --table sentinel-sessions --profile security

Exit codes: 0 revoked (and, with --aws, denied in AWS); 1 not active (the message says its state), no such
session, a store error, the vendor did not answer (VendorUnavailable), or the AWS step failed; 2 usage (malformed id,
missing or bad --reason); 4 daemon not running.`,
    )
    .action(async (id: string, flags: RevokeFlags, command: Command) => {
      checkId(id);
      const reason = checkReason(flags.reason);
      const globals = command.optsWithGlobals<GlobalOptions>();
      const vendor = await vendorAdmin(flags, globals, 'server revoke');
      if (vendor && flags.aws) {
        throw usageError(
          '--aws is not available in vendor mode: the vendor revokes the session, and the admin CLI writes nothing itself',
          'Revoke without --aws: the next credential request of the session is refused, and credentials it already holds expire within credentials.duration (15 minutes by default).',
        );
      }
      if (!vendor && flags.aws) return revokeWithAws(id, reason, flags, globals);
      const session = vendor
        ? await vendor.revokeSession(id, reason)
        : await withSource(flags, globals, (source) => source.revoke(id, reason));
      if (flags.json) {
        printJson(session);
        return;
      }
      process.stdout.write(
        visible(
          `Revoked session ${session.id} (user ${session.user}, profile ${session.profile})${session.revoked_by ? ` as ${session.revoked_by}` : ''}.`,
        ) +
          '\n' +
          'Its next credential request is refused; credentials it already holds stay valid until they expire.\n',
      );
    });
}

async function revokeWithAws(id: string, reason: string, flags: RevokeFlags, globals: GlobalOptions): Promise<void> {
  if (flags.table === undefined) {
    throw usageError(
      '--aws needs --table: the admin CLI revokes in the table and writes IAM itself',
      'Add --table sentinel-sessions (and --profile with iam:PutRolePolicy); the daemon never holds IAM write permissions.',
    );
  }
  const { revokeEverywhere } = await import('./revoke-aws.js');
  const target = await resolveAwsTarget(flags, globals);
  const result = await withSource(flags, globals, (source) => revokeEverywhere(source, target, id, reason));
  const { session, aws } = result;
  if (!aws.ok) process.exitCode = EXIT.error;
  if (flags.json) {
    printJson({ ...session, aws });
    return;
  }
  process.stdout.write(
    visible(
      result.already_revoked
        ? `Session ${session.id} was already revoked in the store${session.revoked_by ? ` (by ${session.revoked_by})` : ''}.`
        : `Revoked session ${session.id} (user ${session.user}, profile ${session.profile})${session.revoked_by ? ` as ${session.revoked_by}` : ''}.`,
    ) + '\n',
  );
  if (aws.ok && 'skipped' in aws) process.stdout.write(visible(`AWS: nothing to deny: ${aws.skipped}.`) + '\n');
  else if (aws.ok)
    process.stdout.write(
      visible(
        `AWS: added inline policy ${aws.policy_name} to role ${aws.role_name} (${aws.inline_chars} of 10240 inline characters in use` +
          `${aws.pruned.length ? `; pruned ${aws.pruned.join(', ')}` : ''}). Credentials already issued to this session are denied as IAM applies it, typically within minutes.`,
      ) + '\n',
    );
  else
    process.stderr.write(
      formatError({ code: aws.error.code, message: `AWS step failed: ${aws.error.message}`, hint: aws.error.hint }),
    );
}
