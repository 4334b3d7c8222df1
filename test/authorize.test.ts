// authorize() (DESIGN §3.4 steps 3–5, §3.5) with a real compiled policy and a clock in hand: which override may lift
// which decision, the duration cap, device conditions without a posture provider, and one decision-log entry per
// call whatever the outcome. The issuer is a double of its one-method port (nothing here crosses a wire).
import t from 'tap';
import type { DecisionEntry } from '../core/audit/types.js';
import { authorize, OVERRIDE_GRACE_MS } from '../core/authorize/authorize.js';
import { composeOverrides, noOverrides } from '../core/authorize/overrides.js';
import type { AuthorizeRequest, Override, OverrideLookup, Ports, Principal } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';
import type { VendRequest } from '../core/issuer/types.js';
import { compilePolicy } from '../core/policy/compile.js';
import { parsePolicy } from '../core/policy/load.js';
import { defaultDeny } from '../core/policy/evaluate.js';
import type { DecisionRequest, PolicyFileRefusal } from '../core/policy/types.js';
import type { Mode } from '../core/types.js';

const POLICY = `
version: "1"
rules:
  - name: managed-only
    effect: allow
    conditions: { profiles: [laptop], device: { require_mdm: true } }
  - name: prod-approval
    effect: require_approval
    conditions: { profiles: [prod] }
    max_server_duration: 1h
  - name: frozen
    effect: deny
    conditions: { profiles: [frozen] }
    reason: change freeze
  - name: server-only
    effect: require_server
    conditions: { profiles: [oncall] }
  - name: dev
    effect: allow
    conditions: { profiles: [dev] }
`;

const NOW = new Date('2026-06-01T10:00:00Z');
const alice: Principal = {
  arn: 'arn:aws:iam::111111111111:user/alice',
  account: '111111111111',
  type: 'user',
  rawName: 'alice',
  user: 'alice',
};

function setup(over: Partial<Ports> = {}) {
  const parsed = parsePolicy(POLICY);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const compiled = compilePolicy(parsed.policy);
  const entries: DecisionEntry[] = [];
  const issued: VendRequest[] = [];
  const ports: Ports = {
    policy: { decide: (r) => compiled.decide(r, { source: 'test', version: 'v1' }) },
    overrides: noOverrides,
    issuer: {
      issue: async (r) => {
        issued.push(r);
        return {
          credentials: {
            AccessKeyId: 'ASIA1',
            SecretAccessKey: 's',
            Token: 't',
            Expiration: new Date(NOW.getTime() + 9e5),
          },
          sourceIdentity: `sentinel-${r.user}-${r.marker}-${r.sessionId}`,
          roleArn: 'arn:aws:iam::111111111111:role/x',
          issueRequestId: r.requestId,
          fromCache: false,
        };
      },
    },
    decisions: { write: (e) => void entries.push({ ...e }) },
    clock: () => NOW,
    settings: { credentialDurationMs: 2 * 3600_000, sessionStore: 'memory' },
    ...over,
  };
  return { ports, entries, issued };
}

function request(profile: string, mode: Mode = 'server'): AuthorizeRequest {
  return {
    principal: alice,
    profile,
    mode,
    sessionId: '0123456789abcdef',
    requestId: 'fedcba9876543210',
    context: { event: 'credentials', peer_pid: 42, peer_uid: 1000 },
  };
}

const lookup = (found: Override | null, seen?: string[]): OverrideLookup => ({
  find: async (_r, decision) => {
    seen?.push(decision.effect);
    return found;
  },
});

const minutes = (m: number) => new Date(NOW.getTime() + m * 60_000);

async function refusal(p: Promise<unknown>): Promise<SentinelError> {
  const e = await p.then(
    () => new Error('resolved'),
    (x: unknown) => x,
  );
  if (!(e instanceof SentinelError)) throw e;
  return e;
}

t.test('an allow issues direct credentials for the session and logs one allow entry', async (t) => {
  const { ports, entries, issued } = setup();
  const a = await authorize(request('dev'), ports);
  t.equal(a.marker, 'direct');
  t.equal(a.override, null);
  t.equal(a.sourceIdentity, 'sentinel-alice-direct-0123456789abcdef');
  t.equal(a.durationSeconds, 7200, 'config duration when nothing caps it');
  t.same(issued, [
    {
      sessionId: '0123456789abcdef',
      requestId: 'fedcba9876543210',
      profile: 'dev',
      user: 'alice',
      marker: 'direct',
      durationSeconds: 7200,
    },
  ]);
  t.equal(entries.length, 1);
  t.match(entries[0], {
    event: 'credentials',
    outcome: 'allow',
    user: 'alice',
    profile: 'dev',
    rule: 'dev',
    mode: 'server',
    session_id: '0123456789abcdef',
    request_id: 'fedcba9876543210',
    source_identity: a.sourceIdentity,
    duration_seconds: 7200,
    peer_pid: 42,
    peer_uid: 1000,
  });
  t.notOk('approved_request_id' in entries[0]! || 'break_glass_event_id' in entries[0]!);
});

