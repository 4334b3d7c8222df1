// `sentinel server sessions | session <id> | revoke <id>`: inspect and revoke sessions, through the local daemon's
// control API by default, or straight against the DynamoDB session table with --table (an admin's machine, no
// daemon). Flags are parsed and checked here; the store does the work. The SDK and the store load lazily.
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { EXIT, SentinelError } from '../core/errors.js';
import {
  SESSION_ID,
  SESSION_STATUSES,
  type Session,
  type SessionQuery,
  type SessionStatus,
} from '../core/sessions/types.js';
import { TABLE_NAME } from '../core/sessions/schema.js';
import { resolveAwsTarget, type AwsTarget } from './aws-target.js';
import { formatError, printJson, relativeTime, table, usageError } from './output.js';
import type { GlobalOptions } from './program.js';
import { hasControlCharacters, isPrintableText } from '../core/text/printable.js';

interface TableFlags {
  table?: string;
  region?: string;
  profile?: string;
}

interface ListFlags extends TableFlags {
  status?: string;
  user?: string;
  forProfile?: string;
  serverInstance?: string;
  since?: string;
  limit?: string;
  cursor?: string;
  output?: string;
  json?: boolean;
}

interface ShowFlags extends TableFlags {
  output?: string;
  json?: boolean;
}

interface RevokeFlags extends TableFlags {
  reason: string;
  aws?: boolean;
  json?: boolean;
}

type Format = 'human' | 'json' | 'csv';

const MAX_REASON = 1024;
const MAX_LIMIT = 1000;

// --- flag checks (usage errors, exit 2) -------------------------------------------------------------------------------

export function checkId(id: string): string {
  if (!SESSION_ID.test(id)) {
    throw usageError(
      `${JSON.stringify(id.slice(0, 40))} is not a session id (16 lowercase hexadecimal characters)`,
      'Copy the id from `sentinel server sessions`.',
    );
  }
  return id;
}

export function checkReason(reason: string | undefined): string {
  if (typeof reason !== 'string' || reason.trim().length === 0)
    throw usageError('--reason is required and must not be empty', 'Say why, e.g. --reason "laptop reported stolen".');
  if (reason.length > MAX_REASON)
    throw usageError(
      `--reason is ${reason.length} characters; at most ${MAX_REASON}`,
      'Keep the reason short; link to a ticket for details.',
    );
  if (hasControlCharacters(reason))
    throw usageError('--reason contains control characters (newlines, escapes)', 'Write the reason on one line.');
  return reason;
}

function checkStatus(status: string): SessionStatus {
  if (!(SESSION_STATUSES as readonly string[]).includes(status)) {
    throw usageError(
      `unknown status ${JSON.stringify(status.slice(0, 40))}`,
      `Use one of: ${SESSION_STATUSES.join(', ')}.`,
    );
  }
  return status as SessionStatus;
}

/** `7d`, `24h`, `30m` back from now, or an RFC 3339 timestamp; returned as RFC 3339 UTC. */
export function parseSince(text: string, now: number = Date.now()): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now - ms).toISOString();
  if (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text) &&
    !Number.isNaN(Date.parse(text))
  ) {
    return new Date(Date.parse(text)).toISOString();
  }
  throw usageError(
    `--since ${JSON.stringify(text.slice(0, 40))} is neither a duration nor a timestamp`,
    'Use a duration back from now (7d, 24h, 30m) or an RFC 3339 time (2026-01-31T09:00:00Z).',
  );
}

function checkLimit(text: string): number {
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT))
    throw usageError(`--limit ${JSON.stringify(text.slice(0, 20))} is not a number from 1 to ${MAX_LIMIT}`);
  return n;
}

function checkText(value: string, flag: string): string {
  if (!isPrintableText(value, 256)) throw usageError(`${flag} must be 1-256 printable characters`);
  return value;
}

function checkFormat(flags: { output?: string; json?: boolean }, allowed: readonly Format[]): Format {
  if (flags.output !== undefined && !(allowed as readonly string[]).includes(flags.output)) {
    throw usageError(`--output ${JSON.stringify(flags.output.slice(0, 20))} is not one of ${allowed.join(', ')}`);
  }
  if (flags.json && flags.output !== undefined && flags.output !== 'json')
    throw usageError(`--json contradicts --output ${flags.output}`);
  return flags.json ? 'json' : ((flags.output as Format | undefined) ?? 'human');
}

