// `sentinel service install|uninstall|status` (DESIGN §8): run the daemon under the user's service manager — a systemd
// user unit (+ socket unit) on Linux, a launchd agent on macOS. Each command is a plan of steps (write, remove, run)
// that `--dry-run` prints and a real run carries out in order; installing twice gives the same files and state.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Option, type Command } from 'commander';
import { SentinelError } from '../core/errors.js';
import { printJson } from './output.js';
import {
  LAUNCHD_LABEL,
  defaultTarget,
  launchdLogDir,
  launchdPlist,
  launchdPlistPath,
  systemdUnitDir,
  systemdUnits,
  type Platform,
  type UnitFile,
} from './service-units.js';
import type { GlobalOptions } from './program.js';

export type Step =
  | { action: 'write'; path: string; content: string; mode: number }
  | { action: 'mkdir'; path: string; mode: number }
  | { action: 'remove'; path: string }
  /** `optional`: a failure is expected in some states (disabling what is not enabled) and is not an error. */
  | { action: 'run'; argv: string[]; optional?: boolean };

interface PlatformOption {
  platform?: string;
}

const SYSTEMCTL = ['systemctl', '--user'];

function platformOf(value: string | undefined): Platform {
  const p = value ?? process.platform;
  if (p === 'linux' || p === 'darwin') return p;
  throw new SentinelError('Unsupported', `service install supports systemd (Linux) and launchd (macOS), not ${p}`);
}

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

// ---- plans ------------------------------------------------------------------------------------------------------

export function installPlan(
  platform: Platform,
  env: NodeJS.ProcessEnv,
  options: { socketActivation: boolean; config?: string },
): Step[] {
  const target = defaultTarget(env, platform, options.config);
  if (platform === 'darwin') {
    if (options.socketActivation) {
      throw new SentinelError('Unsupported', 'socket activation is available with systemd only', {
        hint: 'On macOS run `sentinel service install` without --socket-activation; launchd starts the daemon at login.',
      });
    }
    const plist = launchdPlist(env, target);
    const domain = `gui/${uid()}`;
    return [
      { action: 'mkdir', path: dirname(plist.path), mode: 0o755 },
      { action: 'mkdir', path: launchdLogDir(env), mode: 0o700 },
      { action: 'write', path: plist.path, content: plist.content, mode: 0o644 },
      // bootstrap refuses a label that is already loaded: unload first so a reinstall picks up the new file.
      { action: 'run', argv: ['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`], optional: true },
      { action: 'run', argv: ['launchctl', 'enable', `${domain}/${LAUNCHD_LABEL}`] },
      { action: 'run', argv: ['launchctl', 'bootstrap', domain, plist.path] },
    ];
  }
  const units = systemdUnits(env, target, options.socketActivation);
  const socketPath = join(systemdUnitDir(env), 'sentinel.socket');
  const steps: Step[] = [{ action: 'mkdir', path: systemdUnitDir(env), mode: 0o755 }];
  if (!options.socketActivation && existsSync(socketPath)) {
    steps.push(
      { action: 'run', argv: [...SYSTEMCTL, 'disable', '--now', 'sentinel.socket'], optional: true },
      { action: 'remove', path: socketPath },
    );
  }
  const changed = units.some((u) => read(u.path) !== u.content);
  for (const unit of units) steps.push({ action: 'write', path: unit.path, content: unit.content, mode: 0o644 });
  steps.push({ action: 'run', argv: [...SYSTEMCTL, 'daemon-reload'] });
  if (options.socketActivation) {
    // The socket unit owns the socket path now; a daemon running from an earlier plain install would hold it.
    steps.push(
      { action: 'run', argv: [...SYSTEMCTL, 'disable', '--now', 'sentinel.service'], optional: true },
      { action: 'run', argv: [...SYSTEMCTL, 'enable', '--now', 'sentinel.socket'] },
    );
  } else if (changed) {
    // A running daemon keeps its old command line until restarted; an unchanged unit is left running (sessions in
    // the memory store would not survive a restart).
    steps.push(
      { action: 'run', argv: [...SYSTEMCTL, 'enable', 'sentinel.service'] },
      { action: 'run', argv: [...SYSTEMCTL, 'restart', 'sentinel.service'] },
    );
  } else {
    steps.push({ action: 'run', argv: [...SYSTEMCTL, 'enable', '--now', 'sentinel.service'] });
  }
  return steps;
}

export function uninstallPlan(platform: Platform, env: NodeJS.ProcessEnv): Step[] {
  if (platform === 'darwin') {
    const path = launchdPlistPath(env);
    return [
      { action: 'run', argv: ['launchctl', 'bootout', `gui/${uid()}/${LAUNCHD_LABEL}`], optional: true },
      { action: 'remove', path },
    ];
  }
  const dir = systemdUnitDir(env);
  return [
    { action: 'run', argv: [...SYSTEMCTL, 'disable', '--now', 'sentinel.socket', 'sentinel.service'], optional: true },
    { action: 'remove', path: join(dir, 'sentinel.socket') },
    { action: 'remove', path: join(dir, 'sentinel.service') },
    { action: 'run', argv: [...SYSTEMCTL, 'daemon-reload'] },
  ];
}

// ---- carrying out a plan ----------------------------------------------------------------------------------------

interface RunResult {
  ok: boolean;
  status: number | null;
  stdout: string;
  /** The tool's first line of complaint (systemctl/launchctl text, never anything secret). */
  problem: string;
}

function run(argv: string[]): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      status: null,
      stdout: '',
      problem: code === 'ENOENT' ? `${argv[0]} is not installed` : `${argv[0]}: ${code ?? r.error.message}`,
    };
  }
  const problem =
    (r.stderr || r.stdout || '')
      .split('\n')
      .find((l) => l.trim().length > 0)
      ?.trim() ?? `exit status ${r.status}`;
  return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', problem };
}

