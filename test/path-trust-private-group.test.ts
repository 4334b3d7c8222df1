// User private groups (Debian and Ubuntu, umask 002): a directory of the user's whose group is hers alone may be
// group-writable. Found by the service walk: ~/.config at 0775, the default there, was refused as "writable by other
// users", and so were ~/.local/state (the decision log) and the compile cache.
import t from 'tap';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTrustedDirectory, isPrivateGroup } from '../core/path-trust.js';
import { SentinelError } from '../core/errors.js';
import { tempDir } from './support/temp-dir.js';

function accounts(t: Parameters<typeof tempDir>[0], passwd: string, group: string) {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'passwd'), passwd);
  writeFileSync(join(dir, 'group'), group);
  return { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
}

t.test('which groups are one user’s own', async (t) => {
  const files = accounts(
    t,
    [
      'root:x:0:0:root:/root:/bin/bash',
      'alice:x:1000:1000::/home/alice:/bin/bash',
      'bob:x:1001:1001::/home/bob:/bin/bash',
      'carol:x:1002:100::/home/carol:/bin/bash',
      'dave:x:1003:100::/home/dave:/bin/bash',
      'erin:x:1004:1004::/home/erin:/bin/bash',
      '+nisuser::::::',
      'garbled:x::::/:',
    ].join('\n'),
    [
      'root:x:0:',
      'alice:x:1000:',
      'bob:x:1001:alice',
      'users:x:100:',
      'erin:x:1004:erin',
      'empty:x:2000:',
      'shared:x:2001:alice,bob',
      'mine:x:2002:alice',
      'nameless:x::',
    ].join('\n'),
  );
  t.equal(isPrivateGroup(1000, 1000, files), true, 'alice’s primary group, no other member');
  t.equal(isPrivateGroup(1004, 1004, files), true, 'primary and listed as a member too');
  t.equal(isPrivateGroup(2002, 1000, files), true, 'a supplementary group with alice alone in it');
  t.equal(isPrivateGroup(1001, 1001, files), false, 'bob’s group lists alice: she could write there');
  t.equal(isPrivateGroup(1001, 1000, files), false, 'another user’s primary group');
  t.equal(isPrivateGroup(100, 1002, files), false, 'a primary group two users share');
  t.equal(isPrivateGroup(2000, 1000, files), false, 'a group nobody is in (setgid programs use those)');
  t.equal(isPrivateGroup(2001, 1000, files), false, 'a group with other members');
  t.equal(isPrivateGroup(3000, 1000, files), false, 'a group the files do not list (LDAP): not taken as private');
  t.equal(isPrivateGroup(1000, 4242, files), false, 'a user the files do not list');
  t.equal(isPrivateGroup(0, 0, files), true, 'root’s group, when root is its only member');
  t.equal(isPrivateGroup(1000, 1000, { passwd: '/nonexistent', group: files.group }), false, 'unreadable: no');
});

t.test('a group-writable directory is accepted only when its group is the user’s own', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail(
      'this test changes a directory’s group to nogroup (65534), which only root can do: run the suite as CI does',
    );
    return;
  }
  const dir = join(tempDir(t), 'config');
  mkdirSync(dir);
  chmodSync(dir, 0o775);
  chownSync(dir, 0, 65534);
  t.equal(isPrivateGroup(65534, 0), false, 'nogroup is not root’s own on this machine');
  t.throws(() => assertTrustedDirectory(dir, 0), {
    code: 'UnsafePath',
    message: /writable by other users \(mode 0775\)/,
  });
  chownSync(dir, 0, 0);
  const own = isPrivateGroup(0, 0);
  let refused: unknown;
  try {
    assertTrustedDirectory(dir, 0);
  } catch (e) {
    refused = e;
  }
  t.equal(refused === undefined, own, `root's group is ${own ? '' : 'not '}root's alone here, and the rule follows it`);
  chmodSync(dir, 0o777);
  t.throws(() => assertTrustedDirectory(dir, 0), SentinelError, 'world-writable stays refused whatever the group');
});
