// `sentinel exec <profile> [--] <cmd> [args...]` (DESIGN §8): one session for one child process. The child gets exactly
// the environment `use` would give a shell (session-env.ts); `--env` gives it raw keys instead (mode cli). exec
// prints nothing of its own on stdout, forwards SIGINT/SIGTERM/SIGHUP, ends the session when the child exits and
// exits with the child's status (128+n for a signal, 127/126 when the command cannot be found/run, like a shell).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Command } from 'commander';
import { SentinelError, isSentinelError } from '../core/errors.js';
import { connect, type DaemonClient } from './client.js';
import { reportError } from './output.js';
import { userEnvironment } from './sdk-warning.js';
import {
  applyChanges,
  checkProfileName,
  checkTtl,
  endSession,
  fetchRawCredentials,
  openSession,
  refuseNesting,
  sessionChanges,
  type OpenedSession,
} from './session-env.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface ExecOptions {
  env?: boolean;
  nest?: boolean;
  ttl?: string;
}

interface Globals {
  socket?: string;
  config?: string;
}

/** Index in `args` where the child's command line starts: after `--`, or at the second operand (the first is the
 * profile); -1 when there is none yet. Options of `command` before that point are its own. */
export function childStart(command: Command, args: string[]): number {
  let operands = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return i + 1;
    if (arg.startsWith('-') && arg.length > 1) {
      const option = command.options.find((o) => o.long === arg || o.short === arg);
      if (option && (option.required || option.optional)) i++;
      continue;
    }
    operands++;
    if (operands === 2) return i;
  }
  return -1;
}

/** exec's own options end where the child's command begins, so `sentinel exec dev ls --help` runs `ls --help`. */
class ExecCommand extends Command {
  override parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    const at = childStart(this, args);
    if (at < 0) return super.parseOptions(args);
    const head = super.parseOptions(args.slice(0, at));
    return { operands: [...head.operands, ...args.slice(at)], unknown: head.unknown };
  }
}

/**
 * The program parses its own options (--config, --socket, --version) anywhere on the command line unless told to
 * stop. For `exec` everything after the subcommand belongs to exec and its child — `sentinel exec dev node --version`
 * must run `node --version` — so the program stops at `exec` as commander's positional options would, for this
 * subcommand only (turning positional options on globally would break `sentinel daemon status --socket X`).
 */
function stopProgramOptionsAt(program: Command, name: string): void {
  const parseOptions = program.parseOptions.bind(program);
  program.parseOptions = (args: string[]) => {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === '--') break;
      if (arg.startsWith('-') && arg.length > 1) {
        const option = program.options.find((o) => o.long === arg || o.short === arg);
        if (option && (option.required || option.optional)) i++;
        continue;
      }
      if (arg !== name) break;
      const head = parseOptions(args.slice(0, i));
      return { operands: [...head.operands, name], unknown: [...head.unknown, ...args.slice(i + 1)] };
    }
    return parseOptions(args);
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** Runs the child to completion; resolves with the status a shell would report for it. */
function runChild(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const forward = new Map<NodeJS.Signals, () => void>();
    const cleanup = () => {
      for (const [signal, handler] of forward) process.removeListener(signal, handler);
    };
    const child = spawn(file, args, { stdio: 'inherit', env });
    for (const signal of FORWARDED_SIGNALS) {
      // With a listener installed the signal no longer ends exec itself: exec outlives it, so the session does too
      // until the child is gone.
      const handler = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      };
      forward.set(signal, handler);
      process.on(signal, handler);
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      if (err.code === 'ENOENT') {
        process.stderr.write(`sentinel: ${file}: command not found\n`);
        resolve(127);
      } else {
        process.stderr.write(`sentinel: ${file}: cannot run (${err.code ?? 'error'})\n`);
        resolve(126);
      }
    });
    child.on('exit', (code, signal) => {
      cleanup();
      resolve(signal ? 128 + signalNumber(signal) : (code ?? 1));
    });
  });
}

async function closeQuietly(client: DaemonClient, session: OpenedSession): Promise<void> {
  try {
    await endSession(client, session.id);
  } catch (err) {
    // The child's status is what exec reports; a session the daemon already ended (or a daemon that stopped, taking
    // its sessions with it) is not worth a message, anything else is.
    if (
      isSentinelError(err) &&
      ['DaemonNotRunning', 'SessionUnknown', 'SessionEnded', 'SessionNotActive'].includes(err.code)
    )
      return;
    process.stderr.write('sentinel: the session could not be ended after the command exited:\n');
    reportError(err);
  }
}

async function exec(profile: string, commandLine: string[], options: ExecOptions, globals: Globals): Promise<number> {
  checkProfileName(profile);
  if (commandLine.length === 0) {
    throw new SentinelError('UsageError', 'no command to run', {
      hint: 'Name the command after the profile: `sentinel exec dev -- aws s3 ls`.',
    });
  }
  const ttl = checkTtl(options.ttl);
  refuseNesting(process.env, options.nest, 'exec');
  const client = await connect(globals);
  // The session belongs to this process: if exec is killed outright, the daemon ends the session when its pid is gone.
  const session = await openSession(client, {
    profile,
    mode: options.env ? 'cli' : 'server',
    pid: process.pid,
    ...(ttl ? { ttl } : {}),
  });
  let status: number;
  try {
    const raw = options.env ? await fetchRawCredentials(client, session) : undefined;
    const env = applyChanges(userEnvironment(), sessionChanges(session, raw));
    status = await runChild(commandLine[0]!, commandLine.slice(1), env);
  } catch (err) {
    await closeQuietly(client, session);
    throw err;
  }
  await closeQuietly(client, session);
  return status;
}

export function register(program: Command): void {
  const command = new ExecCommand('exec')
    .description('run one command with credentials from a Sentinel session; the session ends when the command exits')
    .argument('<profile>', 'AWS profile to use')
    .argument('[command...]', 'the command and its arguments (after `--` if they start with a dash)')
    .option(
      '--env',
      'give the command raw credentials in AWS_ACCESS_KEY_ID/... (mode cli) instead of the session endpoint',
    )
    .option('--nest', 'run even though this environment already uses a Sentinel session')
    .option(
      '--ttl <duration>',
      'how long the session may last, e.g. 2h (default and maximum: sessions.ttl in config.yaml)',
    )
    .addHelpText(
      'after',
      `
The command gets exactly the variables \`sentinel use\` exports (AWS_CONTAINER_CREDENTIALS_FULL_URI,
AWS_CONTAINER_AUTHORIZATION_TOKEN, SENTINEL_SESSION, SENTINEL_PROFILE, AWS_REGION/AWS_DEFAULT_REGION, config files
at /dev/null) with every competing variable unset. With --env it gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION instead; a require_server policy rule refuses that. SIGINT, SIGTERM
and SIGHUP are forwarded to the command. exec prints nothing of its own on stdout.

Examples:
  $ sentinel exec dev -- aws sts get-caller-identity
  $ sentinel exec dev terraform plan
  $ sentinel exec --env dev -- ./legacy-script.sh

Exit codes: the command's own status (128+n when a signal ended it, 127 command not found, 126 not executable);
otherwise 1 error, 2 usage, 3 denied by policy, 4 daemon not running.`,
    )
    .action(async (profile: string, commandLine: string[], options: ExecOptions, cmd: Command) => {
      process.exitCode = await exec(profile, commandLine, options, cmd.optsWithGlobals<Globals>());
    });
  // addCommand (unlike program.command) does not copy the program's settings, such as exitOverride.
  program.addCommand(command.copyInheritedSettings(program));
  stopProgramOptionsAt(program, 'exec');
}
