// The session's copy of the AWS config keeps endpoint_url, services and ca_bundle: where the session's AWS calls go,
// with the daemon's credentials, and which CA they trust. So the original is held to the rule the daemon holds it to
// (assertTrustedAwsFile): when another local user can change it — the file, or a directory above it — `use` and `exec`
// refuse the session, saying what to fix, and write no copy. Here a real second user (walker2, through setpriv) writes
// her endpoint into the victim's config.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessionAwsConfig } from '../cli/session-aws-config.js';
import { NEEDS_ROOT, accountIds, isRoot, runScriptAs } from './support/as-user.js';
import { startDaemon } from './support/daemon.js';
import { requireBuild, sentinel, userEnv } from './support/cli.js';
import { tempDir } from './support/temp-dir.js';

const HER_ENDPOINT = 'https://walker2.example.net';

/** walker2 appends her endpoint and CA to `file`, by writing it or by replacing it through its directory. */
const hers = (file: string, how: 'write' | 'replace') =>
  `import { readFileSync, renameSync, writeFileSync } from 'node:fs';
   const text = readFileSync(${JSON.stringify(file)}, 'utf8') +
     '\\n[default]\\nendpoint_url = ${HER_ENDPOINT}\\nca_bundle = /tmp/walker2-ca.pem\\n';
   ${
     how === 'write'
       ? `writeFileSync(${JSON.stringify(file)}, text);`
       : `writeFileSync(${JSON.stringify(file)} + '.new', text); renameSync(${JSON.stringify(file)} + '.new', ${JSON.stringify(file)});`
   }`;

t.test('sessionAwsConfig refuses an original others can change, and writes no copy', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const runtimeDir = join(tempDir(t, 'sentinel-run-'), 'sentinel');
  const home = tempDir(t, 'sentinel-home-');
  chmodSync(home, 0o755);
  mkdirSync(join(home, '.aws'), { mode: 0o755 });
  const file = join(home, '.aws', 'config');
  writeFileSync(file, '[default]\nregion = eu-west-1\n', { mode: 0o644 });
  const env = { HOME: home, AWS_CONFIG_FILE: file };
  t.match(readFileSync(sessionAwsConfig(runtimeDir, env).file, 'utf8'), /region = eu-west-1/, 'a private one: copied');

  chmodSync(join(home, '.aws'), 0o777); // e.g. a setup script that opened ~/.aws to everyone
  await runScriptAs(t, 'walker2', hers(file, 'replace'));
  t.throws(() => sessionAwsConfig(runtimeDir, env), {
    code: 'UnsafePath',
    message: `the AWS config file ${file} is refused: ${join(home, '.aws')} is writable by other users (mode 0777)`,
    hint: new RegExp(`^Fix with: chmod 0755 '${join(home, '.aws')}'\\. .*open no session.*endpoint_url`),
  });
  for (const name of readdirSync(runtimeDir)) {
    t.notMatch(readFileSync(join(runtimeDir, name), 'utf8'), HER_ENDPOINT, `${name} does not hold her endpoint`);
  }
});

t.test('`exec` and `use` refuse the session; the daemon is never asked for one', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  requireBuild();
  const d = await startDaemon(t);
  // The shell's AWS_CONFIG_FILE need not be the daemon's (a service started with another environment).
  const dir = tempDir(t, 'sentinel-shell-aws-');
  chmodSync(dir, 0o755);
  const file = join(dir, 'config');
  writeFileSync(file, '[profile dev]\nregion = eu-west-1\n', { mode: 0o666 }); // left writable by everyone
  chmodSync(file, 0o666);
  await runScriptAs(t, 'walker2', hers(file, 'write'));
  const env = userEnv(d, { AWS_CONFIG_FILE: file });

  const exec = await sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'cat "$AWS_CONFIG_FILE"'], { env });
  t.equal(exec.code, 1, 'exit 1 (UnsafePath)');
  t.equal(exec.stdout, '', 'the command never ran');
  t.match(exec.stderr, `Error: the AWS config file ${file} is refused: ${file} is writable by other users (mode 0666)`);
  t.match(exec.stderr, `Hint: Fix with: chmod 0644 '${file}'.`);

  const use = await sentinel(t, ['use', 'dev', '--shell', 'bash', '--shell-pid', String(process.pid)], { env });
  t.equal(use.code, 1);
  t.equal(use.stdout, '', 'nothing for the shell to evaluate');
  t.match(use.stderr, `Error: the AWS config file ${file} is refused`);

  const sessions = await d.fetch({ transport: 'unix', path: '/v1/sessions' });
  t.same(sessions.json.sessions, [], 'no session was opened');
  for (const name of existsSync(d.runtimeDir) ? readdirSync(d.runtimeDir) : []) {
    if (name.startsWith('aws-config-'))
      t.notMatch(readFileSync(join(d.runtimeDir, name), 'utf8'), HER_ENDPOINT, 'no copy holds her endpoint');
  }

  chmodSync(file, 0o644);
  const fixed = await sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'cat "$AWS_CONFIG_FILE"'], { env });
  t.equal(fixed.code, 0, `fixed: the session opens (${fixed.stderr})`);
  t.match(fixed.stdout, HER_ENDPOINT, 'with what the file now says, which the user can see and edit');
});
