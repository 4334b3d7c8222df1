import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { cleanEnv, sentinel } from './support/cli.js';

function tempHome(t: { teardown(fn: () => void): void }) {
  const home = mkdtempSync(join(tmpdir(), 'sentinel-config-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

t.test('no config file means documented defaults', async (t) => {
  const home = tempHome(t);
  const env = { HOME: home, XDG_RUNTIME_DIR: '/run/user/1234' };
  const c = loadConfig({ env });
  t.equal(c.file, join(home, '.config/sentinel/config.yaml'));
  t.equal(c.runtimeDir, '/run/user/1234/sentinel');
  t.equal(c.socketPath, '/run/user/1234/sentinel/sentinel.sock');
  t.equal(c.policy.source, 'file');
  t.equal(c.policy.file, join(home, '.config/sentinel/policy.yaml'));
  t.equal(c.policy.refreshMs, 5 * 60_000);
  t.equal(c.sessions.store, 'memory');
  t.equal(c.sessions.table, 'sentinel-sessions');
  t.equal(c.sessions.ttlMs, 12 * 3_600_000);
  t.equal(c.credentials.durationMs, 15 * 60_000);
  t.equal(c.credentials.allowUnstamped, false);
  t.equal(c.http.host, '127.0.0.1');
  t.equal(c.http.port, 0);
  t.equal(c.audit.file, join(home, '.local/state/sentinel/decisions.log'));
  t.equal(c.audit.hmacKeyFile, null);
});

t.test('a full config is read, paths expanded, durations parsed', async (t) => {
  const home = tempHome(t);
  mkdirSync(join(home, '.config/sentinel'), { recursive: true });
  writeFileSync(
    join(home, '.config/sentinel/config.yaml'),
    `
aws_profile: admin
region: eu-west-1
runtime_dir: ~/run
http: { host: 127.0.0.1, port: 8123 }
policy:
  source: ssm
  file: ~/p.yaml
  ssm_root: /sentinel/policies/
  signing_key: arn:aws:kms:eu-west-1:111122223333:key/abc
  refresh: 1h30m
sessions: { store: dynamodb, table: team-sessions, ttl: 8h }
credentials: { duration: 1h, allow_unstamped: true }
audit: { file: ~/audit.log, hmac_key_file: ~/k }
`,
  );
  const c = loadConfig({ env: { HOME: home } });
  t.equal(c.awsProfile, 'admin');
  t.equal(c.region, 'eu-west-1');
  t.equal(c.runtimeDir, join(home, 'run'));
  t.equal(c.socketPath, join(home, 'run/sentinel.sock'));
  t.equal(c.http.port, 8123);
  t.equal(c.policy.source, 'ssm');
  t.equal(c.policy.file, join(home, 'p.yaml'));
  t.equal(c.policy.ssmRoot, '/sentinel/policies', 'trailing slash dropped');
  t.equal(c.policy.refreshMs, 90 * 60_000);
  t.equal(c.sessions.store, 'dynamodb');
  t.equal(c.sessions.ttlMs, 8 * 3_600_000);
  t.equal(c.credentials.durationMs, 3_600_000);
  t.equal(c.audit.file, join(home, 'audit.log'));
  t.equal(c.audit.hmacKeyFile, join(home, 'k'));
});

t.test('SENTINEL_CONFIG and --config pick the file; SENTINEL_SOCKET and --socket pick the socket', async (t) => {
  const home = tempHome(t);
  const file = join(home, 'other.yaml');
  writeFileSync(file, 'region: us-west-2\n');
  t.equal(loadConfig({ env: { HOME: home, SENTINEL_CONFIG: file } }).region, 'us-west-2');
  t.equal(loadConfig({ env: { HOME: home }, configFlag: file }).region, 'us-west-2');
  const env = { HOME: home, SENTINEL_SOCKET: '/tmp/x.sock' };
  t.equal(loadConfig({ env }).socketPath, '/tmp/x.sock');
  t.equal(loadConfig({ env, socketFlag: '/tmp/y.sock' }).socketPath, '/tmp/y.sock', 'flag wins over env');
  t.throws(
    () => loadConfig({ env: { HOME: home, SENTINEL_CONFIG: join(home, 'missing.yaml') } }),
    /does not exist/,
    'a named config must exist',
  );
});

t.test('bad configs are refused with a message that names the problem', async (t) => {
  const home = tempHome(t);
  const file = join(home, 'c.yaml');
  const cases: Array<[string, RegExp]> = [
    ['regoin: eu-west-1\n', /unknown key "regoin"/],
    ['policy: { sorce: file }\n', /unknown key "policy.sorce"/],
    ['sessions: { store: redis }\n', /sessions.store/],
    ['credentials: { duration: forever }\n', /credentials.duration: expected a duration/],
    ['credentials: { duration: -5m }\n', /credentials.duration/],
    ['http: { port: 70000 }\n', /http.port/],
    ['http: { host: 0.0.0.0 }\n', /http.host/],
    ['region: "eu west 1"\n', /region/],
    ['credentials: { allow_unstamped: "yes" }\n', /allow_unstamped/],
    ['- a\n- b\n', /expected object/i],
    ['a: [unclosed\n', /config|c\.yaml/],
    ['a: &x [1]\nb: *x\nc: *x\n', /unknown key/],
    ['region: eu-west-1\nregion: us-east-1\n', /c\.yaml/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(file, text);
    const err = t.throws(() => loadConfig({ env: { HOME: home }, configFlag: file }), text.trim()) as unknown;
    t.ok(err instanceof SentinelError && err.code === 'ConfigInvalid', `ConfigInvalid for ${JSON.stringify(text)}`);
    t.match((err as Error).message, re, `message for ${JSON.stringify(text)}`);
  }
});

t.test('oversized, unreadable and non-regular config files are refused', async (t) => {
  const home = tempHome(t);
  const big = join(home, 'big.yaml');
  writeFileSync(big, 'x'.repeat(1024 * 1024 + 10));
  t.throws(() => loadConfig({ env: { HOME: home }, configFlag: big }), /larger than 1 MiB/);
  t.throws(() => loadConfig({ env: { HOME: home }, configFlag: home }), /not a regular file/);
  if (process.getuid?.() !== 0) {
    const locked = join(home, 'locked.yaml');
    writeFileSync(locked, 'region: eu-west-1\n');
    chmodSync(locked, 0);
    t.throws(() => loadConfig({ env: { HOME: home }, configFlag: locked }), /cannot be read/);
  }
  t.same(resolveConfig(null, 'x', { HOME: home }).sessions.store, 'memory', 'an empty document is defaults');
  writeFileSync(join(home, 'empty.yaml'), '\n# only a comment\n');
  t.equal(loadConfig({ env: { HOME: home }, configFlag: join(home, 'empty.yaml') }).policy.source, 'file');
});

t.test('client commands refuse a config.yaml that is a FIFO, a directory or oversized, at once', async (t) => {
  // Clients read config.yaml for runtime_dir before they can find the daemon, and `sentinel credentials` runs before
  // every AWS CLI call: a FIFO there hung it for good (no writer ever comes), a directory was "This is a bug", and a
  // file of any size was read whole.
  const home = tempHome(t);
  const dir = join(home, '.config', 'sentinel');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'config.yaml');
  const env = cleanEnv({ HOME: home, XDG_CONFIG_HOME: undefined });
  const cases: Array<[string, () => void, RegExp]> = [
    ['a FIFO', () => execFileSync('mkfifo', ['-m', '600', file]), /is not a regular file/],
    ['a directory', () => mkdirSync(file), /is not a regular file/],
    ['over 1 MiB', () => writeFileSync(file, `runtime_dir: /x\n${'#'.repeat(1024 * 1024)}\n`), /larger than 1 MiB/],
  ];
  for (const [what, make, message] of cases) {
    rmSync(file, { recursive: true, force: true });
    make();
    for (const args of [
      ['credentials', '--profile', 'dev'],
      ['daemon', 'status'],
    ]) {
      const r = await sentinel(t, args, { env, timeoutMs: 15_000 });
      t.equal(r.code, 1, `${what}: ${args[0]} exits 1`);
      t.match(r.stderr, message, `${what}: ${args[0]} names the problem`);
      t.notMatch(r.stderr, /This is a bug/);
    }
  }
});
