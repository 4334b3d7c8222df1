// The manager's rules with a clock in hand (DESIGN §3.4, §6): the order of one request, expiry, the implicit
// credential_process session and when a revoked one may be replaced, coalesced touches, duration caps, one decision
// line per decision. The session store is the real memory store; policy, vendor and decision log are small doubles of
// their interfaces (nothing here crosses a wire).
import { noMfaSessions } from '../core/breakglass/mfa.js';
import t from 'tap';
import type { DecisionEntry, DecisionLog } from '../core/audit/types.js';
import { LocalSessions, type Peer } from '../daemon/sessions/local-sessions.js';
import { resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { newRequestId } from '../core/identity/source-identity.js';
import { silentLogger } from '../core/log.js';
import type { Decision, DecisionRequest, PolicyProvider } from '../core/policy/types.js';
import { MemorySessionStore } from '../core/sessions/memory.js';
import { TokenRegistry } from '../daemon/tokens.js';
import { until } from './support/wait.js';
import type { VendRequest, Vendor } from '../core/issuer/types.js';

const peer: Peer = { transport: 'unix', pid: 1234, uid: 1000 };

function setup(
  options: {
    configText?: Record<string, unknown>;
    decide?: (r: DecisionRequest) => Partial<Decision>;
    expirySweepMs?: number;
  } = {},
) {
  const clock = { now: Date.parse('2026-06-01T10:00:00Z') };
  const now = () => new Date(clock.now);
  const calls: string[] = [];
  const store = new MemorySessionStore({ now });
  const touches: Array<[string, number]> = [];
  const realTouch = store.touch.bind(store);
  store.touch = async (id, at, n, issued) => {
    touches.push([id, n]);
    return realTouch(id, at, n, issued);
  };
  const realGet = store.get.bind(store);
  store.get = async (id) => {
    calls.push('store.get');
    return realGet(id);
  };
  const policy: PolicyProvider = {
    start: async () => undefined,
    decide: (r) => {
      calls.push(`decide:${r.mode}`);
      const extra = options.decide?.(r) ?? {};
      return {
        allowed: true,
        effect: 'allow',
        rule: 'r',
        ruleIndex: 0,
        reason: 'ok',
        policySource: 'test',
        policyVersion: 'v1',
        ...extra,
      } as Decision;
    },
    reload: async () => policy.status(),
    status: () => ({
      source: 'file',
      location: 'test',
      version: 'v1',
      loadedAt: null,
      rules: 1,
      lastError: null,
      warnings: [],
    }),
    close: async () => undefined,
  };
  const vends: VendRequest[] = [];
  /** Sessions whose cached credentials the manager dropped (Vendor.forget). */
  const forgotten: string[] = [];
  let serial = 0;
  const vendor: Vendor = {
    profiles: async () => [],
    profile: async (name) => {
      if (name === 'missing') throw new SentinelError('ProfileUnknown');
      return { name, region: 'eu-west-1', roleArn: 'arn:aws:iam::1:role/x', stampable: true };
    },
    identify: async () => ({
      arn: 'arn:aws:iam::1:user/alice',
      account: '1',
      type: 'user',
      rawName: 'alice',
      policyName: 'alice',
    }),
    mfa: noMfaSessions,
    credentials: async (r) => {
      calls.push('vendor.credentials');
      vends.push(r);
      serial += 1;
      return {
        credentials: {
          AccessKeyId: `ASIA${serial}`,
          SecretAccessKey: 's',
          Token: 't',
          Expiration: new Date(clock.now + 900_000),
        },
        sourceIdentity: `sentinel-alice-direct-${r.sessionId}`,
        roleArn: 'arn:aws:iam::1:role/x',
        issueRequestId: r.requestId,
        fromCache: false,
      };
    },
    forget: (id) => void forgotten.push(id),
    reload: () => undefined,
    close: () => undefined,
  };
  const lines: DecisionEntry[] = [];
  const decisions: DecisionLog = {
    write: (l) => void lines.push({ ...l }),
    flush: async () => undefined,
    close: async () => undefined,
  };
  const config = resolveConfig(options.configText ?? {}, '/dev/null', { HOME: '/nonexistent' });
  const manager = new LocalSessions({
    config,
    policy,
    store,
    vendor,
    decisions,
    tokens: new TokenRegistry(),
    log: silentLogger(),
    newRequestId,
    now,
    touchFlushMs: 10,
    ...(options.expirySweepMs !== undefined ? { expirySweepMs: options.expirySweepMs } : {}),
  });
  return { manager, clock, calls, store, touches, vends, lines, forgotten };
}

t.test('one credential request runs store read, policy, vendor in that order and logs one line', async (t) => {
  const { manager, calls, lines } = setup();
  const opened = await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
  calls.length = 0;
  const body = await manager.credentials(
    { sessionId: opened.session.id, retired: false },
    { transport: 'tcp', pid: null, uid: 1000 },
  );
  t.same(calls, ['store.get', 'decide:server', 'vendor.credentials']);
  t.match(body, { AccessKeyId: 'ASIA2', Expiration: '2026-06-01T10:15:00Z' });
  t.equal(lines.length, 2);
  t.match(lines[1], {
    event: 'credentials',
    outcome: 'allow',
    user: 'alice',
    profile: 'dev',
    mode: 'server',
    session_id: opened.session.id,
    request_id: /^[0-9a-f]{16}$/,
    peer_uid: 1000,
    peer_pid: null,
    duration_seconds: 900,
  });
  t.not(lines[0]!.request_id, lines[1]!.request_id, 'each decision has its own request id');
  await manager.stop();
});

t.test('an expired session is refused, and recorded as expired', async (t) => {
  const { manager, clock, store, lines } = setup({ configText: { sessions: { ttl: '1h' } } });
  const opened = await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
  clock.now += 3600_000;
  const error = await manager.credentials({ sessionId: opened.session.id, retired: false }, peer).catch((e) => e);
  t.equal(error.code, 'SessionExpired');
  t.match(
    error.message,
    /expired at .*; open a new one with `sentinel use dev` \(or run `sentinel exec dev -- …` again\)/,
  );
  t.equal(error.status, 403);
  t.equal(lines.at(-1)!.error_code, 'SessionExpired');
  await new Promise((r) => setImmediate(r));
  t.equal((await store.get(opened.session.id))!.status, 'expired');
  await manager.stop();
});

t.test('sessions nobody asks for after they expired are released: token, opener and cached credentials', async (t) => {
  // A daemon runs for weeks: an API client that never ends its sessions, or the implicit session of a profile no
  // longer used, must not hold the daemon's memory (and count as active in `daemon status`) until it stops.
  const { manager, clock, store, forgotten } = setup({ configText: { sessions: { ttl: '1h' } }, expirySweepMs: 5 });
  const ids: string[] = [];
  for (let i = 0; i < 50; i += 1) {
    const opened = await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
    await manager.credentials({ sessionId: opened.session.id, retired: false }, peer);
    ids.push(opened.session.id);
  }
  await manager.credentialProcess('dev', peer);
  t.equal(manager.activeTokens, 50, 'fifty live tokens while the sessions are active');
  clock.now += 3600_000;
  const fresh = await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
  await until(
    () => manager.activeTokens,
    (n) => n === 1,
    2000,
    5,
  ).catch((e) => t.fail(`expired sessions are still held: ${(e as Error).message}`));
  t.equal(manager.activeTokens, 1, 'only the session opened since holds a token');
  t.equal(ids.filter((id) => forgotten.includes(id)).length, 50, 'the cached credentials of each were dropped');
  t.notOk(forgotten.includes(fresh.session.id), 'the live session keeps its credentials');
  const statuses = await until(
    async () => Promise.all(ids.map(async (id) => (await store.get(id))!.status)),
    (all) => all.every((s) => s === 'expired'),
    2000,
    5,
  ).catch((e) => (t.fail(`records not marked expired: ${(e as Error).message}`), []));
  t.equal(statuses.filter((s) => s === 'expired').length, 50, 'each record says expired, as a request for it would');
  const again = await manager.credentialProcess('dev', peer);
  t.match(again, { AccessKeyId: /^ASIA/ }, 'credential_process opens a new implicit session once the old one is swept');
  await manager.stop();
});

t.test('a revoked implicit session blocks credential_process until it would have expired', async (t) => {
  const { manager, clock, vends } = setup({ configText: { sessions: { ttl: '2h' } } });
  await Promise.all(Array.from({ length: 10 }, () => manager.credentialProcess('dev', peer)));
  const sessions = (await manager.listSessions({})).items;
  t.equal(sessions.length, 1, 'ten concurrent first calls share one implicit session');
  t.same([...new Set(vends.map((v) => v.sessionId))], [sessions[0]!.id], 'and all vend under its id');
  await manager.revoke(sessions[0]!.id, 'admin@host', 'compromised');
  clock.now += 3600_000;
  t.equal(
    (await manager.credentialProcess('dev', peer).catch((e) => e)).code,
    'SessionRevoked',
    'an hour later: still revoked',
  );
  clock.now += 3600_000;
  const after = await manager.credentialProcess('dev', peer);
  t.match(after, { AccessKeyId: /^ASIA/ }, 'once it would have expired, a new implicit session may open');
  t.equal((await manager.listSessions({})).items.length, 2);
  await manager.stop();
});

t.test('touches are coalesced into one write per session', async (t) => {
  const { manager, touches } = setup();
  const opened = await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
  for (let i = 0; i < 5; i += 1) await manager.credentials({ sessionId: opened.session.id, retired: false }, peer);
  await new Promise((r) => setTimeout(r, 50));
  t.same(touches, [[opened.session.id, 5]]);
  await manager.stop();
});

t.test('credential duration: config default, capped by the rule, within what STS accepts', async (t) => {
  const cases: Array<[Record<string, unknown>, number | undefined, number]> = [
    [{}, undefined, 900],
    [{ credentials: { duration: '2h' } }, 3600_000, 3600],
    [{ credentials: { duration: '2h' } }, undefined, 7200],
    [{}, 5 * 60_000, 900],
    [{ credentials: { duration: '20h' } }, undefined, 43_200],
  ];
  for (const [configText, maxDurationMs, expected] of cases) {
    const { manager, vends } = setup({ configText, decide: () => (maxDurationMs ? { maxDurationMs } : {}) });
    await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
    t.equal(
      vends.at(-1)!.durationSeconds,
      expected,
      `${JSON.stringify(configText)} max ${maxDurationMs} → ${expected}s`,
    );
    await manager.stop();
  }
});

t.test('a denial or a vending failure at open creates no session and logs the code', async (t) => {
  const { manager, lines } = setup({
    decide: (r) =>
      r.profile === 'prod' ? { allowed: false, effect: 'deny', errorCode: 'PolicyDenied', reason: 'closed' } : {},
  });
  const denied = await manager.openSession({ profile: 'prod', mode: 'server' }, peer).catch((e) => e);
  t.equal(denied.code, 'PolicyDenied');
  t.match(denied.message, /rule "r" refuses alice on prod in mode server: closed/);
  const unknown = await manager.openSession({ profile: 'missing', mode: 'server' }, peer).catch((e) => e);
  t.equal(unknown.code, 'ProfileUnknown');
  t.equal((await manager.listSessions({})).items.length, 0);
  t.same(
    lines.map((l) => [l.event, l.outcome, l.error_code]),
    [
      ['session_open', 'deny', 'PolicyDenied'],
      ['session_open', 'deny', 'ProfileUnknown'],
    ],
  );
  t.same(manager.counters.refusals, { PolicyDenied: 1, ProfileUnknown: 1 });
  await manager.stop();
  t.equal(
    (await manager.openSession({ profile: 'dev', mode: 'server' }, peer).catch((e) => e)).code,
    'DaemonNotRunning',
    'no sessions open once stopping',
  );
});

t.test('the session record follows issued credentials through the coalesced touch', async (t) => {
  const { manager, clock, store, lines } = setup();
  const opened = await manager.openSession({ profile: 'dev', mode: 'server' }, peer);
  t.match(
    opened.session,
    {
      source_identity: `sentinel-alice-direct-${opened.session.id}`,
      role_arn: 'arn:aws:iam::1:role/x',
      credentials_valid_until: new Date(clock.now + 900_000).toISOString(),
    },
    'an opened session starts with its first credentials recorded',
  );
  const implicit = await manager.credentialProcess('dev', peer);
  const line = lines.at(-1)!;
  t.equal(line.source_identity, `sentinel-alice-direct-${line.session_id}`, 'one SourceIdentity per session');
  const flushed = await until(
    () => store.get(line.session_id!),
    (s) => s?.credentials_valid_until !== undefined,
  );
  t.match(flushed, {
    source_identity: line.source_identity,
    role_arn: 'arn:aws:iam::1:role/x',
    credentials_valid_until: new Date(Date.parse(implicit.Expiration)).toISOString(),
    request_count: 1,
  });
  await manager.stop();
});
