// The AWS config files decide what the daemon runs (credential_process) and whose keys it signs with, so a file that
// another local user can change is refused, as ssh refuses such keys: here a real second user (walker2, through
// setpriv) writes into the victim's AWS config where the file or a directory above it lets her.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { newRequestId } from '../core/identity/source-identity.js';
import { createAwsConfig } from '../daemon/vending/aws-config.js';
import { createVendor } from '../daemon/vending/vendor.js';
import { NEEDS_ROOT, accountIds, isRoot, runScriptAs } from './support/as-user.js';
import { awsEnv, withEnv } from './support/aws-env.js';
import { startSts } from './support/sts-emulator.js';
import { tempDir } from './support/temp-dir.js';

const KEY = 'AKIAEXAMPLEVICTIM001';
const SECRET = 'victimSecretDoNotLeak00000000000000000001';
const ROLE = 'arn:aws:iam::111122223333:role/prod';

/** What walker2 writes: a source profile whose credential_process leaves a mark when it runs. */
const hostileConfig = (mark: string) =>
  `[profile base]\ncredential_process = /bin/sh -c 'touch ${mark}; exit 1'\n\n` +
  `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`;

async function vendProd(t: Test, configFile: string, credentialsFile: string) {
  const sts = await startSts({ identities: { [KEY]: 'arn:aws:iam::111122223333:user/alice' } });
  t.teardown(() => sts.close());
  withEnv(t, {
    ...awsEnv({ sts: sts.url }),
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
  });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const vendor = createVendor(resolveConfig({}, 'test.yaml', { HOME: tempDir(t) }), { log, env: process.env });
  t.teardown(() => vendor.close());
  const request = {
    sessionId: '0123456789abcdef',
    requestId: newRequestId(),
    profile: 'prod',
    user: 'alice',
    marker: 'direct' as const,
    durationSeconds: 900,
  };
  return vendor.credentials(request).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string; hint?: string },
  );
}

t.test('a config in a directory another user can write to: her credential_process never runs', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const shared = tempDir(t, 'sentinel-shared-');
  chmodSync(shared, 0o777); // a team directory everyone may write to
  const configFile = join(shared, 'config');
  writeFileSync(configFile, `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`, { mode: 0o644 });
  const before = await createAwsConfig({ configFile, credentialsFile: '/dev/null' }, createLogger({ level: 'silent' }))
    .profiles()
    .catch((x: { code: string; message: string }) => x);
  t.match(
    before,
    { code: 'BaseCredentialsUnavailable', message: `${shared} is writable by other users` },
    'refused while the file is still the victim’s own: the directory lets anyone replace it',
  );
  const mark = join(shared, 'ran-as-victim');
  // She cannot write the victim's file, but she can replace the directory entry that names it.
  await runScriptAs(
    t,
    'walker2',
    `import { writeFileSync, renameSync } from 'node:fs';
     writeFileSync(${JSON.stringify(configFile + '.new')}, ${JSON.stringify(hostileConfig(mark))});
     renameSync(${JSON.stringify(configFile + '.new')}, ${JSON.stringify(configFile)});`,
  );
  const e = await vendProd(t, configFile, '/dev/null');
  t.notOk(existsSync(mark), "walker2's command did not run");
  t.equal(e?.code, 'BaseCredentialsUnavailable');
  t.match(e?.message, configFile, 'the message names the file');
  t.match(e?.hint, /chown|chmod/, 'and how to fix it');
});

