// `sentinel exec <profile> [--] <cmd> [args...]` (DESIGN §8): one session for one child process. The child gets exactly
// the environment `use` would give a shell (session-env.ts); `--env` gives it raw keys instead (mode cli). exec
// prints nothing of its own on stdout, forwards SIGINT/SIGTERM/SIGHUP (not the terminal's own, twice), ends the session when the child exits and
// exits with the child's status (128+n for a signal, 127/126 when the command cannot be found/run, like a shell).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { Command } from 'commander';
import { SentinelError, isSentinelError } from '../core/errors.js';
import { connect, resolveRuntimeDir, type DaemonClient } from './client.js';
import { sessionAwsConfig } from './session-aws-config.js';
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
import type { GlobalOptions } from './program.js';
import { replaceControls } from '../core/text/printable.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** What a terminal itself sends to every process of its foreground group (Ctrl-C, hangup), the child included. */
const TERMINAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGHUP']);

/**
 * Whether this process is in its terminal's foreground process group, where the child (spawned into the same group)
 * already got a Ctrl-C or hangup from the terminal itself. A second SIGINT is not harmless: terraform takes it as
 * "exit immediately, data loss may have occurred" and leaves its state lock behind. Asked at each signal (`bg` and
 * `fg` move the job): Linux reads /proc, elsewhere ps(1) answers; when neither does, signals are forwarded.
 */
function inTerminalForeground(): boolean {
  try {
    let pgrp: number;
    let tpgid: number;
    if (process.platform === 'linux') {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      // After "pid (comm) ": state, ppid, pgrp, session, tty_nr, tpgid (proc(5)); comm may hold spaces and parens.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      [pgrp, tpgid] = [Number(fields[2]), Number(fields[5])];
    } else {
      const out = execFileSync('ps', ['-o', 'pgid=,tpgid=', '-p', String(process.pid)], { encoding: 'utf8' });
      [pgrp, tpgid] = out.trim().split(/\s+/).map(Number) as [number, number];
    }
    return Number.isInteger(tpgid) && tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

interface ExecOptions {
  env?: boolean;
  nest?: boolean;
  ttl?: string;
}

/** Index in `args` where the child's command line starts: right after the profile, exec's first operand (exec's own
 * options go before it); -1 when there is no profile yet. */
export function childStart(command: Command, args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return i + 1 < args.length ? i + 2 : -1; // `exec -- <profile> ...`
    if (arg.startsWith('-') && arg.length > 1) {
      const option = command.options.find((o) => o.long === arg || o.short === arg);
      if (option && (option.required || option.optional)) i++;
      continue;
    }
    return i + 1;
  }
  return -1;
}

/** Everything after the profile belongs to the command (DESIGN §8): `sentinel exec dev ls --help` runs `ls --help`. */
class ExecCommand extends Command {
  override parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    const at = childStart(this, args);
    if (at < 0) return super.parseOptions(args);
    const head = super.parseOptions(args.slice(0, at));
    let child = args.slice(at);
    if (child[0] === '--') child = child.slice(1);
    else if (child[0]?.startsWith('-')) throw misplacedOption(head.operands[0] ?? '<profile>', child[0]);
    return { operands: [...head.operands, ...child], unknown: head.unknown };
  }
}

/** `exec dev --env -- cmd`: the option belongs to the command by position, and no command starts with a dash. */
function misplacedOption(profile: string, option: string): SentinelError {
  const shown = replaceControls(option.slice(0, 64), '?');
  return new SentinelError('UsageError', `"${shown}" comes after the profile, so it would be the command to run`, {
    hint: `exec's own options go before the profile (\`sentinel exec ${shown.startsWith('--') ? shown : '--env'} ${profile} -- <command>\`); a command starting with a dash goes after \`--\`.`,
  });
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
        if (TERMINAL_SIGNALS.has(signal) && inTerminalForeground()) return;
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

async function exec(
  profile: string,
  commandLine: string[],
  options: ExecOptions,
  globals: GlobalOptions,
): Promise<number> {
  checkProfileName(profile);
  // As aws-vault does: without a command, a shell in the session, which ends when the shell exits.
  const shell =
    commandLine.length === 0
      ? process.env.SHELL && process.env.SHELL.startsWith('/')
        ? process.env.SHELL
        : '/bin/sh'
      : undefined;
  if (shell) commandLine = [shell];
  const ttl = checkTtl(options.ttl);
  refuseNesting(process.env, options.nest, 'exec');
  const { file: configFile, warning } = sessionAwsConfig(await resolveRuntimeDir(globals), process.env);
  if (warning) process.stderr.write(`sentinel: ${warning}\n`);
  const client = await connect(globals);
  // The session belongs to this process: if exec is killed outright, the daemon ends the session when its pid is gone.
  const session = await openSession(client, {
    profile,
    mode: options.env ? 'cli' : 'server',
    pid: process.pid,
    ...(ttl ? { ttl } : {}),
  });
  // Only once the session is open: a refusal (policy, no daemon, nesting) must not be preceded by "starting".
  if (shell) process.stderr.write(`sentinel: starting ${shell} with profile ${profile}; \`exit\` ends the session\n`);
  let status: number;
  try {
    const raw = options.env ? await fetchRawCredentials(client, session) : undefined;
    const env = applyChanges(userEnvironment(), sessionChanges(session, raw, configFile));
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
    .argument('[command...]', 'the command and its arguments (default: $SHELL); everything after the profile')
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
AWS_CONTAINER_AUTHORIZATION_TOKEN, SENTINEL_SESSION, SENTINEL_PROFILE, AWS_REGION/AWS_DEFAULT_REGION, credentials
file at /dev/null, AWS config as an allowlisted copy) with every competing variable unset. With --env it gets
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION instead; a
require_server policy rule refuses that. SIGINT, SIGTERM and SIGHUP are forwarded to the command (a Ctrl-C or
hangup at the terminal reaches it directly, and is not sent a second time). exec prints
nothing of its own on stdout. exec's own options go before the profile; everything after the profile is the
command's. Without a command, exec starts $SHELL in the session.

Examples:
  $ sentinel exec dev -- aws sts get-caller-identity
  $ sentinel exec dev terraform plan
  $ sentinel exec --env dev -- ./legacy-script.sh
  $ sentinel exec dev                        # a shell in the session; \`exit\` ends it

Exit codes: the command's own status (128+n when a signal ended it, 127 command not found, 126 not executable);
otherwise 1 error, 2 usage, 3 denied by policy, 4 daemon not running.`,
    )
    .action(async (profile: string, commandLine: string[], options: ExecOptions, cmd: Command) => {
      process.exitCode = await exec(profile, commandLine, options, cmd.optsWithGlobals<GlobalOptions>());
    });
  // addCommand (unlike program.command) does not copy the program's settings, such as exitOverride.
  program.addCommand(command.copyInheritedSettings(program));
  stopProgramOptionsAt(program, 'exec');
}
