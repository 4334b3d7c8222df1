// `sentinel breakglass invoke|list|show|close` (DESIGN §8, §11): emergency access through the daemon, so the invoker
// is the identity the daemon serves. Reviewers without a daemon read and close events in the table with their own AWS
// identity (--table, cli/breakglass-table.ts); in vendor mode `close` goes to the vendor (cli/vendor-admin.ts). On a
// terminal, invoke first asks the daemon what it would do (dry run: which entry, who is told, whether MFA is needed),
// shows it, and asks for the MFA code when one is needed; without a terminal it never prompts, and a missing code is
// the daemon's MfaRequired.
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import type { InvokePreview } from '../core/breakglass/service.js';
import { MAX_BREAKGLASS_DURATION_MS, REASON_CODES } from '../core/policy/breakglass-limits.js';
import { isHex16 } from '../core/text/hex-id.js';
import { checkOneLine, notificationText, printJson, relativeTime, table, usageError } from './output.js';
import type { GlobalOptions } from './program.js';
import { checkTableFlags, type TableFlags } from './table-flags.js';
import { visible } from '../core/text/printable.js';
import { vendorAdmin } from './vendor-admin.js';

/** The event as the daemon answers it (DESIGN §11, with the effective status). */
interface EventView {
  id: string;
  invoker: string;
  profile: string;
  reason_code: string;
  justification: string;
  status: string;
  rule: string;
  mfa_verified: boolean;
  escalated: boolean;
  created_at: string;
  expires_at: string;
  closed_by?: string;
  closed_reason?: string;
  notification_status?: string;
  /** The event notification_status is about (absent on records from before it was kept). */
  notification_event?: string;
}

const STATUSES = ['active', 'closed', 'expired'];

function checkId(id: string): string {
  if (!isHex16(id as unknown)) {
    throw usageError(
      `${JSON.stringify(id.slice(0, 40))} is not a break-glass event id (16 lowercase hexadecimal characters)`,
      'Copy the id from `sentinel breakglass list`.',
    );
  }
  return id;
}

/** --for: a Go-style duration, more than 0 and at most 4h (the entry may allow less; the daemon says so). */
function checkFor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms % 1000 !== 0) {
    throw usageError(
      `--for ${JSON.stringify(text.slice(0, 20))} is not a duration greater than 0`,
      'Write it like 30m, 1h or 2h30m.',
    );
  }
  if (ms > MAX_BREAKGLASS_DURATION_MS)
    throw usageError(`--for ${text} is over the 4h limit of break-glass`, 'Ask for at most 4h.');
  return ms / 1000;
}

function describe(e: EventView, now = Date.now()): string {
  switch (e.status) {
    case 'active':
      return `active until ${e.expires_at} (${relativeTime(e.expires_at, now)})${e.escalated ? ', ESCALATED' : ''}`;
    case 'closed':
      return `closed by ${e.closed_by ?? '?'}${e.closed_reason ? ` (${e.closed_reason})` : ''}`;
    default:
      return `expired at ${e.expires_at}`;
  }
}

