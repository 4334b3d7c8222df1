// A session follows its profile's role_arn in the user's AWS config (DESIGN §3.4 step 4), as the vendor follows its
// policy's profiles (test/vendor-main-path-attack.test.ts): the next credential request after an edit assumes the role
// the file names now, never the old role's cached credentials; the session record and the decision log name the role
// issued. A profile that vanished, a file others can now write, one that cannot be read or that the SDK would misread
// refuses that request with its own code, whatever the cache holds. A warm request only stats the two files.
//
// Before this, a `use`/`exec` session and the implicit credential_process session alike were served the old role's
// cached credentials until their refresh point (5 minutes at the default 15-minute duration, 50 at 1 h), and longer
// as fail-static when the new role could not be assumed; a vanished profile or an untrusted, unreadable or misread
// file was noticed by a token session only at that refresh, which then served the cached credentials fail-static for
// up to 5 minutes more. (credential_process requests, which look the profile up each time, were refused for those.)
import t, { type Test } from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AWS_CONFIG_CHECK_MS, createAwsConfig, RACY_COARSE_MS, RACY_MS } from '../daemon/vending/aws-config.js';
import { createVendor } from '../daemon/vending/vendor.js';
import { silentLogger } from '../core/log.js';
import {
  DEFAULT_AWS_CONFIG,
  DEFAULT_AWS_CREDENTIALS,
  ROLE_ARNS,
  startDaemon,
  type DaemonHarness,
  type FetchResult,
} from './support/daemon.js';
import { until } from './support/wait.js';

const READONLY = 'arn:aws:iam::111111111111:role/dev-readonly';
/** As long as `dev`'s role ARN: a rewrite that keeps the file's size. */
const OPS = 'arn:aws:iam::111111111111:role/ops';
const pointDev = (role: string) => DEFAULT_AWS_CONFIG.replace(ROLE_ARNS.dev, role);
const WITHOUT_DEV = DEFAULT_AWS_CONFIG.replace(/\[profile dev\]\n[^[]*/, '');

interface Harness {
  d: DaemonHarness;
  /** GET /v1/credentials with the `use` session's token. */
  fetch(): Promise<FetchResult>;
  /** POST /v1/credentials for dev: the implicit credential_process session. */
  proc(): Promise<FetchResult>;
  sessionId: string;
}

async function setup(t: Test): Promise<Harness> {
  // Every request looks at the files (the daemon's default, AWS_CONFIG_CHECK_MS, is once a second: see the last test).
  const d = await startDaemon(t, {
    touchFlushMs: 10,
    parts: { vendor: (config, log, env) => createVendor(config, { log, env, awsConfigCheckMs: 0 }) },
  });
  const opened = await d.openSession('dev');
  return {
    d,
    sessionId: opened.id,
    fetch: () => d.fetch({ transport: 'tcp', token: opened.token }),
    proc: () => d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } }),
  };
}

/** The role the credentials of an answer act as, as STS knows them. */
function roleActedAs(d: DaemonHarness, r: FetchResult): string | undefined {
  const arn = d.sts.callerOf(r.json.AccessKeyId, r.json.Token)?.arn;
  const m = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn ?? '');
  return m ? `arn:aws:iam::${m[1]}:role/${m[2]}` : undefined;
}

async function lastDecision(d: DaemonHarness): Promise<Record<string, any>> {
  return (await d.decisions()).at(-1)!;
}

