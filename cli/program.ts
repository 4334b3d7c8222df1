// The `sentinel` command. Each command group lives in its own file and registers itself here; command files import
// only light modules at the top and load the AWS SDK or the daemon lazily inside their actions, so that
// `sentinel credentials` (run before every AWS CLI call) costs about one Node start.
import { Command, CommanderError } from 'commander';
import { EXIT, type SentinelError } from '../core/errors.js';
import { formatError, reportError, usageError } from './output.js';
import { VERSION } from '../core/version.js';
import { COMMAND_GROUPS } from './commands.js';

export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command('sentinel')
    .description(
      'Policy in front of AWS credentials: a per-user daemon that vends short-lived, SourceIdentity-stamped STS credentials only when policy allows it.',
    )
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'config file (default: $SENTINEL_CONFIG, else ~/.config/sentinel/config.yaml)')
    .option('--socket <path>', 'daemon control socket (default: $SENTINEL_SOCKET, else <runtime dir>/sentinel.sock)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel daemon start
  $ eval "$(sentinel shell init)" && sentinel use dev
  $ sentinel exec dev -- aws sts get-caller-identity
  $ sentinel <command> --help

Exit codes: 0 ok; 1 error; 2 usage; 3 denied by policy; 4 daemon not running (docs/commands.md).`,
    )
    .exitOverride();
  for (const register of COMMAND_GROUPS) register(program);
  // Set on every command, not just the program: commander reports a usage error through the command that found it.
  for (const command of commandTree(program)) {
    command.configureOutput({
      outputError: (text, write) => write(formatError(commanderUsageError(text, command), options)),
    });
  }
  return program;
}

/** The program and every command below it, hidden ones included. */
export function commandTree(root: Command): Command[] {
  return [root, ...root.commands.flatMap(commandTree)];
}

/** `sentinel daemon status`: the words that run `command`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

// How commander appends its own "did you mean" to an unknown command or option (commander 14, suggestSimilar.js).
const SUGGESTION = /\n\(Did you mean (?:one of )?(.+)\?\)$/;

/**
 * Commander's own usage errors (`error: unknown option '--jsn'` + `(Did you mean --json?)`) in the house format: what
 * is wrong, then a hint with commander's suggestion, if it has one, and where to read the usage.
 */
export function commanderUsageError(text: string, command: Command): SentinelError {
  const trimmed = text.trim().replace(/^error: /, '');
  const message = trimmed.replace(SUGGESTION, '');
  const suggested = SUGGESTION.exec(trimmed)?.[1];
  const path = commandPath(command);
  const help = `Run \`${path} --help\` for usage and examples.`;
  const nested = suggested ? [] : nestedCommands(message, command);
  if (nested.length > 0)
    return usageError(message, `Did you mean ${nested.map((n) => `\`${n}\``).join(' or ')}? ${help}`);
  if (!suggested) return usageError(message, help);
  const isCommand = message.startsWith('unknown command');
  const names = suggested.split(', ').map((name) => `\`${isCommand ? `${path} ${name}` : name}\``);
  return usageError(message, `Did you mean ${names.join(' or ')}? ${help}`);
}

/** `sentinel status` → `sentinel daemon status`: an unknown command that is the name of a command one level down. */
function nestedCommands(message: string, command: Command): string[] {
  const word = /^unknown command '(.{1,64})'$/.exec(message)?.[1];
  if (!word) return [];
  return command.commands.flatMap((group) =>
    group.commands.filter((c) => c.name() === word).map((c) => commandPath(c)),
  );
}

/** Global options as every action sees them. */
export interface GlobalOptions {
  config?: string;
  socket?: string;
  json?: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json') || argv.includes('--output=json');
  const program = buildProgram({ json });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors were already printed (outputError above).
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT.ok;
      return EXIT.usage;
    }
    return reportError(err, { json });
  }
}