t.test('without overrides every denial stands, nothing is issued, the entry says why', async (t) => {
  const { ports, entries, issued } = setup();
  t.equal((await refusal(authorize(request('prod'), ports))).code, 'ApprovalRequired');
  const frozen = await refusal(authorize(request('frozen'), ports));
  t.equal(frozen.code, 'PolicyDenied');
  t.match(frozen.message, /rule "frozen" refuses alice on frozen in mode server: change freeze/);
  t.equal((await refusal(authorize(request('oncall', 'cli'), ports))).code, 'ServerModeRequired');
  t.equal((await refusal(authorize(request('nowhere'), ports))).code, 'PolicyDenied');
  t.equal(issued.length, 0);
  t.same(
    entries.map((e) => [e.outcome, e.error_code, e.rule]),
    [
      ['deny', 'ApprovalRequired', 'prod-approval'],
      ['deny', 'PolicyDenied', 'frozen'],
      ['deny', 'ServerModeRequired', 'server-only'],
      ['deny', 'PolicyDenied', null],
    ],
  );
});

t.test('an approval lifts only require_approval; its id is logged and it caps the lifetime', async (t) => {
  const approved: Override = { kind: 'approved', id: 'req-1', notAfter: minutes(30) };
  const { ports, entries } = setup({ overrides: lookup(approved) });
  const a = await authorize(request('prod'), ports);
  t.equal(a.marker, 'approved');
  t.equal(a.sourceIdentity, 'sentinel-alice-approved-0123456789abcdef');
  t.equal(
    a.durationSeconds,
    (30 * 60_000 + OVERRIDE_GRACE_MS) / 1000,
    'the window left plus 15 minutes (45m < 1h rule cap)',
  );
  t.equal(entries.at(-1)!.approved_request_id, 'req-1');
  t.equal(entries.at(-1)!.outcome, 'allow');
  t.equal((await refusal(authorize(request('frozen'), ports))).code, 'PolicyDenied', 'an approval never lifts a deny');
  t.equal((await refusal(authorize(request('nowhere'), ports))).code, 'PolicyDenied', 'nor a default deny');
  t.notOk('approved_request_id' in entries.at(-1)!, 'and the refusal names no approval');
});

t.test('break-glass lifts deny, default deny and require_approval; nothing lifts a mode requirement', async (t) => {
  const seen: string[] = [];
  const glass: Override = { kind: 'breakglass', id: 'bg-7', notAfter: minutes(120) };
  const { ports, entries } = setup({ overrides: lookup(glass, seen) });
  const frozen = await authorize(request('frozen'), ports);
  t.equal(frozen.marker, 'breakglass');
  t.equal(entries.at(-1)!.break_glass_event_id, 'bg-7');
  t.equal(frozen.durationSeconds, 7200, 'config duration is shorter than the event plus 15 minutes');
  const prod = await authorize(request('prod'), ports);
  t.equal(prod.durationSeconds, 3600, "the rule's max_server_duration still caps");
  t.equal((await refusal(authorize(request('oncall', 'cli'), ports))).code, 'ServerModeRequired');
  const nowhere = await authorize(request('nowhere'), ports);
  t.equal(nowhere.marker, 'breakglass', 'a default deny (no rule for this profile) is lifted too');
  t.same(seen, ['deny', 'require_approval', 'default_deny'], 'the lookup is not even asked for a mode refusal');
});

t.test('an override about to end: its remaining time plus 15 minutes, never below STS minimum of 900 s', async (t) => {
  const oneMinute = lookup({ kind: 'breakglass', id: 'bg-1', notAfter: minutes(1) });
  t.equal((await authorize(request('frozen'), setup({ overrides: oneMinute }).ports)).durationSeconds, 960);
  const short = setup({
    overrides: oneMinute,
    settings: { credentialDurationMs: 5 * 60_000, sessionStore: 'memory' },
  });
  t.equal((await authorize(request('frozen'), short.ports)).durationSeconds, 900, 'a 5-minute config is raised to 900');
});

