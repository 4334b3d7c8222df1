// `sentinel request`, `requests [show|cancel|revoke]`, `approve`, `deny` (DESIGN §8, §10). Requester commands go
// through the daemon, so the requester is the identity the daemon serves; approver commands use the approver's own
// AWS identity: against the requests table (cli/approvals-table.ts, loaded lazily with the SDK), or in vendor mode
// against the vendor's routes (cli/vendor-admin.ts, DESIGN §17).
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { isHex16 } from '../core/text/hex-id.js';
import { pageOf, parseCursor } from './list-page.js';
import { checkOneLine, notificationText, printJson, relativeTime, table, usageError } from './output.js';
import type { GlobalOptions } from './program.js';
import { checkTableName, type TableFlags } from './table-flags.js';
import { vendorAdmin } from './vendor-admin.js';
import { visible } from '../core/text/printable.js';

/** What the daemon and the table answer: the record of DESIGN §10 with the effective status. */
interface RequestView {
  id: string;
  requester: string;
  profile: string;
  justification: string;
  duration: number;
  status: string;
  rule: string;
  created_at: string;
  expires_at: string;
  approver?: string;
  approver_comment?: string;
  window_start?: string;
  window_end?: string;
  auto_approved: boolean;
  notification_status?: string;
  /** The event notification_status is about (absent on records from before it was kept). */
  notification_event?: string;
  /** From the requester's daemon only: why an approved request grants nothing under the policy in force. */
  not_honoured?: string;
}

const STATUSES = ['pending', 'approved', 'denied', 'cancelled', 'revoked', 'expired'];

function checkId(id: string): string {
  if (!isHex16(id as unknown)) {
    throw usageError(
      `${JSON.stringify(id.slice(0, 40))} is not a request id (16 lowercase hexadecimal characters)`,
      'Copy the id from `sentinel requests`.',
    );
  }
  return id;
}

function checkFor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms % 1000 !== 0) {
    throw usageError(`--for ${JSON.stringify(text.slice(0, 20))} is not a duration`, 'Write it like 30m, 1h or 2h30m.');
  }
  return ms / 1000;
}

/** 14:30, in local time (the window is what a person plans around). */
function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

export function describeStatus(r: RequestView, now = Date.now()): string {
  const by = r.auto_approved ? 'automatically' : r.approver ? `by ${r.approver}` : '';
  switch (r.status) {
    case 'pending':
      return `pending, lapses at ${clock(r.expires_at)} (${relativeTime(r.expires_at, now)})`;
    case 'approved':
      // The requester's daemon judged it under the policy in force: a record alone does not make access.
      if (r.not_honoured) return `approved ${by}, but NOT honoured here: ${r.not_honoured}`;
      return `approved ${by}, usable until ${clock(r.window_end!)} (${relativeTime(r.window_end, now)})`;
    case 'expired':
      return r.window_end
        ? `expired: the window ended at ${clock(r.window_end)}`
        : 'expired: nobody decided within 24h';
    case 'revoked':
      return `revoked${r.approver_comment ? ` (${r.approver_comment})` : ''}`;
    default:
      return `${r.status}${r.approver ? ` by ${r.approver}` : ''}`;
  }
}