t.test('role_arn re-pointed: the next request assumes the new role, and the record and the log say so', async (t) => {
  const h = await setup(t);
  const { d } = h;
  const before = await h.fetch();
  t.equal(before.status, 200);
  t.equal(roleActedAs(d, before), ROLE_ARNS.dev);
  const procBefore = await h.proc();
  t.equal(roleActedAs(d, procBefore), ROLE_ARNS.dev);
  t.equal((await h.fetch()).json.AccessKeyId, before.json.AccessKeyId, 'warm: served from the cache');
  const assumed = d.sts.calls.AssumeRole;

  // dev was admin by mistake: the user (or an admin tool) points it at a read-only role.
  writeFileSync(d.awsConfigFile, pointDev(READONLY));
  const after = await h.fetch();
  t.equal(after.status, 200);
  t.not(after.json.AccessKeyId, before.json.AccessKeyId, 'not the old role’s credentials from the cache');
  t.equal(roleActedAs(d, after), READONLY, 'credentials of the new role');
  t.equal(d.sts.calls.AssumeRole, assumed + 1);
  t.equal(d.sts.assumeRoleRequests.at(-1)!.RoleArn, READONLY);
  t.match(await lastDecision(d), {
    event: 'credentials',
    outcome: 'allow',
    session_id: h.sessionId,
    role_arn: READONLY,
    source_identity: `sentinel-alice-direct-${h.sessionId}`,
  });
  const record = await until(
    () => d.client.get<{ role_arn?: string }>(`/v1/sessions/${h.sessionId}`),
    (s) => s.role_arn !== ROLE_ARNS.dev,
  );
  t.equal(record.role_arn, READONLY, 'the session record names the new role (written with the next touch)');
  t.equal((await h.fetch()).json.AccessKeyId, after.json.AccessKeyId, 'then served from the cache again');
  t.equal(d.sts.calls.AssumeRole, assumed + 1);

  const procAfter = await h.proc();
  t.equal(roleActedAs(d, procAfter), READONLY, 'the implicit credential_process session too');
  t.match(await lastDecision(d), { event: 'credential_process', outcome: 'allow', role_arn: READONLY });

  // Same size, same inode: only the file's times tell.
  t.equal(pointDev(OPS).length, DEFAULT_AWS_CONFIG.length);
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  t.equal(roleActedAs(d, await h.fetch()), ROLE_ARNS.dev);
  const inode = statSync(d.awsConfigFile).ino;
  writeFileSync(d.awsConfigFile, pointDev(OPS));
  t.equal(statSync(d.awsConfigFile).ino, inode);
  t.equal(roleActedAs(d, await h.fetch()), OPS, 'a rewrite of the same size');

  // An editor's save: a new file renamed over the old one.
  const next = join(d.home, '.aws', 'config.new');
  writeFileSync(next, pointDev(READONLY), { mode: 0o600 });
  renameSync(next, d.awsConfigFile);
  t.equal(roleActedAs(d, await h.fetch()), READONLY, 'a file replaced by rename');

  // The credentials file is read with the config (its section wins key by key): an edit there counts the same.
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  t.equal(roleActedAs(d, await h.fetch()), ROLE_ARNS.dev);
  writeFileSync(d.env.AWS_SHARED_CREDENTIALS_FILE!, `${DEFAULT_AWS_CREDENTIALS}\n[dev]\nrole_arn = ${OPS}\n`);
  t.equal(roleActedAs(d, await h.fetch()), OPS, 'role_arn set in the credentials file');
});

t.test('the new role cannot be assumed: refused, and the old role is not served as fail-static', async (t) => {
  const h = await setup(t);
  const { d } = h;
  const before = await h.fetch();
  t.equal(roleActedAs(d, before), ROLE_ARNS.dev);
  d.sts.denyRole(READONLY);
  writeFileSync(d.awsConfigFile, pointDev(READONLY));
  const refused = await h.fetch();
  t.equal(refused.status, 502);
  t.equal(refused.json.code, 'StsUnavailable');
  t.notOk('AccessKeyId' in refused.json, 'the cached credentials of the old role (14 minutes left) are not served');
  t.match(await lastDecision(d), { outcome: 'deny', error_code: 'StsUnavailable', role_arn: null });
  // Pointed back: the old role's credentials are the profile's again, and still cached.
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  t.equal((await h.fetch()).json.AccessKeyId, before.json.AccessKeyId);
});

