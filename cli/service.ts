// `sentinel service install|uninstall|status` (DESIGN §8): run the daemon under the user's service manager — a systemd
// user unit (+ socket unit) on Linux, a launchd agent on macOS. Each command is a plan of steps (write, remove, run)
// that `--dry-run` prints and a real run carries out in order; installing twice gives the same files and state.
// The plans live in service-plan.ts, the service manager is driven from service-manager.ts; this file parses flags,
// prints plans and wires the commands.
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { SentinelError } from '../core/errors.js';
import { visible } from '../core/text/printable.js';
import { printJson } from './output.js';
import { LAUNCHD_LABEL, type Platform } from './service-units.js';
import type { GlobalOptions } from './program.js';
import { installPlan, uninstallPlan, type Step } from './service-plan.js';
import { carryOut, manualCommands, serviceStatus } from './service-manager.js';

interface PlatformOption {
  platform?: string;
}

function platformOf(value: string | undefined): Platform {
  const p = value ?? process.platform;
  if (p === 'linux' || p === 'darwin') return p;
  throw new SentinelError('Unsupported', `service install supports systemd (Linux) and launchd (macOS), not ${p}`);
}

function describeStep(step: Step): string {
  switch (step.action) {
    case 'mkdir':
      return `mkdir -p -m ${step.mode.toString(8)} ${step.path}`;
    case 'write':
      return `write ${step.path} (mode ${step.mode.toString(8)}):\n${step.content}`;
    case 'remove':
      return `rm -f ${step.path}`;
    case 'run':
      return step.argv.join(' ') + (step.optional ? '   # may fail harmlessly' : '');
  }
}

function printPlan(steps: Step[], platform: Platform, json: boolean | undefined): void {
  if (json) {
    printJson({ platform, dryRun: true, steps });
    return;
  }
  process.stdout.write(
    `# sentinel service (${platform === 'darwin' ? 'launchd' : 'systemd'}), dry run: nothing is changed\n`,
  );
  for (const step of steps) process.stdout.write(`${describeStep(step)}\n`);
}

// ---- commands ---------------------------------------------------------------------------------------------------

const platformOption = () =>
  new Option('--platform <platform>', 'linux or darwin (default: this machine); for previews and tests').hideHelp();

export function register(program: Command): void {
  const service = program
    .command('service')
    .description('run the daemon under systemd (Linux, user unit) or launchd (macOS, agent)')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel service install --socket-activation
  $ sentinel service status
  $ sentinel service uninstall`,
    );

  service
    .command('install')
    .description('write and enable the systemd user unit (+ socket unit) or the launchd agent')
    .option('--socket-activation', 'systemd only: also install sentinel.socket, so the daemon starts on first use')
    .option('--dry-run', 'print the files and commands instead of acting')
    .option('--json', 'print the plan (with --dry-run) or the result as JSON')
    .addOption(platformOption())
    .addHelpText(
      'after',
      `
Linux: ~/.config/systemd/user/sentinel.service (Type=notify, Restart=on-failure, WatchdogSec, NoNewPrivileges,
UMask=0077) and with --socket-activation sentinel.socket (ListenStream=%t/sentinel/sentinel.sock), then
\`systemctl --user daemon-reload\` and \`enable --now\`. macOS: ~/Library/LaunchAgents/${LAUNCHD_LABEL}.plist, logs in
~/Library/Logs/Sentinel/, then \`launchctl bootstrap gui/<uid>\`. The unit runs this node and this package's
dist/cli/main.js by absolute path, with PATH (and the other variables listed in docs/service.md) as they are now.

Examples:
  $ sentinel service install
  $ sentinel service install --socket-activation --dry-run

Only files install wrote are replaced: a unit of your own under the same name, a symlink or a directory there is
refused (nothing changed); a unit install wrote and you edited is replaced, and install says so.

Exit codes: 0 installed and enabled; 1 files written but the service manager is unreachable or refused, or a file in
the way that install did not write; 2 usage.`,
    )
    .action(
      (
        options: { socketActivation?: boolean; dryRun?: boolean; json?: boolean } & PlatformOption,
        command: Command,
      ) => {
        const platform = platformOf(options.platform);
        const socketActivation = options.socketActivation === true;
        const steps = installPlan(platform, process.env, {
          socketActivation,
          config: command.optsWithGlobals<GlobalOptions>().config,
        });
        if (options.dryRun) return printPlan(steps, platform, options.json);
        const log = (line: string) => process.stderr.write(`sentinel: ${line}\n`);
        const outcome = carryOut(steps, platform, log);
        if (options.json)
          printJson({
            platform,
            dryRun: false,
            files: outcome.done,
            enabled: !outcome.unreachable,
            problem: outcome.unreachable ?? null,
          });
        if (outcome.unreachable) {
          throw new SentinelError(
            'ServiceManagerFailed',
            `the unit files are written, but no ${platform === 'darwin' ? 'launchd user domain' : 'systemd user manager'} is reachable (${outcome.unreachable}), so the service is not enabled`,
            {
              hint: `In a login session of this user, run: ${manualCommands(platform, socketActivation)}`,
            },
          );
        }
        if (!options.json) log(`installed; check it with \`sentinel service status\``);
      },
    );

  service
    .command('uninstall')
    .description('disable and remove what `service install` wrote (logs are kept)')
    .option('--dry-run', 'print the files and commands instead of acting')
    .option('--json', 'print the plan (with --dry-run) or the result as JSON')
    .addOption(platformOption())
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel service uninstall
  $ sentinel service uninstall --dry-run