function detail(r: RequestView): string {
  const rows: Array<[string, string | undefined]> = [
    ['id', r.id],
    ['status', describeStatus(r)],
    ['requester', r.requester],
    ['profile', r.profile],
    ['for', `${Math.round(r.duration / 60)}m`],
    ['reason', r.justification],
    ['entry', r.rule],
    ['filed', `${r.created_at} (${relativeTime(r.created_at)})`],
    ['comment', r.approver_comment],
    ['window', r.window_start && r.window_end ? `${r.window_start} → ${r.window_end}` : undefined],
    ['notifications', notificationText(r)],
  ];
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(14)}${v}`)
    .join('\n')
    .concat('\n');
}

function listing(requests: RequestView[]): string {
  return table(
    ['ID', 'REQUESTER', 'PROFILE', 'FILED', 'STATUS'],
    requests.map((r) => [r.id, r.requester, r.profile, relativeTime(r.created_at), describeStatus(r)]),
  );
}

async function daemon(globals: GlobalOptions) {
  const { connect } = await import('./client.js');
  return connect(globals);
}

async function withTable<T>(
  flags: TableFlags,
  globals: GlobalOptions,
  run: (ctx: import('./approvals-table.js').ApproverContext, mod: typeof import('./approvals-table.js')) => Promise<T>,
  needIdentity = true,
): Promise<T> {
  if (flags.table !== undefined) checkTableName(flags.table);
  const mod = await import('./approvals-table.js');
  const ctx = await mod.approverContext(flags, globals, needIdentity);
  try {
    return await mod.explainNotFound(ctx, () => run(ctx, mod));
  } finally {
    await ctx.close();
  }
}

function report(
  result: { request: RequestView; warning: string | null },
  json: boolean | undefined,
  verb: string,
): void {
  if (result.warning) process.stderr.write(`Warning: ${result.warning}\n`);
  if (json) printJson(result.request);
  else
    process.stdout.write(
      visible(
        `${verb} request ${result.request.id} (${result.request.requester}, ${result.request.profile}): ${describeStatus(result.request)}`,
      ) + '\n',
    );
}

const TABLE_HELP = `
Approver commands read and write the requests table with your own AWS identity: --table (default: requests.table
in config.yaml), --profile and --region (default: AWS_PROFILE/AWS_REGION, then aws_profile/region in config.yaml).`;

const DECIDE_HELP = `
This runs with your own AWS identity. With vendor: in config.yaml it calls the vendor's API, SigV4-signed (your IAM
needs only execute-api:Invoke on it): --profile picks who signs (default vendor.profile, else the default AWS
credential chain) and --region the API's region (default vendor.region); --table is refused, because in vendor mode
only the vendor writes the tables, and the vendor checks you against the policy in force. Without a vendor it writes
the requests table itself: --table (default: requests.table in config.yaml), --profile and --region (default:
AWS_PROFILE/AWS_REGION, then aws_profile/region in config.yaml).`;

/**
 * The flags of a subcommand of `requests`, with those `requests` declares too (--table, --profile, --region, --json):
 * commander gives such a flag to the parent even when it follows the subcommand, so the subcommand's own options
 * alone would miss it.
 */
function subcommandFlags<T>(command: Command): TableFlags & T {
  return command.optsWithGlobals<TableFlags & T>();
}

function addTableOptions(cmd: Command): Command {
  return cmd
    .option('--table <name>', 'the requests table (default: requests.table in config.yaml)')
    .option(
      '--profile <aws profile>',
      'AWS profile for your own identity (signs the call to the vendor in vendor mode)',
    )
    .option('--region <region>', 'AWS region of the table (of the vendor API when a decision goes to the vendor)');
}

export function register(program: Command): void {
  program
    .command('request')
    .description('ask for access that a require_approval rule governs; an approver decides (or auto-approve does)')
    .argument('<profile>', 'the AWS profile you need')
    .requiredOption('--reason <text>', 'why (10-500 characters, one line); approvers see it')
    .option('--for <duration>', "how long, once approved (default 1h or the entry's max_duration if shorter)")
    .option('--json', 'print the request as JSON')
    .addHelpText(
      'after',
      `
The request goes through your daemon, so the requester is the identity the daemon serves for the profile. Only
access that a require_approval rule decides right now can be requested; a deny stays a deny.

Examples:
  $ sentinel request prod --reason "deploy hotfix for INC-1234"
  $ sentinel request prod --reason "schema migration, ticket DB-88" --for 2h
  $ sentinel request prod --reason "rotate keys" --json | jq -r .id

