// The decision log (DESIGN §7): one JSON line per decision, appended to audit.file without ever blocking a response.
// Set-up is synchronous and fails closed — a log that cannot be opened safely, or an HMAC key that is missing, loose or
// short, stops the daemon from starting rather than letting it decide without a record.
import { constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, closeSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SentinelError } from '../errors.js';
import { assertTrustedDirectory } from '../path-trust.js';
import type { Config } from '../config.js';
import type { OpLogger } from '../log.js';
import { createAppender, type AppendTarget } from './appender.js';
import { entryRenderer } from './entry.js';
import { GENESIS, chainSigner, loadHmacKey, readChainTail, type HmacKey } from './hmac-chain.js';
import type { DecisionEntry, DecisionLog } from './types.js';

export { loadHmacKey } from './hmac-chain.js';
export { verifyDecisionLog } from './verify.js';

const uid = () => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/** Never the catalogue's "remove it": the log is the record of every decision, and deleting it destroys evidence. */
function unsafe(file: string, why: string, hint?: string): SentinelError {
  return new SentinelError('UnsafePath', `the decision log ${file} ${why}`, {
    hint:
      hint ??
      `Check ${file}, its directory's owner and mode, and the disk, or point audit.file at another path; then start again.`,
  });
}

/** DESIGN §5.4: another user who can write to the directory, to one above it, or who owns a symlink on the way, can
 * put her own log in its place — or have the forwarder send a file of her choosing to CloudWatch and write its cursor
 * where she points. That is refused, as for policy files, except in a root-owned sticky directory (/tmp). */
function assertTrustedLogDir(dir: string): void {
  try {
    assertTrustedDirectory(dir);
  } catch (e) {
    if (!(e instanceof SentinelError)) throw e;
    throw new SentinelError('UnsafePath', `the decision log directory: ${e.message}`, e.hint ? { hint: e.hint } : {});
  }
}

/** Opens audit.file for appending (and reading its tail): directory created 0700, file created 0600 and tightened to
 * 0600 if looser; symlinks and other users' files are refused. */
function openLogFile(file: string, log: OpLogger): number {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw unsafe(file, `cannot be created (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  assertTrustedLogDir(dir);
  try {
    const st = lstatSync(file);
    if (!st.isFile())
      throw unsafe(file, 'is not a regular file', 'Point audit.file at another path, or move what is there away.');
    if (uid() !== undefined && st.uid !== uid())
      throw unsafe(
        file,
        `belongs to uid ${st.uid}, not to you (uid ${uid()})`,
        `Keep it (it may be evidence) and find out who wrote it; point audit.file at another path, or take it over with \`chown ${uid()} '${file}'\`; then start again.`,
      );
  } catch (e) {
    if (e instanceof SentinelError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw unsafe(file, `cannot be inspected (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    throw unsafe(file, `cannot be opened for appending (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if (mode !== 0o600) {
      fchmodSync(fd, 0o600);
      log.warn({ file, was: mode.toString(8) }, 'decision log mode tightened to 0600');
    }
  } catch (e) {
    closeSync(fd);
    throw unsafe(file, `mode cannot be set to 0600 (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return fd;
}

/** Whether the configured path still names the file held open, and is still writable (DESIGN §14). */
function logTarget(file: string, log: OpLogger): AppendTarget {
  let held = { fd: -1, dev: 0, ino: 0 };
  return {
    check(fd) {
      if (held.fd !== fd) {
        const st = fstatSync(fd);
        held = { fd, dev: st.dev, ino: st.ino };
      }
      let st;
      try {
        st = lstatSync(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return code === 'ENOENT'
          ? 'the file was removed or renamed'
          : `the file cannot be inspected (${code ?? 'error'})`;
      }
      if (!st.isFile()) return 'the path no longer names a regular file';
      if (st.dev !== held.dev || st.ino !== held.ino) return 'the file was replaced';
      if ((st.mode & 0o200) === 0) return 'the file was made read-only';
      return null;
    },
    reopen() {
      try {
        if ((lstatSync(file).mode & 0o200) === 0) throw new Error('the file is read-only');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      return openLogFile(file, log);
    },
  };
}

export interface DecisionLogDeps {
  log: OpLogger;
  /** How long decisions collect before their batch is written (default 5 ms). */
  batchDelayMs?: number;
  /** Decisions queued at most; the one that reaches the bound writes the batch at once (default 1024). */
  maxPending?: number;
  /** How often the file is checked and, while it cannot be written, probed (default 1 s). */
  probeMs?: number;
}

export function createDecisionLog(config: Config, deps: DecisionLogDeps): DecisionLog {
  const { log } = deps;
  const file = config.audit.file;
  // The key is checked before the log is touched: a bad key must not leave a half-configured log behind.
  const key: HmacKey | null = config.audit.hmacKeyFile ? loadHmacKey(config.audit.hmacKeyFile) : null;
  const fd = openLogFile(file, log);
  let tail: ReturnType<typeof readChainTail>;
  try {
    tail = readChainTail(fd);
    if (tail.partial) {
      log.warn({ file }, 'the decision log ended mid-line (an earlier crash?); the fragment is closed off');
      writeSync(fd, '\n');
    }
  } catch (e) {
    closeSync(fd);
    throw unsafe(file, `cannot be read back (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let prev = GENESIS;
  if (key && tail.prev) prev = tail.prev;
  else if (key && !tail.empty) {
    log.warn(
      { file },
      'the decision log does not end with a signed line; a new HMAC chain starts here (verification will flag this point)',
    );
  }
  const sign = key ? chainSigner(key, prev) : null;
  const renderLine = entryRenderer(sign ? 'canonical' : 'documented');

  // Runs in the batch, in write order: sanitising, serialising and signing all happen here, off the response path.
  function render(entry: DecisionEntry): string | null {
    try {
      const { json, timestamp } = renderLine(entry);
      return sign ? `${sign(json, timestamp)}\n` : `${json}\n`;
    } catch (e) {
      // Never thrown into the request path; the operational log says a decision went unrecorded.
      log.error({ err: { name: (e as Error)?.name } }, 'decision could not be logged');
      return null;
    }
  }

  const appender = createAppender<DecisionEntry>(fd, file, log, {
    render,
    ...(deps.batchDelayMs !== undefined ? { batchDelayMs: deps.batchDelayMs } : {}),
    ...(deps.maxPending !== undefined ? { maxPending: deps.maxPending } : {}),
    ...(deps.probeMs !== undefined ? { probeMs: deps.probeMs } : {}),
    target: logTarget(file, log),
  });
  log.info({ file, signed: key !== null, ...(key ? { key_id: key.keyId } : {}) }, 'decision log open');

  return {
    /** O(1): the entry is queued and read when its batch is written (within batchDelayMs). The caller hands it over
     * and must not change it afterwards. */
    write: (entry: DecisionEntry) => appender.push(entry),
    flush: () => appender.flush(),
    close: () => appender.close(),
    unavailable: () => appender.problem,
  };
}
