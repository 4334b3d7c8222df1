// Tamper evidence for the decision log (DESIGN §7, §14). Each signed line is
//   {"entry":{...},"key_id":hex,"prev":hex,"timestamp":...,"v":2,"signature":hex}
// with signature = HMAC-SHA256(key, canonical JSON of the whole line without `signature`) — every field, outer ones
// included — and prev = the previous line's signature (64 zeros for the first line). key_id names the key, so keys
// rotate from one line to the next. Wave-1 lines (no `v`) signed only prev + entry; verify.ts still checks them.
import { createHmac, createSecretKey } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { SentinelError } from '../errors.js';
import { currentUid, kindOf, octalMode } from '../path-trust.js';
import { canonicalJson } from './entry.js';
import type { DecisionEntry } from './types.js';
import { HEX16 } from '../text/hex-id.js';

export const GENESIS = '0'.repeat(64);
export const MIN_KEY_BYTES = 32;
const MAX_KEY_BYTES = 64 * 1024;
export const SIGNATURE = /^[0-9a-f]{64}$/;
export const KEY_ID = HEX16;

export interface HmacKey {
  key: Buffer;
  /** Names the key without revealing it: the first 16 hex of HMAC(key, "sentinel decision log key id"). */
  keyId: string;
}

export function hmacKey(key: Buffer): HmacKey {
  if (key.length < MIN_KEY_BYTES)
    throw new SentinelError('ConfigInvalid', `the decision log HMAC key must be at least ${MIN_KEY_BYTES} bytes`);
  return { key, keyId: createHmac('sha256', key).update('sentinel decision log key id').digest('hex').slice(0, 16) };
}

/** Where a key file was named: the hints say what to fix there. */
export type KeyFileSource = 'config' | '--key-file';

const keyFileHints = {
  config: {
    missing:
      'Create it with `umask 077; openssl rand -hex 32 > <file>` or remove audit.hmac_key_file from config.yaml.',
    notAFile: 'Point audit.hmac_key_file in config.yaml at the key file itself (a regular file of yours, mode 0600).',
    short: 'Generate a new one with `umask 077; openssl rand -hex 32 > <file>`.',
  },
  '--key-file': {
    missing: 'Check the path given to --key-file.',
    notAFile: 'Give --key-file the key file itself (a regular file of yours, mode 0600).',
    short: 'Give --key-file the key the log was signed with.',
  },
} satisfies Record<KeyFileSource, Record<string, string>>;

/**
 * Reads a decision-log HMAC key file, failing closed: it must be a regular file owned by this user and readable by
 * nobody else (0600 or 0400), with at least 32 bytes. The bytes are the key, less one trailing newline (so `openssl
 * rand -hex 32 > key` and `printf` give the same key as they look).
 */
export function loadHmacKey(file: string, source: KeyFileSource = 'config'): HmacKey {
  const hints = keyFileHints[source];
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer, forever; this way fstat refuses it below.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new SentinelError(
      'ConfigInvalid',
      `the decision log HMAC key file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { hint: hints.missing },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new SentinelError(
        'UnsafePath',
        `the decision log HMAC key file ${file} is ${kindOf(st)}, not a regular file`,
        { hint: hints.notAFile },
      );
    if (st.uid !== currentUid())
      throw new SentinelError('UnsafePath', `the decision log HMAC key file ${file} belongs to another user`, {
        hint: 'Use a key file of your own: a key others control proves nothing about who wrote the log.',
      });
    if ((st.mode & 0o077) !== 0)
      throw new SentinelError(
        'UnsafePath',
        `the decision log HMAC key file ${file} must be readable by you alone (mode 0600, not ${octalMode(st.mode)})`,
        { hint: `Run \`chmod 600 ${file}\`.` },
      );
    if (st.size > MAX_KEY_BYTES)
      throw new SentinelError('ConfigInvalid', `the decision log HMAC key file ${file} is larger than 64 KiB`, {
        hint: hints.notAFile,
      });
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < buf.length) {
      const n = readSync(fd, buf, read, buf.length - read, read);
      if (n === 0) break;
      read += n;
    }
    let key = buf.subarray(0, read);
    if (key.at(-1) === 0x0a) key = key.subarray(0, key.at(-2) === 0x0d ? -2 : -1);
    if (key.length < MIN_KEY_BYTES) {
      throw new SentinelError(
        'ConfigInvalid',
        `the decision log HMAC key in ${file} is shorter than ${MIN_KEY_BYTES} bytes`,
        { hint: hints.short },
      );
    }
    return hmacKey(Buffer.from(key));
  } finally {
    closeSync(fd);
  }
}