function checkTableFlags(flags: TableFlags): void {
  if (flags.table !== undefined && !TABLE_NAME.test(flags.table)) {
    throw usageError(
      `--table ${JSON.stringify(flags.table.slice(0, 40))} is not a DynamoDB table name`,
      'Table names are 3-255 letters, digits, _ . and -.',
    );
  }
  if (flags.table === undefined && (flags.profile !== undefined || flags.region !== undefined)) {
    throw usageError(
      '--profile and --region choose the AWS account for --table; without --table the local daemon answers',
      'Add --table T to read the DynamoDB table, or filter by session profile with --for-profile P.',
    );
  }
}

export function buildQuery(flags: ListFlags, now: number = Date.now()): SessionQuery {
  const q: SessionQuery = {};
  if (flags.status !== undefined) q.status = checkStatus(flags.status);
  if (flags.user !== undefined) q.user = checkText(flags.user, '--user');
  if (flags.forProfile !== undefined) q.profile = checkText(flags.forProfile, '--for-profile');
  if (flags.serverInstance !== undefined) q.server_instance_id = checkText(flags.serverInstance, '--server-instance');
  if (flags.since !== undefined) q.since = parseSince(flags.since, now);
  q.limit = flags.limit !== undefined ? checkLimit(flags.limit) : 100;
  if (flags.cursor !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,8192}$/.test(flags.cursor))
      throw usageError('--cursor is not a cursor printed by an earlier page');
    q.cursor = flags.cursor;
  }
  return q;
}

// --- where sessions come from ---------------------------------------------------------------------------------------

interface SessionSource {
  list(q: SessionQuery): Promise<{ sessions: Session[]; cursor?: string }>;
  get(id: string): Promise<Session>;
  revoke(id: string, reason: string): Promise<Session>;
  close(): Promise<void>;
}

function unwrapSession(body: unknown): Session {
  const b = body as { session?: unknown } | null;
  const s = (b && typeof b === 'object' && 'session' in b ? b.session : body) as Session | null;
  if (!s || typeof s !== 'object' || typeof s.id !== 'string' || typeof s.status !== 'string') {
    throw new SentinelError('InternalError', 'the daemon answered with something that is not a session');
  }
  return s;
}

async function daemonSource(globals: GlobalOptions): Promise<SessionSource> {
  const { connect } = await import('./client.js');
  const client = await connect(globals);
  return {
    async list(q) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
      const body = await client.get<{ sessions?: unknown; cursor?: unknown }>(`/v1/sessions?${params}`);
      if (!body || !Array.isArray(body.sessions))
        throw new SentinelError('InternalError', 'the daemon answered a session list without sessions');
      return {
        sessions: body.sessions.map(unwrapSession),
        ...(typeof body.cursor === 'string' ? { cursor: body.cursor } : {}),
      };
    },
    async get(id) {
      return unwrapSession(await client.get(`/v1/sessions/${id}`));
    },
    async revoke(id, reason) {
      return unwrapSession(await client.post(`/v1/sessions/${id}/revoke`, { reason }));
    },
    async close() {},
  };
}

async function tableSource(flags: TableFlags, globals: GlobalOptions): Promise<SessionSource> {
  const target = await resolveAwsTarget(flags, globals);
  const [{ createTableClient }, { DynamoSessionStore }, { withEffectiveStatus }] = await Promise.all([
    import('../core/records/client.js'),
    import('../core/sessions/dynamodb.js'),
    import('../core/sessions/record.js'),
  ]);
  const store = new DynamoSessionStore({
    client: createTableClient(target),
    table: flags.table!,
    ownsClient: true,
  });
  return {
    async list(q) {
      const page = await store.list(q);
      return { sessions: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) };
    },
    async get(id) {
      const s = await store.get(id);
      if (!s)
        throw new SentinelError('SessionUnknown', `no session ${id} in table ${flags.table}`, { details: { id } });
      return withEffectiveStatus(s, new Date());
    },
    async revoke(id, reason) {
      return store.revoke(id, await adminName(target, globals), reason);
    },
    close: () => store.close(),
  };
}

/** revoked_by: the policy user name of whoever holds the admin credentials, as STS says (never a typed name). */
async function adminName(target: AwsTarget, globals: GlobalOptions): Promise<string> {
  const { whoami } = await import('./whoami.js');
  const me = await whoami({ profile: target.profile, region: target.region }, globals);
  return me.policyName;
}

