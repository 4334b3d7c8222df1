// The user's AWS shared config and credentials files, read where the AWS CLI reads them and parsed the way the AWS SDK
// for JavaScript parses them (so the profiles Sentinel lists are the ones `fromIni` will resolve). Read only: nothing
// is ever written to ~/.aws. Profile settings can hold secrets (static keys); they stay inside this module and the
// base-credential resolver and are never logged or returned to callers.
import { statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import { assertTrustedFile } from '../../core/path-trust.js';
import { closeMatches } from '../../core/text/close-matches.js';
import type { ProfileInfo } from '../../core/issuer/types.js';
import { MAX_PROFILE_NAME, PROFILE_NAME_RULE, isValidProfileName } from '../../core/profile-name.js';
import {
  MAX_AWS_CONFIG_BYTES,
  parseIni,
  sdkHazardOf,
  type AwsConfigFiles,
  type SdkHazard,
  type Section,
} from '../../core/aws-shared-files.js';

// Moved to core/ (Sentinel's own AWS clients check the files with them too); exported here for existing callers.
export {
  MAX_AWS_CONFIG_BYTES,
  awsConfigFiles,
  awsHome,
  parseIni,
  sdkHazard,
  sdkHazardOf,
  type AwsConfigFiles,
  type SdkHazard,
  type Section,
} from '../../core/aws-shared-files.js';

/** Throws BadRequest for a name Sentinel would never look up (without echoing it: it may be hostile). */
export function checkProfileName(name: unknown): string {
  if (!isValidProfileName(name)) {
    throw new SentinelError(
      'BadRequest',
      `invalid profile name: use ${PROFILE_NAME_RULE}, at most ${MAX_PROFILE_NAME} characters`,
    );
  }
  return name;
}

/** Profiles by name: the config file's `[default]` (or `[profile default]`, which replaces it) and `[profile x]`
 * merged with the credentials file's `[x]`, the credentials file winning key by key (as the SDK and the CLI do). */
export function mergeProfiles(configText: string, credentialsText: string): Map<string, Section> {
  const profiles = new Map<string, Section>();
  const merge = (name: string, section: Section) => {
    const into = profiles.get(name) ?? new Map<string, string>();
    for (const [k, v] of section) into.set(k, v);
    profiles.set(name, into);
  };
  const config = parseIni(configText);
  // The SDK keeps [default] only when there is no [profile default]; the two are not merged.
  const plainDefault = config.has('profile default') ? undefined : config.get('default');
  if (plainDefault) merge('default', plainDefault);
  for (const [name, section] of config) {
    if (name.startsWith('profile ')) merge(name.slice('profile '.length), section);
  }
  for (const [name, section] of parseIni(credentialsText)) merge(name, section);
  return profiles;
}

const REGION = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** A profile with everything the vendor needs. `settings` may hold secrets: never log it or send it anywhere. */
export interface AwsProfile {
  info: ProfileInfo;
  credentialSource?: string;
  /** true when role_arn is set but the profile names no source Sentinel can call AssumeRole from. */
  roleWithoutSource: boolean;
  settings: ReadonlyMap<string, string>;
}

export function toAwsProfile(name: string, settings: Section): AwsProfile {
  const get = (key: string) => {
    const v = settings.get(key);
    return v === undefined || v === '' ? undefined : v;
  };
  const roleArn = get('role_arn');
  const sourceProfile = get('source_profile');
  const credentialSource = get('credential_source');
  const region = get('region');
  // A web-identity profile's role_arn is assumed with AssumeRoleWithWebIdentity, where the SourceIdentity comes from
  // the token, not from Sentinel: there is nothing for Sentinel to stamp.
  const hasSource = (sourceProfile !== undefined) !== (credentialSource !== undefined);
  const stampable = roleArn !== undefined && hasSource && get('web_identity_token_file') === undefined;
  const info: ProfileInfo = {
    name,
    ...(region !== undefined && REGION.test(region) ? { region } : {}),
    ...(roleArn !== undefined ? { roleArn } : {}),
    ...(sourceProfile !== undefined ? { sourceProfile } : {}),
    ...(get('external_id') !== undefined ? { externalId: get('external_id') } : {}),
    stampable,
  };
  return {
    info,
    ...(credentialSource !== undefined ? { credentialSource } : {}),
    roleWithoutSource: roleArn !== undefined && !stampable,
    settings,
  };
}

/**
 * Throws `code` unless nobody but the user and root can change the AWS config or credentials file `path`
 * (assertTrustedFile, as for a policy file, DESIGN §5.4): the files decide which commands the daemon runs
 * (credential_process) and whose keys it signs with, and a session's copy keeps where AWS calls go (endpoint_url,
 * services, ca_bundle), so another user who can rewrite one, or replace it through a directory above it, would run her
 * commands as this user or receive her AWS calls. A missing file, or /dev/null, reads as empty and is not checked.
 * `why` is added to the hint.
 */
export function assertTrustedAwsFile(
  path: string,
  code: 'BaseCredentialsUnavailable' | 'UnsafePath' = 'BaseCredentialsUnavailable',
  why?: string,
): void {
  try {
    const st = statSync(path);
    if (st.isFile()) assertTrustedFile(path);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return;
    if (!(e instanceof SentinelError)) throw unreadable(path, e);
    throw new SentinelError(code, `the AWS config file ${path} is refused: ${e.message}`, {
      hint: why ? `${e.hint.replace(/\.?$/, '.')} ${why}` : e.hint,
    });
  }
}

/** Reads at most MAX_AWS_CONFIG_BYTES; a missing file is empty (the CLI treats it so). Never blocks on a FIFO. */
async function readConfigFile(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return '';
    throw unreadable(path, e);
  }
  // /dev/null is how `sentinel use` hides the files from child processes; a character device reads as empty or is
  // cut at the size limit below. FIFOs, sockets and directories are refused rather than read.
  if (!st.isFile() && !st.isCharacterDevice()) throw unreadable(path, { code: 'not a regular file' });
  if (st.size > MAX_AWS_CONFIG_BYTES) throw unreadable(path, { code: 'larger than 4 MiB' });
  const handle = await open(path, 'r').catch((e) => {
    throw unreadable(path, e);
  });
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_AWS_CONFIG_BYTES) throw unreadable(path, { code: 'larger than 4 MiB' });
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

