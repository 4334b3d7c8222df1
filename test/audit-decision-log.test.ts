import t from 'tap';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { silentLogger } from '../core/log.js';
import { createDecisionLog, loadHmacKey, verifyDecisionLog } from '../core/audit/decision-log.js';
import { CENSORED, renderEntry, sanitizeEntry } from '../core/audit/entry.js';
import { refusalCountEntry } from '../core/authorize/decision-entry.js';
import type { DecisionEntry } from '../core/audit/types.js';
import { auditKeyFile, signedLogConfig } from './support/decision-log-fixture.js';
import { tempDir } from './support/temp-dir.js';
import { SentinelError } from '../core/errors.js';

const configFor = (file: string) => resolveConfig({ audit: { file } }, 'test-config.yaml', { HOME: '/nonexistent' });

function entry(overrides: Partial<DecisionEntry> = {}): DecisionEntry {
  return {
    timestamp: '2026-11-29T12:00:00.000Z',
    event: 'credentials',
    outcome: 'allow',
    user: 'alice',
    profile: 'prod',
    effect: 'allow',
    rule: 'oncall',
    rule_index: 0,
    reason: 'on-call may use prod',
    policy_source: 'file:/home/alice/.config/sentinel/policy.yaml',
    policy_version: 'a1b2c3d4e5f60718',
    mode: 'server',
    session_id: '0123456789abcdef',
    request_id: 'fedcba9876543210',
    source_identity: 'sentinel-alice-direct-fedcba9876543210',
    role_arn: 'arn:aws:iam::111122223333:role/prod-admin',
    duration_seconds: 900,
    peer_pid: 4242,
    peer_uid: 1000,
    ...overrides,
  };
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);

t.test('directory created 0700, file 0600, one JSON line per decision in the documented order', async (t) => {
  const dir = tempDir(t, 'sentinel-audit-');
  const file = join(dir, 'state', 'sentinel', 'decisions.log');
  const log = createDecisionLog(configFor(file), { log: silentLogger() });
  t.teardown(() => log.close());
  log.write(entry());
  log.write(
    entry({
      outcome: 'deny',
      error_code: 'PolicyDenied',
      source_identity: null,
      role_arn: null,
      duration_seconds: null,
    }),
  );
  log.write(entry({ event: 'session_open', approved_request_id: 'req-1', break_glass_event_id: 'bg_2' }));
  await log.flush();
  t.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'state', 'sentinel')).mode & 0o777, 0o700);
  t.equal(statSync(file).mode & 0o777, 0o600);
  const [a, b, c] = lines(file).map((l) => JSON.parse(l));
  t.equal(lines(file).length, 3);
  t.same(Object.keys(a), [
    'timestamp',
    'event',
    'outcome',
    'user',
    'profile',
    'effect',
    'rule',
    'rule_index',
    'reason',
    'policy_source',
    'policy_version',
    'mode',
    'session_id',
    'request_id',
    'source_identity',
    'role_arn',
    'duration_seconds',
    'peer_pid',
    'peer_uid',
  ]);
  t.same(a, entry());
  t.equal(b.error_code, 'PolicyDenied');
  t.equal(b.source_identity, null);
  t.equal(c.approved_request_id, 'req-1');
  t.equal(c.break_glass_event_id, 'bg_2');
});

t.test('an existing looser file is tightened; unsafe targets are refused', async (t) => {
  const dir = tempDir(t, 'sentinel-audit-');
  const file = join(dir, 'decisions.log');
  writeFileSync(file, '');
  chmodSync(file, 0o644);
  const log = createDecisionLog(configFor(file), { log: silentLogger() });
  await log.close();
  t.equal(statSync(file).mode & 0o777, 0o600);

  const target = join(dir, 'elsewhere.log');
  writeFileSync(target, '');
  const link = join(dir, 'link.log');
  symlinkSync(target, link);
  t.throws(
    () => createDecisionLog(configFor(link), { log: silentLogger() }),
    { code: 'UnsafePath' },
    'a symlink is not followed',
  );
  mkdirSync(join(dir, 'adir'));
  t.throws(() => createDecisionLog(configFor(join(dir, 'adir')), { log: silentLogger() }), { code: 'UnsafePath' });
  writeFileSync(join(dir, 'plainfile'), '');
  t.throws(() => createDecisionLog(configFor(join(dir, 'plainfile', 'x.log')), { log: silentLogger() }), {
    code: 'UnsafePath',
  });
});

