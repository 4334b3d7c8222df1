// Node's compile cache runs the bytecode it finds for a source whose hash matches, so Sentinel uses it only in a
// directory no other user can write or swap (cli/compile-cache.ts): a cache home shared by mistake (XDG_CACHE_HOME on
// a world-writable path) must not let another user's planted entry run as this user, in the daemon. The checks on
// real directories owned by a real second uid; then the built CLI, on a Node that has the cache (22.1+: the Node 24
// and 22 legs of .ci/run run this file), writes entries only where it may.
import t from 'tap';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { trustedCompileCacheDir } from '../cli/compile-cache.js';
import { NOBODY, isRoot } from './support/as-user.js';
import { cleanEnv, sentinel, tempDir } from './support/cli.js';

const NEEDS_ROOT = 'this test must run as root: it makes folders owned by another uid (nobody)';

const env = (home: string) => ({ XDG_CACHE_HOME: home, HOME: '/nonexistent' });

/** Every file below `dir` (the cache's entries live in a per-Node-version folder). */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

t.test('the directories the cache may live in', async (t) => {
  t.ok(isRoot(), NEEDS_ROOT);

  const own = tempDir(t);
  const dir = trustedCompileCacheDir(env(own));
  t.equal(dir, join(own, 'sentinel', 'compile-cache'), "the user's own cache home: used");
  t.ok(existsSync(dir!), 'and created');

  const sticky = tempDir(t);
  chmodSync(sticky, 0o1777);
  t.ok(
    trustedCompileCacheDir(env(sticky)),
    'a root-owned sticky cache home (like /tmp): others cannot rename what is ours',
  );

  const open = tempDir(t);
  chmodSync(open, 0o777);
  t.equal(trustedCompileCacheDir(env(open)), null, 'a cache home others may write, without the sticky bit: not used');

  const planted = tempDir(t);
  mkdirSync(join(planted, 'sentinel', 'compile-cache'), { recursive: true });
  chownSync(join(planted, 'sentinel'), NOBODY, NOBODY);
  t.equal(trustedCompileCacheDir(env(planted)), null, 'a sentinel folder another user made first: not used');

  const loose = tempDir(t);
  mkdirSync(join(loose, 'sentinel', 'compile-cache'), { recursive: true });
  chmodSync(join(loose, 'sentinel', 'compile-cache'), 0o777);
  t.equal(trustedCompileCacheDir(env(loose)), null, 'a cache folder others may write: not used');

  const linked = tempDir(t);
  const elsewhere = tempDir(t);
  symlinkSync(elsewhere, join(linked, 'sentinel'));
  t.equal(trustedCompileCacheDir(env(linked)), null, 'a symlink in the path: not used');

  // Above the cache home: a directory another user could rename the user's cache home out of, and put hers in.
  const theirs = tempDir(t);
  chmodSync(theirs, 0o777);
  chownSync(theirs, NOBODY, NOBODY);
  const below = join(theirs, 'alice-cache');
  mkdirSync(below, { mode: 0o700 });
  t.equal(trustedCompileCacheDir(env(below)), null, "a cache home inside another user's folder: not used");
  const hisLink = tempDir(t);
  const target = tempDir(t);
  symlinkSync(target, join(hisLink, 'cache'));
  lchownSync(join(hisLink, 'cache'), NOBODY, NOBODY);
  t.equal(trustedCompileCacheDir(env(join(hisLink, 'cache'))), null, "a cache home named by another user's symlink");
});

t.test('the CLI writes cache entries only where no one else can', async (t) => {
  t.ok(isRoot(), NEEDS_ROOT);
  const hasCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
  if (!hasCache) {
    // Nothing can be written on this Node; the Node 24 and 22 legs of .ci/run run this test where it can.
    t.comment(`NOTE: node ${process.version} has no compile cache; this half runs on the Node 22/24 legs of .ci/run`);
    t.notOk(hasCache, 'this Node has no module.enableCompileCache, so no cache can be written or read');
    return;
  }
  const own = tempDir(t);
  const trustedRun = await sentinel(t, ['--version'], { env: cleanEnv(env(own)) });
  t.equal(trustedRun.code, 0);
  t.ok(files(join(own, 'sentinel', 'compile-cache')).length > 0, 'its own cache home gets entries');

  const planted = tempDir(t);
  chmodSync(planted, 0o1777);
  const shared = join(planted, 'sentinel', 'compile-cache');
  mkdirSync(shared, { recursive: true, mode: 0o777 });
  chmodSync(join(planted, 'sentinel'), 0o777);
  chmodSync(shared, 0o777);
  chownSync(join(planted, 'sentinel'), NOBODY, NOBODY);
  chownSync(shared, NOBODY, NOBODY);
  const run = await sentinel(t, ['--version'], { env: cleanEnv(env(planted)) });
  t.equal(run.code, 0, 'the command still works');
  t.same(files(shared), [], 'nothing written to, or read from, a folder another user owns and may write');
});
