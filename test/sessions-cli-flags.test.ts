// The checks `server sessions|session|revoke` run on their flags before anything is contacted, and the output
// formats, in-process (the binary's own exit path is proven in sessions-cli.test.ts). Also the AWS target rule.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SentinelError } from '../core/errors.js';
import type { Session } from '../core/sessions/types.js';
import { requireRegion, resolveAwsTarget } from '../cli/aws-target.js';
import { buildQuery, checkId, checkReason, parseSince, sessionDetail, sessionsTable, toCsv } from '../cli/server.js';

function usage(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof SentinelError && e.exit === 2 ? e.message : `unexpected: ${String(e)}`;
  }
}

t.test('session ids: exactly 16 lowercase hex', async (t) => {
  t.equal(checkId('0123456789abcdef'), '0123456789abcdef');
  for (const bad of [
    '',
    '0123456789abcde',
    '0123456789abcdef0',
    '0123456789ABCDEF',
    '0123456789abcdeg',
    '../../v1/status',
    '0123456789abcde\n',
    ' 0123456789abcdef',
  ]) {
    t.match(
      usage(() => checkId(bad)),
      /is not a session id/,
      JSON.stringify(bad),
    );
  }
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      const ok = /^[0-9a-f]{16}$/.test(s);
      return ok ? checkId(s) === s : usage(() => checkId(s)) !== undefined;
    }),
  );
});

t.test('revocation reasons: 1-1024 characters, one line, not blank', async (t) => {
  t.equal(checkReason('laptop reported stolen'), 'laptop reported stolen');
  t.equal(checkReason('  trimmed  '), 'trimmed', 'what the daemon stores: trimmed');
  t.equal(checkReason('é'.repeat(1024)).length, 1024);
  for (const [why, bad] of [
    ['empty', ''],
    ['blank', '  \t'],
    ['1025', 'x'.repeat(1025)],
    ['newline', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\u0000b'],
    ['ESC', '\u001b[2J'],
    ['DEL', 'a\u007f'],
    ['C1', 'a\u009bb'],
    ['bidi override', 'stolen \u202eINC-1'],
    ['zero-width space', 'stolen\u200b'],
    ['lone surrogate', 'a\ud800b'],
  ] as const) {
    t.ok(
      usage(() => checkReason(bad)),
      why,
    );
  }
  t.ok(
    usage(() => checkReason(undefined)),
    'missing',
  );
});

t.test('--since: durations back from now or RFC 3339; anything else refused', async (t) => {
  const now = Date.parse('2030-06-01T12:00:00.000Z');
  t.equal(parseSince('7d', now), '2030-05-25T12:00:00.000Z');
  t.equal(parseSince('24h', now), '2030-05-31T12:00:00.000Z');
  t.equal(parseSince('30m', now), '2030-06-01T11:30:00.000Z');
  t.equal(parseSince('1h30m', now), '2030-06-01T10:30:00.000Z');
  t.equal(parseSince('2030-01-31T09:00:00+01:00', now), '2030-01-31T08:00:00.000Z');
  for (const bad of [
    '',
    'yesterday',
    '7',
    '-5m',
    '0s',
    '7 d',
    '2030-13-45T00:00:00Z',
    '2030-01-31',
    '1e9h',
    'x'.repeat(10_000),
  ]) {
    t.match(
      usage(() => parseSince(bad, now)),
      /--since/,
      JSON.stringify(bad.slice(0, 20)),
    );
  }
});

t.test('list flags become a store query', async (t) => {
  const now = Date.parse('2030-06-01T12:00:00.000Z');
  t.same(buildQuery({}, now), { limit: 100 });
  t.same(
    buildQuery(
      { status: 'revoked', user: 'alice', forProfile: 'prod', serverInstance: 'srv-1', since: '1h', limit: '1000' },
      now,
    ),
    {
      status: 'revoked',
      user: 'alice',
      profile: 'prod',
      server_instance_id: 'srv-1',
      since: '2030-06-01T11:00:00.000Z',
      limit: 1000,
    },
  );
  const bad: Array<[string, object, RegExp]> = [
    ['status', { status: 'paused' }, /unknown status/],
    ['status case', { status: 'Active' }, /unknown status/],
    ['limit 0', { limit: '0' }, /--limit/],
    ['limit 1001', { limit: '1001' }, /--limit/],
    ['limit negative', { limit: '-1' }, /--limit/],
    ['limit fraction', { limit: '1.5' }, /--limit/],
    ['limit huge', { limit: '9'.repeat(400) }, /--limit/],
    ['user empty', { user: '' }, /--user/],
    ['user huge', { user: 'u'.repeat(257) }, /--user/],
    ['profile control', { forProfile: 'p\u0007' }, /--for-profile/],
    ['cursor junk', { cursor: 'not a cursor!' }, /--cursor/],
  ];
  for (const [why, flags, message] of bad)
    t.match(
      usage(() => buildQuery(flags, now)),
      message,
      why,
    );
});

const sample: Session = {
  id: '0123456789abcdef',
  user: 'carol',
  profile: 'prod',
  mode: 'server',
  status: 'revoked',
  started_at: '2030-06-01T10:00:00.000Z',
  expires_at: '2030-06-01T22:00:00.000Z',
  last_access_at: '2030-06-01T11:58:00.000Z',
  request_count: 12,
  host: 'laptop-7',
  pid: 99,
  revoked_by: 'secops',
  revoked_reason: '@SUM(A1), "x"\nsecond line',
  created_at: '2030-06-01T10:00:00.000Z',
  updated_at: '2030-06-01T11:59:00.000Z',
  ttl: 1_900_000_000,
};

t.test('output: table, detail and CSV', async (t) => {
  const now = Date.parse('2030-06-01T12:00:00.000Z');
  const lines = sessionsTable(
    [
      sample,
      { ...sample, id: 'fedcba9876543210', user: 'al', status: 'active', revoked_by: undefined, request_count: 3 },
    ],
    now,
  )
    .trimEnd()
    .split('\n');
  t.equal(
    lines[0],
    'ID                USER   PROFILE  MODE    STATUS             CREATED  LAST ACCESS  EXPIRES  REQUESTS',
  );
  t.equal(lines[1], '0123456789abcdef  carol  prod     server  revoked by secops  2h ago   2m ago       in 10h   12');
  t.equal(lines[2], 'fedcba9876543210  al     prod     server  active             2h ago   2m ago       in 10h   3');
  const detail = sessionDetail(sample, now);
  t.match(
    detail,
    /^Session {10}0123456789abcdef\nStatus {11}revoked\nRevoked by {7}secops\nReason {11}@SUM\(A1\), "x"\\u000asecond line\n/,
    'a newline in a stored reason is shown escaped',
  );
  t.match(detail, /\nExpires {10}2030-06-01T22:00:00.000Z \(in 10h\)\n/);
  t.notMatch(detail, /Source identity|Role|Credentials to/, 'absent fields are left out');
  const issued = sessionDetail(
    {
      ...sample,
      source_identity: 'sentinel-carol-direct-0123456789abcdef',
      role_arn: 'arn:aws:iam::123456789012:role/prod-readonly',
      credentials_valid_until: '2030-06-01T12:10:00.000Z',
    },
    now,
  );
  t.match(
    issued,
    /\nSource identity  sentinel-carol-direct-0123456789abcdef\nRole {13}arn:aws:iam::123456789012:role\/prod-readonly\nCredentials to {3}2030-06-01T12:10:00.000Z \(in 10m\)\n/,
    'the role of the latest credentials, and until when credentials issued for the session may be in use',
  );
  const csv = toCsv([sample]).split('\n');
  t.equal(csv[0]!.split(',').length, 20);
  t.equal(
    csv[1],
    '0123456789abcdef,carol,prod,server,revoked,2030-06-01T10:00:00.000Z,2030-06-01T22:00:00.000Z,2030-06-01T11:58:00.000Z,12,,,99,laptop-7,secops,"\'@SUM(A1), ""x""',
  );
  t.equal(
    csv[2],
    'second line",2030-06-01T10:00:00.000Z,2030-06-01T11:59:00.000Z,,,',
    'a newline stays inside the quoted cell',
  );
  const hostile = { ...sample, user: 'mal\u001b]0;pwned\u0007lory', revoked_reason: 'x\u001b[2Jy' };
  for (const text of [sessionsTable([hostile], now), sessionDetail(hostile, now), toCsv([hostile])]) {
    t.notMatch(text, /[\u001b\u0007]/, 'no terminal control sequences reach the output');
  }
  t.match(sessionDetail(hostile, now), /User {13}mal\\u001b\]0;pwned\\u0007lory\n/);
});

