// `sentinel audit …` (DESIGN §14, §15): checks of the decision log and, later, of CloudTrail. Flags are parsed and
// checked here; core/audit/ does the work. Nothing heavy at the top: the CloudWatch Logs client loads only for
// --against-cloudwatch.
import type { Command } from 'commander';
import { EXIT, SentinelError, isSentinelError } from '../core/errors.js';
import type { VerifyLogsReport } from '../core/audit/verify-logs.js';
import { formatError, printJson, usageError } from './output.js';
import { registerCloudTrailAudits } from './audit-cloudtrail.js';
import type { GlobalOptions } from './program.js';

interface VerifyLogsFlags {
  keyFile?: string[];
  againstCloudwatch?: boolean;
  logGroup?: string;
  logStream?: string;
  profile?: string;
  region?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function summary(r: VerifyLogsReport): string {
  const keys = Object.entries(r.keys)
    .map(([id, n]) => `${id} ×${n}`)
    .join(', ');
  const span = r.first_timestamp ? `, ${r.first_timestamp} to ${r.last_timestamp}` : '';
  const remote = r.cloudwatch
    ? `; CloudWatch ${r.cloudwatch.log_group}/${r.cloudwatch.log_stream}: ${r.cloudwatch.events} events${r.cloudwatch.resent > 0 ? ` (${r.cloudwatch.resent} re-sent)` : ''}`
    : '';
  // No finding is not the same as a checked chain: an emptied log has none either, and the chain cannot show a cut tail.
  const verdict = !r.ok
    ? `NOT intact: ${r.findings.length + r.more_findings} finding(s)`
    : r.signed_lines === 0
      ? 'no signed lines, nothing to verify (a chain cannot show lines cut from its end; --against-cloudwatch can)'
      : 'intact';
  return `${r.file}: ${r.lines} lines, ${r.signed_lines} signed${keys ? ` (keys ${keys})` : ''}${span}${remote}: ${verdict}\n`;
}

async function verifyLogs(file: string | undefined, flags: VerifyLogsFlags, globals: GlobalOptions): Promise<void> {
  const json = flags.json === true;
  try {
    if (!flags.againstCloudwatch && (flags.logGroup || flags.logStream || flags.profile || flags.region))
      throw usageError(
        '--log-group, --log-stream, --profile and --region only apply with --against-cloudwatch',
        'Add --against-cloudwatch, or leave them out.',
      );
    const { runVerifyLogs } = await import('../core/audit/verify-logs.js');
    const target = flags.againstCloudwatch
      ? await (await import('./aws-target.js')).resolveAwsTarget(flags, globals)
      : undefined;
    const report = await runVerifyLogs({
      file,
      keyFiles: flags.keyFile ?? [],
      configFlag: globals.config,
      cloudwatch: flags.againstCloudwatch
        ? { logGroup: flags.logGroup, logStream: flags.logStream, profile: target?.profile, region: target?.region }
        : undefined,
    });
    if (json) printJson(report);
    else {
      for (const f of report.findings) process.stdout.write(`line ${f.line}: ${f.kind}: ${f.message}\n`);
      if (report.more_findings > 0) process.stdout.write(`… and ${report.more_findings} more finding(s)\n`);
      process.stderr.write(summary(report));
    }
    process.exitCode = report.ok ? EXIT.ok : EXIT.error;
  } catch (e) {
    const err = isSentinelError(e) ? e : new SentinelError('InternalError', e instanceof Error ? e.message : String(e));
    // The report shape on stdout (DESIGN §14) for whoever reads the findings, and on stderr the error every command
    // prints (§8), so a parse error and a check error read alike there.
    if (json) printJson({ ok: false, findings: [], error: { code: err.code, message: err.message, hint: err.hint } });
    process.stderr.write(formatError(err, { json }));
    // DESIGN §14: 0 intact, 1 not, 2 could not check.
    process.exitCode = EXIT.usage;
  }
}

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('check the decision log (and, with CloudWatch, its off-machine copy)')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel audit verify-logs
  $ sentinel audit verify-logs --against-cloudwatch`,
    );

  audit
    .command('verify-logs')
    .description('verify the HMAC chain of a decision log; report each bad line (up to 100) and why')
    .argument('[file]', 'the decision log (default: audit.file from config.yaml)')
    .option('--key-file <file>', 'an HMAC key the log may be signed with (repeat for rotated keys)', collect)
    .option(
      '--against-cloudwatch',
      'also compare the file with its CloudWatch Logs stream: lines missing, altered or extra there',
    )
    .option('--log-group <name>', 'the log group (default: audit.cloudwatch.log_group)')
    .option(
      '--log-stream <name>',
      "the log stream (default: audit.cloudwatch.log_stream, else the daemon's own <host>-<policy user>)",
    )
    .option('--profile <name>', 'AWS profile for CloudWatch Logs')
    .option('--region <region>', 'AWS region for CloudWatch Logs')
    .option('--json', 'print {ok, findings[], error?} and the summary as JSON')
    .addHelpText(
      'after',
      `
Reads the file in bounded memory, whatever its size. Without --key-file the key is audit.hmac_key_file from
config.yaml; after a rotation, pass every key the log was signed with. A chain cannot show that its tail was cut,
nor a rewrite by someone who holds the key: --against-cloudwatch compares with the copy the daemon forwarded,
matching events with lines by content (lines the forwarder sent twice are counted as re-sent, not reported).

Examples:
  $ sentinel audit verify-logs
  $ sentinel audit verify-logs ~/decisions-2026-11.log --key-file old.key --key-file audit.key
  $ sentinel audit verify-logs --against-cloudwatch --profile audit --json

Exit codes: 0 intact; 1 not intact (findings on stdout, summary on stderr); 2 could not check.`,
    )
    .action(async (file: string | undefined, options: VerifyLogsFlags, command: Command) =>
      verifyLogs(file, options, command.optsWithGlobals<GlobalOptions>()),
    );
  registerCloudTrailAudits(audit);
}
