// A source profile's credential_process, as the daemon runs it: a command that never answers (a prompt nobody sees, a
// locked keychain) or that leaves a child holding its output open is stopped with everything it started when the
// resolution gives up, instead of living on beside the daemon, one more at every later request — also when it is
// the root of a source_profile chain.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../core/log.js';
import { createAwsConfig } from '../daemon/vending/aws-config.js';
import { createBaseCredentialResolver } from '../daemon/vending/base-credentials.js';
import { createStsClients } from '../core/issuer/sts-clients.js';
import { alive, groupAlive, ownProcessGroup } from './support/processes.js';
import { tempDir } from './support/temp-dir.js';
import { until } from './support/wait.js';

const KEY = 'AKIAEXAMPLEPROCESS01';
const SECRET = 'processSecretDoNotLeak000000000000000001';
const VERSION_1 = JSON.stringify({ Version: 1, AccessKeyId: KEY, SecretAccessKey: SECRET });

/** A resolver over a config of these credential_process profiles, and `more` (other profiles, as INI). */
function resolverFor(t: Test, profiles: Record<string, string>, more = '') {
  const dir = tempDir(t, 'sentinel-process-');
  const configFile = join(dir, 'config');
  writeFileSync(
    configFile,
    Object.entries(profiles)
      .map(([name, command]) => `[profile ${name}]\ncredential_process = ${command.replaceAll('$DIR', dir)}\n`)
      .join('\n') + `\n${more}`,
    { mode: 0o600 },
  );
  const log = silentLogger();
  const awsConfig = createAwsConfig({ configFile, credentialsFile: '/dev/null' }, log);
  const sts = createStsClients();
  t.teardown(() => sts.close());
  const resolver = createBaseCredentialResolver({
    awsConfig,
    sts,
    env: process.env,
    log,
    now: Date.now,
    region: 'us-east-1',
    resolveTimeoutMs: 500,
  });
  const resolve = async (name: string) =>
    resolver.resolve(await awsConfig.profile(name)).then(
      (c) => ({ ok: c }),
      (e: { code: string }) => ({ error: e }),
    );
  return { dir, resolve };
}

/** The command `name` wrote its pid (and its process group) to $DIR; it must be gone with all its group. */
async function stoppedWithItsGroup(t: Test, dir: string, name: string) {
  const pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
  const pgid = Number(readFileSync(join(dir, `${name}.pgid`), 'utf8'));
  const gone = () => !alive(pid) && !groupAlive(pgid);
  await until(gone, (g) => g, 3000).catch(() => undefined);
  t.ok(gone(), `${name}: process ${pid} and its group ${pgid} are gone`);
  try {
    // So a failing run leaves nothing behind (without a group of its own, the command shares this test's).
    if (pgid === ownProcessGroup()) process.kill(pid, 'SIGKILL');
    else process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone, as it should be
  }
}

/** Shell that writes the process group of the command to $DIR/<name>.pgid. */
const groupTo = (name: string) => `cut -d" " -f5 /proc/$$/stat > $DIR/${name}.pgid`;

t.test('a command that never answers is stopped, with the children it started', async (t) => {
  const { dir, resolve } = resolverFor(t, {
    hangs: `/bin/sh -c '${groupTo('hangs')}; echo $$ > $DIR/hangs.pid; exec sleep 1000'`,
    // Prints complete credentials, but a child it left behind keeps the output open, so the output never ends.
    lingers: `/bin/sh -c '${groupTo('lingers')}; sleep 1000 & echo $! > $DIR/lingers.pid; printf %s ${JSON.stringify(VERSION_1)}'`,
  });
  for (const name of ['hangs', 'lingers']) {
    const started = Date.now();
    const r = await resolve(name);
    t.match(r, { error: { code: 'BaseCredentialsUnavailable' } }, `${name}: refused`);
    t.ok(Date.now() - started < 5000, `${name}: at the timeout`);
    await stoppedWithItsGroup(t, dir, name);
  }
});

t.test('a command at the root of a source_profile chain is run and stopped here too, not by the SDK', async (t) => {
  const role = (name: string, source: string) =>
    `[profile ${name}]\nrole_arn = arn:aws:iam::123456789012:role/${name}\nsource_profile = ${source}\n`;
  const { dir, resolve } = resolverFor(
    t,
    { root: `/bin/sh -c '${groupTo('root')}; echo $$ > $DIR/root.pid; exec sleep 1000'` },
    [role('mid', 'root'), role('app', 'mid'), role('deep', 'app')].join('\n'),
  );
  for (const profile of ['app', 'deep']) {
    const started = Date.now();
    const r = await resolve(profile);
    t.match(
      r,
      {
        error: {
          code: 'BaseCredentialsUnavailable',
          message: /the base credentials from profile "root" could not be resolved/,
          hint: /credential_process of profile root/,
        },
      },
      `${profile}: refused, naming the command's profile`,
    );
    t.ok(Date.now() - started < 5000, `${profile}: at the timeout`);
    await stoppedWithItsGroup(t, dir, 'root');
  }
});

t.test('what the command prints is checked as the SDKs check it', async (t) => {
  const { resolve } = resolverFor(t, {
    good: `/bin/sh -c 'printf %s ${JSON.stringify(VERSION_1)}'`,
    huge: `/bin/sh -c 'head -c 50000000 /dev/zero'`,
    version2: `/bin/sh -c 'printf %s ${JSON.stringify(JSON.stringify({ Version: 2, AccessKeyId: KEY, SecretAccessKey: SECRET }))}'`,
    expired: `/bin/sh -c 'printf %s ${JSON.stringify(JSON.stringify({ Version: 1, AccessKeyId: KEY, SecretAccessKey: SECRET, Expiration: '2000-01-01T00:00:00Z' }))}'`,
    garbage: `/bin/sh -c 'echo not json'`,
    fails: `/bin/sh -c 'exit 3'`,
  });
  t.match(await resolve('good'), { ok: { accessKeyId: KEY, secretAccessKey: SECRET } });
  for (const name of ['huge', 'version2', 'expired', 'garbage', 'fails']) {
    t.match(await resolve(name), { error: { code: 'BaseCredentialsUnavailable' } }, name);
  }
});
