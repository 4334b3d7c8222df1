// DESIGN §5.4: a decision-log directory that other users can write to is refused (they could replace the log), with
// the path and the chmod that fixes it; nothing is created in it.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
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
