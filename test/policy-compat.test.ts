// Compatibility with the original Go Sentinel: the example policies of its documentation (test/fixtures/policies/
// compat-*.yaml, rewritten only where the original's own validator refused them) load and decide as its documentation
// says they do.
import t from 'tap';
import { join } from 'node:path';
import { compilePolicy } from '../core/policy/compile.js';
import { evaluate } from '../core/policy/evaluate.js';
import { loadPolicyFile, parsePolicy } from '../core/policy/load.js';
import type { Policy } from '../core/policy/schema.js';
import type { Decision, DecisionRequest } from '../core/policy/types.js';
import type { DevicePosture, Mode, SessionStoreKind } from '../core/types.js';

const dir = join(import.meta.dirname, 'fixtures', 'policies');
const meta = { source: 'file:compat', version: null };

async function load(name: string): Promise<Policy> {
  const r = await loadPolicyFile(join(dir, name));
  if (!r.ok) throw new Error(`${name} does not load: ${JSON.stringify(r.problems)}`);
  return r.policy;
}

function decide(
  policy: Policy,
  q: {
    user?: string;
    profile: string;
    time?: string;
    mode?: Mode;
    store?: SessionStoreKind;
    table?: string;
    device?: DevicePosture;
  },
): Decision {
  const req: DecisionRequest = {
    user: q.user ?? 'alice',
    profile: q.profile,
    time: new Date(q.time ?? '2026-01-06T15:00:00Z'),
    mode: q.mode ?? 'server',
    sessionStore: q.store ?? 'memory',
    // A daemon with the dynamodb store keeps sessions in sessions.table, by default the original's sentinel-sessions.
    ...(q.store === 'dynamodb' ? { sessionTable: q.table ?? 'sentinel-sessions' } : {}),
    ...(q.device ? { device: q.device } : {}),
  };
  const linear = evaluate(policy, req, meta);
  const compiled = compilePolicy(policy).decide(req, meta);
  if (JSON.stringify(linear) !== JSON.stringify(compiled)) throw new Error('compiled and linear disagree');
  return linear;
}

t.test('every compat example validates', async (t) => {
  for (const name of [
    'compat-complete.yaml',
    'compat-getting-started.yaml',
    'compat-device-posture.yaml',
    'compat-require-server.yaml',
    'compat-modes.yaml',
  ]) {
    const r = await loadPolicyFile(join(dir, name));
    t.ok(r.ok, `${name} loads`);
  }
});

t.test('policy reference, "Complete Example" and "Example Evaluation"', async (t) => {
  const p = await load('compat-complete.yaml');
  // 2026-01-05 is a Monday; 15:00Z is 10:00 in New York (EST).
  t.equal(decide(p, { user: 'alice', profile: 'dev' }).rule, 'dev-team-access', 'alice + dev: allow');
  t.equal(decide(p, { user: 'alice', profile: 'dev' }).allowed, true);
  t.equal(
    decide(p, { user: 'dave', profile: 'dev' }).ruleIndex,
    -1,
    'a user not in the list continues to the default deny',
  );
  const staging = decide(p, { user: 'bob', profile: 'staging', time: '2026-01-05T15:00:00Z' });
  t.equal(staging.allowed, true, 'staging in business hours (Monday 10:00 New York)');
  t.equal(
    decide(p, { user: 'bob', profile: 'staging', time: '2026-01-05T23:00:00Z' }).allowed,
    false,
    'staging at 18:00 New York (end is exclusive)',
  );
  t.equal(
    decide(p, { user: 'bob', profile: 'staging', time: '2026-01-05T22:59:59Z' }).allowed,
    true,
    'staging at 17:59:59 New York',
  );
  t.equal(
    decide(p, { user: 'bob', profile: 'staging', time: '2026-01-10T15:00:00Z' }).allowed,
    false,
    'staging on a Saturday',
  );
  t.equal(
    decide(p, { user: 'charlie', profile: 'staging', time: '2026-01-05T15:00:00Z' }).allowed,
    false,
    'charlie is not in the staging list',
  );
  const prod = decide(p, { user: 'alice', profile: 'prod' });
  t.equal(prod.rule, 'prod-requires-approval');
  t.equal(prod.errorCode, 'ApprovalRequired', 'production requires approval');
  t.equal(prod.reason, 'Production access requires approval');
  const other = decide(p, { user: 'alice', profile: 'sandbox' });
  t.equal(other.reason, 'no matching rule', 'anything else: the default deny the removed catch-all stood for');
});

