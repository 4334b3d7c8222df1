// Found by attacking as a second local user (walker2): the signature serial state — the highest serial the daemon has
// accepted, which is all that stops an older signed policy from being put back (DESIGN §5.4) — was read with
// readFileSync wherever the state directory was, through symlinks and FIFOs. With XDG_STATE_HOME in a place she
// could create first (and the decision log configured elsewhere, so its directory check did not cover it), she lowered
// the serial and an older signed policy was accepted again; a FIFO in its place hung the policy load. Now the state is
// read and written only in a trusted directory, as a regular file of the user's.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSerialState } from '../core/policy/serial-state.js';
import { NEEDS_ROOT, accountIds, isRoot, runScriptAs, sharedTmp } from './support/as-user.js';

const HASH = 'a'.repeat(64);

t.test("walker2's serial state is not believed: an older serial stays refused", async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const walker2 = accountIds('walker2');
  const shared = sharedTmp(t, 'sentinel-serials-'); // a stand-in for /tmp: root's, sticky, world-writable
  const hers = join(shared, 'sentinel'); // XDG_STATE_HOME=shared: she created sentinel/ first
  const file = join(hers, 'policy-serials.json');
  await runScriptAs(
    t,
    'walker2',
    `import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
     mkdirSync(${JSON.stringify(hers)}, { mode: 0o777 });
     chmodSync(${JSON.stringify(hers)}, 0o777);
     writeFileSync(${JSON.stringify(file)}, JSON.stringify({ 'ssm:/p/dev': { serial: 1, policy_hash: '${'b'.repeat(64)}' } }), { mode: 0o666 });`,
  );
  const state = createSerialState(file);
  const problem = state.problem('ssm:/p/dev', 4, HASH);
  t.match(problem, `cannot be read`, 'serial 4 is not accepted on her word');
  t.match(problem, `${hers} is owned by uid ${walker2.uid}`, 'and the reason names her directory');
  t.throws(() => state.accept('ssm:/p/dev', 4, HASH), new RegExp(`owned by uid ${walker2.uid}`), 'nor written there');
});

t.test('a FIFO or a symlink in its place is refused without waiting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-serials-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo', 'policy-serials.json');
  mkdirSync(join(dir, 'fifo'), { mode: 0o700 });
  execFileSync('mkfifo', [fifo]);
  t.match(createSerialState(fifo).problem('k', 1, HASH), /cannot be read \(it is not a regular file of uid \d+\)/);
  const link = join(dir, 'link', 'policy-serials.json');
  mkdirSync(join(dir, 'link'), { mode: 0o700 });
  execFileSync('ln', ['-s', '/etc/hostname', link]);
  t.match(createSerialState(link).problem('k', 1, HASH), /cannot be read \(it is a symlink\)/);
  t.equal(createSerialState(join(dir, 'none', 'policy-serials.json')).problem('k', 1, HASH), null, 'none yet: fine');
});
