// What `sentinel service install|uninstall` would do, as a plan of steps (write, mkdir, remove, run) computed from the
// platform, the environment and the files already there: `--dry-run` prints it, a real run carries it out
// (service-manager.ts). Installing twice gives the same plan of no changes.
import { lstatSync, readFileSync } from 'node:fs';
import { SentinelError } from '../core/errors.js';
import { dirname } from 'node:path';
import { assertTrustedDirectory, kindOf } from '../core/path-trust.js';
import {
  LAUNCHD_LABEL,
  defaultTarget,
  launchdLogDir,
  launchdPlist,
  systemdSocketUnit,
  systemdUnitDir,
  systemdUnits,
  type Platform,
  type UnitFile,
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

/**
 * Whether `unit.path` holds a file `service install` wrote (true), nothing (false), or something else, which is
 * refused: a symlink (a dotfile manager's, or one pointing where this user should not write), a directory or a pipe,
 * or a unit of the user's own that merely shares the name. Replacing or removing any of those would destroy what
 * Sentinel did not create, and `systemctl disable --now` would stop someone else's service.
 */
export function installedByUs(unit: Pick<UnitFile, 'path' | 'marker'>): boolean {
  let st;
  try {
    st = lstatSync(unit.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new SentinelError('UnsafePath', `${unit.path} cannot be examined (${(e as NodeJS.ErrnoException).code})`, {
      hint: `Check the owner and mode of ${dirname(unit.path)} (\`ls -ld '${dirname(unit.path)}'\`).`,
    });
  }
  const leave =
    'Sentinel neither replaces nor removes it. Move it away if nothing needs it, then run the command again.';
  if (st.isSymbolicLink())
    throw new SentinelError('UnsafePath', `${unit.path} is a symlink, not a file \`sentinel service install\` wrote`, {
      hint: `${leave} (Removing the link leaves its target as it is.)`,
    });
  if (!st.isFile())
    throw new SentinelError(
      'UnsafePath',
      `${unit.path} is ${kindOf(st)}, not a file \`sentinel service install\` wrote`,
      {
        hint: leave,
      },
    );
  if (!(read(unit.path) ?? '').includes(unit.marker))
    throw new SentinelError('UnsafePath', `${unit.path} was not written by \`sentinel service install\``, {
      hint: `${leave} Keep a copy if it is yours.`,
    });
  return true;
}

/**
 * Refuses a directory to install into that others could write (or that one of them could replace, through a directory
 * or a symlink above it): whoever can change a unit file there decides what runs as this user at every login. A
 * directory not created yet is judged by the nearest one that exists.
 */
export function assertInstallDirectory(dir: string): void {
  let existing = dir;
  for (;;) {
    try {
      lstatSync(existing);
      break;
    } catch {
      if (dirname(existing) === existing) break;
      existing = dirname(existing);
    }
  }
  assertTrustedDirectory(existing);
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
    assertInstallDirectory(dirname(plist.path));
    installedByUs(plist);
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
  assertInstallDirectory(systemdUnitDir(env));
  for (const unit of units) installedByUs(unit);
  const socket = systemdSocketUnit(env, target);
  const steps: Step[] = [{ action: 'mkdir', path: systemdUnitDir(env), mode: 0o755 }];
  if (!options.socketActivation && installedByUs(socket)) {
    steps.push(
      { action: 'run', argv: [...SYSTEMCTL, 'disable', '--now', 'sentinel.socket'], optional: true },
      { action: 'remove', path: socket.path },
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

/** Only what `service install` wrote is stopped and removed; anything else under those names is refused, untouched. */
export function uninstallPlan(platform: Platform, env: NodeJS.ProcessEnv, config?: string): Step[] {
  const target = defaultTarget(env, platform, config);
  if (platform === 'darwin') {
    const plist = launchdPlist(env, target);
    installedByUs(plist);
    return [
      { action: 'run', argv: ['launchctl', 'bootout', `gui/${uid()}/${LAUNCHD_LABEL}`], optional: true },
      { action: 'remove', path: plist.path },
    ];
  }
  const [service] = systemdUnits(env, target, false);
  const socket = systemdSocketUnit(env, target);
  installedByUs(service!);
  installedByUs(socket);
  return [
    { action: 'run', argv: [...SYSTEMCTL, 'disable', '--now', 'sentinel.socket', 'sentinel.service'], optional: true },
    { action: 'remove', path: socket.path },
    { action: 'remove', path: service!.path },
    { action: 'run', argv: [...SYSTEMCTL, 'daemon-reload'] },
  ];
}
