// Node's on-disk module compile cache (Node 22.1+; absent on older Node, where this does nothing). Every `sentinel`
// run — the daemon's start, and `sentinel credentials` before each AWS CLI call — compiles the same few hundred
// modules; with the cache the second run skips that (bench/daemon.ts: spawn → READY=1). It lives in the user's own
// cache directory, created 0700. Node checks each entry against its source's hash, so a stale entry is recompiled —
// but an entry with the right hash is run as it is, and its bytecode could be anything: whoever can write the
// directory can run code as this user, in the daemon. So the cache is used only in a directory nobody else can
// write or swap (as the decision log's and the socket's directories are checked, core/path-trust.ts); anywhere else
// Sentinel runs without it, only slower. SENTINEL_COMPILE_CACHE=0 turns it off.
import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { currentUid, isTrusted, isTrustedDirectory, type TrustRule } from '../core/path-trust.js';
import { cacheHome } from '../core/paths.js';

export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheHome(env), 'sentinel', 'compile-cache');
}

/** The cache directory, created 0700 when missing, or null when it or a directory above it (up to the cache home)
 * could be written or replaced by another user. */
export function trustedCompileCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = compileCacheDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = currentUid();
  const home = cacheHome(env);
  // sentinel/ and the cache itself: real directories (not symlinks) of the user's that nobody else may write; the cache
  // home may also be root's, or root's with the sticky bit (/tmp), where others cannot rename what is ours.
  // Every directory above it too, and every symlink on the way (assertTrustedDirectory): whoever could rename one of
  // them could put a cache of hers in its place.
  const own: TrustRule = { owners: [uid], forbidden: 0o022, what: 'directory' };
  const ok = isTrusted(join(home, 'sentinel'), own) && isTrusted(dir, own) && isTrustedDirectory(dir);
  return ok ? dir : null;
}

export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (!enable || env.SENTINEL_COMPILE_CACHE === '0') return;
  try {
    const dir = trustedCompileCacheDir(env);
    if (dir) enable(dir);
  } catch {
    // A cache is an optimisation: an unwritable home only makes start-up slower.
  }
}