t.test('a config file another user can write: refused; the profile list is refused too', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const dir = tempDir(t, 'sentinel-victim-');
  chmodSync(dir, 0o755);
  const configFile = join(dir, 'config');
  writeFileSync(configFile, `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`);
  chmodSync(configFile, 0o666);
  const mark = join(dir, 'ran-as-victim');
  await runScriptAs(
    t,
    'walker2',
    `import { writeFileSync } from 'node:fs';
     writeFileSync(${JSON.stringify(configFile)}, ${JSON.stringify(hostileConfig(mark))});`,
  );
  const e = await vendProd(t, configFile, '/dev/null');
  t.notOk(existsSync(mark), "walker2's command did not run");
  t.equal(e?.code, 'BaseCredentialsUnavailable');
  t.match(e?.message, /writable by other users/);
  t.match(e?.hint, `chmod 0644 '${configFile}'`);

  const owned = join(dir, 'credentials');
  writeFileSync(owned, `[base]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n`, { mode: 0o600 });
  chownSync(owned, accountIds('walker2').uid, accountIds('walker2').gid);
  const listed = await createAwsConfig(
    { configFile: '/dev/null', credentialsFile: owned },
    createLogger({ level: 'silent' }),
  )
    .profiles()
    .catch((x: { code: string; message: string }) => x);
  t.match(listed, { code: 'BaseCredentialsUnavailable', message: /owned by uid \d+/ }, 'a file of hers: refused');
});

t.test('what users really have still works: a symlinked ~/.aws, /dev/null, root-owned files', async (t) => {
  const home = tempDir(t, 'sentinel-home-');
  const dotfiles = join(home, 'dotfiles', 'aws');
  mkdirSync(dotfiles, { recursive: true, mode: 0o700 });
  writeFileSync(join(dotfiles, 'config'), `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = base\n`, {
    mode: 0o644,
  });
  symlinkSync(dotfiles, join(home, '.aws'));
  symlinkSync(join(dotfiles, 'config'), join(home, 'config-link'));
  for (const configFile of [join(home, '.aws', 'config'), join(home, 'config-link')]) {
    const profiles = await createAwsConfig(
      { configFile, credentialsFile: '/dev/null' },
      createLogger({ level: 'silent' }),
    ).profiles();
    t.same(
      profiles.map((p) => p.name),
      ['prod'],
      configFile,
    );
  }
});

t.test('an SSO token cache others can write to: her token never reaches the SSO portal', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  // A stand-in for the SSO portal that records the bearer tokens it is sent.
  const tokens: string[] = [];
  const portal = createServer((req, res) => {
    tokens.push(String(req.headers['x-amz-sso_bearer_token']));
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"no"}');
  });
  await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => portal.close(() => resolve())));
  const home = tempDir(t, 'sentinel-home-');
  chmodSync(home, 0o755);
  const cache = join(home, '.aws', 'sso', 'cache');
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  chmodSync(join(home, '.aws'), 0o755);
  chmodSync(join(home, '.aws', 'sso'), 0o755);
  chmodSync(cache, 0o777); // left open, e.g. by a shared setup script
  const configFile = join(home, '.aws', 'config');
  writeFileSync(
    configFile,
    `[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Admin\n` +
      `[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n` +
      `[profile prod]\nrole_arn = ${ROLE}\nsource_profile = sso\n`,
    { mode: 0o600 },
  );
  const tokenFile = join(cache, `${createHash('sha1').update('corp').digest('hex')}.json`);
  const planted = {
    accessToken: 'walker2-token',
    expiresAt: '2099-01-01T00:00:00Z',
    region: 'us-east-1',
    startUrl: 'https://corp.awsapps.com/start',
  };
  await runScriptAs(
    t,
    'walker2',
    `import { writeFileSync } from 'node:fs';
     writeFileSync(${JSON.stringify(tokenFile)}, ${JSON.stringify(JSON.stringify(planted))});`,
  );
  withEnv(t, { HOME: home, AWS_ENDPOINT_URL_SSO: `http://127.0.0.1:${(portal.address() as { port: number }).port}` });
  const e = await vendProd(t, configFile, '/dev/null');
  t.same(tokens, [], 'the portal was never sent her token');
  t.equal(e?.code, 'BaseCredentialsUnavailable');
  t.match(e?.message, cache, 'the message names the cache');
  t.match(e?.hint, /chmod/);
});
