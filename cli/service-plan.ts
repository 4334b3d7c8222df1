// What `sentinel service install|uninstall` would do, as a plan of steps (write, mkdir, remove, run) computed from the
// platform, the environment and the files already there: `--dry-run` prints it, a real run carries it out
// (service-manager.ts). Installing twice gives the same plan of no changes.
import { existsSync, readFileSync } from 'node:fs';
import { SentinelError } from '../core/errors.js';
import { dirname, join } from 'node:path';
import {
  LAUNCHD_LABEL,
  defaultTarget,
  launchdLogDir,
  launchdPlist,
  launchdPlistPath,
  systemdUnitDir,
  systemdUnits,
  type Platform,
} from './service-units.js';

export type Step =
  | { action: 'write'; path: string; content: string; mode: number }
  | { action: 'mkdir'; path: string; mode: number }
  | { action: 'remove'; path: string }
  /** `optional`: a failure is expected in some states (disabling what is not enabled) and is not an error. */
  | { action: 'run'; argv: string[]; optional?: boolean };

export const SYSTEMCTL = ['systemctl', '--user'];

export function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

export function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

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
