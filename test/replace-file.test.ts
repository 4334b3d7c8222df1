import t from 'tap';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../core/replace-file.js';
import { tempDir } from './support/temp-dir.js';

t.test('the new content replaces the old whole, with the mode asked for, and no temp file is left', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  writeFileSync(file, 'old', { mode: 0o644 });
  replaceFile(file, 'new\n');
  t.equal(readFileSync(file, 'utf8'), 'new\n');
  t.equal(statSync(file).mode & 0o777, 0o600, 'default mode 0600, whatever the old file had');
  replaceFile(file, Buffer.alloc(3 * 1024 * 1024, 0x61), { mode: 0o644, sync: true });
  t.equal(statSync(file).size, 3 * 1024 * 1024, 'a large buffer is written completely');
  t.equal(statSync(file).mode & 0o777, 0o644);
  t.same(readdirSync(dir), ['state.json']);
});

t.test('a symlink planted at the old fixed temp name (<file>.<pid>.tmp) is not written through', async (t) => {
  // The defect this replaces: four writers used `${file}.${process.pid}.tmp` without O_EXCL, so another user who could
  // write the directory (a pulled policy's --output in /tmp) could point that name at a file of the victim's.
  const dir = tempDir(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious');
  const file = join(dir, 'policy.yaml');
  for (const name of [`${file}.${process.pid}.tmp`, `${file}.tmp-${process.pid}`]) symlinkSync(victim, name);
  replaceFile(file, 'policy: 1\n');
  t.equal(readFileSync(victim, 'utf8'), 'precious', 'the symlinks were not followed');
  t.equal(readFileSync(file, 'utf8'), 'policy: 1\n');
});

t.test('a symlink at the target itself is replaced, not followed', async (t) => {
  const dir = tempDir(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious');
  const file = join(dir, 'daemon.json');
  symlinkSync(victim, file);
  replaceFile(file, '{}');
  t.equal(readFileSync(victim, 'utf8'), 'precious');
  t.notOk(lstatSync(file).isSymbolicLink());
  t.equal(readFileSync(file, 'utf8'), '{}');
});

t.test('a failure throws and leaves no temp file behind', async (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'a-directory');
  mkdirSync(join(target, 'inside'), { recursive: true });
  t.throws(() => replaceFile(target, 'x'), { code: /EISDIR|ENOTEMPTY|EEXIST/ });
  t.same(readdirSync(dir), ['a-directory'], 'the rename failed and its temp file is gone');
  t.throws(() => replaceFile(join(dir, 'missing', 'file'), 'x'), { code: 'ENOENT' });
  t.same(readdirSync(dir), ['a-directory']);
});