t.test('"getting started" example', async (t) => {
  const p = await load('compat-getting-started.yaml');
  t.equal(decide(p, { profile: 'dev' }).allowed, true, 'dev: no restrictions');
  t.equal(decide(p, { profile: 'staging' }).errorCode, 'ApprovalRequired', 'staging needs approval');
  t.equal(
    decide(p, { profile: 'production', time: '2026-01-06T10:00:00Z' }).allowed,
    true,
    'production on a Tuesday at 10:00',
  );
  t.equal(decide(p, { profile: 'production', time: '2026-01-06T17:00:00Z' }).allowed, false, 'production at 17:00');
  t.equal(decide(p, { profile: 'production', time: '2026-01-11T10:00:00Z' }).allowed, false, 'production on a Sunday');

  // The example as the original printed it used spellings its own validator refused; so does this one, with hints.
  const verbatim = parsePolicy(`version: "1"
rules:
  - name: staging-needs-approval
    effect: require-approval
    conditions:
      profiles: [staging]
      approvers: [manager@company.com]
  - name: prod-business-hours
    effect: allow
    conditions:
      profiles: [production]
      time:
        - days: [Mon, Tue, Wed, Thu, Fri]
          start: "09:00"
          end: "17:00"
`);
  t.equal(verbatim.ok, false);
  if (!verbatim.ok) {
    const effect = verbatim.problems.find((p) => p.path === 'rules[0].effect');
    t.equal(effect?.hint, 'did you mean "require_approval"?');
    t.equal(effect?.line, 4);
    t.ok(
      verbatim.problems.find((p) => p.path === 'rules[0].conditions.approvers'),
      'approvers is an unknown condition',
    );
    t.ok(
      verbatim.problems.find(
        (p) => p.path === 'rules[1].conditions.time' && /expected a mapping, got a list/.test(p.message),
      ),
    );
  }
});

t.test('device posture example', async (t) => {
  const p = await load('compat-device-posture.yaml');
  const managed: DevicePosture = { mdm_enrolled: true, encrypted: true };
  t.equal(
    decide(p, { profile: 'production', device: managed }).allowed,
    true,
    'production from an MDM-enrolled, encrypted device',
  );
  t.equal(
    decide(p, { profile: 'production', device: { mdm_enrolled: true } }).allowed,
    false,
    'production without encryption',
  );
  t.equal(decide(p, { profile: 'production' }).allowed, false, 'production without a posture');
  t.equal(
    decide(p, { profile: 'staging', device: { mdm_enrolled: true } }).allowed,
    true,
    'staging from an MDM-enrolled device',
  );
  t.equal(
    decide(p, { profile: 'staging', device: { mdm_enrolled: false, encrypted: true } }).allowed,
    false,
    'staging from an unmanaged device',
  );
  t.equal(decide(p, { profile: 'dev' }).allowed, true, 'dev without device requirements');
});

t.test('require_server and require_server_session example, with the documented behaviour table', async (t) => {
  const p = await load('compat-require-server.yaml');
  const prod = (mode: Mode, store: SessionStoreKind) => decide(p, { profile: 'production', mode, store });
  t.equal(prod('server', 'dynamodb').allowed, true, '--server with a session table: allowed');
  t.equal(prod('server', 'dynamodb').sessionTable, 'sentinel-sessions', 'the rule names its session table');
  t.same(
    prod('server', 'memory').requires,
    { serverSessionStore: true, sessionTable: 'sentinel-sessions' },
    '--server without session tracking: denied, needs tracking',
  );
  // The original put such sessions in the rule's table whatever the command line said; a daemon keeps them in its
  // configured table, so one configured with another is refused rather than tracking them where nobody looks.
  const elsewhere = decide(p, { profile: 'production', mode: 'server', store: 'dynamodb', table: 'my-sessions' });
  t.equal(elsewhere.allowed, false, 'sessions kept in another table: denied');
  t.same(elsewhere.requires, { serverSessionStore: true, sessionTable: 'sentinel-sessions' });
  t.equal(prod('cli', 'dynamodb').errorCode, 'ServerModeRequired', 'without --server: denied');
  t.equal(prod('credential_process', 'dynamodb').allowed, false, 'credential_process is always denied');
  t.equal(decide(p, { profile: 'staging', mode: 'server' }).allowed, true, 'staging via exec --server: allowed');
  t.equal(
    decide(p, { profile: 'staging', mode: 'cli' }).errorCode,
    'ServerModeRequired',
    'staging via exec: requires server mode',
  );
  t.equal(
    decide(p, { profile: 'staging', mode: 'credential_process' }).errorCode,
    'ServerModeRequired',
    'staging via credentials: requires server mode',
  );
  for (const mode of ['server', 'cli', 'credential_process'] as const) {
    t.equal(decide(p, { profile: 'development', mode }).allowed, true, `development in ${mode}: allowed`);
  }
});

t.test('mode examples', async (t) => {
  const p = await load('compat-modes.yaml');
  t.equal(decide(p, { profile: 'production', mode: 'server' }).allowed, true);
  t.equal(
    decide(p, { profile: 'production', mode: 'cli' }).ruleIndex,
    -1,
    'production outside server mode matches nothing',
  );
  t.equal(decide(p, { profile: 'development', mode: 'cli' }).allowed, true);
  t.equal(decide(p, { profile: 'development', mode: 'credential_process' }).allowed, true);
  t.equal(decide(p, { profile: 'development', mode: 'server' }).allowed, false);
  for (const mode of ['server', 'cli', 'credential_process'] as const) {
    t.equal(decide(p, { profile: 'staging', mode }).allowed, true, `staging in ${mode}`);
  }
});
