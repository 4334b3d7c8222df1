// Fail closed (DESIGN §3.4, §5.2): whatever is missing or broken — policy, base credentials, STS, the session store —
// the answer is no credentials and a specific catalogue code, never a 500 and never a fallback.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { SentinelError } from '../core/errors.js';
import { MemorySessionStore } from '../core/sessions/memory.js';
import type { SessionStore } from '../core/sessions/types.js';
import { startDaemon, type DaemonHarness, type FetchResult } from './support/daemon.js';

function noCredentials(t: Test, r: FetchResult, status: number, code: string, what: string): void {
  t.equal(r.status, status, `${what}: HTTP ${status}`);
  t.equal(r.json?.Code, code, `${what}: ${code}`);
  t.equal(r.json?.code, code);
  t.notOk(
    'AccessKeyId' in (r.json ?? {}) || 'SecretAccessKey' in (r.json ?? {}) || 'token' in (r.json ?? {}),
    `${what}: no credentials or token in the answer`,
  );
}

const open = (d: DaemonHarness, profile: string) =>
  d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile } });
const processCreds = (d: DaemonHarness, profile: string) =>
  d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile } });

t.test('no policy file: the daemon runs, says so, and denies everything', async (t) => {
  const d = await startDaemon(t, { policy: null });
  const status = await d.client.get<{ policy: { lastError: string | null } }>('/v1/status');
  t.ok(status.policy.lastError, 'status reports why no policy is loaded');
  noCredentials(t, await open(d, 'dev'), 503, 'PolicyUnavailable', 'open');
  noCredentials(t, await processCreds(d, 'dev'), 503, 'PolicyUnavailable', 'credential_process');
  t.equal(d.sts.calls.AssumeRole, 0, 'nothing reached STS');
  t.match(d.logs(), /"event":"policy_unavailable"/);
  const lines = await d.decisions();
  t.equal(lines.length, 2);
  t.ok(lines.every((l) => l.outcome === 'deny' && l.error_code === 'PolicyUnavailable'));
});

t.test('an invalid policy is refused whole, at start and at reload', async (t) => {
  const d = await startDaemon(t, {
    policy: 'version: "1"\nrules:\n  - name: typo\n    effect: alow\n    conditions: { profiles: [dev] }\n',
  });
  noCredentials(t, await open(d, 'dev'), 503, 'PolicyUnavailable', 'a typo in an effect');

  const good = await startDaemon(t);
  const session = await good.openSession('dev');
  writeFileSync(good.policyFile, 'version: "2"\nrules: []\n');
  const reload = await good.client.post<{ policy: { lastError: string | null } }>('/v1/policy/reload', {});
  t.ok(reload.policy.lastError, 'the reload reports the problem');
  t.equal(
    (await good.fetch({ transport: 'tcp', token: session.token })).status,
    200,
    'and the last good policy stays in force',
  );
});

t.test('base credentials missing: BaseCredentialsUnavailable', async (t) => {
  const d = await startDaemon(t, { awsCredentials: '' });
  noCredentials(t, await open(d, 'dev'), 502, 'BaseCredentialsUnavailable', 'no keys for the source profile');
  noCredentials(t, await processCreds(d, 'dev'), 502, 'BaseCredentialsUnavailable', 'credential_process');
  t.equal(d.sts.calls.AssumeRole, 0);
});

t.test('STS down or refusing: StsUnavailable', async (t) => {
  const unreachable = await startDaemon(t, { env: { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' } });
  noCredentials(t, await open(unreachable, 'dev'), 502, 'StsUnavailable', 'STS unreachable');
  await unreachable.stop();

  const d = await startDaemon(t);
  d.sts.setFailure('AssumeRole', { code: 'ServiceUnavailable', status: 503, message: 'internal detail 1234' });
  const r = await open(d, 'dev');
  noCredentials(t, r, 502, 'StsUnavailable', 'STS answering 503');
  t.notMatch(r.text, /internal detail 1234/, 'no raw AWS error text in the answer');

  d.sts.setFailure('AssumeRole', null);
  d.sts.denyRole('arn:aws:iam::111111111111:role/dev');
  const denied = await open(d, 'dev');
  noCredentials(t, denied, 502, 'StsUnavailable', 'the role does not trust us');
  t.match(denied.json.hint, /sts:SetSourceIdentity/, 'the hint points at the trust policy');
});

t.test('session store unreachable: 503 SessionStoreUnavailable, never credentials from cache', async (t) => {
  const state = { down: false };
  const real = new MemorySessionStore();
  const flaky: SessionStore = {
    kind: 'memory',
    create: (s) => real.create(s),
    get: async (id) => {
      if (state.down) throw new SentinelError('SessionStoreUnavailable', 'the store did not answer');
      return real.get(id);
    },
    touch: (...a) => real.touch(...a),
    revoke: (...a) => real.revoke(...a),
    end: (id) => real.end(id),
    expire: (id) => real.expire(id),
    list: (q) => real.list(q),
    close: () => real.close(),
  };
  const d = await startDaemon(t, { parts: { store: () => flaky } });
  const session = await d.openSession('dev');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'served while the store answers');
  state.down = true;
  noCredentials(
    t,
    await d.fetch({ transport: 'tcp', token: session.token }),
    503,
    'SessionStoreUnavailable',
    'store down, credentials cached',
  );
  state.down = false;
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'served again once it answers');
});

t.test('profiles that cannot be served: NotStampable, ProfileUnknown', async (t) => {
  const d = await startDaemon(t);
  const plain = await open(d, 'plain');
  noCredentials(t, plain, 403, 'NotStampable', 'a profile without role_arn');
  t.match(plain.json.hint, /allow_unstamped/);
  const unknown = await open(d, 'deve');
  noCredentials(t, unknown, 404, 'ProfileUnknown', 'a profile that does not exist');
  t.match(unknown.json.Message, /dev/, 'the message suggests the close match');
  t.equal(d.sts.calls.AssumeRole, 0);
});
