// What `sentinel audit verify-logs` does (DESIGN §14): resolves the file and keys (flags, else config.yaml), verifies
// the chain and, when asked, compares the file with its CloudWatch Logs stream.
import { statSync, type Stats } from 'node:fs';
import { loadConfig, type Config } from '../config.js';
import { SentinelError } from '../errors.js';
import { kindOf } from '../path-trust.js';
import { loadHmacKey } from './hmac-chain.js';
import { describeCause } from './redact.js';
import { keySet, verifyLogFile, type Finding, type VerifyReport } from './verify.js';

export interface VerifyLogsOptions {
  file?: string;
  keyFiles: string[];
  configFlag?: string;
  env?: NodeJS.ProcessEnv;
  /** Compare with the forwarded copy; unset names come from audit.cloudwatch. */
  cloudwatch?: { logGroup?: string; logStream?: string; profile?: string; region?: string };
}

export interface VerifyLogsReport extends VerifyReport {
  file: string;
  /** resent: events repeating a line already matched (a re-send, not a finding). */
  cloudwatch?: { log_group: string; log_stream: string; events: number; resent: number };
}

export async function runVerifyLogs(options: VerifyLogsOptions): Promise<VerifyLogsReport> {
  let config: Config | undefined;
  const configOf = () => (config ??= loadConfig({ env: options.env, configFlag: options.configFlag }));
  const file = options.file ?? configOf().audit.file;
  const fromFlags = options.keyFiles.length > 0;
  const keyFiles = fromFlags ? options.keyFiles : [configOf().audit.hmacKeyFile].filter((f) => f !== null);
  if (keyFiles.length === 0)
    throw new SentinelError('UsageError', 'no HMAC key to verify with', {
      hint: 'Pass --key-file <file> (repeat it for rotated keys), or set audit.hmac_key_file in config.yaml.',
    });
  const keys = keySet(keyFiles.map((f) => loadHmacKey(f, fromFlags ? '--key-file' : 'config')));
  const hint = 'Name the decision log to check, or set audit.file in config.yaml.';
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    throw new SentinelError('UsageError', `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint,
    });
  }
  if (!st.isFile()) throw new SentinelError('UsageError', `${file} is ${kindOf(st)}, not a regular file`, { hint });
  const report: VerifyLogsReport = { file, ...(await verifyLogFile(file, keys)) };
  if (options.cloudwatch) {
    const { compareWithCloudWatch } = await import('./cloudwatch-compare.js');
    const cw = configOf().audit.cloudwatch;
    const logGroup = options.cloudwatch.logGroup ?? cw?.logGroup;
    if (!logGroup)
      throw new SentinelError('UsageError', 'no CloudWatch Logs group to compare with', {
        hint: 'Pass --log-group and --log-stream, or set audit.cloudwatch in config.yaml.',
      });
    const logStream = options.cloudwatch.logStream ?? cw?.logStream ?? (await daemonsStream(configOf()));
    const compared = await compareWithCloudWatch(file, {
      logGroup,
      logStream,
      profile: options.cloudwatch.profile,
      region: options.cloudwatch.region ?? cw?.region ?? configOf().region ?? undefined,
    });
    report.cloudwatch = {
      log_group: logGroup,
      log_stream: logStream,
      events: compared.events,
      resent: compared.resent,
    };
    addFindings(report, compared.findings);
  }
  report.ok = report.findings.length === 0 && report.more_findings === 0;
  return report;
}

/**
 * The stream a daemon with this configuration forwards to when audit.cloudwatch.log_stream is not set: found the way
 * it finds it (`<host>-<policy user>`, with the daemon's AWS profile, not the one that reads CloudWatch here).
 */
async function daemonsStream(config: Config): Promise<string> {
  const { defaultLogStream } = await import('./cloudwatch-client.js');
  try {
    return await defaultLogStream({
      region: config.audit.cloudwatch?.region ?? config.region,
      profile: config.awsProfile,
      trustedSessionRoles: config.identity.trustedSessionRoles,
    });
  } catch (e) {
    throw new SentinelError(
      'UsageError',
      `the daemon's CloudWatch Logs stream (<host>-<policy user>) could not be found: ${describeCause(e).message ?? 'error'}`,
      {
        hint: 'Pass --log-stream: a running daemon shows its stream in `sentinel daemon status` (and --json, audit.cloudwatch.log_stream).',
      },
    );
  }
}

function addFindings(report: VerifyReport, findings: Finding[]): void {
  for (const f of findings) report.findings.push(f);
  report.findings.sort((a, b) => a.line - b.line);
}
