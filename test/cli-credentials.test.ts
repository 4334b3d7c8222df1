// `sentinel credentials --profile P` (credential_process) as a real subprocess against a control-API stand-in: stdout is
// only the Version 1 JSON, refusals go to stderr with the catalogue's exit codes, both the fast path and the full
// parser behave the same. Real SDKs running it against the real daemon: cli-e2e-credentials.test.ts.
import t, { type Test } from 'tap';
import { parseFast, toProcessCredentials } from '../cli/credentials.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, errorBody, sentinel, startStubDaemon, tempDir, type StubDaemon } from './support/cli.js';

const ANSWER = {
  AccessKeyId: 'ASIAPROCESS',
  SecretAccessKey: 'process/secret',
  Token: 'process-token',
  Expiration: '2030-01-01T00:00:00Z',
  AccountId: '111111111111',
};

function stub(t: Test, answer: (profile: string) => { status: number; body: unknown }): Promise<StubDaemon> {
  return startStubDaemon(t, (req) => {
    if (req.method === 'POST' && req.url === '/v1/credentials')
      return answer((req.body as { profile: string }).profile);
    return { status: 404, body: errorBody('NotFound', 'no such endpoint') };
  });
}

t.test('parseFast takes only the plain form; anything else goes to the full parser', async (t) => {
  t.same(parseFast(['--profile', 'dev']), { profile: 'dev', socket: undefined, config: undefined });
  t.same(parseFast(['--profile=dev', '--socket', '/s', '--config=/c']), { profile: 'dev', socket: '/s', config: '/c' });
  t.equal(parseFast([]), undefined);
  t.equal(parseFast(['--profile']), undefined, 'missing value');
  t.equal(parseFast(['--profile', '--socket']), undefined, 'a flag is not a value');
  t.equal(parseFast(['--profile', 'a', '--profile', 'b']), undefined, 'repeated');
  t.equal(parseFast(['--profile', 'a', '--help']), undefined);
  t.equal(parseFast(['--profile', 'a', 'extra']), undefined);
  t.equal(parseFast(['--socket', '/s']), undefined, 'no profile');
});

t.test('toProcessCredentials: Version 1 shape, refuses incomplete answers', async (t) => {
  t.same(toProcessCredentials(ANSWER), {
    Version: 1,
    AccessKeyId: 'ASIAPROCESS',
    SecretAccessKey: 'process/secret',
    SessionToken: 'process-token',
    Expiration: '2030-01-01T00:00:00Z',
  });
  t.throws(() => toProcessCredentials({ ...ANSWER, Token: undefined }), /without Token/);
  t.throws(() => toProcessCredentials({ ...ANSWER, Expiration: 'soon' }), /Expiration/);
  t.throws(() => toProcessCredentials(null), /without AccessKeyId/);
  t.throws(() => toProcessCredentials({ ...ANSWER, SecretAccessKey: 42 }), /SecretAccessKey/);
});

t.test('prints exactly the Version 1 JSON, through the fast path and through the full parser', async (t) => {
  const daemon = await stub(t, () => ({ status: 200, body: ANSWER }));
  const expected = {
    Version: 1,
    AccessKeyId: 'ASIAPROCESS',
    SecretAccessKey: 'process/secret',
    SessionToken: 'process-token',
    Expiration: '2030-01-01T00:00:00Z',
  };
  const fast = await sentinel(t, ['credentials', '--profile', 'dev'], {
    env: cleanEnv({ SENTINEL_SOCKET: daemon.socket }),
  });
  t.equal(fast.code, 0, fast.stderr);
  t.equal(fast.stderr, '');
  t.same(JSON.parse(fast.stdout), expected);
  t.same(
    Object.keys(JSON.parse(fast.stdout)),
    ['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration'],
    'only these keys',
  );
  t.equal(fast.stdout.trim().split('\n').length, 1, 'one line, nothing else');
  const full = await sentinel(t, ['--socket', daemon.socket, 'credentials', '--profile', 'dev']);
  t.equal(full.code, 0, full.stderr);
  t.equal(full.stdout, fast.stdout, 'same output from the commander path');
  t.same(
    daemon.requests.map((r) => r.body),
    [{ profile: 'dev' }, { profile: 'dev' }],
  );
});

