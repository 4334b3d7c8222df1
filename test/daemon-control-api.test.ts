// The control API on the Unix socket (DESIGN §3.3) and the session lifecycle behind it (DESIGN §6): status, profiles,
// open/list/get/revoke/end, the implicit credential_process session, sessions that end with their process, and
// sessions ended when the daemon stops.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { MemorySessionStore } from '../core/sessions/memory.js';
import type { Session, SessionStore } from '../core/sessions/types.js';
import { startDaemon } from './support/daemon.js';
import { until } from './support/wait.js';

t.test('status and profiles', async (t) => {
  const d = await startDaemon(t);
  const status = await d.client.get<any>('/v1/status');
  t.match(status, {
    version: /^\d+\.\d+\.\d+/,
    pid: process.pid,
    uptime_seconds: Number,
    listeners: {
      unix: d.socketPath,
      socket_activated: false,
      tcp: { host: '127.0.0.1', port: d.port, peer_lookup: 'sock_diag' },
      url: d.url,
    },
    policy: { source: 'file', location: d.policyFile, version: /^[0-9a-f]+$/, rules: 3, lastError: null },
    store: 'memory',
    counters: { sessions_opened: 0, credential_requests: 0, allowed: 0, denied: 0, reloads: 0 },
  });
  const { profiles } = await d.client.get<{ profiles: any[] }>('/v1/profiles');
  const byName = Object.fromEntries(profiles.map((p) => [p.name, p]));
  t.same(Object.keys(byName).sort(), ['base', 'blocked', 'dev', 'plain', 'prod']);
  t.match(byName.dev, {
    region: 'eu-west-1',
    role_arn: 'arn:aws:iam::111111111111:role/dev',
    source_profile: 'base',
    stampable: true,
  });
  t.match(byName.plain, { stampable: false, role_arn: null });
});

