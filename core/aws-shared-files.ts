// The AWS shared config and credentials files as the AWS SDK for JavaScript finds and parses them, and the one check
// every Sentinel factory of an SDK client makes first (assertSdkCanReadAwsFiles): the SDK (@smithy/core's parseIni)
// keeps sections in plain objects, so a section named like a built-in makes it write onto JavaScript's built-in
// objects in the process that reads the file (sdkHazard). Every SDK client reads both files, for its settings if not
// for its credentials, so the check is made before any client that resolves either is built. Read only; nothing here
// logs or returns a setting (the files can hold keys): only file paths and section names leave this module.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { SentinelError } from './errors.js';
import { expandHome, type Env } from './paths.js';
import { isReservedName } from './profile-name.js';

/** Larger files are refused unread (an AWS config with thousands of SSO profiles is still far below this). */
export const MAX_AWS_CONFIG_BYTES = 4 * 1024 * 1024;

export interface AwsConfigFiles {
  configFile: string;
  credentialsFile: string;
}

/** The home directory the AWS SDK resolves `~/.aws` in. */
export function awsHome(env: Env = process.env): string {
  return env.HOME || env.USERPROFILE || homedir();
}

/** AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials (`~/` expanded). */
export function awsConfigFiles(env: Env = process.env): AwsConfigFiles {
  const home = awsHome(env);
  const pick = (value: string | undefined, fallback: string) =>
    value && value.length > 0 ? expandHome(value, { ...env, HOME: home }) : join(home, '.aws', fallback);
  return {
    configFile: pick(env.AWS_CONFIG_FILE, 'config'),
    credentialsFile: pick(env.AWS_SHARED_CREDENTIALS_FILE, 'credentials'),
  };
}

export type Section = Map<string, string>;

// The SDK's reading of an INI line (@smithy shared-ini-file-loader parseIni): `#` or `;` at the start of a line or
// after whitespace starts a comment; `[profile name]` sections; `key =` with an empty value opens a sub-section whose
// indented keys are stored as `key.sub`.
const PREFIXED_SECTION = /^([\w-]+)\s(["'])?([\w\-@+.%:/]+)\2$/;

/** Sections by their raw name (for the config file: `default`, `profile x`, `sso-session y`, ...). */
export function parseIni(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let sub: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.split(/(?:^|\s)[;#]/)[0]!.trim();
    if (trimmed.startsWith('[') && trimmed.endsWith(']')) {
      let name = trimmed.slice(1, -1);
      const prefixed = PREFIXED_SECTION.exec(name);
      if (prefixed) name = `${prefixed[1]} ${prefixed[3]}`;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      sub = undefined;
      continue;
    }
    if (!current) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) continue;
    const key = trimmed.slice(0, eq).trim();
    const value = trimmed.slice(eq + 1).trim();
    if (value === '') {
      sub = key;
      continue;
    }
    if (sub && line.trimStart() === line) sub = undefined;
    current.set(sub ? `${sub}.${key}` : key, value);
  }
  return sections;
}

/**
 * What the AWS SDK for JavaScript makes of a section, by its name as parseIni gives it. The SDK (@smithy/core's
 * parseIni) keeps sections in plain objects keyed by name, so a name plain objects already have is not just a name:
 * - `misread`: `__proto__`, under any prefix. `[profile __proto__]` (and `[__proto__]`) make the SDK throw, and it
 *   reads the whole file as empty; `[profile "__proto__"]` replaces the prototype of its profile map instead.
 * - `pollutes`: a built-in name without a prefix, `[constructor]`, `[toString]`, `[hasOwnProperty]`, ...: the SDK
 *   looks the section up on a plain object, finds the built-in Object (or Object.prototype.toString, ...) there, and
 *   writes the section's keys onto it, in whatever process reads the file: any SDK client does, for its settings.
 * `[profile constructor]` and the like are read as any other section; none of them is a profile Sentinel serves
 * (isValidProfileName).
 */
export type SdkHazard = 'misread' | 'pollutes';

export function sdkHazard(section: string): SdkHazard | undefined {
  const space = section.indexOf(' ');
  const name = space < 0 ? section : section.slice(space + 1);
  if (name === '__proto__') return 'misread';
  // `prototype` is the one reserved name a plain object does not have.
  if (space < 0 && name !== 'prototype' && isReservedName(name)) return 'pollutes';
  return undefined;
}

/** The section of `text` with the worst sdkHazard, or undefined when the SDK reads it as written. */
export function sdkHazardOf(text: string): { section: string; hazard: SdkHazard } | undefined {
  let found: { section: string; hazard: SdkHazard } | undefined;
  for (const section of parseIni(text).keys()) {
    const hazard = sdkHazard(section);
    if (hazard === 'pollutes') return { section, hazard };
    if (hazard && !found) found = { section, hazard };
  }
  return found;
}

/**
 * Throws BaseCredentialsUnavailable, naming the file and the section, when the AWS SDK would write onto built-in objects
 * (`pollutes`) or read a file as empty (`misread`) when a client built in this process reads the files `env` points it
 * at. Called by every factory of Sentinel's own SDK clients (boundedClientConfig, and the credential chains built
 * without it) before the client exists, so before any SDK code reads the files: once per client, and clients are made
 * once per command, daemon start or reload — never on the credential path, which checks the files itself
 * (daemon/vending/aws-config.ts). A missing or unreadable file is fine: the SDK reads it as empty too. `/dev/null`
 * (how `sentinel use` hides a file) is empty.
 */
export function assertSdkCanReadAwsFiles(env: Env = process.env): void {
  const files = awsConfigFiles(env);
  for (const path of [files.configFile, files.credentialsFile]) {
    const text = readForCheck(path);
    const found = text === undefined ? undefined : sdkHazardOf(text);
    if (!found) continue;
    const what =
      found.hazard === 'pollutes'
        ? "which the AWS SDK for JavaScript writes onto JavaScript's built-in objects when it reads the file"
        : 'which makes the AWS SDK for JavaScript read the whole file as empty';
    throw new SentinelError(
      'BaseCredentialsUnavailable',
      `the AWS config file ${path} has a section [${found.section}], ${what}; Sentinel makes no AWS client while it is there`,
      {
        hint: `Rename or remove [${found.section}] in ${path} (no profile may have that name).`,
        details: { section: found.section },
      },
    );
  }
}

/** The file's text, or undefined when the SDK cannot read it either (missing, a directory, unreadable). */
function readForCheck(path: string): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO is refused below instead of blocking the process on open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return undefined;
    // The SDK would wait for whatever a FIFO or socket gives it, which nobody can check beforehand.
    if (!st.isFile() && !st.isCharacterDevice()) {
      throw new SentinelError('BaseCredentialsUnavailable', `the AWS config file ${path} is not a regular file`, {
        hint: `Point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a regular file, or remove ${path}.`,
      });
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch {
        return undefined;
      }
      if (n === 0) break;
      total += n;
      if (total > MAX_AWS_CONFIG_BYTES) {
        throw new SentinelError('BaseCredentialsUnavailable', `the AWS config file ${path} is larger than 4 MiB`, {
          hint: `Shorten ${path}: Sentinel checks the file before any AWS SDK client reads it, and reads at most 4 MiB.`,
        });
      }
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
