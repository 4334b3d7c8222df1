// `sentinel shell init` and `sentinel use` (DESIGN §8). `use` changes the calling shell, which a child process cannot
// do, so it only ever runs through the function `shell init` defines: that function passes `--shell`, the shell's
// pid and its session depth, and evals what `use` prints. Nothing but shell code ever goes to stdout here.
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { SentinelError } from '../core/errors.js';
import { connect, resolveRuntimeDir } from './client.js';
import { sessionAwsConfig } from './session-aws-config.js';
import { reportError } from './output.js';
import { isShell, offCode, useCode, SHELLS, type Shell } from './shell-emit.js';
import { initCode } from './shell-init.js';
import {
  checkProfileName,
  checkTtl,
  endSession,
  openSession,
  refuseNesting,
  SESSION_ID,
  sessionChanges,
  sessionStatus,
} from './session-env.js';
import type { GlobalOptions } from './program.js';

const INIT_HINT =
  'Add `eval "$(sentinel shell init)"` to ~/.bashrc or ~/.zshrc (fish: `sentinel shell init fish | source` in config.fish), open a new shell, then run the command again.';

function shellFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  return env.SHELL ? basename(env.SHELL) : undefined;
}

/** The command line of this binary, by absolute paths, for the shell function to call. */
function thisBinary(): string[] {
  const entry = process.argv[1];
  if (!entry) throw new SentinelError('InternalError', 'cannot tell where the sentinel entry script is');
  return [process.execPath, ...process.execArgv, realpathSync(entry)];
}

function parseCount(value: string, what: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SentinelError('UsageError', `${what} must be an integer from ${min} to ${max}`, { hint: INIT_HINT });
  }
  return Number(value);
}

function note(message: string): void {
  process.stderr.write(`sentinel: ${message}\n`);
}

interface UseOptions {
  off?: boolean;
  nest?: boolean;
  shell?: string;
  shellPid?: string;
  shellDepth?: string;
  ttl?: string;
}

async function use(profile: string | undefined, options: UseOptions, globals: GlobalOptions): Promise<void> {
  if (options.shell === undefined) {
    throw new SentinelError(
      'UsageError',
      '`sentinel use` must run through the sentinel shell function, which `sentinel shell init` defines',
      { hint: INIT_HINT },
    );
  }
  if (!isShell(options.shell)) {
    throw new SentinelError('UsageError', `--shell must be one of ${SHELLS.join(', ')}`, { hint: INIT_HINT });
  }
  const shell: Shell = options.shell;
  const depth = parseCount(options.shellDepth ?? '0', '--shell-depth', 0, 64);
  const env = process.env;

  if (options.off) {
    if (profile !== undefined) throw new SentinelError('UsageError', '`sentinel use --off` takes no profile');
    await useOff(shell, depth, globals, env);
    return;
  }
  if (profile === undefined) {
    throw new SentinelError(
      'UsageError',
      'which profile? `sentinel use <profile>` opens a session, `sentinel use --off` ends it',
      {
        hint: 'List the profiles Sentinel sees with `sentinel use <TAB>`, or `aws configure list-profiles`.',
      },
    );
  }
  checkProfileName(profile);
  const ttl = checkTtl(options.ttl);
  if (options.shellPid === undefined)
    throw new SentinelError('UsageError', '--shell-pid is required with --shell', { hint: INIT_HINT });
  const pid = parseCount(options.shellPid, '--shell-pid', 1, 2 ** 31 - 1);

  const { file: configFile, warning } = sessionAwsConfig(await resolveRuntimeDir(globals), env);
  if (warning) note(warning);
  const client = await connect(globals);
  // DESIGN §8: nesting is refused only for a session that is still active; a dead one is replaced, and that is said.
  const current = env.SENTINEL_SESSION;
  const currentStatus = current && !options.nest ? await sessionStatus(client, current) : undefined;
  if (currentStatus === 'active') refuseNesting(env, options.nest, 'use');
  const session = await openSession(client, { profile, mode: 'server', pid, ...(ttl ? { ttl } : {}) });
  const changes = sessionChanges(session, undefined, configFile);
  // Replacing closes the dead session's level first, so `use --off` later restores what was there before it.
  const replace = currentStatus !== undefined && depth > 0;
  process.stdout.write(
    replace ? offCode(shell, depth) + useCode(shell, changes, depth - 1) : useCode(shell, changes, depth),
  );
  if (currentStatus !== undefined) {
    note(`replacing session ${current} (${deadState(currentStatus)}) of profile ${env.SENTINEL_PROFILE ?? 'unknown'}`);
  }
  note(
    `using profile ${session.profile} (session ${session.id}, until ${session.expires_at}); \`sentinel use --off\` ends it`,
  );
}

/** How a session that is not active is described: its status, or why the daemon does not know it. */
function deadState(status: string): string {
  return status === 'unknown' ? 'unknown to the daemon, e.g. after a restart' : status;
}

