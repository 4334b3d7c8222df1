// A source profile's credential_process, as the daemon runs it: a command that never answers (a prompt nobody sees, a
// locked keychain) or that leaves a child holding its output open is stopped with everything it started when the
// resolution gives up, instead of living on beside the daemon, one more at every later request.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../core/log.js';
import { createBaseCredentialResolver } from '../daemon/vending/base-credentials.js';
import { tempDir } from './support/temp-dir.js';
import { until } from './support/wait.js';

const KEY = 'AKIAEXAMPLEPROCESS01';
const SECRET = 'processSecretDoNotLeak000000000000000001';
const VERSION_1 = JSON.stringify({ Version: 1, AccessKeyId: KEY, SecretAccessKey: SECRET });

function resolverFor(t: Test, profiles: Record<string, string>) {
  const dir = tempDir(t, 'sentinel-process-');
  const configFile = join(dir, 'config');
  writeFileSync(
    configFile,
    Object.entries(profiles)
      .map(([name, command]) => `[profile ${name}]\ncredential_process = ${command.replaceAll('$DIR', dir)}\n`)
      .join('\n'),
    { mode: 0o600 },
  );
  const resolver = createBaseCredentialResolver({
    files: { configFile, credentialsFile: '/dev/null' },
    env: process.env,
    log: silentLogger(),
    now: Date.now,
    region: 'us-east-1',
    resolveTimeoutMs: 500,
  });
  const settings = (name: string) => new Map([['credential_process', profiles[name]!.replaceAll('$DIR', dir)]]);
  const resolve = (name: string) =>
    resolver.resolve({ key: `profile:${name}`, profile: name, kind: 'profile' }, settings(name)).then(
      (c) => ({ ok: c }),
      (e: { code: string }) => ({ error: e }),
    );
  return { dir, resolve };
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

t.test('a command that never answers is stopped, with the children it started', async (t) => {
  const { dir, resolve } = resolverFor(t, {
    hangs: `/bin/sh -c 'echo $$ > $DIR/hangs.pid; exec sleep 1000'`,
    // Prints complete credentials, but a child it left behind keeps the output open, so the output never ends.
    lingers: `/bin/sh -c 'sleep 1000 & echo $! > $DIR/lingers.pid; printf %s ${JSON.stringify(VERSION_1)}'`,
  });
  for (const name of ['hangs', 'lingers']) {
    const started = Date.now();
    const r = await resolve(name);
    t.match(r, { error: { code: 'BaseCredentialsUnavailable' } }, `${name}: refused`);
    t.ok(Date.now() - started < 5000, `${name}: at the timeout`);
    const pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
    await until(
      () => alive(pid),
      (a) => !a,
      3000,
    ).catch(() => undefined);
    t.notOk(alive(pid), `${name}: process ${pid} is gone`);
    try {
      process.kill(pid, 'SIGKILL'); // so a failing run leaves nothing behind
    } catch {
      // gone, as it should be
    }
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