Exit codes: 0 filed (pending or auto-approved); 1 error; 2 usage or bad input; 3 not requestable (PolicyDenied);
4 daemon not running.`,
    )
    .action(async (profile: string, flags: { reason: string; for?: string; json?: boolean }, command: Command) => {
      const justification = checkOneLine(flags.reason, '--reason', 10, 500);
      const duration = checkFor(flags.for);
      const client = await daemon(command.optsWithGlobals<GlobalOptions>());
      const r = await client.post<RequestView>('/v1/requests', {
        profile,
        justification,
        ...(duration !== undefined ? { duration } : {}),
      });
      if (flags.json) return printJson(r);
      process.stdout.write(`Request ${r.id} for ${r.profile}: ${describeStatus(r)}\n`);
      if (r.status === 'pending') {
        process.stdout.write(`An approver runs: sentinel approve ${r.id}\n`);
      }
    });

  const requests = addTableOptions(
    program
      .command('requests')
      .description('list approval requests: your own (--mine, through the daemon) or from the table (approvers)')
      .option('--mine', 'your own requests, through the daemon')
      .option('--pending', 'only pending requests')
      .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
      .option('--for-profile <profile>', 'only requests for this AWS profile')
      .option('--limit <n>', 'at most this many (1-1000, default 100)')
      .option('--cursor <cursor>', 'the page after the one that printed this cursor (next_cursor)')
      .option('--json', 'print {"requests": [...], "next_cursor": ...}'),
  ).addHelpText(
    'after',
    `${TABLE_HELP}
