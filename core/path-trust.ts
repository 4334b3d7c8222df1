// Whether a path can be trusted by the user who runs Sentinel (DESIGN §2, §3.1, §5.4): who owns it and who else may
// write to it. Anyone who can replace a file, or the directory entry that names it, decides what Sentinel reads — a
// policy that grants prod, or a socket that hands out her own AWS keys. Refusals name the path and the command that
// fixes it, as ssh does for its keys. Dependency-free: the light CLI path imports it.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
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
      hint:
        rule.ownerHint ??
        (st.uid !== 0 && inSharedDirectory(path)
          ? SHARED_PLACE_HINT(path)
          : `Another user can change it. Fix with: chown ${uid} '${path}'`),
    });
  }
  const forbidden =
    (st.mode & rule.forbidden & 0o070) !== 0 && isPrivateGroup(st.gid, uid) ? rule.forbidden & ~0o070 : rule.forbidden;
  if ((st.mode & forbidden) !== 0) {
    const mode = octalMode(st.mode & ~rule.forbidden);
    const others = rule.forbidden === 0o077 ? 'accessible to other users' : 'writable by other users';
    throw new SentinelError('UnsafePath', `${path} is ${others} (mode ${octalMode(st.mode)})`, {
      hint: `Fix with: chmod ${mode} '${path}'`,
    });
  }
}

/**
 * Whether `gid` is a user private group of `uid`: a group whose one member is that user. Where every user has one (the
 * Debian and Ubuntu default, with umask 002), the user's directories are group-writable and only she can write them,
 * so their group bits are hers; Debian's OpenSSH accepts them the same way (its user-group-modes patch). Members are
 * read from /etc/passwd (primary) and /etc/group (supplementary); a group those files do not list (LDAP, sssd) is not
 * taken as private, and its bits are refused as before.
 */
export function isPrivateGroup(gid: number, uid: number, files: AccountFiles = SYSTEM_ACCOUNTS): boolean {
  const key = `${gid}:${uid}:${files.passwd}:${files.group}`;
  let known = privateGroups.get(key);
  if (known === undefined) privateGroups.set(key, (known = groupHasOnlyMember(gid, uid, files)));
  return known;
}

export interface AccountFiles {
  passwd: string;
  group: string;
}

const SYSTEM_ACCOUNTS: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' };

const privateGroups = new Map<string, boolean>();
/** Larger account databases are not read: such a system keeps its groups elsewhere too. */
const MAX_ACCOUNT_FILE = 4 * 1024 * 1024;

function accountLines(file: string): string[][] | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length > MAX_ACCOUNT_FILE) return undefined;
    return text.split('\n').map((l) => l.split(':'));
  } catch {
    return undefined;
  }
}

/** A numeric id field; an empty or garbled one is no id (Number('') would be 0, root's). */
const idOf = (field: string | undefined) => (field !== undefined && /^\d+$/.test(field) ? Number(field) : Number.NaN);

function groupHasOnlyMember(gid: number, uid: number, files: AccountFiles): boolean {
  const users = accountLines(files.passwd);
  const groups = accountLines(files.group);
  if (!users || !groups) return false;
  let name: string | undefined;
  let primary = 0;
  for (const f of users) {
    if (f.length < 4 || f[0]!.startsWith('+') || f[0]!.startsWith('-')) continue;
    if (idOf(f[2]) === uid) name ??= f[0];
    if (idOf(f[3]) === gid) {
      if (idOf(f[2]) !== uid) return false;
      primary++;
    }
  }
  const group = groups.find((f) => f.length >= 4 && idOf(f[2]) === gid);
  if (!name || !group) return false;
  const extra = group[3]!.split(',').filter((m) => m.trim() !== '');
  if (extra.some((m) => m.trim() !== name)) return false;
  // A group nobody is in (setgid programs use such groups) is not the user's.
  return primary + extra.length > 0;
}

// In a directory everyone may create entries in (/tmp), a path of another user's is one she may have created first,
// to be used: taking it over with chown would adopt whatever she left in it, and its owner could still act on it.
const SHARED_PLACE_HINT = (path: string) =>
  `Another user may have created ${path} first, in a directory everyone can write to: do not use it or take it over. ` +
  `Point Sentinel at a directory of your own (XDG_STATE_HOME, XDG_RUNTIME_DIR, or the path in your config), or have ` +
  `it removed by its owner or root.`;

function inSharedDirectory(path: string): boolean {
  try {
    const parent = lstatSync(dirname(path));
    return parent.uid === 0 && (parent.mode & 0o1000) !== 0 && (parent.mode & 0o002) !== 0;
  } catch {
    return false;
  }
}

const TRUSTED_DIRECTORY = (uid: number): TrustRule => ({
  owners: [uid, 0],
  forbidden: 0o022,
  what: 'directory',
  stickyRoot: true,
});

/**
 * Throws UnsafePath unless nobody but the user and root can change what `dir` names: `dir` and every directory above
 * it belong to the user or root and are closed to others' writes (a root-owned sticky directory such as /tmp excepted:
 * there nobody can rename what is ours), and every symlink on the way is the user's or root's. Checking `dir` alone is
 * not enough: whoever can write to a directory above it can rename it away and put her own in its place, and whoever
 * owns a symlink on the way can point it elsewhere at any time — both long after the check.
 */
export function assertTrustedDirectory(dir: string, uid: number = currentUid()): void {
  walkTrusted(isAbsolute(dir) ? dir : join(process.cwd(), dir), uid, 0);
}