function unreadable(path: string, e: unknown): SentinelError {
  const code = (e as { code?: unknown })?.code;
  return new SentinelError(
    'BaseCredentialsUnavailable',
    `the AWS config file ${path} cannot be read (${typeof code === 'string' ? code : 'error'})`,
    {
      hint: 'Fix the file or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a readable one, then `sentinel daemon reload`.',
    },
  );
}

/** A file as a stat sees it: device, inode, size, mtime, ctime; or why there is none. A rewrite in place, a replace by
 * rename, a chmod or chown each change it. Synchronous: it is what a warm credential request pays (AwsConfig.unchanged). */
function fingerprint(path: string): string {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) return 'missing:ENOENT';
    // /dev/null reads as empty whatever its times say.
    if (st.isCharacterDevice()) return `chr:${st.rdev}`;
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (e) {
    return `missing:${(e as NodeJS.ErrnoException).code ?? ''}`;
  }
}

/**
 * A file changed this recently before it was read may change again without its stamp moving: a rewrite of the same
 * size, in place, within the file system's timestamp granularity. Until it is older than this, a lookup reads the
 * files again instead of trusting the stamp (git's "racy clean" rule). Linux stamps files from a clock that ticks
 * every 1–10 ms (RACY_MS covers it); a file system that keeps whole seconds (HFS+, ext3; FAT two) needs
 * RACY_COARSE_MS, and is recognised by times without a fraction of a second.
 */
export const RACY_MS = 100;
export const RACY_COARSE_MS = 2500;

