// DESIGN §5.4: a policy file, its signature and their directory must belong to the user (or root) and be writable by
// nobody else, as ssh requires of its keys; otherwise the policy is refused, with the chmod/chown that fixes it.
import t from 'tap';
import { chmodSync, chownSync } from 'node:fs';
import { dirname } from 'node:path';
import { NOBODY } from './support/as-user.js';
import { startDaemon } from './support/daemon.js';

t.test('a policy others can write is refused, with the exact fix; once fixed it loads', async (t) => {
  const d = await startDaemon(t);
  const reload = () => d.fetch({ transport: 'unix', method: 'POST', path: '/v1/policy/reload', body: {} });
  t.equal((await reload()).status, 200, 'a private policy loads');

  chmodSync(d.policyFile, 0o666);
  const writable = await reload();
  t.match(writable.text, /writable by other users \(mode 0666\)/, 'says why');
  t.match(writable.text, `chmod 0644 '${d.policyFile}'`, 'names the exact chmod');
  const status = await d.fetch({ transport: 'unix', path: '/v1/status' });
  t.match(
    status.json.policy.lastError,
    /writable by other users/,
    'status names the problem (the last good policy is kept)',
  );

  chmodSync(d.policyFile, 0o600);
  chownSync(d.policyFile, NOBODY, NOBODY);
  const foreign = await reload();
  t.match(foreign.text, /owned by uid 65534/, 'says whose');
  t.match(foreign.text, `chown 0 '${d.policyFile}'`, 'names the exact chown');

  chownSync(d.policyFile, 0, 0);
  chmodSync(dirname(d.policyFile), 0o777);
  const dir = await reload();
  t.match(dir.text, `chmod 0755 '${dirname(d.policyFile)}'`);

  chmodSync(dirname(d.policyFile), 0o700);
  const fixed = await reload();
  t.equal(fixed.status, 200, 'fixed: loads again');
  t.notMatch(fixed.text, /refused/, 'without a problem');
  t.match((await d.openSession('dev')).id, /^[0-9a-f]{16}$/, 'and grants again');
});