t.test('an override that has ended or has a malformed id is not applied (fail closed)', async (t) => {
  for (const bad of [
    { kind: 'breakglass', id: 'bg-1', notAfter: NOW },
    { kind: 'breakglass', id: 'bg-1', notAfter: minutes(-5) },
    { kind: 'breakglass', id: 'bg 1\n', notAfter: minutes(60) },
    { kind: 'breakglass', id: 'x'.repeat(65), notAfter: minutes(60) },
    { kind: 'breakglass', id: 'bg-1', notAfter: 'tomorrow' },
    { kind: 'admin', id: 'bg-1', notAfter: minutes(60) },
  ]) {
    const { ports, issued } = setup({ overrides: lookup(bad as unknown as Override) });
    t.equal((await refusal(authorize(request('frozen'), ports))).code, 'PolicyDenied', JSON.stringify(bad));
    t.equal(issued.length, 0);
  }
});

t.test('a lookup that fails refuses the request with its error, logged', async (t) => {
  const failing: OverrideLookup = {
    find: async () => {
      throw new SentinelError('SessionStoreUnavailable', 'the requests table did not answer');
    },
  };
  const { ports, entries, issued } = setup({ overrides: failing });
  t.equal((await refusal(authorize(request('prod'), ports))).code, 'SessionStoreUnavailable');
  t.equal(entries.at(-1)!.error_code, 'SessionStoreUnavailable');
  t.equal(issued.length, 0);
  t.equal((await authorize(request('dev'), ports)).marker, 'direct', 'an allow never consults the lookup');
});

t.test('composeOverrides asks in order and stops at the first override', async (t) => {
  const calls: string[] = [];
  const named = (name: string, found: Override | null): OverrideLookup => ({
    find: async () => {
      calls.push(name);
      return found;
    },
  });
  const approval: Override = { kind: 'approved', id: 'req-2', notAfter: minutes(60) };
  const composed = composeOverrides(named('approvals', null), named('breakglass', approval), named('never', null));
  const { ports } = setup({ overrides: composed });
  t.equal((await authorize(request('prod'), ports)).override, approval);
  t.same(calls, ['approvals', 'breakglass']);
  t.equal(composeOverrides(), noOverrides);
  t.equal(await noOverrides.find(request('prod'), {} as never, NOW), null);
});

t.test('no posture provider: a device condition does not hold, and the entry says so', async (t) => {
  const { ports, entries } = setup();
  const e = await refusal(authorize(request('laptop'), ports));
  t.equal(e.code, 'PolicyDenied', 'the managed-only rule did not apply: default deny');
  t.match(entries.at(-1)!.reason, /no device posture is known: device conditions of "managed-only" did not hold/);

  const managed = setup({ posture: { posture: () => ({ mdm_enrolled: true }) } });
  t.equal(
    (await authorize(request('laptop'), managed.ports)).decision.rule,
    'managed-only',
    'a posture port that meets it',
  );
  t.notMatch(managed.entries.at(-1)!.reason ?? '', /posture/);
  const unmanaged = setup({ posture: { posture: () => ({ mdm_enrolled: false }) } });
  await refusal(authorize(request('laptop'), unmanaged.ports));
  t.notMatch(
    unmanaged.entries.at(-1)!.reason ?? '',
    /no device posture/,
    'a known posture that fails says nothing of the kind',
  );
});

t.test('an issuer failure is a logged refusal with its code', async (t) => {
  const { ports, entries } = setup({
    issuer: {
      issue: async () => {
        throw new SentinelError('StsUnavailable', 'STS did not answer');
      },
    },
  });
  t.equal((await refusal(authorize(request('dev'), ports))).code, 'StsUnavailable');
  t.match(entries, [{ outcome: 'deny', error_code: 'StsUnavailable', rule: 'dev', duration_seconds: 7200 }]);
});

t.test('while decisions cannot be recorded, nothing is issued (AuditUnavailable)', async (t) => {
  const { ports, entries, issued } = setup();
  ports.decisions = { write: (e) => void entries.push({ ...e }), unavailable: () => 'the disk is full' };
  const e = await refusal(authorize(request('dev'), ports));
  t.equal(e.code, 'AuditUnavailable');
  t.equal(issued.length, 0);
  t.equal(entries.at(-1)!.error_code, 'AuditUnavailable', 'the refusal is still offered to the log');
});

t.test('an MFA-verified break-glass event asks the issuer for its MFA session and at most an hour', async (t) => {
  const { ports, entries, issued } = setup({
    overrides: lookup({ kind: 'breakglass', id: 'bg-mfa', notAfter: minutes(120), mfa: true }),
  });
  const a = await authorize(request('frozen'), ports);
  t.equal(a.marker, 'breakglass');
  t.equal(a.durationSeconds, 3600, 'role chaining with the MFA session: one hour, not the 2 h the event allows');
  t.equal(issued.at(-1)!.mfa, true);
  t.equal(entries.at(-1)!.duration_seconds, 3600, 'the log says what was asked');

  const plain = setup({ overrides: lookup({ kind: 'breakglass', id: 'bg-plain', notAfter: minutes(120) }) });
  const b = await authorize(request('frozen'), plain.ports);
  t.equal(b.durationSeconds, 7200, 'without MFA the event’s own bound applies');
  t.equal(plain.issued.at(-1)!.mfa, undefined);

  const odd = setup({
    overrides: lookup({ kind: 'breakglass', id: 'bg-odd', notAfter: minutes(120), mfa: 'yes' as unknown as boolean }),
  });
  const e = await refusal(authorize(request('frozen'), odd.ports));
  t.equal(e.code, 'PolicyDenied', 'an override with a malformed mfa flag is not applied (fail closed)');
  t.equal(odd.issued.length, 0);
});

