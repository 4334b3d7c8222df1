// Found by attacking as a second local user (walker2): the runtime dir (and the directory of a socket named with
// SENTINEL_SOCKET) was checked on its own — ours, private — but not what names it. In a directory she can write to
// (a `runtime_dir` or TMPDIR under a shared project or build directory of hers), she can rename the user's private
// directory away at any time and put her own in its place, with her socket in it: a client that checked the path a
// moment earlier then connects to her, and `sentinel credentials` hands the AWS CLI her keys. Daemon and clients now
// also require every directory above to be the user's or root's and closed to others' writes (root's sticky /tmp is
// fine), as for the policy and AWS config files.
import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SentinelError } from '../core/errors.js';
import { assertOwnSocket } from '../cli/socket-trust.js';
import { ensurePrivateDir, ensureSocketDir } from '../daemon/runtime/runtime-dir.js';
import { NEEDS_ROOT, accountIds, isRoot, runScriptAs, sharedTmp } from './support/as-user.js';

t.test("a runtime dir in walker2's directory is refused, by the daemon and by clients", async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const walker2 = accountIds('walker2');
  const shared = sharedTmp(t, 'sentinel-ancestors-'); // a stand-in for /tmp: root's, sticky, world-writable
  const hers = join(shared, 'build');
  await runScriptAs(
    t,
    'walker2',
    `import { mkdirSync } from 'node:fs'; mkdirSync(${JSON.stringify(hers)}, { mode: 0o755 });`,
  );

  const run = join(hers, 'run');
  const refused = (what: string, f: () => void, named = hers) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof SentinelError && error.code === 'UnsafePath', `${what}: UnsafePath`);
    t.match(
      String((error as Error | undefined)?.message),
      `${named} is owned by uid ${walker2.uid}`,
      `${what}: names her directory`,
    );
  };
  refused('the daemon creating its runtime dir', () => ensurePrivateDir(run));
  refused('the daemon with a socket named there', () => ensureSocketDir(run));
  mkdirSync(run, { recursive: true, mode: 0o700 }); // made by an earlier version, private and the user's
  t.ok(existsSync(run));
  refused('a client about to connect', () => assertOwnSocket(join(run, 'sentinel.sock'), { privateDir: true }));
  refused('a client with SENTINEL_SOCKET', () => assertOwnSocket(join(run, 'sentinel.sock'), { privateDir: false }));

  // Why: the user's private directory is hers to rename, and her own can take its name.
  await runScriptAs(
    t,
    'walker2',
    `import { renameSync, mkdirSync } from 'node:fs';
     renameSync(${JSON.stringify(run)}, ${JSON.stringify(join(hers, 'old'))});
     mkdirSync(${JSON.stringify(run)}, { mode: 0o700 });`,
  );
  refused('after her swap', () => assertOwnSocket(join(run, 'sentinel.sock'), { privateDir: true }), run);

  // /tmp itself (root's, sticky) stays fine, as does a directory of the user's own.
  const own = join(shared, 'sentinel-own');
  ensurePrivateDir(own);
  assertOwnSocket(join(own, 'sentinel.sock'), { privateDir: true });
  t.pass("a runtime dir whose every parent is root's or the user's is accepted");
});