/** assertTrustedDirectory as a yes or no, for a directory whose use is optional. */
export function isTrustedDirectory(dir: string, uid: number = currentUid()): boolean {
  try {
    assertTrustedDirectory(dir, uid);
    return true;
  } catch {
    return false;
  }
}

function walkTrusted(path: string, uid: number, links: number): void {
  const rule = TRUSTED_DIRECTORY(uid);
  let current = '/';
  assertTrusted(current, statOf(current), rule, uid);
  for (const name of path.split('/')) {
    if (name === '' || name === '.') continue;
    // `current` never contains a symlink (each is replaced by its target below), so its dirname is where ".." leads.
    if (name === '..') {
      current = dirname(current);
      continue;
    }
    const next = current === '/' ? `/${name}` : `${current}/${name}`;
    const st = statOf(next);
    if (!st.isSymbolicLink()) {
      assertTrusted(next, st, rule, uid);
      current = next;
      continue;
    }
    const target = followLink(next, st, path, uid, links);
    walkTrusted(target, uid, links + 1);
    current = target;
  }
}

/** Where the symlink `link` (lstat `st`) leads, once it is known to be the user's or root's: whoever owns a link can
 * point it elsewhere at any time. `path` is what is being checked, for the message about a loop. */
function followLink(link: string, st: Stats, path: string, uid: number, links: number): string {
  if (st.uid !== uid && st.uid !== 0) {
    throw new SentinelError('UnsafePath', `${link} is a symlink owned by uid ${st.uid}, not by uid ${uid}`, {
      hint: `Whoever owns the link can point it elsewhere at any time. Remove it (its target stays) and point Sentinel at a directory of your own.`,
    });
  }
  if (links >= 8) throw new SentinelError('UnsafePath', `${path} goes through too many symlinks`);
  try {
    return realpathSync(link);
  } catch (e) {
    throw new SentinelError(
      'UnsafePath',
      `${link} cannot be resolved (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * Throws UnsafePath unless nobody but the user and root can change what the file `path` holds: a regular file of the
 * user's or root's that others cannot write, in a directory that assertTrustedDirectory accepts (every directory above
 * it checked, a root-owned sticky one such as /tmp excepted). A symlink in its place (a dotfile manager's) must be the
 * user's or root's and is followed, its target checked the same way where it lies. The one rule for the files that
 * decide what Sentinel does: the policy and its signature, the AWS config and credentials files, whether the daemon
 * reads them or a session's copy of the config is made from them.
 */
export function assertTrustedFile(path: string, uid: number = currentUid()): void {
  checkFile(isAbsolute(path) ? path : join(process.cwd(), path), uid, 0);
}

function checkFile(path: string, uid: number, links: number): void {
  assertTrustedDirectory(dirname(path), uid);
  const st = statOf(path);
  if (!st.isSymbolicLink()) return assertTrusted(path, st, { owners: [uid, 0], forbidden: 0o022, what: 'file' }, uid);
  checkFile(followLink(path, st, path, uid, links), uid, links + 1);
}

/**
 * Opens `file` for appending (created 0600, its directory 0700) where only the user can have put it: a trusted
 * directory (assertTrustedDirectory), never through a symlink, and only a regular file of the user's.
 */
export function openTrustedAppend(file: string, uid: number = currentUid()): number {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  assertTrustedDirectory(dir, uid);
  let fd: number;
  try {
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants;
    fd = openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SentinelError(
      'UnsafePath',
      code === 'ELOOP' ? `${file} is not a file (a symlink)` : `${file} cannot be opened (${code ?? 'error'})`,
    );
  }
  try {
    assertTrusted(file, fstatSync(fd), { owners: [uid], forbidden: 0o022, what: 'file' }, uid);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

function statOf(path: string): Stats {
  const st = statIfPresent(path);
  if (!st) throw new SentinelError('UnsafePath', `${path} does not exist`);
  return st;
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

/** What a path is, for a message about the wrong kind of thing. */
export function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'something else';
}

/**
 * Opens `file` for reading only as a regular file of the user's: never through a symlink and never waiting (a FIFO in
 * its place would block the thread in open()). undefined when nothing is there; anything else throws an Error whose
 * message says what it is, to follow the path ("is a symlink", "is not a regular file of uid 0", ...).
 */
export function openOwnRegularFile(file: string, uid: number = currentUid()): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new Error(code === 'ELOOP' ? 'is a symlink' : `cannot be opened (${code})`);
  }
  const st = fstatSync(fd);
  if (!st.isFile() || st.uid !== uid) {
    closeSync(fd);
    throw new Error(`is not a regular file of uid ${uid}`);
  }
  return fd;
}

/**
 * The text of a small file only the user can have put there (openOwnRegularFile), or undefined when there is none; at
 * most `maxBytes`, so a link to /dev/zero cannot run the reader out of memory. Anything else throws an Error saying
 * what is there ("it is a symlink", "it is not a regular file of uid 0", "it is 100000 bytes long").
 */
export function readOwnSmallFile(file: string, maxBytes: number, uid: number = currentUid()): string | undefined {
  let fd: number | undefined;
  try {
    fd = openOwnRegularFile(file, uid);
  } catch (e) {
    throw new Error(`it ${(e as Error).message}`);
  }
  if (fd === undefined) return undefined;
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new Error(`it is ${size} bytes long`);
    const buf = Buffer.alloc(maxBytes + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > maxBytes) throw new Error('it is too long');
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