Without --mine and filters, the table's pending requests are listed (what waits for an approver). Newest first; when
more match than --limit, the next page is \`--cursor <next_cursor>\` with the same filters.

Examples:
  $ sentinel requests --mine
  $ sentinel requests --pending --for-profile prod
  $ sentinel requests --status approved --table sentinel-requests --region eu-west-1 --json

Exit codes: 0 ok; 1 error; 2 usage; 4 daemon not running (--mine).`,
  );
  requests.action(
    async (
      flags: TableFlags & {
        mine?: boolean;
        pending?: boolean;
        status?: string;
        forProfile?: string;
        limit?: string;
        cursor?: string;
        json?: boolean;
      },
      command: Command,
    ) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if (flags.pending && flags.status && flags.status !== 'pending')
        throw usageError('--pending contradicts --status ' + flags.status);
      const status = flags.pending ? 'pending' : flags.status;
      if (status !== undefined && !STATUSES.includes(status))
        throw usageError(`--status must be one of ${STATUSES.join(', ')}`);
      const limit = flags.limit === undefined ? 100 : Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw usageError('--limit must be a number from 1 to 1000');
      // Checked before anything is read: a mangled cursor is a usage error, not a wasted call.
      const after = flags.cursor === undefined ? undefined : parseCursor(flags.cursor);
      let all: RequestView[];
      if (flags.mine) {
        const client = await daemon(globals);
        all = (await client.get<{ requests: RequestView[] }>('/v1/requests?mine')).requests
          .filter((r) => status === undefined || r.status === status)
          .filter((r) => flags.forProfile === undefined || r.profile === flags.forProfile);
      } else {
        all = await withTable(
          flags,
          globals,
          (ctx, mod) => mod.list(ctx, { status, profile: flags.forProfile }),
          false,
        );
      }
      const { rows, next } = pageOf(all, limit, after);
      if (flags.json) printJson({ requests: rows, next_cursor: next });
      else if (rows.length === 0) process.stderr.write('No requests match.\n');
      else process.stdout.write(listing(rows));
      if (!flags.json && next) process.stderr.write(`More match: add --cursor ${next}\n`);
    },
  );

  addTableOptions(
    requests
      .command('show')
      .description('show one request: status, window, approver, comment, notification status')
      .argument('<id>', 'request id (16 hex)')
      .option('--json', 'print the request as JSON'),
  )
    .addHelpText(
      'after',
      `
Your own request is shown through the daemon; with --table (approvers) it is read from the table.

Examples:
  $ sentinel requests show 3f9a0c1d2e4b5a69
  $ sentinel requests show 3f9a0c1d2e4b5a69 --table sentinel-requests --json

Exit codes: 0 ok; 1 no such request or error; 2 usage; 4 daemon not running.`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      checkId(id);
      const globals = command.optsWithGlobals<GlobalOptions>();
      const flags = subcommandFlags<{ json?: boolean }>(command);
      const r =
        flags.table !== undefined
          ? await withTable(flags, globals, (ctx, mod) => mod.show(ctx, id), false)
          : await (await daemon(globals)).get<RequestView>(`/v1/requests/${id}`);
      if (flags.json) printJson(r);
      else process.stdout.write(detail(r));
    });

  requests
    .command('cancel')
    .description('cancel your own pending request (through the daemon)')
    .argument('<id>', 'request id (16 hex)')
    .option('--json', 'print the request as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel requests cancel 3f9a0c1d2e4b5a69

Exit codes: 0 cancelled; 1 not pending (Conflict) or no such request of yours; 2 usage; 4 daemon not running.`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      checkId(id);
      const flags = subcommandFlags<{ json?: boolean }>(command);
      const client = await daemon(command.optsWithGlobals<GlobalOptions>());
      const r = await client.post<RequestView>(`/v1/requests/${id}/cancel`, {});
      if (flags.json) printJson(r);
      else process.stdout.write(`Cancelled request ${r.id} for ${r.profile}.\n`);
    });

  addTableOptions(
    requests
      .command('revoke')
      .description('withdraw an approved request (approvers): its next credential request is refused')
      .argument('<id>', 'request id (16 hex)')
      .requiredOption('--reason <text>', 'why (1-1024 characters, one line); stored as approver_comment')
      .option('--json', 'print the request as JSON'),
  )
    .addHelpText(
      'after',
      `${DECIDE_HELP}

Examples:
  $ sentinel requests revoke 3f9a0c1d2e4b5a69 --reason "incident closed"
  $ sentinel requests revoke 3f9a0c1d2e4b5a69 --reason "wrong ticket" --profile approver --region eu-west-1

Exit codes: 0 revoked; 1 not approved (Conflict), the vendor did not answer (VendorUnavailable) or error; 2 usage;
3 not an approver (NotApprover).`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      checkId(id);
      const flags = subcommandFlags<{ reason: string; json?: boolean }>(command);
      const reason = checkOneLine(flags.reason, '--reason', 1, 1024);
      const globals = command.optsWithGlobals<GlobalOptions>();
      const vendor = await vendorAdmin(flags, globals, 'requests revoke');
      const result = vendor
        ? { request: await vendor.revokeRequest(id, reason), warning: null }
        : await withTable(flags, globals, (ctx, mod) => mod.revoke(ctx, id, reason));
      report(result, flags.json, 'Revoked');
    });

  for (const [verb, decision] of [
    ['approve', 'approve'],
    ['deny', 'deny'],
  ] as const) {
    addTableOptions(
      program
        .command(verb)
        .description(
          `${verb} a pending approval request (approvers), with your own AWS identity (or through the vendor)`,
        )
        .argument('<id>', 'request id (16 hex, from `sentinel requests`)')
        .option('--comment <text>', 'a note for the requester and the record (one line, at most 1024 characters)')
        .option('--json', 'print the request as JSON'),
    )
      .addHelpText(
        'after',
        `${DECIDE_HELP}
You must be listed in the approvals entry for the request's profile (by name, or by principal ARN pattern), and
you cannot decide your own request. When two approvers act at once, one decision is recorded and the other is
refused with Conflict.

Examples:
  $ sentinel ${verb} 3f9a0c1d2e4b5a69
  $ sentinel ${verb} 3f9a0c1d2e4b5a69 --comment "${decision === 'approve' ? 'ok for INC-1234' : 'use staging'}" --profile approver

Exit codes: 0 ${decision === 'approve' ? 'approved' : 'denied'}; 1 not pending (Conflict), the vendor did not answer
(VendorUnavailable) or error; 2 usage; 3 not an approver (NotApprover).`,
      )
      .action(async (id: string, flags: TableFlags & { comment?: string; json?: boolean }, command: Command) => {
        checkId(id);
        const comment = flags.comment === undefined ? undefined : checkOneLine(flags.comment, '--comment', 1, 1024);
        const globals = command.optsWithGlobals<GlobalOptions>();
        const vendor = await vendorAdmin(flags, globals, verb);
        const result = vendor
          ? { request: await vendor.decide(id, decision, comment), warning: null }
          : await withTable(flags, globals, (ctx, mod) => mod.decide(ctx, id, decision, comment));
        report(result, flags.json, decision === 'approve' ? 'Approved' : 'Denied');
      });
  }
}