t.test('a denial: reason on stderr, nothing on stdout, exit 3', async (t) => {
  const daemon = await stub(t, () => ({
    status: 403,
    body: errorBody(
      'ServerModeRequired',
      'rule "prod-oncall": prod only through the daemon',
      'Use `sentinel use prod`.',
    ),
  }));
  const r = await sentinel(t, ['credentials', '--profile', 'prod'], {
    env: cleanEnv({ SENTINEL_SOCKET: daemon.socket }),
  });
  t.equal(r.code, 3);
  t.equal(r.stdout, '');
  t.equal(r.stderr, 'Error: rule "prod-oncall": prod only through the daemon\nHint: Use `sentinel use prod`.\n');
});

t.test('the credential_process profile itself asked for: named, with the profile to ask for instead', async (t) => {
  const daemon = await stub(t, (profile) => ({
    status: 403,
    body: errorBody('PolicyDenied', `no matching rule (default deny) refuses developer on ${profile}`, 'a hint'),
  }));
  const dir = tempDir(t);
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [
      '[profile dev-sentinel]',
      'credential_process = sentinel credentials --profile dev',
      '[profile vault]',
      'credential_process = aws-vault export --format=json jdoe',
      '',
    ].join('\n'),
  );
  const ask = (profile: string, extra: Record<string, string> = {}) =>
    sentinel(t, ['credentials', '--profile', profile], {
      env: cleanEnv({ SENTINEL_SOCKET: daemon.socket, AWS_CONFIG_FILE: config, ...extra }),
    });
  const self = await ask('dev-sentinel');
  t.equal(self.code, 2, 'a usage mistake, not a policy decision');
  t.equal(self.stdout, '');
  t.match(
    self.stderr,
    /^Error: profile "dev-sentinel" is the one whose credential_process calls Sentinel .*Sentinel vends "dev", not "dev-sentinel"/m,
  );
  t.match(self.stderr, /^Hint: Ask for the profile it names: `sentinel credentials --profile dev`/m);
  const other = await ask('vault');
  t.equal(other.code, 3, 'any other credential_process: the daemon refusal as it is');
  t.match(other.stderr, /refuses developer on vault/);
  const noConfig = await ask('dev-sentinel', { AWS_CONFIG_FILE: join(dir, 'missing') });
  t.equal(noConfig.code, 3, 'no AWS config to look in: the refusal as it is');
});

t.test("an unknown profile: the daemon's close matches reach the user, exit 1", async (t) => {
  const daemon = await stub(t, (p) => ({
    status: 404,
    body: errorBody('ProfileUnknown', `no profile "${p}" in the AWS config; did you mean dev?`),
  }));
  const r = await sentinel(t, ['credentials', '--profile', 'dve'], {
    env: cleanEnv({ SENTINEL_SOCKET: daemon.socket }),
  });
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, /did you mean dev\?/);
});

t.test('no daemon: exit 4 and how to start it', async (t) => {
  const r = await sentinel(t, ['credentials', '--profile', 'dev'], {
    env: cleanEnv({ SENTINEL_SOCKET: '/nonexistent/sentinel.sock' }),
  });
  t.equal(r.code, 4);
  t.equal(r.stdout, '');
  t.match(
    r.stderr,
    /^Error: the Sentinel daemon is not running \(no answer on \/nonexistent\/sentinel\.sock\)\nHint: Start it with `sentinel daemon start`/,
  );
});

t.test('malformed answers and malformed flags', async (t) => {
  const daemon = await stub(t, () => ({ status: 200, body: { AccessKeyId: 'x' } }));
  const env = cleanEnv({ SENTINEL_SOCKET: daemon.socket });
  const garbage = await sentinel(t, ['credentials', '--profile', 'dev'], { env });
  t.equal(garbage.code, 1);
  t.equal(garbage.stdout, '', 'never half a credential on stdout');
  for (const args of [['credentials'], ['credentials', '--profile'], ['credentials', '--profile', 'dev', '--bogus']]) {
    const r = await sentinel(t, args, { env });
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stdout, '');
  }
  const control = await sentinel(t, ['credentials', '--profile', 'a\u0001b'], { env });
  t.equal(control.code, 2);
  t.match(control.stderr, /control characters/);
  const help = await sentinel(t, ['credentials', '--help'], { env });
  t.equal(help.code, 0);
  t.match(help.stdout, /credential_process = sentinel credentials --profile dev/);
});