t.test('open, list, get, revoke and end sessions', async (t) => {
  const d = await startDaemon(t);
  const a = await d.openSession('dev', { ttl: '1h' });
  t.match(a, { id: /^[0-9a-f]{16}$/, token: /^[A-Za-z0-9_-]{43}$/, url: d.url, region: 'eu-west-1', profile: 'dev' });
  const b = await d.openSession('prod', { ttl: 48 * 3600 });
  const c = await d.openSession('dev', { mode: 'cli' });

  const sa = await d.client.get<Session>(`/v1/sessions/${a.id}`);
  t.match(sa, {
    id: a.id,
    user: 'alice',
    profile: 'dev',
    mode: 'server',
    status: 'active',
    request_count: 0,
    source_identity: `sentinel-alice-direct-${a.id}`,
  });
  t.equal(Date.parse(sa.expires_at) - Date.parse(sa.started_at), 3600_000, 'ttl 1h');
  const sb = await d.client.get<Session>(`/v1/sessions/${b.id}`);
  t.equal(
    Date.parse(sb.expires_at) - Date.parse(sb.started_at),
    12 * 3600_000,
    'a ttl beyond sessions.ttl is capped at it (12h)',
  );
  t.notOk('token' in sa, 'the token is never part of the record');

  const all = await d.client.get<{ sessions: Session[]; cursor?: string }>('/v1/sessions');
  t.same(all.sessions.map((s) => s.id).sort(), [a.id, b.id, c.id].sort());
  const devOnly = await d.client.get<{ sessions: Session[] }>('/v1/sessions?profile=dev');
  t.same(devOnly.sessions.map((s) => s.id).sort(), [a.id, c.id].sort());
  const page1 = await d.client.get<{ sessions: Session[]; cursor?: string }>('/v1/sessions?limit=2');
  t.equal(page1.sessions.length, 2);
  t.type(page1.cursor, 'string', 'a cursor when more follow');
  const page2 = await d.client.get<{ sessions: Session[]; cursor?: string }>(
    `/v1/sessions?limit=2&cursor=${encodeURIComponent(page1.cursor!)}`,
  );
  t.same(
    [...page1.sessions, ...page2.sessions].map((s) => s.id).sort(),
    [a.id, b.id, c.id].sort(),
    'the pages cover every session once',
  );

  for (let i = 0; i < 3; i += 1) t.equal((await d.fetch({ transport: 'tcp', token: a.token })).status, 200);
  const touched = await until(
    () => d.client.get<Session>(`/v1/sessions/${a.id}`),
    (s) => s.request_count === 3,
    15_000,
  );
  t.equal(touched.request_count, 3, 'request_count follows the fetches (written without blocking them)');
  t.type(touched.last_access_at, 'string');

  const revoke = (reason: string) =>
    d.fetch({ transport: 'unix', method: 'POST', path: `/v1/sessions/${b.id}/revoke`, body: { reason } });
  // The route applies the rule for text people write, as the CLI does: a bidi override is refused, named, nothing changed.
  const hidden = await revoke('incident \u202e24');
  t.equal(hidden.status, 400);
  t.equal(hidden.json.Code, 'BadRequest');
  t.match(hidden.json.Message, /the reason holds U\+202E/);
  const oversized = await revoke('x'.repeat(5000));
  t.equal(oversized.status, 400);
  t.match(oversized.json.Message, /the reason must be 1-1024 characters/);
  const revoked = await d.client.post<Session>(`/v1/sessions/${b.id}/revoke`, { reason: '  incident 42 ' });
  t.match(revoked, { status: 'revoked', revoked_reason: 'incident 42', revoked_by: /.+@.+/ });
  const again = await revoke('twice');
  t.equal(again.status, 409);
  t.equal(again.json.Code, 'SessionNotActive');
  t.equal((await d.client.get<{ sessions: Session[] }>('/v1/sessions?status=revoked')).sessions[0]!.id, b.id);

  const ended = await d.client.delete<Session>(`/v1/sessions/${c.id}`);
  t.equal(ended.status, 'ended');
  const endedAgain = await d.client.delete<Session>(`/v1/sessions/${c.id}`);
  t.equal(endedAgain.status, 'ended', 'ending a session no longer active leaves it as it is');
  const endRevoked = await d.client.delete<Session>(`/v1/sessions/${b.id}`);
  t.equal(endRevoked.status, 'revoked', 'a revoked session stays revoked');

  const counters = (await d.client.get<any>('/v1/status')).counters;
  t.match(counters, { sessions_opened: 3, credential_requests: 3, allowed: 6 });
});

t.test('the implicit credential_process session, and revocation is not undone by asking again', async (t) => {
  const d = await startDaemon(t);
  const ask = () => d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } });
  const first = await ask();
  const second = await ask();
  t.equal(first.status, 200);
  t.equal(second.json.AccessKeyId, first.json.AccessKeyId, 'one session, one cached set of credentials');
  t.equal(d.sts.calls.AssumeRole, 1);
  const implicit = (await d.client.get<{ sessions: Session[] }>('/v1/sessions')).sessions;
  t.equal(implicit.length, 1, 'one implicit session for (alice, dev)');
  t.match(implicit[0], { mode: 'credential_process', user: 'alice', profile: 'dev', status: 'active' });

  await d.client.post(`/v1/sessions/${implicit[0]!.id}/revoke`, { reason: 'suspicious use' });
  const refused = await ask();
  t.equal(refused.status, 403);
  t.equal(refused.json.Code, 'SessionRevoked');
  t.match(refused.json.Message, /suspicious use/);
  t.equal((await ask()).json.Code, 'SessionRevoked', 'asking again does not open a new one');
  t.equal(
    (await d.client.get<{ sessions: Session[] }>('/v1/sessions')).sessions.length,
    1,
    'no new session was created',
  );

  const explicit = await d.openSession('dev');
  t.match(explicit.id, /^[0-9a-f]{16}$/, 'an explicit session still opens, through a fresh policy decision');
  const lines = await d.decisions();
  t.ok(
    lines.some(
      (l) =>
        l.event === 'session_open' &&
        l.session_id === explicit.id &&
        l.outcome === 'allow' &&
        l.rule === 'dev-for-alice',
    ),
    'and it is logged',
  );
  t.equal(lines.filter((l) => l.event === 'credential_process' && l.error_code === 'SessionRevoked').length, 2);
});