t.test('a refused decision log is never to be removed: the hints keep it and say what to do instead', async (t) => {
  const dir = tempDir(t, 'sentinel-audit-');
  const refusal = (file: string): SentinelError => {
    try {
      createDecisionLog(configFor(file), { log: silentLogger() });
    } catch (e) {
      if (e instanceof SentinelError) return e;
      throw e;
    }
    throw new Error(`${file} was accepted`);
  };
  mkdirSync(join(dir, 'adir'));
  const notFile = refusal(join(dir, 'adir'));
  t.match(notFile.message, /is not a regular file/);
  t.match(notFile.hint ?? '', /another path/);
  // The suite runs as root (CI does), as test/daemon-runtime.test.ts's chown to nobody does.
  const theirs = join(dir, 'theirs.log');
  writeFileSync(theirs, '{"line":"someone else\'s"}\n', { mode: 0o600 });
  chownSync(theirs, 65534, 65534);
  const other = refusal(theirs);
  t.match(other.message, new RegExp(`belongs to uid 65534, not to you \\(uid ${process.getuid!()}\\)`));
  t.match(other.hint ?? '', /Keep it \(it may be evidence\)/);
  t.match(other.hint ?? '', `chown ${process.getuid!()} '`);
  t.equal(readFileSync(theirs, 'utf8'), '{"line":"someone else\'s"}\n', 'left as it was');
  for (const e of [notFile, other]) t.notMatch(e.hint ?? '', /remove/i, 'no hint says to remove the log');
});

t.test('no unexpected field and no secret survives', async (t) => {
  const dir = tempDir(t, 'sentinel-audit-');
  const file = join(dir, 'decisions.log');
  const log = createDecisionLog(configFor(file), { log: silentLogger() });
  t.teardown(() => log.close());
  const secrets = [
    'AKIAIOSFODNN7EXAMPLE',
    'ASIAZZZZZZZZZZZZZZZZ',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'FwoGZXIvYXdzEJr//////////wEaDH2kQ0example0SessionToken0Vq9XyZ1234',
    'k3Jd9sLq0xYv8ZmN2pQr5tUw7AbCdEfGhIjKlMnOp1',
  ];
  const hostile = {
    ...entry(),
    AccessKeyId: secrets[0],
    SecretAccessKey: secrets[2],
    credentials: { AccessKeyId: secrets[1], Token: secrets[3] },
    token: secrets[4],
    headers: { authorization: secrets[4] },
    reason: `copied ${secrets[0]} and ${secrets[3]} into the reason`,
    rule: `rule ${secrets[2]}`,
    user: `alice\n{"outcome":"allow"}`,
    policy_version: secrets[4],
    profile: '../../etc/passwd',
    session_id: secrets[4],
    request_id: 'not-an-id',
    source_identity: 'sentinel:alice',
    role_arn: `arn:aws:iam::111122223333:role/x ${secrets[1]}`,
    duration_seconds: '900',
    peer_pid: -1,
    peer_uid: 1.5,
    mode: 'root',
    outcome: 'maybe',
    error_code: 'NoSuchCode',
    approved_request_id: secrets[2],
    __proto__: { polluted: secrets[0] },
  } as unknown as DecisionEntry;
  log.write(hostile);
  await log.flush();
  const text = readFileSync(file, 'utf8');
  for (const s of secrets) t.notOk(text.includes(s), `secret ${s.slice(0, 8)}… is not in the log`);
  t.equal(lines(file).length, 1, 'a newline in a value does not forge a second line');
  const written = JSON.parse(lines(file)[0]!);
  for (const k of [
    'AccessKeyId',
    'SecretAccessKey',
    'credentials',
    'token',
    'headers',
    'polluted',
    'error_code',
    'approved_request_id',
  ]) {
    t.notOk(k in written, `no ${k} field`);
  }
  t.match(written.reason, new RegExp(`copied \\${CENSORED} and \\${CENSORED} into the reason`));
  t.same(
    [
      written.profile,
      written.session_id,
      written.request_id,
      written.source_identity,
      written.role_arn,
      written.duration_seconds,
      written.peer_pid,
      written.peer_uid,
      written.mode,
      written.outcome,
      written.policy_version,
    ],
    [null, null, null, null, null, null, null, null, null, null, CENSORED],
    'values of the wrong shape are null, never passed through',
  );
  t.equal(written.user, 'alice {"outcome":"allow"}');
});

