// Talking to the service manager (systemctl --user, launchctl): carrying out a plan step by step, and reading what
// the manager says about the installed service. Tools are run without a shell; their complaints are reported by
// their first line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SentinelError } from '../core/errors.js';
import { assertTrustedDirectory } from '../core/path-trust.js';
import { replaceFile } from '../core/replace-file.js';
import { SYSTEMD_UNIT, type ServiceManager } from '../daemon/lifecycle/service-manager.js';
import { read, SYSTEMCTL, uid, type Step } from './service-plan.js';
import {
  LAUNCHD_LABEL,
  defaultTarget,
  launchdPlist,
  systemdUnitDir,
  systemdUnits,
  type Platform,
  type UnitFile,
} from './service-units.js';

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

/** Writes `content` unless it is there already; says which. The plan has refused anything install did not write. */
function writeUnit(path: string, content: string, mode: number): 'wrote' | 'replaced' | 'unchanged' {
  const before = read(path);
  if (before === content) return 'unchanged';
  replaceFile(path, content, { mode });
  return before === undefined ? 'wrote' : 'replaced';
}

/** A file system refusal (a read-only or foreign directory) as what it is, with the directory to look at. */
function fileProblem(e: unknown, what: string, path: string): SentinelError {
  if (e instanceof SentinelError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  const dir = dirname(path);
  return new SentinelError('UnsafePath', `cannot ${what} ${path} (${code})`, {
    hint: `Check that ${dir} is a directory you can write (\`ls -ld '${dir}'\`), then run the command again.`,
  });
}

interface Outcome {
  done: string[];
  /** Set when the manager could not be reached; files were still written or removed. */
  unreachable?: string;
}

export function carryOut(steps: Step[], platform: Platform, log: (line: string) => void): Outcome {
  const unreachable = steps.some((s) => s.action === 'run') ? managerProblem(platform) : undefined;
  const done: string[] = [];
  for (const step of steps) {
    switch (step.action) {
      case 'mkdir':
        try {
          mkdirSync(step.path, { recursive: true, mode: step.mode });
        } catch (e) {
          throw fileProblem(e, 'create', step.path);
        }
        // The plan judged the directory before it existed; what is there now is what the manager will read.
        assertTrustedDirectory(step.path);
        break;
      case 'write': {
        let outcome;
        try {
          outcome = writeUnit(step.path, step.content, step.mode);
        } catch (e) {
          throw fileProblem(e, 'write', step.path);
        }
        log(
          outcome === 'replaced'
            ? `replaced ${step.path}: it differed from what install writes now${platform === 'linux' ? ' (keep settings of your own in a drop-in: `systemctl --user edit sentinel`)' : ''}`
            : `${outcome} ${step.path}`,
        );
        done.push(step.path);
        break;
      }
      case 'remove':
        if (existsSync(step.path)) {
          try {
            rmSync(step.path, { force: true });
          } catch (e) {
            throw fileProblem(e, 'remove', step.path);
          }
          log(`removed ${step.path}`);
        }
        break;
      case 'run': {
        if (unreachable) break;
        const r = run(step.argv);
        if (r.ok) log(`ran ${step.argv.join(' ')}`);
        else if (!step.optional) {
          throw new SentinelError('ServiceManagerFailed', `\`${step.argv.join(' ')}\` failed: ${r.problem}`, {
            hint: managerHint(platform === 'darwin' ? 'launchd' : 'systemd'),
          });
        }
        break;
      }
    }
  }
  return { done, unreachable };
}

/** Where to look when the service manager did not do what it was asked. */
export function managerHint(manager: ServiceManager): string {
  return manager === 'launchd'
    ? `Check \`launchctl print gui/$(id -u)/${LAUNCHD_LABEL}\` and ~/Library/Logs/Sentinel/sentinel.log.`
    : 'Check `systemctl --user status sentinel` and `journalctl --user -u sentinel`.';
}

/** Asks the manager that runs the daemon to restart it (`daemon restart`); returns the command it ran. */
export function restartService(manager: ServiceManager): string {
  const argv =
    manager === 'launchd'
      ? ['launchctl', 'kickstart', '-k', `gui/${uid()}/${LAUNCHD_LABEL}`]
      : [...SYSTEMCTL, 'restart', SYSTEMD_UNIT];
  const command = argv.join(' ');
  const r = run(argv);
  if (!r.ok)
    throw new SentinelError('ServiceManagerFailed', `\`${command}\` failed: ${r.problem}`, {
      hint: managerHint(manager),
    });
  return command;
}

export function manualCommands(platform: Platform, socketActivation: boolean): string {
  if (platform === 'darwin') return `launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/${LAUNCHD_LABEL}.plist`;
  return `systemctl --user daemon-reload && systemctl --user enable --now ${socketActivation ? 'sentinel.socket' : 'sentinel.service'}`;
}

export interface ServiceStatus {
  platform: Platform;
  manager: 'systemd' | 'launchd';
  installed: boolean;
  socketActivation: boolean;
  /** `ours`: the file carries its template's header, so `service install` wrote it (a file of the user's own under
   * the same name is not the service, and install and uninstall leave it alone). */
  files: Array<{ path: string; present: boolean; ours: boolean; current: boolean }>;
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
    const ours = content !== undefined && content.includes(f.marker);
    return { path: f.path, present: content !== undefined, ours, current: content === f.content };
  });
  const problem = managerProblem(platform) ?? null;
  const state = problem ? {} : platform === 'darwin' ? launchdState() : systemdState();
  return {
    platform,
    manager: platform === 'darwin' ? 'launchd' : 'systemd',
    installed: files.every((f) => f.ours),
    socketActivation,
    files,
    reachable: problem === null,
    problem,
    state,
  };
}
