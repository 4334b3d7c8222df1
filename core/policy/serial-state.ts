// The highest signature serial this user's daemon has accepted, per policy (an SSM parameter, or a policy file), so
// an older signed policy cannot be put back (DESIGN §5.4). Kept in the state directory, one small JSON file written
// atomically (temp file + rename, mode 0600). A file that cannot be read or parsed refuses every signed policy
// rather than forgetting what was accepted: forgetting would re-open replay. It is read and written only where nobody
// else can have put it (the state directory and every directory above it the user's or root's, closed to others'
// writes; the file a regular one of the user's, never through a symlink, never waiting on a FIFO): another user who
// could write it would lower a serial and let an older signed policy back in, or hang the policy load.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { assertTrustedDirectory, readOwnSmallFile, statIfPresent } from '../path-trust.js';
import { replaceFile } from '../replace-file.js';

const MAX_STATE_BYTES = 1024 * 1024;

interface Accepted {
  serial: number;
  policy_hash: string;
}

export interface SerialState {
  /** Why this serial must be refused for `key`, or null. The same serial is accepted only for the same policy. */
  problem(key: string, serial: number, policyHash: string): string | null;
  /** Records an accepted serial (never lowers it). */
  accept(key: string, serial: number, policyHash: string): void;
}

/** `trustDirectory: false` leaves out the check of the directories (the vendor's Lambda: one user in its sandbox, whose
 * /tmp need not look like a shared /tmp); the file itself is still read only as a regular file of the user's. */
export function createSerialState(file: string, options: { trustDirectory?: boolean } = {}): SerialState {
  const checkDirectory = () => {
    if (options.trustDirectory !== false) assertTrustedDirectory(dirname(file));
  };
  const read = (): Record<string, Accepted> | string => {
    let text: string | undefined;
    try {
      if (statIfPresent(dirname(file)) === undefined) return {};
      checkDirectory();
      text = readOwnSmallFile(file, MAX_STATE_BYTES);
    } catch (e) {
      return `the signature serial state ${file} cannot be read (${(e as Error).message})`;
    }
    if (text === undefined) return {};
    try {
      const raw = JSON.parse(text) as unknown;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not an object');
      for (const v of Object.values(raw)) {
        const a = v as Partial<Accepted>;
        if (!Number.isSafeInteger(a?.serial) || typeof a.policy_hash !== 'string') throw new Error('bad entry');
      }
      return raw as Record<string, Accepted>;
    } catch {
      return `the signature serial state ${file} is damaged; remove it only if you trust every policy the daemon can read`;
    }
  };

  return {
    problem(key, serial, policyHash) {
      const state = read();
      if (typeof state === 'string') return state;
      const seen = Object.prototype.hasOwnProperty.call(state, key) ? state[key] : undefined;
      if (!seen) return null;
      if (serial < seen.serial) {
        return `the signature serial ${serial} is older than ${seen.serial}, already accepted (a replayed policy?)`;
      }
      if (serial === seen.serial && policyHash !== seen.policy_hash) {
        return `the signature serial ${serial} was already accepted for another policy; sign with a higher serial`;
      }
      return null;
    },
    accept(key, serial, policyHash) {
      const state = read();
      if (typeof state === 'string') throw new Error(state);
      const seen = Object.prototype.hasOwnProperty.call(state, key) ? state[key] : undefined;
      if (seen && seen.serial >= serial) return;
      state[key] = { serial, policy_hash: policyHash };
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      checkDirectory();
      replaceFile(file, JSON.stringify(state, null, 2) + '\n');
    },
  };
}