/** Wave 1's rule (lines without `v`): HMAC over prev followed by the canonical entry. Outer fields were not covered. */
export function signV1(key: HmacKey, prev: string, canonicalEntry: string): string {
  return createHmac('sha256', key.key).update(prev).update(canonicalEntry).digest('hex');
}

/** The current rule (`"v":2`): HMAC over the canonical JSON of the whole line without `signature`. */
export function signWhole(key: HmacKey, unsigned: string): string {
  return createHmac('sha256', key.key).update(unsigned).digest('hex');
}

export const LINE_VERSION = 2;

/**
 * The canonical JSON of a line without its signature, built by hand so the entry is serialised once. The keys are
 * already in sorted order (entry, key_id, prev, timestamp, v) and every part is JSON (hex and RFC 3339 need no
 * escaping), so this string is exactly canonicalJson() of the parsed line less `signature`.
 */
function unsignedLine(keyId: string, prev: string, canonical: string, timestamp: string): string {
  return `{"entry":${canonical},"key_id":"${keyId}","prev":"${prev}","timestamp":${JSON.stringify(timestamp)},"v":${LINE_VERSION}}`;
}

/** The signature goes last, so the signed bytes are the line's own prefix. The verifier rebuilds a line with this to
 * compare it byte for byte with the file. */
export const withSignature = (unsigned: string, signature: string) =>
  `${unsigned.slice(0, -1)},"signature":"${signature}"}`;

export function signedLine(key: HmacKey, prev: string, entry: DecisionEntry): { line: string; signature: string } {
  const unsigned = unsignedLine(key.keyId, prev, canonicalJson(entry), entry.timestamp);
  const signature = signWhole(key, unsigned);
  return { line: withSignature(unsigned, signature), signature };
}

/** The chain as the decision log extends it: each call signs one line after the previous one, starting from `prev`.
 * The key is imported once (a KeyObject signs about a quarter faster than raw bytes). */
export function chainSigner(key: HmacKey, prev: string): (canonical: string, timestamp: string) => string {
  const keyObject = createSecretKey(key.key);
  return (canonical, timestamp) => {
    const unsigned = unsignedLine(key.keyId, prev, canonical, timestamp);
    const signature = createHmac('sha256', keyObject).update(unsigned).digest('hex');
    prev = signature;
    return withSignature(unsigned, signature);
  };
}

/** The signature of the last complete line if it is a signed line, and whether the file ends mid-line (a crash). */
export function readChainTail(fd: number): { prev: string | null; partial: boolean; empty: boolean } {
  const size = fstatSync(fd).size;
  if (size === 0) return { prev: null, partial: false, empty: true };
  // A line is a few KiB at most (every field is bounded), so the tail holds the last complete one.
  const length = Math.min(size, 256 * 1024);
  const buf = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buf, read, length - read, size - length + read);
    if (n === 0) break;
    read += n;
  }
  const text = buf.subarray(0, read).toString('utf8');
  const partial = !text.endsWith('\n');
  const complete = partial ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  const last = complete
    .split('\n')
    .filter((l) => l.length > 0)
    .at(-1);
  if (last === undefined) return { prev: null, partial, empty: false };
  try {
    const parsed = JSON.parse(last) as { signature?: unknown; entry?: unknown };
    if (typeof parsed.signature === 'string' && SIGNATURE.test(parsed.signature) && parsed.entry) {
      return { prev: parsed.signature, partial, empty: false };
    }
  } catch {
    // not JSON: the caller starts a new chain and says so
  }
  return { prev: null, partial, empty: false };
}
