// `sentinel audit verify | untracked-sessions | calls` (DESIGN §15): CloudTrail read back against Sentinel. Registered
// into the `audit` group by cli/audit.ts. Findings go to stdout, a summary to stderr; --json prints
// {ok, findings, error?}. Exit 0 nothing found, 1 something untracked (or unstamped), 2 could not check.
import type { Command } from 'commander';
import { EXIT, SentinelError, isSentinelError } from '../core/errors.js';
import type { TrailEvent } from '../core/cloudtrail/lookup.js';
import type { RegionOutcome } from '../core/cloudtrail/regions.js';
import { resolveAwsTarget, requireRegion, type AwsTarget } from './aws-target.js';
import { formatError, printJson, usageError } from './output.js';
import { checkId, parseSince } from './server.js';
import type { GlobalOptions } from './program.js';
import { visible } from '../core/text/printable.js';

interface TrailFlags {
  since?: string;
  until?: string;
  region?: string[];
  allRegions?: boolean;
  profile?: string;
  json?: boolean;
}

/** What --all-regions says of one region: read (events scanned, findings), not enabled (skipped) or failed. */
interface RegionReport {
  region: string;
  status: 'ok' | 'not_enabled' | 'failed';
  events?: number;
  findings?: number;
  error?: { code: string; message: string };
}