t.test('a session opened with a pid ends when that process is gone', async (t) => {
  const d = await startDaemon(t, { pidPollMs: 200 });
  const owner = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => owner.kill('SIGKILL'));
  const s = await d.openSession('dev', { pid: owner.pid });
  t.equal((await d.client.get<Session>(`/v1/sessions/${s.id}`)).pid, owner.pid);
  t.equal((await d.fetch({ transport: 'tcp', token: s.token })).status, 200);
  owner.kill('SIGKILL');
  await new Promise((r) => owner.once('exit', r));
  const ended = await until(
    () => d.client.get<Session>(`/v1/sessions/${s.id}`),
    (x) => x.status !== 'active',
    15_000,
  );
  t.equal(ended.status, 'ended', 'its owner exited, so the session ended');
  const after = await d.fetch({ transport: 'tcp', token: s.token });
  t.equal(after.status, 403);
  t.equal(after.json.Code, 'SessionEnded');
  t.match(d.logs(), /"event":"session_owner_gone"/);

  const gone = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/sessions',
    body: { profile: 'dev', pid: owner.pid },
  });
  t.equal(gone.status, 400, 'a pid that is not running cannot own a session');
});

t.test('reload (SIGHUP) applies a changed config and keeps the running one when the new one is invalid', async (t) => {
  const d = await startDaemon(t);
  await d.openSession('dev');
  t.equal(d.sts.assumeRoleRequests.at(-1)!.DurationSeconds, 900, 'the default 15m');
  writeFileSync(d.configFile, 'credentials: { duration: 45m }\n');
  await d.daemon!.reload();
  await d.openSession('dev');
  t.equal(d.sts.assumeRoleRequests.at(-1)!.DurationSeconds, 2700, 'credentials.duration from the reloaded config');
  writeFileSync(d.configFile, 'credentials: { duration: 45m, colour: blue }\n');
  await d.daemon!.reload();
  t.match(d.logs(), /"event":"reload_failed".*unknown key.*credentials\.colour/, 'the problem is logged with the key');
  await d.openSession('dev');
  t.equal(d.sts.assumeRoleRequests.at(-1)!.DurationSeconds, 2700, 'the running config stays');
  writeFileSync(d.configFile, 'http: { port: 1 }\n');
  await d.daemon!.reload();
  t.match(d.logs(), /"event":"reload_partial","keys":\["http"\]/, 'settings that need a restart are named');
  t.equal((await d.client.get<any>('/v1/status')).counters.reloads, 3);
});

t.test('stopping the daemon ends its active sessions; POST /v1/shutdown stops it', async (t) => {
  const real = new MemorySessionStore();
  // The real store, except that the daemon's close() leaves it readable for the assertions below.
  const store: SessionStore = {
    kind: real.kind,
    create: (s) => real.create(s),
    get: (id) => real.get(id),
    touch: (...a) => real.touch(...a),
    revoke: (...a) => real.revoke(...a),
    end: (id) => real.end(id),
    expire: (id) => real.expire(id),
    list: (q) => real.list(q),
    close: async () => undefined,
  };
  const d = await startDaemon(t, { parts: { store: () => store } });
  const a = await d.openSession('dev');
  const b = await d.openSession('prod');
  const c = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } });
  t.equal(c.status, 200);
  await d.client.post(`/v1/sessions/${b.id}/revoke`, { reason: 'done' });

  const shutdown = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/shutdown' });
  t.equal(shutdown.status, 202);
  t.same(shutdown.json, { status: 'stopping' });
  await d.daemon!.closed;
  const sessions = (await real.list()).items;
  t.equal(sessions.length, 3);
  t.equal((await real.get(a.id))!.status, 'ended', 'the shell session ended with the daemon');
  t.equal((await real.get(b.id))!.status, 'revoked', 'a revoked session stays revoked');
  t.equal(sessions.find((s) => s.mode === 'credential_process')!.status, 'ended', 'the implicit session ended too');
  await real.close();
});
