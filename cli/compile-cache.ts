// Node's on-disk module compile cache (Node 22.1+; absent on older Node, where this does nothing). Every `sentinel`
// run — the daemon's start, and `sentinel credentials` before each AWS CLI call — compiles the same few hundred
// modules; with the cache the second run skips that (bench/daemon.ts: spawn → READY=1). It lives in the user's own
// cache directory, created 0700; Node checks each entry against its source's hash, so a stale or foreign entry is
// recompiled, never trusted. SENTINEL_COMPILE_CACHE=0 turns it off.
import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { cacheHome } from '../core/paths.js';

export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheHome(env), 'sentinel', 'compile-cache');
}

export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (!enable || env.SENTINEL_COMPILE_CACHE === '0') return;
  try {
    const dir = compileCacheDir(env);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    enable(dir);
  } catch {
    // A cache is an optimisation: an unwritable home only makes start-up slower.
  }
}
