// One rule for the files that decide what Sentinel does (assertTrustedFile): the policy and its signature are held to
// the rule the AWS config files always were — the file, every directory above it and every symlink on the way belong
// to the user or root and are closed to others' writes. The policy check used to look at the file and its own
// directory only, so a policy under a directory another user can rename, or reached through a link into her
// directory, was loaded.
import t from 'tap';
import { chmodSync, chownSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../core/log.js';
import { assertTrustedFile } from '../core/path-trust.js';
import { createFilePolicySource } from '../core/policy/source-file.js';
import { NEEDS_ROOT, accountIds, isRoot } from './support/as-user.js';
import { tempDir } from './support/temp-dir.js';

const walker2 = accountIds('walker2');
const POLICY = `version: "1"
rules:
  - name: dev
    effect: allow
    conditions: { profiles: [dev] }
`;

async function lastError(t: Parameters<typeof tempDir>[0], file: string): Promise<string | null> {
  const source = createFilePolicySource({ file, log: silentLogger(), watch: false });
  t.teardown(() => source.close());
  await source.start();
  return source.status().lastError;
}

t.test('a policy under a directory others can write to, above its own: refused, naming it', async (t) => {
  const top = tempDir(t, 'sentinel-policy-tree-');
  const team = join(top, 'team');
  const dir = join(team, 'sentinel');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, POLICY, { mode: 0o644 });
  t.equal(await lastError(t, file), null, 'a private tree: loads');

  chmodSync(team, 0o777); // anyone may rename sentinel/ away and put her own policy in its place
  t.equal(
    await lastError(t, file),
    `refused: ${team} is writable by other users (mode 0777). Fix with: chmod 0755 '${team}'`,
  );
  if (!isRoot()) return;
  chmodSync(team, 0o1777); // root's and sticky, as /tmp: nobody else can rename what is in it
  t.equal(await lastError(t, file), null, 'a root sticky directory on the way is accepted');
});

t.test('a symlinked policy: followed, and where it leads is checked too', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const home = tempDir(t, 'sentinel-policy-home-');
  const dotfiles = join(home, 'dotfiles', 'sentinel');
  mkdirSync(dotfiles, { recursive: true, mode: 0o700 });
  writeFileSync(join(dotfiles, 'policy.yaml'), POLICY, { mode: 0o644 });
  mkdirSync(join(home, 'config'), { mode: 0o700 });
  const link = join(home, 'config', 'policy.yaml');
  symlinkSync(join(dotfiles, 'policy.yaml'), link);
  t.equal(await lastError(t, link), null, 'a dotfile link into your own tree loads');

  // The file is root's and 0644, but it sits in walker2's directory: she can replace it whenever she likes.
  const hers = join(home, 'walker2');
  mkdirSync(hers, { mode: 0o755 });
  chownSync(hers, walker2.uid, walker2.gid);
  writeFileSync(join(hers, 'policy.yaml'), POLICY, { mode: 0o644 });
  const intoHers = join(home, 'config', 'hers.yaml');
  symlinkSync(join(hers, 'policy.yaml'), intoHers);
  t.match(await lastError(t, intoHers), `refused: ${hers} is owned by uid ${walker2.uid}, not by uid 0`);

  // A link of hers, in a root sticky directory where she may create entries: she can point it elsewhere at any time.
  const sticky = join(home, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const herLink = join(sticky, 'policy.yaml');
  symlinkSync(join(dotfiles, 'policy.yaml'), herLink);
  lchownSync(herLink, walker2.uid, walker2.gid);
  t.match(await lastError(t, herLink), `refused: ${herLink} is a symlink owned by uid ${walker2.uid}`);
});

t.test('assertTrustedFile: the user’s or root’s, not writable by others, whatever directory holds it', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const dir = tempDir(t, 'sentinel-trusted-file-');
  chmodSync(dir, 0o755);
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, POLICY, { mode: 0o644 });
  const user = 4242; // a user of /etc/sentinel: root's directories and root's file are hers to use
  t.doesNotThrow(() => assertTrustedFile(file, user), 'root-owned, in root-owned directories');
  chownSync(file, user, user);
  t.doesNotThrow(() => assertTrustedFile(file, user), 'her own file');
  chmodSync(file, 0o666);
  t.throws(() => assertTrustedFile(file, user), { code: 'UnsafePath', message: /writable by other users/ });
  chmodSync(file, 0o644);
  chownSync(file, walker2.uid, walker2.gid);
  t.throws(() => assertTrustedFile(file, user), { code: 'UnsafePath', message: /owned by uid/ });
  chownSync(file, 0, 65534);
  chmodSync(file, 0o664);
  t.throws(
    () => assertTrustedFile(file, 0),
    { code: 'UnsafePath', message: /writable by other users \(mode 0664\)/ },
    'group-writable by a group that is not the user’s alone (nogroup)',
  );
  t.throws(() => assertTrustedFile(dir, 0), { code: 'UnsafePath', message: /is not a file \(it is a directory\)/ });
  t.throws(() => assertTrustedFile('/dev/null', 0), {
    code: 'UnsafePath',
    message: /is not a file \(it is a device\)/,
  });
});