function racy(path: string, readAt: number): boolean {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile()) return false;
    const coarse = st.mtimeMs % 1000 === 0 && st.ctimeMs % 1000 === 0;
    return readAt - Math.max(st.mtimeMs, st.ctimeMs) < (coarse ? RACY_COARSE_MS : RACY_MS);
  } catch {
    return false;
  }
}

export interface AwsConfig {
  readonly files: AwsConfigFiles;
  /** Profiles with valid names, sorted by name, without any setting but the public ones of ProfileInfo. */
  profiles(): Promise<ProfileInfo[]>;
  /** Throws BadRequest for an invalid name, ProfileUnknown (with close matches) for an absent one. */
  profile(name: string): Promise<AwsProfile>;
  /**
   * The profile as `profile()` last read it, when neither file has changed since: one stat of each file at most once
   * per `checkEveryMs` (AWS_CONFIG_CHECK_MS), nothing read, no trust check. Undefined when one has changed (or was
   * replaced, or its mode or owner changed), when nothing was read yet, or when the last read is too recent to trust
   * the stamp (RACY_MS): then `profile()` reads them. Throws what `profile()` would throw for those same files
   * (BadRequest, ProfileUnknown, the SDK-hazard refusal). This is what a warm credential request costs (DESIGN §3.4):
   * it learns of an edit of ~/.aws/config within a second, without a watcher and without reading the file.
   */
  unchanged(name: string): AwsProfile | undefined;
  /** Forget what was read; the next call reads the files again. */
  reload(): void;
  /** As of the last lookup: why the files must not be handed to the SDK's fromIni (sdkHazard), or undefined. */
  sdkRefusal(): SentinelError | undefined;
}

/**
 * The files are re-read when they change (stat on each lookup: a profile added with `aws configure` is seen without a
 * reload). A lookup (`profile()`: session opens, credential_process requests, credential cache misses) also checks that
 * the files can be trusted; a warm credential request only stats them (`unchanged()`), and looks up when they changed.
 */
/** How often a warm credential request stats the AWS files (unchanged()): at most once in this many ms. A stat is a
 * system call, 2.5–10 µs where system calls are intercepted (gVisor, this project's build machines) — two of them on
 * every warm request tripled the decision path's CPU — while an edit of ~/.aws/config a second late costs nothing. */
export const AWS_CONFIG_CHECK_MS = 1_000;

export interface AwsConfigOptions {
  /** unchanged() stats the files at most once in this many ms (default AWS_CONFIG_CHECK_MS; 0: on every call). */
  checkEveryMs?: number;
  /** The clock the interval is measured on (tests). */
  now?: () => number;
}