async function useOff(shell: Shell, depth: number, globals: GlobalOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const id = env.SENTINEL_SESSION;
  if (depth === 0) {
    if (id) {
      throw new SentinelError(
        'UsageError',
        `this shell inherited Sentinel session ${SESSION_ID.test(id) ? id : '(unknown id)'} from the process that started it; it did not open it`,
        {
          hint: 'Run `sentinel use --off` in the shell that opened the session, or leave this shell with `exit`.',
        },
      );
    }
    note('no Sentinel session is in use in this shell');
    return;
  }
  let state = 'ended';
  if (id && SESSION_ID.test(id)) {
    try {
      const client = await connect(globals, 5000);
      const status = await sessionStatus(client, id);
      if (status !== 'active') state = `was already ${deadState(status)}`;
      // A session the daemon has no record of has nothing left to end there.
      if (status !== 'unknown') await endSession(client, id);
    } catch (err) {
      // The shell is restored regardless: a daemon that is gone has ended its sessions already (memory store), and
      // leaving the shell pointed at a dead endpoint helps nobody. The reason is still reported.
      reportError(err);
      note(`restoring the shell anyway; check the session with \`sentinel server session ${id}\``);
    }
  }
  process.stdout.write(offCode(shell, depth));
  note(
    id
      ? `session ${id} ${state}; the shell's previous AWS settings are back`
      : "the shell's previous AWS settings are back",
  );
}

export function register(program: Command): void {
  const shell = program
    .command('shell')
    .description('shell integration: the `sentinel` function, `use`, prompt and completions')
    .addHelpText(
      'after',
      `
Examples:
  $ eval "$(sentinel shell init)"            # in ~/.bashrc or ~/.zshrc
  $ sentinel shell init fish | source        # in ~/.config/fish/config.fish`,
    );
  shell
    .command('init')
    .description(
      'print shell code to eval: defines the `sentinel` function (for `sentinel use`), sentinel_prompt and completions',
    )
    .argument('[shell]', `bash, zsh or fish (default: from $SHELL)`)
    .addHelpText(
      'after',
      `
Examples:
  $ eval "$(sentinel shell init)"            # in ~/.bashrc or ~/.zshrc (zsh: after compinit)
  $ eval "$(sentinel shell init zsh)"
  $ sentinel shell init fish | source        # in ~/.config/fish/config.fish

Exit codes: 0 printed; 2 unknown shell.`,
    )
    .action((name: string | undefined) => {
      const chosen = name ?? shellFromEnv(process.env);
      if (!isShell(chosen)) {
        throw new SentinelError(
          'UsageError',
          chosen
            ? `Sentinel has no integration for the shell "${chosen}"`
            : 'cannot tell which shell this is ($SHELL is not set)',
          {
            hint: `Name one of ${SHELLS.join(', ')}: \`sentinel shell init bash\`.`,
          },
        );
      }
      process.stdout.write(initCode(chosen, { argv: thisBinary() }));
    });

  program
    .command('use')
    .description(
      'use a profile in this shell through a Sentinel session (mode server); --off ends it and restores the shell',
    )
    .argument('[profile]', 'AWS profile to use')
    .option('--off', 'end the session and restore the variables it replaced')
    .option('--nest', 'open a session even though this shell already uses one')
    .option(
      '--ttl <duration>',
      'how long the session may last, e.g. 2h (default and maximum: sessions.ttl in config.yaml)',
    )
    .addOption(new Option('--shell <shell>', 'set by the shell function').hideHelp())
    .addOption(new Option('--shell-pid <pid>', 'set by the shell function').hideHelp())
    .addOption(new Option('--shell-depth <n>', 'set by the shell function').hideHelp())
    // stdout is evaluated by the shell function, so even help goes to stderr.
    .configureOutput({ writeOut: (text) => process.stderr.write(text) })
    .addHelpText(
      'after',
      `
Runs through the shell function that \`sentinel shell init\` defines. It exports
AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN, SENTINEL_SESSION, SENTINEL_PROFILE and
AWS_REGION/AWS_DEFAULT_REGION (when the profile has a region), unsets every variable that would win over them, and
points AWS_SHARED_CREDENTIALS_FILE at /dev/null and AWS_CONFIG_FILE at a private copy of your AWS config that
keeps only settings such as region, output and cli_pager (no credential settings). \`--off\` restores exactly what
was there before.

Examples:
  $ sentinel use dev
  $ sentinel use prod --ttl 1h
  $ aws sts get-caller-identity
  $ sentinel use --off

Exit codes: 0 ok; 1 error; 2 usage (not through the shell function, nesting without --nest); 3 denied by policy;
4 daemon not running.`,
    )
    .action(async (profile: string | undefined, options: UseOptions, command: Command) => {
      await use(profile, options, command.optsWithGlobals<GlobalOptions>());
    });
}