t.test('a profile gone, a file others can write, unreadable or misread: refused at once, cache or not', async (t) => {
  const h = await setup(t);
  const { d } = h;
  const credentialsFile = d.env.AWS_SHARED_CREDENTIALS_FILE!;
  const warm = await h.fetch();
  t.equal(warm.status, 200);
  t.equal((await h.proc()).status, 200);
  const assumed = d.sts.calls.AssumeRole;

  /** `procCode`: what the credential_process route answers, when it differs (it identifies the caller by the
   * profile's base credentials before deciding). */
  async function refusedNow(what: string, status: number, code: string, procCode = code): Promise<void> {
    for (const [how, request, want] of [
      ['session', h.fetch, code],
      ['credential_process', h.proc, procCode],
    ] as const) {
      const r = await request();
      t.equal(r.json?.code, want, `${what} (${how}): ${want}`);
      if (want === code) t.equal(r.status, status, `${what} (${how}): HTTP ${status}`);
      t.notOk('AccessKeyId' in (r.json ?? {}), `${what} (${how}): nothing from the cache`);
      t.match(await lastDecision(d), {
        event: how === 'session' ? 'credentials' : how,
        outcome: 'deny',
        error_code: want,
        role_arn: null,
      });
    }
  }
  async function servedAgain(what: string): Promise<void> {
    const r = await h.fetch();
    t.equal(r.status, 200, `${what}: served again`);
    t.equal(r.json.AccessKeyId, warm.json.AccessKeyId, `${what}: the session's cached credentials`);
  }

  writeFileSync(d.awsConfigFile, WITHOUT_DEV);
  await refusedNow('profile removed', 404, 'ProfileUnknown');
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  await servedAgain('profile back');

  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG.replace(/(\[profile dev\]\n[^[]*)source_profile = base\n/, '$1'));
  await refusedNow('role_arn left without a source', 403, 'NotStampable', 'BaseCredentialsUnavailable');
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  await servedAgain('source back');

  chmodSync(d.awsConfigFile, 0o606);
  await refusedNow('config writable by others', 502, 'BaseCredentialsUnavailable');
  chmodSync(d.awsConfigFile, 0o600);
  await servedAgain('mode restored');

  chmodSync(credentialsFile, 0o602);
  await refusedNow('credentials file writable by others', 502, 'BaseCredentialsUnavailable');
  chmodSync(credentialsFile, 0o600);
  await servedAgain('credentials file mode restored');

  writeFileSync(d.awsConfigFile, `${DEFAULT_AWS_CONFIG}\n#${'x'.repeat(4 * 1024 * 1024)}\n`);
  await refusedNow('config larger than 4 MiB', 502, 'BaseCredentialsUnavailable');
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  await servedAgain('config back to size');

  rmSync(d.awsConfigFile);
  mkdirSync(d.awsConfigFile);
  await refusedNow('config replaced by a directory', 502, 'BaseCredentialsUnavailable');
  rmSync(d.awsConfigFile, { recursive: true });
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG, { mode: 0o600 });
  await servedAgain('config back');

  if (process.getuid?.() !== 0) {
    chmodSync(d.awsConfigFile, 0o000);
    await refusedNow('config unreadable', 502, 'BaseCredentialsUnavailable');
    chmodSync(d.awsConfigFile, 0o600);
    await servedAgain('config readable again');
  }

  // A section the AWS SDK for JavaScript writes onto built-in objects: nothing is served while it is there.
  writeFileSync(d.awsConfigFile, `${DEFAULT_AWS_CONFIG}\n[constructor]\nregion = eu-west-1\n`);
  await refusedNow('a section the SDK misreads', 502, 'BaseCredentialsUnavailable');
  writeFileSync(d.awsConfigFile, DEFAULT_AWS_CONFIG);
  await servedAgain('section removed');

  t.equal(d.sts.calls.AssumeRole, assumed, 'no call to STS for any of it');
  const record = await d.client.get<{ status: string; role_arn: string }>(`/v1/sessions/${h.sessionId}`);
  t.match(record, { status: 'active', role_arn: ROLE_ARNS.dev }, 'a refusal ends nothing');
});