t.test('sanitizing keeps what is legitimate', async (t) => {
  const e = entry();
  t.same(sanitizeEntry(e), e, 'a well-formed entry is unchanged');
  t.equal(
    sanitizeEntry({ ...e, timestamp: 'yesterday' }, () => new Date('2026-01-02T03:04:05Z')).timestamp,
    '2026-01-02T03:04:05.000Z',
  );
  t.equal(sanitizeEntry({ ...e, reason: 'x'.repeat(2000) }).reason!.length, 513, 'bounded');
  t.equal(
    sanitizeEntry({ ...e, policy_version: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
      .policy_version,
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'a sha256 hex digest is not mistaken for a secret',
  );
  t.equal(
    sanitizeEntry({ ...e, policy_source: 'ssm:/sentinel/policies/org/production-eu-west-1' }).policy_source,
    'ssm:/sentinel/policies/org/production-eu-west-1',
  );
  t.equal(sanitizeEntry({ ...e, rule_index: -1 }).rule_index, -1, 'default deny has rule index -1');
  t.equal(sanitizeEntry(null).outcome, null);
  t.equal(sanitizeEntry('garbage').request_id, null);
});

t.test('a count of refusals is one line of its own shape, signed and verified like any other', async (t) => {
  const dir = tempDir(t, 'sentinel-audit-');
  const file = join(dir, 'decisions.log');
  const keyFile = auditKeyFile(dir);
  const log = createDecisionLog(signedLogConfig(file, keyFile), { log: silentLogger() });
  t.teardown(() => log.close());
  const counted = {
    transport: 'tcp' as const,
    uid: 1001,
    count: 1990,
    first: new Date('2026-11-29T12:00:00.250Z'),
    last: new Date('2026-11-29T12:00:59.750Z'),
  };
  log.write(entry());
  log.write(refusalCountEntry(counted, new Date('2026-11-29T12:01:00.000Z'), '00000000000000aa'));
  log.write(refusalCountEntry({ ...counted, transport: 'unix', uid: null }, new Date(), '00000000000000ab'));
  log.write(entry({ count: 5, transport: 'tcp' } as Partial<DecisionEntry>));
  await log.flush();
  const [, tcp, unix, request] = lines(file).map((l) => JSON.parse(l).entry);
  t.same(tcp, {
    duration_seconds: null,
    effect: null,
    error_code: 'PeerNotAllowed',
    event: 'peer_refusals',
    mode: null,
    outcome: 'deny',
    peer_pid: null,
    peer_uid: 1001,
    policy_source: null,
    policy_version: null,
    profile: null,
    reason: null,
    request_id: '00000000000000aa',
    role_arn: null,
    rule: null,
    rule_index: null,
    session_id: null,
    source_identity: null,
    timestamp: '2026-11-29T12:01:00.000Z',
    user: null,
    transport: 'tcp',
    count: 1990,
    first_timestamp: '2026-11-29T12:00:00.250Z',
    last_timestamp: '2026-11-29T12:00:59.750Z',
  });
  t.equal(unix.transport, 'unix');
  t.equal(unix.peer_uid, null, 'an owner that could not be found');
  t.notOk('count' in request || 'transport' in request, "a request's line never carries a count");
  t.same(await verifyDecisionLog(file, loadHmacKey(keyFile)), { ok: true, lines: 4 }, 'the chain is intact');
  const plain = JSON.parse(
    renderEntry(refusalCountEntry(counted, new Date('2026-11-29T12:01:00.000Z'), '00000000000000aa'), 'documented')
      .json,
  );
  t.same(
    Object.keys(plain).slice(-5),
    ['peer_uid', 'transport', 'count', 'first_timestamp', 'last_timestamp'],
    'unsigned, its own fields come last, after those every line has',
  );
});

t.test('write never throws and flush waits for every line', async (t) => {
  const dir = tempDir(t, 'sentinel-audit-');
  const file = join(dir, 'decisions.log');
  const log = createDecisionLog(configFor(file), { log: silentLogger() });
  const circular: Record<string, unknown> = { ...entry() };
  circular.self = circular;
  t.doesNotThrow(() => log.write(circular as unknown as DecisionEntry));
  t.doesNotThrow(() => log.write(null as unknown as DecisionEntry));
  for (let i = 0; i < 2000; i++) log.write(entry({ rule_index: i }));
  await log.flush();
  const all = lines(file);
  t.equal(all.length, 2002);
  t.same(
    all.slice(2).map((l) => JSON.parse(l).rule_index),
    Array.from({ length: 2000 }, (_, i) => i),
    'in order',
  );
  await log.close();
  await log.close();
  t.doesNotThrow(() => log.write(entry()), 'a write after close is dropped, not thrown');
  t.equal(lines(file).length, 2002);
});