/** Whether the service manager answers at all (nothing is changed by asking). */
function managerProblem(platform: Platform): string | undefined {
  const r =
    platform === 'darwin' ? run(['launchctl', 'print', `gui/${uid()}`]) : run([...SYSTEMCTL, 'show-environment']);
  return r.ok ? undefined : r.problem;
}

function writeAtomically(path: string, content: string, mode: number): boolean {
  if (read(path) === content) return false;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
  return true;
}

interface Outcome {
  done: string[];
  /** Set when the manager could not be reached; files were still written or removed. */
  unreachable?: string;
}

function carryOut(steps: Step[], platform: Platform, log: (line: string) => void): Outcome {
  const unreachable = steps.some((s) => s.action === 'run') ? managerProblem(platform) : undefined;
  const done: string[] = [];
  for (const step of steps) {
    switch (step.action) {
      case 'mkdir':
        mkdirSync(step.path, { recursive: true, mode: step.mode });
        break;
      case 'write':
        log(`${writeAtomically(step.path, step.content, step.mode) ? 'wrote' : 'unchanged'} ${step.path}`);
        done.push(step.path);
        break;
      case 'remove':
        if (existsSync(step.path)) {
          rmSync(step.path, { force: true });
          log(`removed ${step.path}`);
        }
        break;
      case 'run': {
        if (unreachable) break;
        const r = run(step.argv);
        if (r.ok) log(`ran ${step.argv.join(' ')}`);
        else if (!step.optional) {
          throw new SentinelError('ServiceManagerFailed', `\`${step.argv.join(' ')}\` failed: ${r.problem}`, {
            hint:
              platform === 'darwin'
                ? 'Check `launchctl print gui/$(id -u)/dev.sentinel.agent` and ~/Library/Logs/Sentinel/sentinel.log.'
                : 'Check `systemctl --user status sentinel` and `journalctl --user -u sentinel`.',
          });
        }
        break;
      }
    }
  }
  return { done, unreachable };
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

function manualCommands(platform: Platform, socketActivation: boolean): string {
  if (platform === 'darwin') return `launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/${LAUNCHD_LABEL}.plist`;
  return `systemctl --user daemon-reload && systemctl --user enable --now ${socketActivation ? 'sentinel.socket' : 'sentinel.service'}`;
}

// ---- status -----------------------------------------------------------------------------------------------------

export interface ServiceStatus {
  platform: Platform;
  manager: 'systemd' | 'launchd';
  installed: boolean;
  socketActivation: boolean;
  files: Array<{ path: string; present: boolean; current: boolean }>;
  reachable: boolean;
  problem: string | null;
  /** What the manager says: systemd ActiveState/SubState/UnitFileState/MainPID, launchd state/pid. */
  state: Record<string, string>;
}

function systemdState(): Record<string, string> {
  const r = run([...SYSTEMCTL, 'show', '--property=ActiveState,SubState,UnitFileState,MainPID', 'sentinel.service']);
  const state: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) state[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return state;
}

function launchdState(): Record<string, string> {
  const r = run(['launchctl', 'print', `gui/${uid()}/${LAUNCHD_LABEL}`]);
  if (!r.ok) return { state: 'not loaded' };
  const state: Record<string, string> = {};
  for (const key of ['state', 'pid', 'last exit code']) {
    const m = new RegExp(`^\\s*${key} = (.+)$`, 'm').exec(r.stdout);
    if (m) state[key] = m[1]!.trim();
  }
  return state;
}

export function serviceStatus(platform: Platform, env: NodeJS.ProcessEnv, config?: string): ServiceStatus {
  const target = defaultTarget(env, platform, config);
  let expected: UnitFile[];
  let socketActivation = false;
  if (platform === 'darwin') {
    expected = [launchdPlist(env, target)];
  } else {
    socketActivation = existsSync(join(systemdUnitDir(env), 'sentinel.socket'));
    expected = systemdUnits(env, target, socketActivation);
  }
  const files = expected.map((f) => {
    const content = read(f.path);
    return { path: f.path, present: content !== undefined, current: content === f.content };
  });
  const problem = managerProblem(platform) ?? null;
  const state = problem ? {} : platform === 'darwin' ? launchdState() : systemdState();
  return {
    platform,
    manager: platform === 'darwin' ? 'launchd' : 'systemd',
    installed: files.every((f) => f.present),
    socketActivation,
    files,
    reachable: problem === null,
    problem,
    state,
  };
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

Exit codes: 0 installed and enabled; 1 files written but the service manager is unreachable or refused; 2 usage.`,
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

Exit codes: 0 removed (or nothing was installed); 1 error; 2 usage.`,
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

Exit codes: 0 installed; 1 not installed; 2 usage.`,
    )
    .action((options: { json?: boolean } & PlatformOption, command: Command) => {
      const platform = platformOf(options.platform);
      const status = serviceStatus(platform, process.env, command.optsWithGlobals<GlobalOptions>().config);
      if (options.json) printJson(status);
      else {
        const lines = [`manager:   ${status.manager}${status.reachable ? '' : ` (unreachable: ${status.problem})`}`];
        for (const f of status.files)
          lines.push(
            `file:      ${f.path} (${f.present ? (f.current ? 'installed, current' : 'installed, differs from a fresh install') : 'missing'})`,
          );
        if (platform === 'linux')
          lines.push(`socket:    ${status.socketActivation ? 'socket activation' : 'no socket activation'}`);
        for (const [key, value] of Object.entries(status.state)) lines.push(`${(key + ':').padEnd(10)} ${value}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (!status.installed) {
        if (!options.json) process.stderr.write('Hint: install it with `sentinel service install`.\n');
        process.exitCode = 1;
      }
    });
}