function detail(e: EventView): string {
  const rows: Array<[string, string | undefined]> = [
    ['id', e.id],
    ['status', describe(e)],
    ['invoker', e.invoker],
    ['profile', e.profile],
    ['reason code', e.reason_code],
    ['reason', e.justification],
    ['entry', e.rule],
    ['mfa verified', e.mfa_verified ? 'yes' : 'no'],
    ['escalated', e.escalated ? 'yes' : 'no'],
    ['invoked', `${e.created_at} (${relativeTime(e.created_at)})`],
    ['notifications', notificationText(e)],
  ];
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(14)}${v}`)
    .join('\n')
    .concat('\n');
}

async function daemon(globals: GlobalOptions) {
  const { connect } = await import('./client.js');
  return connect(globals);
}

const checkFlags = (flags: TableFlags) =>
  checkTableFlags(flags, 'Add --table sentinel-breakglass to use the table with your own AWS identity.');

function addTableOptions(command: Command): Command {
  return command
    .option('--table <name>', 'use the break-glass table directly with your own AWS identity, not the local daemon')
    .option('--profile <aws profile>', 'AWS profile for your own identity (default: AWS_PROFILE, then aws_profile)')
    .option('--region <region>', 'AWS region of the table (default: AWS_REGION, then region in config.yaml)');
}

const TABLE_HELP = `
With --table T the event is read from the break-glass table with your own AWS identity (--profile, else AWS_PROFILE,
else aws_profile in config.yaml; --region, else AWS_REGION, else region), without a daemon: what a reviewer uses.`;

async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export function register(program: Command): void {
  const group = program
    .command('breakglass')
    .description('emergency access that needs nobody’s yes, but is announced, bounded, rate-limited and recorded')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel breakglass invoke prod --reason-code incident --reason "database down, INC-1234, restoring"
  $ sentinel breakglass list --mine
  $ sentinel breakglass close 3f9a0c1d2e4b5a69 --reason "incident resolved"

See docs/breakglass.md.`,
    );

  group
    .command('invoke')
    .description('open a break-glass event for a profile your policy denies (through the daemon)')
    .argument('<profile>', 'the AWS profile you need')
    .requiredOption('--reason-code <code>', `why, as one of: ${REASON_CODES.join(', ')}`)
    .requiredOption('--reason <text>', 'what is going on (20-1000 characters, one line); everyone notified sees it')
    .option('--for <duration>', "how long (default 1h or the entry's max_duration if shorter; at most 4h)")
    .option('--mfa-code <code>', 'the current 6-digit code of your MFA device, when the entry requires MFA')
    .option(
      '-y, --yes',
      'do not show the announcement and ask before acting (still asks for an MFA code on a terminal)',
    )
    .option('--json', 'print the event as JSON')
    .addHelpText(
      'after',
      `
The daemon checks, in this order: the profile exists, who you are, a breakglass entry lists you for this profile
with this reason code, now and for this long (each refusal says which), MFA when the entry requires it, that you
have no active event on the profile and no cooldown runs, and the rate-limit quotas. On a terminal Sentinel shows
what will be announced to whom and asks before acting, and asks for the MFA code when one is needed; without a
terminal it never asks (a missing code is MfaRequired).

Examples:
  $ sentinel breakglass invoke prod --reason-code incident --reason "database down, INC-1234, restoring"
  $ sentinel breakglass invoke prod --reason-code security --reason "revoking leaked keys, SEC-77" --for 30m
  $ sentinel breakglass invoke prod --reason-code incident --reason "..." --mfa-code 123456 --json
  $ sentinel breakglass invoke list --reason-code other --reason "a profile named list works too"

Exit codes: 0 invoked; 1 error, Conflict (an active event) or RateLimited (cooldown, quota); 2 usage or bad input;
3 refused (BreakGlassRefused, MfaRequired); 4 daemon not running.`,
    )
    .action(
      async (
        profile: string,
        flags: { reasonCode: string; reason: string; for?: string; mfaCode?: string; yes?: boolean; json?: boolean },
        command: Command,
      ) => {
        if (!(REASON_CODES as readonly string[]).includes(flags.reasonCode))
          throw usageError(`--reason-code must be one of ${REASON_CODES.join(', ')}`);
        const justification = checkOneLine(flags.reason, '--reason', 20, 1000);
        const duration = checkFor(flags.for);
        if (flags.mfaCode !== undefined && !/^\d{6}$/.test(flags.mfaCode))
          throw usageError('--mfa-code must be the 6 digits your MFA device shows');
        const client = await daemon(command.optsWithGlobals<GlobalOptions>());
        const body: Record<string, unknown> = {
          profile,
          reason_code: flags.reasonCode,
          justification,
          ...(duration !== undefined ? { duration } : {}),
        };
        let mfaCode = flags.mfaCode;
        if (process.stdin.isTTY && process.stderr.isTTY) {
          const preview = await client.post<InvokePreview>('/v1/breakglass', { ...body, dry_run: true });
          if (!flags.yes) {
            const told = preview.notify.length
              ? preview.notify.join(', ')
              : 'nobody (the entry names no notify targets)';
            // What the daemon (in vendor mode: the vendor) answered is shown with its control characters escaped.
            process.stderr.write(
              visible(
                `Break-glass on ${profile} for ${Math.round(preview.duration / 60)}m under entry "${preview.entry}".\n` +
                  `Announced to: ${told}, with your name, reason code and reason.\n` +
                  (preview.rate_limits.length ? `Counted against: ${preview.rate_limits.join(', ')}.\n` : ''),
                /\n/,
              ),
            );
            if (!/^y(es)?$/i.test(await ask('Proceed? [y/N] '))) {
              process.stderr.write('Nothing was invoked.\n');
              process.exitCode = 1;
              return;
            }
          }
          if (preview.mfa === 'required' && !preview.mfa_session && mfaCode === undefined) {
            mfaCode = await ask('MFA code: ');
            if (!/^\d{6}$/.test(mfaCode)) throw usageError('the MFA code must be the 6 digits your MFA device shows');
          }
        }
        const e = await client.post<EventView>('/v1/breakglass', {
          ...body,
          ...(mfaCode !== undefined ? { mfa_code: mfaCode } : {}),
        });
        if (flags.json) return printJson(e);
        process.stdout.write(visible(`Break-glass ${e.id} on ${e.profile}: ${describe(e)}`) + '\n');
        process.stdout.write(visible(`Close it when done: sentinel breakglass close ${e.id} --reason <text>`) + '\n');
      },
    );

  addTableOptions(
    group
      .command('list')
      .description('list break-glass events: yours (--mine) or everyone’s, newest first (for review)')
      .option('--mine', 'only your own events')
      .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
      .option('--for-profile <profile>', 'only events on this AWS profile')
      .option('--limit <n>', 'at most this many (1-1000, default 100)')
      .option('--json', 'print {"events": [...]}'),
  )
    .addHelpText(
      'after',
      `${TABLE_HELP}

Examples:
  $ sentinel breakglass list --mine
  $ sentinel breakglass list --status active
  $ sentinel breakglass list --for-profile prod --json
  $ sentinel breakglass list --status active --table sentinel-breakglass --region eu-west-1

Exit codes: 0 ok; 1 error; 2 usage; 4 daemon not running.`,
    )
    .action(
      async (
        flags: TableFlags & { mine?: boolean; status?: string; forProfile?: string; limit?: string; json?: boolean },
        command: Command,
      ) => {
        checkFlags(flags);
        if (flags.status !== undefined && !STATUSES.includes(flags.status))
          throw usageError(`--status must be one of ${STATUSES.join(', ')}`);
        const limit = flags.limit === undefined ? 100 : Number(flags.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw usageError('--limit must be a number from 1 to 1000');
        const globals = command.optsWithGlobals<GlobalOptions>();
        let events: EventView[];
        if (flags.table !== undefined) {
          const filter = {
            mine: flags.mine === true,
            ...(flags.status ? { status: flags.status } : {}),
            ...(flags.forProfile ? { profile: flags.forProfile } : {}),
            limit,
          };
          const { withBreakglassTable } = await import('./breakglass-table.js');
          events = await withBreakglassTable(flags, globals, { policy: false }, async (bg) => {
            await bg.assertKind();
            return bg.service.list(filter);
          });
        } else {
          const q = new URLSearchParams();
          if (flags.mine) q.set('mine', '');
          if (flags.status) q.set('status', flags.status);
          if (flags.forProfile) q.set('profile', flags.forProfile);
          q.set('limit', String(limit));
          const client = await daemon(globals);
          events = (await client.get<{ events: EventView[] }>(`/v1/breakglass?${q.toString()}`)).events;
        }
        if (flags.json) return printJson({ events });
        if (events.length === 0) return void process.stderr.write('No break-glass events match.\n');
        process.stdout.write(
          visible(
            table(
              ['ID', 'INVOKER', 'PROFILE', 'REASON', 'INVOKED', 'STATUS'],
              events.map((e) => [e.id, e.invoker, e.profile, e.reason_code, relativeTime(e.created_at), describe(e)]),
            ),
            /\n/,
          ),
        );
      },
    );

  addTableOptions(
    group
      .command('show')
      .description('show one break-glass event: who, why, until when, notifications')
      .argument('<id>', 'event id (16 hex)')
      .option('--json', 'print the event as JSON'),
  )
    .addHelpText(
      'after',
      `${TABLE_HELP}

Examples:
  $ sentinel breakglass show 3f9a0c1d2e4b5a69
  $ sentinel breakglass show 3f9a0c1d2e4b5a69 --json
  $ sentinel breakglass show 3f9a0c1d2e4b5a69 --table sentinel-breakglass

Exit codes: 0 ok; 1 no such event or error; 2 usage; 4 daemon not running.`,
    )
    .action(async (id: string, flags: TableFlags & { json?: boolean }, command: Command) => {
      checkId(id);
      checkFlags(flags);
      const globals = command.optsWithGlobals<GlobalOptions>();
      let e: EventView;
      if (flags.table !== undefined) {
        const { withBreakglassTable } = await import('./breakglass-table.js');
        e = await withBreakglassTable(flags, globals, { policy: false }, (bg) => bg.service.show(id));
      } else {
        e = await (await daemon(globals)).get<EventView>(`/v1/breakglass/${id}`);
      }
      if (flags.json) printJson(e);
      else process.stdout.write(visible(detail(e), /\n/));
    });

  addTableOptions(
    group
      .command('close')
      .description('end a break-glass event (its invoker, or an approver of the profile): the next request is refused')
      .argument('<id>', 'event id (16 hex)')
      .requiredOption('--reason <text>', 'why it is over (1-1024 characters, one line)')
      .option('--json', 'print the event as JSON'),
  )
    .addHelpText(
      'after',
      `
Closing ends access at the next credential request; it gives nothing back of the rate limits (the cooldown and the
quota still count the event).

Where it is closed: by default through the local daemon, as the identity it serves. With --table T (no daemon needed)
in the break-glass table with your own AWS identity (--profile, else AWS_PROFILE, else aws_profile; --region, else
AWS_REGION, else region): you must be the invoker or an approver of the profile by the policy in force (from the
configured policy source), and the breakglass.closed notification is sent before the command exits (at most 20 s;
a failure is a warning). With vendor: in config.yaml it calls the vendor's API, SigV4-signed with your credentials
(--profile, default vendor.profile; --region, default vendor.region), and --table is refused: in vendor mode only the
vendor writes the tables.

Examples:
  $ sentinel breakglass close 3f9a0c1d2e4b5a69 --reason "incident resolved"
  $ sentinel breakglass close 3f9a0c1d2e4b5a69 --reason "done" --json
  $ sentinel breakglass close 3f9a0c1d2e4b5a69 --reason "reviewed, over" --table sentinel-breakglass --profile approver

Exit codes: 0 closed; 1 not active (Conflict), no such event, the vendor did not answer (VendorUnavailable) or error;
2 usage; 3 not the invoker or an approver (NotApprover); 4 daemon not running.`,
    )
    .action(async (id: string, flags: TableFlags & { reason: string; json?: boolean }, command: Command) => {
      checkId(id);
      const reason = checkOneLine(flags.reason, '--reason', 1, 1024);
      const globals = command.optsWithGlobals<GlobalOptions>();
      const vendor = await vendorAdmin(flags, globals, 'breakglass close');
      // In vendor mode --profile/--region choose who signs, so the table-flag check is for the other two paths.
      if (!vendor) checkFlags(flags);
      let e: EventView;
      if (vendor) {
        e = await vendor.closeEvent(id, reason);
      } else if (flags.table !== undefined) {
        const bg = await import('./breakglass-table.js');
        const closed = await bg.withBreakglassTable(flags, globals, { policy: true }, (t) => bg.close(t, id, reason));
        if (closed.warning) process.stderr.write(`Warning: ${closed.warning}\n`);
        e = closed.event;
      } else {
        e = await (await daemon(globals)).post<EventView>(`/v1/breakglass/${id}/close`, { reason });
      }
      if (flags.json) printJson(e);
      else process.stdout.write(visible(`Closed break-glass ${e.id} on ${e.profile}.`) + '\n');
    });
}