/** Waits until a file is older than the window in which its stamp is not trusted (longer where times are whole seconds). */
function settled(path: string): Promise<void> {
  const st = statSync(path);
  const coarse = st.mtimeMs % 1000 === 0 && st.ctimeMs % 1000 === 0;
  return new Promise((r) => setTimeout(r, (coarse ? RACY_COARSE_MS : RACY_MS) + 50));
}

t.test('unchanged(): a stat of each file; the profile as last read until one of them changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-unchanged-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'config');
  const credentialsFile = join(dir, 'credentials');
  writeFileSync(configFile, pointDev(ROLE_ARNS.dev), { mode: 0o600 });
  const cfg = createAwsConfig({ configFile, credentialsFile }, silentLogger(), { checkEveryMs: 0 });
  t.equal(cfg.unchanged('dev'), undefined, 'nothing read yet');
  const first = await cfg.profile('dev');
  // Just written: the stamp is not trusted until the file is older than the file system's time granularity.
  t.equal(cfg.unchanged('dev'), undefined, 'a file changed just before it was read is read again');
  t.not(await cfg.profile('dev'), first, 'read again');
  await settled(configFile);
  const read = await cfg.profile('dev');
  t.equal(await cfg.profile('dev'), read, 'then the same files: nothing new is parsed');
  t.equal(cfg.unchanged('dev'), read, 'unchanged: the profile as read, without reading');
  t.equal(cfg.unchanged('dev'), read);
  t.throws(() => cfg.unchanged('nope'), { code: 'ProfileUnknown' });
  t.throws(() => cfg.unchanged('../x'), { code: 'BadRequest' });

  writeFileSync(configFile, pointDev(OPS));
  t.equal(cfg.unchanged('dev'), undefined, 'an edit is noticed by the stat alone');
  t.equal((await cfg.profile('dev')).info.roleArn, OPS);
  writeFileSync(credentialsFile, '[x]\n', { mode: 0o600 });
  t.equal(cfg.unchanged('dev'), undefined, 'a credentials file that appears');
  await cfg.profile('dev');
  await settled(credentialsFile);
  await cfg.profile('dev');
  t.equal(cfg.unchanged('dev')?.info.roleArn, OPS);
  chmodSync(credentialsFile, 0o640);
  t.equal(cfg.unchanged('dev'), undefined, 'a change of mode');
  cfg.reload();
  t.equal(cfg.unchanged('dev'), undefined, 'after reload(): read again');
});

t.test('unchanged() stats the files at most once per interval: an edit is seen within it, not later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-unchanged-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'config');
  writeFileSync(configFile, pointDev(ROLE_ARNS.dev), { mode: 0o600 });
  let clock = 1_000_000;
  const cfg = createAwsConfig({ configFile, credentialsFile: join(dir, 'none') }, silentLogger(), {
    checkEveryMs: AWS_CONFIG_CHECK_MS,
    now: () => clock,
  });
  await settled(configFile);
  const read = await cfg.profile('dev');
  t.equal(cfg.unchanged('dev'), read);
  writeFileSync(configFile, pointDev(OPS));
  clock += AWS_CONFIG_CHECK_MS - 1;
  t.equal(cfg.unchanged('dev'), read, 'within the interval the last stat stands: no system call per request');
  clock += 1;
  t.equal(cfg.unchanged('dev'), undefined, 'at the interval the files are looked at, and the edit is seen');
  t.equal((await cfg.profile('dev')).info.roleArn, OPS);
  await settled(configFile);
  const again = await cfg.profile('dev');
  clock -= 10_000;
  writeFileSync(configFile, pointDev(READONLY));
  t.equal(cfg.unchanged('dev'), undefined, 'a clock that went back looks at once');
  t.not(again.info.roleArn, READONLY);
});