t.test(
  'PolicyUnavailable: the hint fits why (a file to fix, KMS that did not answer, a parameter in SSM)',
  async (t) => {
    const unavailable = (source: string, reason: string, why?: PolicyFileRefusal) =>
      setup({
        policy: {
          decide: () => ({
            ...defaultDeny({ source, version: null }, reason, 'PolicyUnavailable'),
            ...(why ? { unavailable: why } : {}),
          }),
        },
      }).ports;
    const invalid = await refusal(
      authorize(
        request('dev'),
        unavailable('file:/p/policy.yaml', 'no valid policy is loaded: /p/policy.yaml:4:13: x'),
      ),
    );
    t.match(invalid.hint, /sentinel policy validate \/p\/policy\.yaml/);
    const kms = await refusal(
      authorize(
        request('dev'),
        unavailable(
          'file:/p/policy.yaml',
          'no valid policy is loaded: KMS GetPublicKey for the signing key failed (TimeoutError); trying again every 30 s',
          'signing_key_unavailable',
        ),
      ),
    );
    t.notMatch(kms.hint, /policy validate/, 'nothing in the file to fix');
    t.match(kms.hint, /KMS did not give the key.*sentinel daemon reload/);
    // The hint follows the source's word on why, not the reason's text: a file whose problem merely mentions KMS is
    // still a file to fix.
    const text = await refusal(
      authorize(
        request('dev'),
        unavailable(
          'file:/p/policy.yaml',
          'no valid policy is loaded: KMS GetPublicKey for the signing key failed',
          'invalid',
        ),
      ),
    );
    t.match(text.hint, /sentinel policy validate \/p\/policy\.yaml/);
    const missing = await refusal(
      authorize(
        request('dev'),
        unavailable(
          'file:/p/policy.yaml',
          'no valid policy is loaded: /p/policy.yaml does not exist. Create it',
          'missing',
        ),
      ),
    );
    t.match(missing.hint, /keeps running and refuses every request until a policy loads/);
    const ssm = await refusal(
      authorize(request('dev'), unavailable('ssm:/sentinel/policies/dev', 'no valid policy is loaded: not signed')),
    );
    t.match(ssm.hint, /sentinel policy push dev <file> --sign/);
    t.match(ssm.hint, /sentinel daemon (status|reload)/, "a daemon's own policy: its status and reload");
    // The vendor decides with a policy no local daemon holds: its hint names neither daemon command.
    const vendorPorts = unavailable('ssm:/sentinel/policies/dev', 'no valid policy is loaded: not signed');
    vendorPorts.settings = { ...vendorPorts.settings, server: 'vendor' };
    const vendor = await refusal(authorize(request('dev'), vendorPorts));
    t.match(vendor.hint, /The vendor's log says why its policy for dev was refused/);
    t.match(vendor.hint, /sentinel policy push dev <file> --sign/);
    t.match(vendor.hint, /loads it at its next refresh/);
    t.notMatch(vendor.hint, /sentinel daemon/);
  },
);

t.test("a require_server_session rule's session_table is checked against the front end's table", async (t) => {
  const parsed = parsePolicy(
    'version: "1"\nrules:\n  - name: tracked\n    effect: require_server_session\n    conditions: { profiles: [prod] }\n    session_table: team-sessions\n',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const compiled = compilePolicy(parsed.policy);
  const policy = { decide: (r: DecisionRequest) => compiled.decide(r, { source: 'test', version: 'v1' }) };
  const settings = (sessionTable?: string) => ({
    credentialDurationMs: 3600_000,
    sessionStore: 'dynamodb' as const,
    ...(sessionTable ? { sessionTable } : {}),
  });
  const same = setup({ policy, settings: settings('team-sessions') });
  t.equal((await authorize(request('prod'), same.ports)).decision.rule, 'tracked', 'the named table: allowed');
  for (const table of ['my-sessions', undefined]) {
    const other = setup({ policy, settings: settings(table) });
    await t.rejects(authorize(request('prod'), other.ports), { code: 'ServerModeRequired' }, `table ${table}`);
    t.equal(other.issued.length, 0, 'nothing issued');
  }
});
