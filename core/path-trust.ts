// Whether a path can be trusted by the user who runs Sentinel (DESIGN §2, §3.1, §5.4): who owns it and who else may
// write to it. Anyone who can replace a file, or the directory entry that names it, decides what Sentinel reads — a
// policy that grants prod, or a socket that hands out her own AWS keys. Refusals name the path and the command that
// fixes it, as ssh does for its keys. Dependency-free: the light CLI path imports it.
import { lstatSync, type Stats } from 'node:fs';
import { SentinelError } from './errors.js';

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

export function octalMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/** lstat, or undefined when nothing is there. */
export function statIfPresent(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SentinelError(
      'UnsafePath',
      `${path} cannot be examined (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

export interface TrustRule {
  /** Who may own it: the user, and root where root could replace it anyway (system directories, admin files). */
  owners: number[];
  /** Permission bits nobody but the owner may hold: 0o077 for a private directory, 0o022 for "not writable". */
  forbidden: number;
  what: 'file' | 'directory' | 'socket';
  /** Hint for a wrong owner (the default suggests chown to the user). */
  ownerHint?: string;
  /** Accept a root-owned directory with the sticky bit (/tmp) whatever else may write to it: there, nobody else can
   * rename or replace what is ours. */
  stickyRoot?: boolean;
}

/** Throws UnsafePath unless `st` (from lstat of `path`) is the right kind of thing, owned and moded as `rule` says. */
export function assertTrusted(path: string, st: Stats, rule: TrustRule, uid: number = currentUid()): void {
  const kindOk = rule.what === 'file' ? st.isFile() : rule.what === 'directory' ? st.isDirectory() : st.isSocket();
  if (st.isSymbolicLink()) {
    throw new SentinelError('UnsafePath', `${path} is not a ${rule.what} (a symlink)`, {
      hint: `Sentinel does not follow symlinks here. Point it at the real path, or remove the link (its target stays).`,
    });
  }
  if (!kindOk) {
    // Never "remove it": the path may be a device, or someone's data, that a mistyped flag pointed at.
    throw new SentinelError('UnsafePath', `${path} is not a ${rule.what} (it is ${kindOf(st)})`, {
      hint: `Sentinel neither uses nor replaces it. Point Sentinel at another path, or move it away if nothing needs it.`,
    });
  }
  if (rule.stickyRoot && st.uid === 0 && (st.mode & 0o1000) !== 0) return;
  if (!rule.owners.includes(st.uid)) {
    throw new SentinelError('UnsafePath', `${path} is owned by uid ${st.uid}, not by uid ${uid}`, {
      hint: rule.ownerHint ?? `Another user can change it. Fix with: chown ${uid} '${path}'`,
    });
  }
  if ((st.mode & rule.forbidden) !== 0) {
    const mode = octalMode(st.mode & ~rule.forbidden);
    const others = rule.forbidden === 0o077 ? 'accessible to other users' : 'writable by other users';
    throw new SentinelError('UnsafePath', `${path} is ${others} (mode ${octalMode(st.mode)})`, {
      hint: `Fix with: chmod ${mode} '${path}'`,
    });
  }
}

/** The same rule as a yes or no, for a path whose use is optional (nothing there, or anything unsafe, is a no). */
export function isTrusted(path: string, rule: TrustRule, uid: number = currentUid()): boolean {
  try {
    assertTrusted(path, lstatSync(path), rule, uid);
    return true;
  } catch {
    return false;
  }
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'something else';
}
