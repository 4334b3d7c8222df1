// The AWS config a session sees (DESIGN §8): a private copy of the user's config that keeps only settings on an
// allowlist. An allowlist rather than a denylist, so a credential key AWS adds later (or one we never heard of) is
// dropped too, and no profile in the copy can resolve credentials ahead of the daemon's container endpoint. The copy
// lives in the 0700 runtime directory, mode 0600, one per original file, and is rewritten whenever the original's
// filtered content differs (each `use` and `exec` checks).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SentinelError } from '../core/errors.js';
import { replaceFile } from '../core/replace-file.js';
import { ensurePrivateDir } from '../daemon/runtime/runtime-dir.js';
import {
  assertTrustedAwsFile,
  awsConfigFiles,
  MAX_AWS_CONFIG_BYTES,
  parseIni,
  sdkHazard,
  type Section,
} from '../daemon/vending/aws-config.js';
import { hasControlCharacters } from '../core/text/printable.js';

const PLAIN_KEYS = new Set([
  'region',
  'output',
  'retry_mode',
  'max_attempts',
  'ca_bundle',
  'parameter_validation',
  'duration_seconds',
  'endpoint_url',
  'services',
  'sdk_ua_app_id',
]);
const NAME = /^[A-Za-z0-9_-]{1,128}$/;
// Section names as parseIni normalises them; sso-session and anything else is dropped with its keys.
const PROFILE_SECTION = /^(default|profile [\w\-@+.%:/]{1,256})$/;
const SERVICES_SECTION = /^services [\w\-@+.%:/]{1,256}$/;

function keepProfileKey(key: string): boolean {
  const [head, sub, ...rest] = key.split('.');
  if (rest.length > 0 || !NAME.test(head!)) return false;
  if (sub === undefined) return PLAIN_KEYS.has(head!) || /^cli_[a-z_]{1,64}$/.test(head!);
  return head === 's3' && NAME.test(sub);
}

function keepServicesKey(key: string): boolean {
  const [service, sub, ...rest] = key.split('.');
  return rest.length === 0 && NAME.test(service!) && sub === 'endpoint_url';
}

function render(name: string, section: Section, keep: (key: string) => boolean): string {
  const plain: string[] = [];
  const subs = new Map<string, string[]>();
  for (const [key, value] of section) {
    if (!keep(key) || hasControlCharacters(value) || value.length > 4096) continue;
    const dot = key.indexOf('.');
    if (dot < 0) plain.push(`${key} = ${value}`);
    else {
      const list = subs.get(key.slice(0, dot)) ?? [];
      list.push(`  ${key.slice(dot + 1)} = ${value}`);
      subs.set(key.slice(0, dot), list);
    }
  }
  const lines = [`[${name}]`, ...plain];
  for (const [sub, list] of subs) lines.push(`${sub} =`, ...list);
  return lines.join('\n') + '\n';
}

/** The allowlisted part of an AWS config file's text. Every profile section stays (so `aws configure list-profiles`
 * still lists them), holding only allowlisted keys, except one that would make the AWS SDK for JavaScript in the
 * session misread the copy (`[profile __proto__]`: sdkHazard), which is named in `left`. */
function filterSections(text: string): { copy: string; left?: string } {
  const out: string[] = ['# Written by Sentinel for its sessions; edit your AWS config, not this copy.\n'];
  let left: string | undefined;
  for (const [name, section] of parseIni(text)) {
    const keep = PROFILE_SECTION.test(name) ? keepProfileKey : SERVICES_SECTION.test(name) ? keepServicesKey : null;
    if (!keep) continue;
    if (sdkHazard(name)) left ??= name;
    else out.push(render(name, section, keep));
  }
  return { copy: out.join('\n'), ...(left !== undefined ? { left } : {}) };
}

export function filterAwsConfig(text: string): string {
  return filterSections(text).copy;
}

// The copy keeps where the session's AWS calls go and which CA they trust, with the daemon's credentials in hand.
const REFUSED_WHY =
  'Until then `use` and `exec` open no session: the session gets a copy of its endpoint_url, services and ca_bundle settings, which whoever can change the file could point at her own endpoint.';

function readOriginal(file: string): string {
  assertTrustedAwsFile(file, 'UnsafePath', REFUSED_WHY);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return ''; // /dev/null or a directory: nothing to keep
    size = st.size;
  } catch {
    return '';
  }
  if (size > MAX_AWS_CONFIG_BYTES) {
    throw new SentinelError('UsageError', `${file} is larger than ${MAX_AWS_CONFIG_BYTES} bytes`, {
      hint: `Sentinel copies the allowed settings of ${file} for the session; shrink the file or point AWS_CONFIG_FILE at a smaller one.`,
    });
  }
  return readFileSync(file, 'utf8');
}

export interface SessionAwsConfig {
  /** The copy. */
  file: string;
  /** What the user should know: a section of the original left out of the copy. */
  warning?: string;
}

/**
 * Writes (or keeps, when unchanged) the session's copy of the config that `env` names. A copy of a copy is the same
 * content, so a shell that already points at one gets the same file back. Throws UnsafePath, and writes nothing, when
 * another user could change the original (assertTrustedAwsFile): the session is refused rather than given her settings.
 */
export function sessionAwsConfig(runtimeDir: string, env: NodeJS.ProcessEnv): SessionAwsConfig {
  ensurePrivateDir(runtimeDir);
  const original = awsConfigFiles(env).configFile;
  const { copy: wanted, left } = filterSections(readOriginal(original));
  const warning =
    left === undefined
      ? undefined
      : `[${left}] in ${original} is left out of the session's AWS config: the AWS SDK for JavaScript misreads a file with it (rename or remove it)`;
  const result = (file: string) => ({ file, ...(warning ? { warning } : {}) });
  const id = createHash('sha256').update(original).digest('hex').slice(0, 16);
  const target = join(runtimeDir, `aws-config-${id}`);
  try {
    if (readFileSync(target, 'utf8') === wanted && (statSync(target).mode & 0o777) === 0o600) return result(target);
  } catch {
    // absent or unreadable: written below
  }
  replaceFile(target, wanted, { sync: true });
  return result(target);
}