interface ReadResult {
  events: TrailEvent[];
  /** Only with --all-regions: each region's outcome (events and findings filled in once the findings are known). */
  regions?: RegionReport[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const DEFAULT_CALLS_WINDOW = '24h';

function window(flags: TrailFlags, now = Date.now()): { start: Date; end: Date } {
  const start = new Date(parseSince(flags.since ?? DEFAULT_CALLS_WINDOW, now));
  const end = flags.until !== undefined ? new Date(parseSince(flags.until, now)) : new Date(now);
  if (start.getTime() > end.getTime())
    throw usageError('--since is after --until', 'Give the earlier time to --since.');
  return { start, end };
}

async function readEvents(flags: TrailFlags, globals: GlobalOptions, eventName?: string): Promise<ReadResult> {
  if (flags.allRegions && flags.region?.length)
    throw usageError(
      '--all-regions and --region cannot be used together',
      'Give --all-regions to read every region AWS lists, or --region for each region to read.',
    );
  const { start, end } = window(flags);
  const target = await resolveAwsTarget({ profile: flags.profile, region: flags.region?.[0] }, globals);
  if (flags.allRegions) return readAllRegions(target, { start, end, ...(eventName ? { eventName } : {}) });
  const regions = flags.region?.length ? [...new Set(flags.region)] : [requireRegion(target)];
  // All of them before the first call: a bad last region would otherwise be found after minutes of paging.
  for (const region of regions)
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
      throw usageError(`--region ${JSON.stringify(region.slice(0, 40))} is not an AWS region`);
  const { lookupEvents } = await import('../core/cloudtrail/lookup.js');
  const events: TrailEvent[] = [];
  for (const region of regions) {
    for await (const e of lookupEvents(
      { region, start, end, ...(eventName ? { eventName } : {}) },
      { ...(target.profile ? { profile: target.profile } : {}) },
    )) {
      events.push(e);
    }
  }
  return { events };
}

/** The regions AWS lists (SSM public parameters), through the admin client of the caller's profile. */
async function awsRegions(target: AwsTarget): Promise<string[]> {
  const [{ SSMClient, GetParametersByPathCommand }, { adminClient }, { listRegions, regionListSource, REGIONS_PATH }] =
    await Promise.all([
      import('@aws-sdk/client-ssm'),
      import('./aws-clients.js'),
      import('../core/cloudtrail/regions.js'),
    ]);
  const { NO_CREDENTIALS_HINT, noCredentialsFound } = await import('../core/aws-http.js');
  const region = regionListSource(target.region ?? 'us-east-1');
  const ssm = adminClient(SSMClient, target, { region });
  try {
    return await listRegions(async (token) => {
      try {
        return await ssm.send(
          new GetParametersByPathCommand({
            Path: REGIONS_PATH,
            Recursive: false,
            MaxResults: 10,
            ...(token ? { NextToken: token } : {}),
          }),
        );
      } catch (err) {
        const name = (err as { name?: string } | null)?.name ?? '';
        if (noCredentialsFound(err))
          throw new SentinelError('AwsCallFailed', 'SSM GetParametersByPath: no AWS credentials could be found', {
            cause: err,
            hint: NO_CREDENTIALS_HINT,
          });
        if (/AccessDenied/.test(name))
          throw new SentinelError(
            'AwsAccessDenied',
            `not allowed to call ssm:GetParametersByPath on ${REGIONS_PATH} in ${region} (--all-regions reads the list of regions there)`,
            { cause: err },
          );
        throw new SentinelError(
          'AwsCallFailed',
          `SSM GetParametersByPath ${REGIONS_PATH} in ${region} failed${name ? ` (${name})` : ''}: the list of regions could not be read`,
          { cause: err, hint: 'Nothing was audited. Try again, or name the regions with --region.' },
        );
      }
    });
  } finally {
    ssm.destroy();
  }
}

async function readAllRegions(
  target: AwsTarget,
  query: { start: Date; end: Date; eventName?: string },
): Promise<ReadResult> {
  const regions = await awsRegions(target);
  const [{ lookupEvents }, { forEachRegion }] = await Promise.all([
    import('../core/cloudtrail/lookup.js'),
    import('../core/cloudtrail/regions.js'),
  ]);
  // Each region its own generator, so each keeps its own 2 requests per second; at most 8 regions at once.
  const outcomes = await forEachRegion(regions, async (region) => {
    const mine: TrailEvent[] = [];
    for await (const e of lookupEvents(
      { region, ...query },
      { ...(target.profile ? { profile: target.profile } : {}) },
    ))
      mine.push(e);
    return mine;
  });
  return {
    events: outcomes.flatMap((o) => (o.status === 'ok' ? o.value : [])),
    regions: outcomes.map((o) => regionReport(o, target.region)),
  };
}

function regionReport(o: RegionOutcome<TrailEvent[]>, home: string | undefined): RegionReport {
  if (o.status === 'ok') return { region: o.region, status: 'ok', events: o.value.length };
  // Credentials refused in the caller's own region are the credentials' fault, not an opt-in region's.
  if (o.status === 'not_enabled' && o.region !== home)
    return { region: o.region, status: 'not_enabled', error: { code: 'CloudTrailUnavailable', message: o.error } };
  return {
    region: o.region,
    status: 'failed',
    error: {
      code: o.status === 'failed' ? o.code : 'CloudTrailUnavailable',
      message: o.status === 'failed' ? o.error : `${o.error}: refused in your own region, so not an opt-in region`,
    },
  };
}

/** Fills in each region's findings; says whether any region could not be read (or none could). */
function regionSummary(
  regions: RegionReport[],
  findings: Array<{ region?: unknown }>,
): { lines: string[]; incomplete: boolean } {
  for (const r of regions) if (r.status === 'ok') r.findings = findings.filter((f) => f.region === r.region).length;
  const read = regions.filter((r) => r.status === 'ok').length;
  const skipped = regions.filter((r) => r.status === 'not_enabled').length;
  const failed = regions.filter((r) => r.status === 'failed');
  const lines = regions.map((r) =>
    r.status === 'ok'
      ? `${r.region}: ${r.events} event(s) scanned, ${r.findings} finding(s)`
      : r.status === 'not_enabled'
        ? `${r.region}: not enabled (skipped)`
        : `${r.region}: FAILED: ${r.error?.message}`,
  );
  const incomplete = failed.length > 0 || read === 0;
  lines.push(
    `${regions.length} region(s): ${read} read, ${skipped} not enabled (skipped), ${failed.length} failed` +
      (failed.length > 0
        ? `: INCOMPLETE, ${failed.map((r) => r.region).join(', ')} could not be read`
        : read === 0
          ? ': INCOMPLETE, no region could be read'
          : ''),
  );
  return { lines, incomplete };
}

async function runAudit(
  flags: TrailFlags,
  work: () => Promise<{
    findings: Array<Record<string, unknown>>;
    lines: string[];
    summary: string;
    failing: boolean;
    extra?: object;
    regions?: RegionReport[];
  }>,
): Promise<void> {
  try {
    const r = await work();
    const perRegion = r.regions ? regionSummary(r.regions, r.findings) : undefined;
    const incomplete = perRegion?.incomplete === true;
    if (flags.json)
      printJson({
        ok: !r.failing && !incomplete,
        findings: r.findings,
        ...(r.extra ?? {}),
        ...(r.regions ? { regions: r.regions, incomplete } : {}),
      });
    else {
      for (const line of r.lines) process.stdout.write(visible(line) + '\n');
      if (perRegion) process.stderr.write(perRegion.lines.map((l) => visible(l)).join('\n') + '\n');
      process.stderr.write(r.summary + '\n');
    }
    // A finding is certain wherever it was found (1); without one, a region that could not be read leaves the audit
    // unable to say "clean" (2).
    process.exitCode = r.failing ? EXIT.error : incomplete ? EXIT.usage : EXIT.ok;
  } catch (e) {
    const err = isSentinelError(e) ? e : new SentinelError('InternalError', e instanceof Error ? e.message : String(e));
    // The report shape on stdout for whoever reads the findings, and on stderr the error every command prints (§8).
    if (flags.json)
      printJson({ ok: false, findings: [], error: { code: err.code, message: err.message, hint: err.hint } });
    process.stderr.write(formatError(err, { json: flags.json === true }));
    process.exitCode = EXIT.usage;
  }
}

const findingLine = (f: {
  time: string;
  event_id: string;
  role_arn: string;
  source_identity: string | null;
  principal: string;
  why: string;
}) => `${f.time}  ${f.event_id}  ${f.role_arn}  ${f.source_identity ?? '-'}  ${f.principal}  ${f.why}`;

function trailOptions(command: Command, since: 'required' | 'optional'): Command {
  (since === 'required'
    ? command.requiredOption('--since <time>', 'from: a duration back from now (24h) or an RFC 3339 time')
    : command.option(
        '--since <time>',
        `from: a duration back from now or an RFC 3339 time (default ${DEFAULT_CALLS_WINDOW})`,
      )
  )
    .option('--until <time>', 'to: a duration back from now or an RFC 3339 time (default now)')
    .option(
      '--region <region>',
      'a region whose CloudTrail to read (repeatable; default AWS_REGION, then config region)',
      collect,
    )
    .option(
      '--all-regions',
      "read every region AWS lists (SSM's public region list); regions the account has not enabled are skipped and listed",
    )
    .option('--profile <profile>', 'AWS profile (default: AWS_PROFILE, then config aws_profile)')
    .option('--json', 'print {ok, findings, error?} (with --all-regions also regions[] and incomplete)')
    .addHelpText(
      'after',
      `
CloudTrail's event history is per region: only the --region values given (else the default region) are read.
--all-regions (not with --region) reads AWS's list of regions (SSM public parameters under
/aws/service/global-infrastructure/regions; needs ssm:GetParametersByPath) and every region in it, 8 at a time, each
at 2 requests/s. Per region: events scanned and findings, "not enabled (skipped)" for a region the account has not
enabled (it refuses the credentials: UnrecognizedClientException), or FAILED with why; a failed region makes the
audit incomplete, never clean (exit 2, or 1 with findings). Event history holds 90 days of management events only.`,
    );
  return command;
}

export function registerCloudTrailAudits(audit: Command): void {
  trailOptions(
    audit
      .command('verify')
      .description('CloudTrail AssumeRole events per role: stamped by Sentinel or not (who went around it)'),
    'required',
  )
    .addHelpText(
      'after',
      `
Reads AssumeRole events (cloudtrail:LookupEvents, 2 requests/s, paginated); a Sentinel stamp is
requestParameters.sourceIdentity like sentinel-*. Unstamped AssumeRole calls are the findings, and so are
AssumeRoles chained from a Sentinel session into another role: AWS carries the stamp over, Sentinel did not decide.

Examples:
  $ sentinel audit verify --since 24h
  $ sentinel audit verify --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z --region eu-west-1 --region us-east-1 --json
  $ sentinel audit verify --since 7d --all-regions

Exit codes: 0 every AssumeRole was stamped; 1 some were not; 2 could not check (with --all-regions: a region failed).`,
    )
    .action(async (flags: TrailFlags, command: Command) =>
      runAudit(flags, async () => {
        const { verifyAssumeRoles } = await import('../core/cloudtrail/assurance.js');
        const read = await readEvents(flags, command.optsWithGlobals<GlobalOptions>(), 'AssumeRole');
        const { findings, roles } = verifyAssumeRoles(read.events);
        const summary = roles.length
          ? roles
              .map((r) =>
                visible(
                  `${r.role_arn}: ${r.stamped} stamped, ${r.unstamped} not${r.around_sentinel.length ? ` (by ${r.around_sentinel.join(', ')})` : ''}`,
                ),
              )
              .join('\n')
          : 'No AssumeRole events in that window.';
        return {
          findings: findings as never,
          lines: findings.map(findingLine),
          summary,
          failing: findings.length > 0,
          extra: { roles },
          ...(read.regions ? { regions: read.regions } : {}),
        };
      }),
    );

  trailOptions(
    audit
      .command('untracked-sessions')
      .description("Sentinel stamps in CloudTrail whose session does not exist or is another user's or role's (forged)")
      .requiredOption('--table <name>', 'the session table to check each stamp against'),
    'required',
  )
    .addHelpText(
      'after',
      `
Each AssumeRole stamped sentinel-<user>-<marker>-<session id> is looked up in the table by its session id; a
stamp with no session, whose session has another user, role or stamp, or made outside the session's life (before
it started, after it expired, was revoked or ended; 5 minutes of clock skew allowed) is reported. Anyone holding
the base credentials can stamp sentinel-… by hand, or replay a stamp seen in CloudTrail: this is how such stamps
are found. A chained AssumeRole (made with a Sentinel session's credentials, which carry the stamp) must name
the user's real session; its role and time are the chain's, not the session's.

Examples:
  $ sentinel audit untracked-sessions --table sentinel-sessions --since 7d
  $ sentinel audit untracked-sessions --table sentinel-sessions --since 24h --region eu-west-1 --json
  $ sentinel audit untracked-sessions --table sentinel-sessions --since 7d --all-regions --json

Exit codes: 0 every stamp matched a session; 1 untracked stamps found; 2 could not check (with --all-regions: a region failed).`,
    )
    .action(async (flags: TrailFlags & { table: string }, command: Command) =>
      runAudit(flags, async () => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const { checkTableName, openSessionTable } = await import('./session-table.js');
        const table = checkTableName(flags.table);
        const { untrackedStamps } = await import('../core/cloudtrail/assurance.js');
        const read = await readEvents(flags, globals, 'AssumeRole');
        const store = await openSessionTable(
          await resolveAwsTarget({ profile: flags.profile, region: flags.region?.[0] }, globals),
          table,
        );
        try {
          const { findings, checked } = await untrackedStamps(read.events, (id) => store.get(id));
          return {
            findings: findings as never,
            lines: findings.map(findingLine),
            summary: `${checked} Sentinel stamp(s) checked against ${table}: ${findings.length} untracked.`,
            failing: findings.length > 0,
            ...(read.regions ? { regions: read.regions } : {}),
          };
        } finally {
          await store.close();
        }
      }),
    );

  trailOptions(
    audit
      .command('calls')
      .description("a session's AWS API calls, from CloudTrail (userIdentity.sessionContext.sourceIdentity)")
      .requiredOption('--session <id>', 'the session id (16 hex)'),
    'optional',
  )
    .addHelpText(
      'after',
      `
Reads every management event in the window (LookupEvents has no SourceIdentity filter), so keep the window
to the session's lifetime.

Examples:
  $ sentinel audit calls --session 3f9a0c1d2e4b5a69 --since 2h
  $ sentinel audit calls --session 3f9a0c1d2e4b5a69 --since 2026-12-01T09:00:00Z --region eu-west-1 --json
  $ sentinel audit calls --session 3f9a0c1d2e4b5a69 --since 2h --all-regions

Exit codes: 0 listed (none found is not an error); 2 could not check (with --all-regions: a region failed).`,
    )
    .action(async (flags: TrailFlags & { session: string }, command: Command) =>
      runAudit(flags, async () => {
        const id = checkId(flags.session);
        const { sessionCalls } = await import('../core/cloudtrail/assurance.js');
        const read = await readEvents(flags, command.optsWithGlobals<GlobalOptions>());
        const calls = sessionCalls(read.events, id);
        return {
          findings: calls as never,
          lines: calls.map((c) => `${c.time}  ${c.event_id}  ${c.event_source}  ${c.event_name}  ${c.role_arn}`),
          summary: `${calls.length} call(s) by session ${id}.`,
          failing: false,
          ...(read.regions ? { regions: read.regions } : {}),
        };
      }),
    );
}
