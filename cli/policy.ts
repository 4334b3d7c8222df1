// `sentinel policy validate` and `sentinel policy test`: offline checks of policy files (no daemon, no AWS). The
// policy engine is loaded lazily inside the actions; this file only parses flags and prints.
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXIT, SentinelError } from '../core/errors.js';
import { MODES, type DevicePosture, type Mode, type SessionStoreKind } from '../core/types.js';
import { printJson, table, usageError } from './output.js';
import { visible } from '../core/text/printable.js';
import { registerSsm } from './policy-ssm.js';
import { isPolicyUserName, policyNameHint, POLICY_NAME_MAX } from '../core/identity/arn.js';

interface ValidateOptions {
  json?: boolean;
  quiet?: boolean;
  strict?: boolean;
}

interface TestOptions {
  profile: string;
  user: string;
  time?: string;
  mode: string;
  deviceJson?: string;
  /** Default: sessions.store of config.yaml, as the daemon has it. */
  sessionStore?: string;
  /** Default: sessions.table of config.yaml, with the dynamodb store. */
  sessionTable?: string;
  json?: boolean;
}

const STORES: readonly SessionStoreKind[] = ['memory', 'dynamodb'];
const MAX_DEVICE_JSON_BYTES = 64 * 1024;

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$/;

/** ISO-8601 date and time; without an offset it is the local time of this machine (as `date` would read it). */
export function parseTime(text: string): Date {
  const m = ISO_TIME.exec(text);
  const bad = () =>
    usageError(
      `--time ${JSON.stringify(text)} is not an ISO-8601 date and time`,
      'Write it like 2026-03-29T02:30:00+01:00 or 2026-03-29T01:30:00Z.',
    );
  if (!m) throw bad();
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) throw bad();
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw bad();
  return time;
}

async function readDevice(file: string): Promise<DevicePosture> {
  const { z } = await import('zod');
  const schema = z.strictObject({
    os_type: z.string().max(64).optional(),
    os_version: z.string().max(64).optional(),
    encrypted: z.boolean().optional(),
    firewall_enabled: z.boolean().optional(),
    mdm_enrolled: z.boolean().optional(),
    mdm_compliant: z.boolean().optional(),
  });
  const hint =
    'A JSON object with any of os_type, os_version (strings), encrypted, firewall_enabled, mdm_enrolled, mdm_compliant (booleans).';
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile() || st.size > MAX_DEVICE_JSON_BYTES)
      throw usageError(`--device-json ${file} is not a regular file under 64 KiB`, hint);
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof SentinelError) throw e;
    throw usageError(`--device-json ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, hint);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw usageError(`--device-json ${file} is not valid JSON`, hint);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw usageError(`--device-json ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, hint);
  }
  return parsed.data;
}

async function validate(files: string[], options: ValidateOptions): Promise<number> {
  const { loadPolicyFile, formatProblem, fileVersion } = await import('../core/policy/load.js');
  const results = [];
  for (const file of files) {
    const r = await loadPolicyFile(file);
    results.push(
      r.ok
        ? {
            file,
            valid: true,
            version: fileVersion(r.digest),
            rules: r.policy.rules.length,
            problems: [],
            warnings: r.warnings,
          }
        : { file, valid: false, version: null, rules: 0, problems: r.problems, warnings: [] },
    );
  }
  const invalid = results.filter((r) => !r.valid).length;
  const warned = results.reduce((n, r) => n + r.warnings.length, 0);
  const failed = invalid > 0 || (options.strict === true && warned > 0);

  if (options.json) {
    printJson({ valid: !failed, files: results });
  } else {
    const out: string[] = [];
    for (const r of results) {
      for (const p of r.problems) out.push(formatProblem(p, r.file));
      if (!options.quiet || options.strict) {
        for (const w of r.warnings)
          out.push(`${[r.file, w.line].filter((x) => x !== undefined).join(':')}: warning: ${w.message}`);
      }
      if (r.valid && !options.quiet)
        out.push(`${r.file}: valid (${r.rules} rule${r.rules === 1 ? '' : 's'}, version ${r.version})`);
    }
    if (out.length) process.stdout.write(visible(out.join('\n'), /\n/) + '\n');
  }
  if (!failed) return EXIT.ok;
  const what =
    invalid > 0
      ? `${invalid} of ${results.length} polic${results.length === 1 ? 'y is' : 'ies are'} not valid`
      : `${warned} warning${warned === 1 ? '' : 's'} (--strict)`;
  throw new SentinelError(
    'PolicyInvalid',
    what,
    // Not the catalogue's "run `policy validate`": this is that command, and it has just listed each problem.
    invalid > 0
      ? {
          hint: `Each problem is listed above (${options.json ? 'in the JSON' : 'file:line:column'}); fix those and run it again.`,
        }
      : { hint: 'Fix the warnings, or run without --strict.' },
  );
}

