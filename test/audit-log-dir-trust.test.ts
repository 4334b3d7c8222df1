// DESIGN §5.4: a decision-log directory that other users can write to is refused (they could replace the log), with
// the path and the chmod that fixes it; nothing is created in it.
import t from 'tap';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { silentLogger } from '../core/log.js';
import { createDecisionLog } from '../core/audit/decision-log.js';
import { SentinelError } from '../core/errors.js';
import { tempDir } from './support/temp-dir.js';

const configFor = (file: string) => resolveConfig({ audit: { file } }, 'test-config.yaml', { HOME: '/nonexistent' });

function refusal(file: string): SentinelError | undefined {
  try {
    createDecisionLog(configFor(file), { log: silentLogger() });
  } catch (e) {
    return e as SentinelError;
  }
  return undefined;
}

// 1777 owned by a non-root user is refused too (only root's sticky bit protects other users' entries).
const modes = process.getuid?.() === 0 ? [0o777, 0o775, 0o757] : [0o777, 0o775, 0o757, 0o1777];
for (const mode of modes) {
  t.test(`a directory with mode ${mode.toString(8)} owned by the user is refused`, async (t) => {
    const dir = join(tempDir(t), 'logs');
    mkdirSync(dir);
    chmodSync(dir, mode);
    // A group of others (nogroup): the user's private group is hers alone (test/path-trust-private-group.test.ts).
    if (process.getuid?.() === 0) chownSync(dir, 0, 65534);
    const file = join(dir, 'decisions.log');
    const e = refusal(file);
    t.ok(e instanceof SentinelError, 'refused');
    t.equal(e?.code, 'UnsafePath');
    t.match(e?.message, `the decision log directory: ${dir} is writable by other users`);
    const fixed = (mode & ~0o022 & 0o777).toString(8).padStart(4, '0');
    t.equal(e?.hint, `Fix with: chmod ${fixed} '${dir}'`);
    t.notOk(existsSync(file), 'nothing written');
    chmodSync(dir, Number.parseInt(fixed, 8));
    t.equal(refusal(file), undefined, 'the hinted chmod fixes it');
    t.ok(existsSync(file));
  });
}

t.test('group/other read access alone, and a root-owned sticky directory, are accepted', async (t) => {
  const dir = join(tempDir(t), 'logs');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  t.equal(refusal(join(dir, 'decisions.log')), undefined);
  const tmp = statSync('/tmp');
  if (tmp.uid === 0 && (tmp.mode & 0o1000) !== 0 && (tmp.mode & 0o002) !== 0) {
    const file = join('/tmp', `sentinel-dirtrust-${process.pid}.log`);
    t.teardown(() => {
      rmSync(file, { force: true });
    });
    const e = refusal(file);
    t.equal(e, undefined, '/tmp (root, sticky) is not refused');
  }
});

// Found by attacking a running daemon as a second local user: only the log's own directory was checked, and through
// stat, so a directory she could rename away, or her symlink, could later put her files in the log's place.
t.test('every directory above the log, and every symlink on the way, is checked too', async (t) => {
  const NOBODY = 65534;
  const shared = join(tempDir(t), 'shared'); // a stand-in for /tmp: root's (the suite runs as root), sticky
  mkdirSync(shared);
  chmodSync(shared, 0o1777);

  const hers = join(shared, 'alice-state'); // XDG_STATE_HOME, created first by someone else
  mkdirSync(hers);
  chmodSync(hers, 0o777);
  chownSync(hers, NOBODY, NOBODY);
  mkdirSync(join(hers, 'sentinel'), { mode: 0o700 });
  const inHers = refusal(join(hers, 'sentinel', 'decisions.log'));
  t.equal(inHers?.code, 'UnsafePath');
  t.equal(
    inHers?.message,
    `the decision log directory: ${hers} is owned by uid ${NOBODY}, not by uid ${process.getuid!()}`,
  );
  t.match(
    inHers?.hint,
    /may have created .* first, in a directory everyone can write to: do not use it or take it over/,
  );
  t.notMatch(inHers?.hint ?? '', /chown/, 'no advice to adopt what she prepared');
  t.notOk(existsSync(join(hers, 'sentinel', 'decisions.log')), 'nothing written');

  const target = join(shared, 'elsewhere');
  mkdirSync(target, { mode: 0o700 });
  const link = join(shared, 'sentinel');
  symlinkSync(target, link);
  lchownSync(link, NOBODY, NOBODY); // her link, to a directory that would pass on its own
  const viaHerLink = refusal(join(link, 'decisions.log'));
  t.equal(
    viaHerLink?.message,
    `the decision log directory: ${link} is a symlink owned by uid ${NOBODY}, not by uid ${process.getuid!()}`,
  );
  t.notOk(existsSync(join(target, 'decisions.log')), 'nothing written through it');

  lchownSync(link, process.getuid!(), process.getgid!());
  t.equal(refusal(join(link, 'decisions.log')), undefined, "the user's own symlink is followed, its target checked");
  chmodSync(target, 0o777);
  t.match(refusal(join(link, 'decisions.log'))?.message, `${target} is writable by other users`);
  chmodSync(target, 0o700);

  const parent = join(tempDir(t), 'open'); // the user's own directory, but open to everyone's writes
  mkdirSync(join(parent, 'logs'), { recursive: true, mode: 0o700 });
  chmodSync(parent, 0o777);
  t.match(
    refusal(join(parent, 'logs', 'decisions.log'))?.message,
    `the decision log directory: ${parent} is writable by other users`,
  );
  chmodSync(parent, 0o755);
  t.equal(
    refusal(join(parent, 'logs', '..', 'logs', 'decisions.log')),
    undefined,
    "'..' is followed as the kernel does",
  );
});
