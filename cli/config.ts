// `sentinel config validate [file]` (DESIGN §16): every problem of config.yaml and of the policy file it names, each
// with file:line:column and a fix. The checks are in core/config-check.ts; this file reads, prints and exits.
import type { Command } from 'commander';
import { EXIT, SentinelError } from '../core/errors.js';
import { printJson } from './output.js';
import type { GlobalOptions } from './program.js';

async function validate(
  fileArg: string | undefined,
  flags: { json?: boolean },
  globals: GlobalOptions,
): Promise<number> {
  const [paths, { readConfigText }, check] = await Promise.all([
    import('../core/paths.js'),
    import('../core/config-file.js'),
    import('../core/config-check.js'),
  ]);
  const file = fileArg !== undefined ? paths.expandHome(fileArg) : paths.configFile(process.env, globals.config);
  // Without a config.yaml every default applies, and the default policy file is still checked.
  const read = readConfigText(file, fileArg !== undefined || Boolean(globals.config || process.env.SENTINEL_CONFIG));
  const { problems, config } = check.checkConfigText(read ?? '', file, process.env);
  if (config) problems.push(...(await check.checkConfiguredPolicy(config)));
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  if (flags.json) printJson({ valid: errors === 0, file, problems });
  else {
    const lines = problems.map((p) => {
      const where = [p.file, p.line, p.line !== undefined ? p.column : undefined]
        .filter((x) => x !== undefined)
        .join(':');
      return `${where}: ${p.severity}: ${p.message}${p.hint ? `\n  fix: ${p.hint}` : ''}`;
    });
    const counted = warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : '';
    if (errors === 0)
      lines.push(
        read === undefined
          ? `${file}: not present; the defaults apply and are valid${counted}`
          : `${file}: valid${counted}`,
      );
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (errors > 0) {
    // Named by the files they are in: with no config.yaml, every problem is the policy's.
    const where = [...new Set(problems.filter((p) => p.severity === 'error').map((p) => p.file))].join(', ');
    throw new SentinelError('ConfigInvalid', `${where}: ${errors} problem${errors === 1 ? '' : 's'} (listed above)`, {
      hint: 'Fix each one where it is shown (at its line and column when it has one), then run `sentinel config validate` again.',
    });
  }
  return EXIT.ok;
}

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('check the configuration file')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel config validate
  $ sentinel config validate ~/.config/sentinel/config.yaml --json`,
    );
  config
    .command('validate')
    .description('check config.yaml (and the policy file it names): every problem with line:column and a fix')
    .argument('[file]', 'the config file (default: --config, $SENTINEL_CONFIG, else ~/.config/sentinel/config.yaml)')
    .option('--json', 'print JSON: {valid, file, problems: [{severity, message, file, line, column, path, hint}]}')
    .addHelpText(
      'after',
      `
Checks the schema (unknown keys, types, durations), what the schema cannot (a policy file that is missing or
invalid, a signature file policy.signing_key needs, durations STS refuses, a malformed KMS key), and warns about
what is legal but probably wrong (a refresh that would be throttled, sessions shorter than credentials).

Examples:
  $ sentinel config validate
  $ sentinel config validate ./team-config.yaml --json | jq '.problems[]'

Exit codes: 0 valid (warnings allowed); 1 errors; 2 usage.`,
    )
    .action(async (file: string | undefined, flags: { json?: boolean }, command: Command) => {
      process.exitCode = await validate(file, flags, command.optsWithGlobals<GlobalOptions>());
    });
}