const REQUIRES_TEXT = {
  approval: 'an approved request: `sentinel request <profile> --reason "..."`',
  serverMode: 'server mode: `sentinel use <profile>` or `sentinel exec <profile> -- <cmd>`',
  serverSessionStore: 'a persistent session store (sessions.store: dynamodb in config.yaml)',
} as const;

/** The daemon's session store and table: a policy with rate_limits is refused with memory, and a
 * require_server_session rule may name its table, so testing with others than the daemon's answers for a daemon that
 * does not exist. A config that cannot be read leaves the memory default. */
async function configuredSessions(configFlag: string | undefined): Promise<{ store: string; table?: string }> {
  const { loadConfig } = await import('../core/config.js');
  try {
    return loadConfig({ configFlag }).sessions;
  } catch {
    return { store: 'memory' };
  }
}

async function test(file: string, options: TestOptions, configFlag?: string): Promise<number> {
  const configured =
    options.sessionStore === undefined || options.sessionTable === undefined
      ? await configuredSessions(configFlag)
      : null;
  const sessionStore = options.sessionStore ?? configured!.store;
  const sessionTable = sessionStore === 'dynamodb' ? (options.sessionTable ?? configured!.table) : options.sessionTable;
  options = { ...options, sessionStore, sessionTable };
  if (options.sessionTable !== undefined && sessionStore !== 'dynamodb')
    throw usageError('--session-table is the DynamoDB session table: give it with --session-store dynamodb');
  if (options.sessionTable !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(options.sessionTable))
    throw usageError(`--session-table ${JSON.stringify(options.sessionTable)} is not a DynamoDB table name`);
  if (!MODES.includes(options.mode as Mode)) throw usageError(`--mode must be one of ${MODES.join(', ')}`);
  if (!STORES.includes(options.sessionStore as SessionStoreKind))
    throw usageError(`--session-store must be one of ${STORES.join(', ')}`);
  // The daemon evaluates policy user names only; an answer for any other name is for a request that never happens.
  if (!isPolicyUserName(options.user))
    throw usageError(
      `--user ${JSON.stringify(options.user)} is not a policy user name (ASCII letters and digits, at most ${POLICY_NAME_MAX})`,
      policyNameHint(options.user, '--user'),
    );
  const time = options.time !== undefined ? parseTime(options.time) : new Date();
  const device = options.deviceJson !== undefined ? await readDevice(options.deviceJson) : undefined;

  const [
    { loadPolicyFile, formatProblem, fileVersion },
    { explain },
    { describeApproval },
    { describeBreakglass, limitText },
    { nearMisses, nearMissText },
  ] = await Promise.all([
    import('../core/policy/load.js'),
    import('../core/policy/evaluate.js'),
    import('../core/approvals/describe.js'),
    import('../core/breakglass/describe.js'),
    import('../core/policy/near-miss.js'),
  ]);
  // The session store is known here, so what the daemon would refuse with it (rate_limits with memory) is refused.
  const loaded = await loadPolicyFile(file, { sessionStore: options.sessionStore as SessionStoreKind });
  if (!loaded.ok) {
    if (options.json) printJson({ file, valid: false, problems: loaded.problems });
    else process.stdout.write(loaded.problems.map((p) => formatProblem(p, file)).join('\n') + '\n');
    throw new SentinelError(
      'PolicyInvalid',
      `${file} is not valid, so it would not be used: every request would be denied`,
    );
  }
  const request = {
    user: options.user,
    profile: options.profile,
    time,
    mode: options.mode as Mode,
    sessionStore: options.sessionStore as SessionStoreKind,
    ...(options.sessionTable !== undefined ? { sessionTable: options.sessionTable } : {}),
    ...(device ? { device } : {}),
  };
  const version = fileVersion(loaded.digest);
  const { decision, trace } = explain(loaded.policy, request, { source: `file:${file}`, version });
  const approval = describeApproval(loaded.policy, request.profile, request.user, time);
  const breakglass = describeBreakglass(loaded.policy, request.profile, request.user, time);
  // The same words the daemon's refusal uses, for every rule rather than the first few.
  const misses = decision.effect === 'default_deny' ? nearMisses(loaded.policy, request, Infinity) : null;

  if (options.json) {
    printJson({
      request: { ...request, time: time.toISOString() },
      decision,
      trace,
      near_misses: misses?.rules ?? [],
      approval,
      breakglass,
      warnings: loaded.warnings,
    });
  } else {
    const lines: string[] = [];
    lines.push(
      `Policy:   ${file} (version ${version}, ${loaded.policy.rules.length} rule${loaded.policy.rules.length === 1 ? '' : 's'})`,
    );
    lines.push(
      `Request:  user ${request.user}, profile ${request.profile}, mode ${request.mode}, session store ${request.sessionStore}, ` +
        `${request.sessionTable ? `table ${request.sessionTable}, ` : ''}${time.toISOString()}, ${device ? 'device posture given' : 'no device posture'}`,
    );
    lines.push('');
    const rows = trace.map((r) => [
      `#${r.index}`,
      r.rule,
      r.effect,
      r.failed === null ? 'MATCH' : `no: ${r.failed}: ${r.detail}`,
    ]);
    if (rows.length > 0) lines.push(table(['rule', 'name', 'effect', 'result'], rows).trimEnd());
    if (decision.ruleIndex < 0) lines.push(`(no rule matched: ${trace.length} checked)`);
    lines.push('');
    const verdict = decision.allowed ? 'ALLOWED' : `DENIED (${decision.errorCode})`;
    lines.push(
      `Decision: ${verdict}${decision.rule !== null ? ` by rule "${decision.rule}" (#${decision.ruleIndex})` : ''}`,
    );
    lines.push(`Reason:   ${decision.reason}`);
    if (misses) lines.push(nearMissText(misses, request.profile));
    if (decision.maxDurationMs !== undefined) lines.push(`Max duration: ${Math.round(decision.maxDurationMs / 1000)}s`);
    const { sessionTable: neededTable, ...flags } = decision.requires ?? {};
    for (const [k, v] of Object.entries(flags))
      if (v) lines.push(`Requires: ${REQUIRES_TEXT[k as keyof typeof REQUIRES_TEXT]}`);
    if (neededTable) lines.push(`Requires: sessions in DynamoDB table ${neededTable} (sessions.table in config.yaml)`);
    if (approval) {
      lines.push(`Approvals: entry "${approval.entry}" (max ${approval.max_duration})`);
      lines.push(`  approvers:    ${approval.approvers.join(', ')}`);
      lines.push(`  auto-approve: ${approval.auto_approve.applies ? 'yes' : 'no'}, ${approval.auto_approve.reason}`);
    } else if (decision.requires?.approval) {
      lines.push('Approvals: no approvals entry covers this profile, so nobody can approve it');
    }
    if (breakglass.allowed) {
      lines.push(`Break-glass: allowed now by entry "${breakglass.entry}"`);
    } else {
      lines.push(`Break-glass: not allowed now: ${breakglass.refused!.reason}`);
    }
    if (breakglass.entry !== null) {
      lines.push(`  reason codes: ${breakglass.reason_codes.join(', ')}`);
      lines.push(`  max duration: ${breakglass.max_duration}`);
      lines.push(
        `  MFA:          ${breakglass.mfa === 'required' ? 'required (AWS verifies the code)' : 'not required'}`,
      );
      lines.push(`  notify:       ${breakglass.notify.length ? breakglass.notify.join(', ') : 'nobody'}`);
    }
    if (breakglass.allowed || breakglass.entry !== null) {
      if (breakglass.rate_limits.length === 0) lines.push('  rate limits:  none');
      for (const r of breakglass.rate_limits) lines.push(`  rate limit:   ${limitText(r)}`);
    }
    // Names and reasons are the policy's own text, which YAML escapes can fill with control characters.
    process.stdout.write(visible(lines.join('\n'), /\n/) + '\n');
  }
  return decision.allowed ? EXIT.ok : EXIT.denied;
}

export function register(program: Command): void {
  const policy = program
    .command('policy')
    .description('check policy files offline; publish, compare and sign the team policies in SSM')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel policy validate ~/.config/sentinel/policy.yaml
  $ sentinel policy test policy.yaml --profile prod --user alice --mode cli
  $ sentinel policy push prod prod.yaml --sign --key alias/sentinel-policy`,
    );

  policy
    .command('validate')
    .description('validate policy files: schema, types, time zones, hours; print problems with line and column')
    .argument('<file...>', 'policy files (YAML)')
    .option('--json', 'print JSON: {valid, files: [{file, valid, version, rules, problems, warnings}]}')
    .option('--quiet', 'print only problems (and warnings with --strict)')
    .option('--strict', 'fail on warnings too')
    .addHelpText(
      'after',
      `
Problems refuse the whole policy (the daemon would keep its last good one). Warnings are legal but suspicious
(a rule that can never match, an allow before a deny on the same profile, days without hours, ...).

Examples:
  $ sentinel policy validate ~/.config/sentinel/policy.yaml
  $ sentinel policy validate --strict --quiet policies/*.yaml
  $ sentinel policy validate --json policy.yaml | jq '.files[].problems'

Exit codes: 0 valid; 1 not valid (or warnings with --strict); 2 usage.
`,
    )
    .action(async (files: string[], options: ValidateOptions) => {
      process.exitCode = await validate(files, options);
    });

  policy
    .command('test')
    .description('show which rule decides a request, and why each earlier rule did not match')
    .argument('<file>', 'policy file (YAML)')
    .requiredOption('--profile <profile>', 'AWS profile requested')
    .requiredOption('--user <user>', 'policy user name: ASCII letters and digits, at most 20 (see `sentinel whoami`)')
    .option('--time <iso-8601>', 'when (default: now); without an offset, local time of this machine')
    .option('--mode <mode>', `credential mode: ${MODES.join(', ')}`, 'server')
    .option('--device-json <file>', 'device posture as JSON (default: none, so device conditions fail)')
    .option(
      '--session-store <kind>',
      `session store: ${STORES.join(', ')} (default: sessions.store of config.yaml, as the daemon has it)`,
    )
    .option(
      '--session-table <table>',
      'DynamoDB session table, with --session-store dynamodb (default: sessions.table of config.yaml)',
    )
    .option('--json', 'print JSON: {request, decision, trace, near_misses, approval, breakglass, warnings}')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel policy test policy.yaml --profile prod --user alice
  $ sentinel policy test policy.yaml --profile prod --user alice --mode cli --time 2026-03-29T02:30:00+02:00
  $ sentinel policy test policy.yaml --profile prod --user alice --session-store dynamodb --json
  $ echo '{"os_type":"darwin","os_version":"14.4","encrypted":true,"mdm_enrolled":true}' > device.json
  $ sentinel policy test policy.yaml --profile prod --user alice --device-json device.json

Exit codes: 0 allowed; 3 denied; 1 the policy is not valid; 2 usage (bad --user, --time, --mode, --session-table, --device-json).
`,
    )
    .action(async (file: string, options: TestOptions, command: Command) => {
      process.exitCode = await test(file, options, command.optsWithGlobals<{ config?: string }>().config);
    });

  registerSsm(policy);
}
