// Tamper evidence for the decision log (DESIGN §7). Each signed line is
//   {"entry":{...},"signature":hex,"key_id":hex,"timestamp":...,"prev":hex}
// with signature = HMAC-SHA256(key, prev + canonical entry JSON) and prev = the previous line's signature (64 zeros
// for the first line). Editing a line breaks its signature; deleting, inserting or reordering lines breaks the chain.
// The outer timestamp repeats entry.timestamp (which the signature covers) and the verifier insists they agree.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { createReadStream, fstatSync, openSync, closeSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { SentinelError } from '../errors.js';
import { canonicalJson } from './entry.js';
import type { DecisionEntry } from './types.js';

export const GENESIS = '0'.repeat(64);
export const MIN_KEY_BYTES = 32;
const MAX_KEY_BYTES = 64 * 1024;
const SIGNATURE = /^[0-9a-f]{64}$/;

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

/**
 * Reads audit.hmac_key_file, failing closed: it must be a regular file owned by this user and readable by nobody else
 * (0600 or 0400), with at least 32 bytes. The bytes are the key, less one trailing newline (so `openssl rand -hex 32
 * > key` and `printf` give the same key as they look).
 */
export function loadHmacKey(file: string): HmacKey {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new SentinelError(
      'ConfigInvalid',
      `the decision log HMAC key file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: 'Create it with `umask 077; openssl rand -hex 32 > <file>` or remove audit.hmac_key_file from config.yaml.',
      },
    );
  }
  try {
    const st = fstatSync(fd);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    if (!st.isFile() || st.uid !== uid || (st.mode & 0o077) !== 0) {
      throw new SentinelError(
        'UnsafePath',
        `the decision log HMAC key file ${file} must be a regular file of yours with mode 0600`,
        {
          hint: `Run \`chmod 600 ${file}\` (and make sure you own it), then start again.`,
        },
      );
    }
    if (st.size > MAX_KEY_BYTES)
      throw new SentinelError('ConfigInvalid', `the decision log HMAC key file ${file} is larger than 64 KiB`);
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
        {
          hint: 'Generate a new one with `umask 077; openssl rand -hex 32 > <file>`.',
        },
      );
    }
    return hmacKey(Buffer.from(key));
  } finally {
    closeSync(fd);
  }
}

export function sign(key: HmacKey, prev: string, canonicalEntry: string): string {
  return createHmac('sha256', key.key).update(prev).update(canonicalEntry).digest('hex');
}

export function signedLine(key: HmacKey, prev: string, entry: DecisionEntry): { line: string; signature: string } {
  const canonical = canonicalJson(entry);
  const signature = sign(key, prev, canonical);
  return { line: assembleSignedLine(key.keyId, prev, canonical, entry.timestamp, signature), signature };
}

/** Built by hand so the entry is serialised once; every part is JSON already (hex strings need no escaping). */
function assembleSignedLine(
  keyId: string,
  prev: string,
  canonical: string,
  timestamp: string,
  signature: string,
): string {
  return `{"entry":${canonical},"signature":"${signature}","key_id":"${keyId}","timestamp":${JSON.stringify(timestamp)},"prev":"${prev}"}`;
}

/** The chain as the decision log extends it: each call signs one canonical entry after the previous one, starting
 * from `prev`. The key is imported once (a KeyObject signs about a quarter faster than raw bytes). */
export function chainSigner(key: HmacKey, prev: string): (canonical: string, timestamp: string) => string {
  const keyObject = createSecretKey(key.key);
  return (canonical, timestamp) => {
    const signature = createHmac('sha256', keyObject).update(prev).update(canonical).digest('hex');
    const line = assembleSignedLine(key.keyId, prev, canonical, timestamp, signature);
    prev = signature;
    return line;
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

export type VerifyResult = { ok: true; lines: number } | { ok: false; lines: number; line: number; reason: string };

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Checks every line of a signed decision log; reports the first line that is not what the chain says it must be. */
export async function verifyDecisionLog(file: string, key: Buffer | HmacKey): Promise<VerifyResult> {
  const k = Buffer.isBuffer(key) ? hmacKey(key) : key;
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let prev = GENESIS;
  let n = 0;
  const broken = (reason: string): VerifyResult => {
    rl.close();
    return { ok: false, lines: n, line: n, reason };
  };
  for await (const line of rl) {
    n++;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return broken('not JSON (truncated or edited)');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return broken('not a signed line');
    const { entry, signature, key_id: keyId, timestamp, prev: linePrev } = parsed;
    if (
      !entry ||
      typeof entry !== 'object' ||
      typeof signature !== 'string' ||
      typeof linePrev !== 'string' ||
      !SIGNATURE.test(linePrev)
    ) {
      return broken('not a signed line');
    }
    if (keyId !== k.keyId) return broken('signed with another key (key_id differs)');
    const expected = sign(k, linePrev, canonicalJson(entry));
    if (!sameHex(signature, expected)) return broken('signature does not match: the line was edited');
    if (timestamp !== (entry as DecisionEntry).timestamp) return broken('timestamp differs from the signed entry');
    if (!sameHex(linePrev, prev))
      return broken('prev does not match the previous line: a line was deleted, inserted or reordered');
    prev = signature;
  }
  return { ok: true, lines: n };
}