async function withSource<T>(
  flags: TableFlags,
  globals: GlobalOptions,
  run: (source: SessionSource) => Promise<T>,
): Promise<T> {
  checkTableFlags(flags);
  const source = flags.table !== undefined ? await tableSource(flags, globals) : await daemonSource(globals);
  try {
    return await run(source);
  } finally {
    await source.close();
  }
}

// --- output -----------------------------------------------------------------------------------------------------------

const CSV_COLUMNS: readonly (keyof Session)[] = [
  'id',
  'user',
  'profile',
  'mode',
  'status',
  'started_at',
  'expires_at',
  'last_access_at',
  'request_count',
  'server_instance_id',
  'source_identity',
  'pid',
  'host',
  'revoked_by',
  'revoked_reason',
  'created_at',
  'updated_at',
];

/** Records may have been written by anyone with access to the table: never let one drive the terminal. */
function visible(text: string, keep: RegExp = /$^/): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    keep.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? '' : visible(String(value), /[\n\r\t]/);
  // A reason typed by an admin must not become a formula when the file is opened in a spreadsheet.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(sessions: Session[]): string {
  return (
    [CSV_COLUMNS.join(','), ...sessions.map((s) => CSV_COLUMNS.map((c) => csvCell(s[c])).join(','))].join('\n') + '\n'
  );
}

function statusText(s: Session): string {
  return s.status === 'revoked' && s.revoked_by ? `revoked by ${s.revoked_by}` : s.status;
}

export function sessionsTable(sessions: Session[], now: number = Date.now()): string {
  return table(
    ['ID', 'USER', 'PROFILE', 'MODE', 'STATUS', 'CREATED', 'LAST ACCESS', 'EXPIRES', 'REQUESTS'],
    sessions.map((s) =>
      [
        s.id,
        s.user,
        s.profile,
        s.mode,
        statusText(s),
        relativeTime(s.created_at, now),
        relativeTime(s.last_access_at, now),
        relativeTime(s.expires_at, now),
        String(s.request_count),
      ].map((cell) => visible(String(cell))),
    ),
  );
}

export function sessionDetail(s: Session, now: number = Date.now()): string {
  const when = (iso?: string) => (iso ? `${iso} (${relativeTime(iso, now)})` : '-');
  const rows: Array<[string, string | undefined]> = [
    ['Session', s.id],
    ['Status', s.status],
    ['Revoked by', s.revoked_by],
    ['Reason', s.revoked_reason],
    ['User', s.user],
    ['Profile', s.profile],
    ['Mode', s.mode],
    ['Started', when(s.started_at)],
    ['Expires', when(s.expires_at)],
    ['Last access', when(s.last_access_at)],
    ['Requests', String(s.request_count)],
    ['Host', s.host],
    ['PID', s.pid === undefined ? undefined : String(s.pid)],
    ['Server', s.server_instance_id],
    ['Source identity', s.source_identity],
    ['Updated', when(s.updated_at)],
  ];
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(15)}  ${visible(String(v))}\n`)
    .join('');
}

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
(sts:GetCallerIdentity); through the daemon, the daemon records it. Credentials the session already holds stay
valid until they expire (15 minutes by default), so revocation takes effect at the session's next request.

With --aws (admin CLI, --table only: the daemon never holds IAM write permissions), the inline policy
sentinel-revoke-<id> is then added to the session's role, denying everything to credentials stamped with the
session; IAM applies it to credentials already issued, typically within minutes. If that step fails the session
stays revoked in the store, the AWS step is reported, and the exit code is 1; run the command again to retry it.

Examples:
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "laptop reported stolen"
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "INC-1234" --table sentinel-sessions --region eu-west-1 --profile security
  $ sentinel server revoke 3f9a0c1d2e4b5a69 --reason "INC-1234" --aws --table sentinel-sessions --profile security

Exit codes: 0 revoked (and, with --aws, denied in AWS); 1 not active (the message says its state), no such
session, a store error, or the AWS step failed; 2 usage (malformed id, missing or bad --reason); 4 daemon not running.`,
    )
    .action(async (id: string, flags: RevokeFlags, command: Command) => {
      checkId(id);
      const reason = checkReason(flags.reason);
      if (flags.aws) return revokeWithAws(id, reason, flags, command.optsWithGlobals<GlobalOptions>());
      const session = await withSource(flags, command.optsWithGlobals<GlobalOptions>(), (source) =>
        source.revoke(id, reason),
      );
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