Removes, disables and stops only what \`service install\` wrote; anything else under those names is refused.

Exit codes: 0 removed (or nothing was installed); 1 error, or a file install did not write; 2 usage.`,
    )
    .action((options: { dryRun?: boolean; json?: boolean } & PlatformOption) => {
      const platform = platformOf(options.platform);
      const steps = uninstallPlan(platform, process.env);
      if (options.dryRun) return printPlan(steps, platform, options.json);
      const log = (line: string) => process.stderr.write(`sentinel: ${line}\n`);
      const present = steps.filter((s) => s.action === 'remove' && existsSync(s.path)).length;
      const outcome = carryOut(steps, platform, log);
      if (options.json) printJson({ platform, dryRun: false, removed: present, problem: outcome.unreachable ?? null });
      else if (present === 0) log('nothing to remove: the service is not installed');
      // Without a reachable manager there is nothing running under it to stop; say so rather than fail.
      else if (outcome.unreachable)
        log(`removed the files; the service manager is not reachable (${outcome.unreachable}), so nothing was stopped`);
      else log('uninstalled');
    });

  service
    .command('status')
    .description('show whether the service is installed, current and running')
    .option('--json', 'print JSON: {platform, manager, installed, socketActivation, files, reachable, problem, state}')
    .addOption(platformOption())
    .addHelpText(
      'after',
      `
"current" means the file is what \`service install\` would write now (same node, same package path); reinstall after
moving or upgrading either.

Examples:
  $ sentinel service status
  $ sentinel service status --json

Exit codes: 0 installed; 1 not installed, or a file under the service's name that install did not write; 2 usage.`,
    )
    .action((options: { json?: boolean } & PlatformOption, command: Command) => {
      const platform = platformOf(options.platform);
      const status = serviceStatus(platform, process.env, command.optsWithGlobals<GlobalOptions>().config);
      if (options.json) printJson(status);
      else {
        const lines = [`manager:   ${status.manager}${status.reachable ? '' : ` (unreachable: ${status.problem})`}`];
        for (const f of status.files)
          lines.push(
            `file:      ${visible(f.path)} (${!f.present ? 'missing' : !f.ours ? 'not written by `sentinel service install`' : f.current ? 'installed, current' : 'installed, differs from a fresh install'})`,
          );
        if (platform === 'linux')
          lines.push(`socket:    ${status.socketActivation ? 'socket activation' : 'no socket activation'}`);
        for (const [key, value] of Object.entries(status.state)) lines.push(`${(key + ':').padEnd(10)} ${value}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (!status.installed) {
        const foreign = status.files.find((f) => f.present && !f.ours);
        if (!options.json)
          process.stderr.write(
            foreign
              ? `Hint: ${visible(foreign.path)} is not Sentinel's: move it away (keep a copy if it is yours), then run \`sentinel service install\`.\n`
              : 'Hint: install it with `sentinel service install`.\n',
          );
        process.exitCode = 1;
      }
    });
}