t.test('AWS target: flags, then environment, then config.yaml', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aws-target-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'aws_profile: from-config\nregion: eu-central-1\n');
  const env = { HOME: dir, SENTINEL_CONFIG: config };

  t.same(
    await resolveAwsTarget(
      { profile: 'flag', region: 'us-west-2' },
      {},
      { ...env, AWS_PROFILE: 'env', AWS_REGION: 'eu-west-1' },
    ),
    { profile: 'flag', region: 'us-west-2', source: { profile: 'flag', region: 'flag' } },
  );
  t.same(await resolveAwsTarget({}, {}, { ...env, AWS_PROFILE: 'env', AWS_REGION: 'eu-west-1' }), {
    profile: 'env',
    region: 'eu-west-1',
    source: { profile: 'environment', region: 'environment' },
  });
  t.same(await resolveAwsTarget({}, {}, { ...env, AWS_DEFAULT_REGION: 'ap-south-1' }), {
    profile: 'from-config',
    region: 'ap-south-1',
    source: { profile: 'config', region: 'environment' },
  });
  t.same(await resolveAwsTarget({}, {}, env), {
    profile: 'from-config',
    region: 'eu-central-1',
    source: { profile: 'config', region: 'config' },
  });
  t.same(
    await resolveAwsTarget({}, { config: join(dir, 'none.yaml') }, { HOME: dir }).catch((e: SentinelError) => e.code),
    'ConfigInvalid',
    'a named config must exist',
  );
  const bare = await resolveAwsTarget({}, {}, { HOME: dir, XDG_CONFIG_HOME: join(dir, 'empty') });
  t.same(bare, { profile: undefined, region: undefined, source: { profile: 'none', region: 'none' } });
  t.match(
    usage(() => requireRegion(bare)),
    /no AWS region/,
  );
  for (const [flags, message] of [
    [{ region: 'moon-1' }, /--region/],
    [{ region: '' }, /--region/],
    [{ profile: 'a b' }, /--profile/],
    [{ profile: '' }, /--profile/],
  ] as const) {
    const err = await resolveAwsTarget(flags, {}, env).then(
      () => undefined,
      (e: SentinelError) => e,
    );
    t.equal(err?.exit, 2);
    t.match(err?.message, message);
  }
  const badEnv = await resolveAwsTarget({}, {}, { ...env, AWS_REGION: 'nowhere' }).then(
    () => undefined,
    (e: SentinelError) => e,
  );
  t.match(badEnv?.message, /AWS_REGION/);
});