export function createAwsConfig(files: AwsConfigFiles, log: OpLogger, options: AwsConfigOptions = {}): AwsConfig {
  const checkEveryMs = options.checkEveryMs ?? AWS_CONFIG_CHECK_MS;
  const clock = options.now ?? Date.now;
  /** When the stamp of `loaded` was last confirmed by a stat (at its read, or by unchanged()). */
  let confirmedAt = -Infinity;
  let loaded: { stamp: string; profiles: Map<string, AwsProfile>; hazard?: Hazard; racy: boolean } | undefined;
  let loading: Promise<Map<string, AwsProfile>> | undefined;

  async function load(): Promise<Map<string, AwsProfile>> {
    // On every lookup, not only when a file changed: a directory above it can be opened to others without touching it.
    assertTrustedAwsFile(files.configFile);
    assertTrustedAwsFile(files.credentialsFile);
    const readAt = Date.now();
    const stamp = stampNow();
    if (loaded && loaded.stamp === stamp && !loaded.racy) return loaded.profiles;
    const [configText, credentialsText] = await Promise.all([
      readConfigFile(files.configFile),
      readConfigFile(files.credentialsFile),
    ]);
    const profiles = new Map<string, AwsProfile>();
    let skipped = 0;
    for (const [name, settings] of mergeProfiles(configText, credentialsText)) {
      if (isValidProfileName(name)) profiles.set(name, toAwsProfile(name, settings));
      else skipped++;
    }
    if (skipped > 0) log.debug({ skipped }, 'AWS config profiles with names Sentinel does not accept were skipped');
    let hazard: Hazard | undefined;
    for (const [path, text] of [
      [files.configFile, configText],
      [files.credentialsFile, credentialsText],
    ] as const) {
      const found = sdkHazardOf(text);
      if (found && !hazard?.pollutes) hazard = hazardOf(path, found.section, found.hazard);
    }
    if (hazard) log.warn({ section: hazard.section }, hazard.refusal.message);
    const recent = racy(files.configFile, readAt) || racy(files.credentialsFile, readAt);
    loaded = { stamp, profiles, ...(hazard ? { hazard } : {}), racy: recent };
    confirmedAt = clock();
    return profiles;
  }

  function stampNow(): string {
    return `${fingerprint(files.configFile)}|${fingerprint(files.credentialsFile)}`;
  }

  /** The profile `name` of `profiles`, or the refusal profile() gives. */
  function find(profiles: Map<string, AwsProfile>, name: string, hazard: Hazard | undefined): AwsProfile {
    // Any SDK client Sentinel makes for this profile (STS, SSO) reads the files: none is made.
    if (hazard?.pollutes) throw hazard.refusal;
    const found = profiles.get(name);
    if (found) return found;
    const near = closeMatches(name, profiles.keys());
    throw new SentinelError(
      'ProfileUnknown',
      `no profile "${name}" in the AWS config${near.length > 0 ? ` (did you mean ${near.map((n) => `"${n}"`).join(', ')}?)` : ''}`,
      { details: { profile: name, ...(near.length > 0 ? { close_matches: near } : {}) } },
    );
  }

  function current(): Promise<Map<string, AwsProfile>> {
    // Concurrent lookups share one read.
    loading ??= load().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  return {
    files,
    async profiles() {
      const all = await current();
      return [...all.values()].map((p) => ({ ...p.info })).sort((a, b) => a.name.localeCompare(b.name));
    },
    async profile(name) {
      checkProfileName(name);
      const all = await current();
      return find(all, name, loaded?.hazard);
    },
    unchanged(name) {
      // A read in progress may be about to replace `loaded`, or fail: wait for it.
      if (!loaded || loaded.racy || loading) return undefined;
      const last = loaded;
      const at = clock();
      // Within the interval the last stat stands (a clock that went back checks at once).
      if (at - confirmedAt >= checkEveryMs || at < confirmedAt) {
        if (stampNow() !== last.stamp) return undefined;
        confirmedAt = at;
      }
      // The map holds only valid names: a hit needs no name check.
      if (!last.hazard?.pollutes) {
        const found = last.profiles.get(name);
        if (found) return found;
      }
      checkProfileName(name);
      return find(last.profiles, name, last.hazard);
    },
    reload() {
      loaded = undefined;
    },
    sdkRefusal: () => loaded?.hazard?.refusal,
  };
}

interface Hazard {
  section: string;
  pollutes: boolean;
  refusal: SentinelError;
}

function hazardOf(path: string, section: string, hazard: SdkHazard): Hazard {
  const rename = `Rename or remove [${section}] (no profile may have that name).`;
  const refusal =
    hazard === 'pollutes'
      ? new SentinelError(
          'BaseCredentialsUnavailable',
          `the AWS config file ${path} has a section [${section}], which the AWS SDK for JavaScript writes onto JavaScript's built-in objects when it reads the file; Sentinel serves no credentials while it is there`,
          { hint: rename, details: { section } },
        )
      : new SentinelError(
          'BaseCredentialsUnavailable',
          `the AWS config file ${path} has a section [${section}], which makes the AWS SDK for JavaScript misread the file (it reads [profile __proto__] as an empty file)`,
          {
            hint: `${rename} Until then profiles whose base credentials come from SSO or web identity, which the SDK resolves, are refused; keys, credential_process and credential_source, which Sentinel reads and runs itself, still work.`,
            details: { section },
          },
        );
  return { section, pollutes: hazard === 'pollutes', refusal };
}
