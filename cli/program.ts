// The `sentinel` command. Each command group lives in its own file and registers itself here; command files import
// only light modules at the top and load the AWS SDK or the daemon lazily inside their actions, so that
// `sentinel credentials` (run before every AWS CLI call) costs about one Node start.
import { Command, CommanderError } from 'commander';
import { EXIT } from '../daemon/errors.js';
import { reportError } from './output.js';
import { VERSION } from './version.js';
import { COMMAND_GROUPS } from './commands.js';

export function buildProgram(): Command {
  const program = new Command('sentinel')
    .description('Policy in front of AWS credentials: a per-user daemon that vends short-lived, SourceIdentity-stamped\nSTS credentials only when policy allows it.')
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'config file (default: $SENTINEL_CONFIG, else ~/.config/sentinel/config.yaml)')
    .option('--socket <path>', 'daemon control socket (default: $SENTINEL_SOCKET, else <runtime dir>/sentinel.sock)')
    .showHelpAfterError('(run with --help for usage and examples)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  for (const register of COMMAND_GROUPS) register(program);
  return program;
}

/** Global options as every action sees them. */
export interface GlobalOptions {
  config?: string;
  socket?: string;
  json?: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors were already printed by commander.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    const json = argv.includes('--json') || argv.includes('--output=json');
    return reportError(err, { json });
  }
}
