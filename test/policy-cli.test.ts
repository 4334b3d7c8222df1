// `sentinel policy validate` and `sentinel policy test`: exit codes, output, --json, --quiet, --strict, usage errors.
// A few runs go through the built binary as a real subprocess; the rest call main() in-process.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { sentinel, sentinelInProcess } from './support/cli.js';

const root = resolve(import.meta.dirname, '..');
const fixtures = join(root, 'test', 'fixtures', 'policies');
const team = join(fixtures, 'team.yaml');

const dir = mkdtempSync(join(tmpdir(), 'sentinel-policy-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const bad = join(dir, 'bad.yaml');
writeFileSync(bad, 'version: "1"\nrules:\n  - name: dev\n    effect: alow\n    conditions: { profiles: [dev] }\n');
const warned = join(dir, 'warned.yaml');
writeFileSync(
  warned,
  'version: "1"\nrules:\n  - { name: a, effect: allow, conditions: { profiles: [dev] } }\n  - { name: b, effect: deny, conditions: { profiles: [dev], users: [eve] } }\n',
);

/** `sentinel <args>` in this process. */
const run = (...args: string[]) => sentinelInProcess(args);

t.test('subprocess: the real entry point exits 1 for an invalid policy, 0 when allowed, 3 when denied', async (t) => {
  // Three processes only: each is a Node start, and the machine is shared.
  const [invalid, allowed, denied] = await Promise.all([
    sentinel(t, ['policy', 'validate', team, bad]),
    sentinel(t, ['policy', 'test', team, '--profile', 'dev', '--user', 'zoe', '--json']),
    sentinel(t, ['policy', 'test', team, '--profile', 'prod', '--user', 'carol']),
  ]);
  t.equal(invalid.code, 1);
  t.match(invalid.stdout, /team\.yaml: valid \(6 rules, version [0-9a-f]{12}\)/);
  t.match(invalid.stdout, /bad\.yaml:4:13: rules\[0\]\.effect: unknown effect "alow"\n  hint: did you mean "allow"\?/);
  t.match(
    invalid.stderr,
    /^Error: 1 of 2 policies are not valid\nHint: Each problem is listed above \(file:line:column\)/,
  );
  t.notMatch(invalid.stderr, /Run `sentinel policy validate/, 'not told to run the command it just ran');
  t.equal(allowed.code, 0, allowed.stderr);
  const body = JSON.parse(allowed.stdout);
  t.equal(body.decision.allowed, true);
  t.equal(body.decision.rule, 'dev');
  t.equal(denied.code, 3);
  t.match(denied.stdout, /Decision: DENIED \(PolicyDenied\) by rule "contractors-never-prod" \(#0\)/);
});

t.test('validate: exit codes, --json, --quiet, --strict and warnings', async (t) => {
  const ok = await run('policy', 'validate', team);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /team\.yaml: valid \(6 rules, version [0-9a-f]{12}\)/);

  const json = await run('policy', 'validate', '--json', team, bad);
  t.equal(json.code, 1);
  const body = JSON.parse(json.stdout);
  t.equal(body.valid, false);
  t.equal(body.files[0].valid, true);
  t.equal(body.files[0].rules, 6);
  t.equal(body.files[1].valid, false);
  t.same(body.files[1].problems[0], {
    message: 'rules[0].effect: unknown effect "alow"',
    path: 'rules[0].effect',
    line: 4,
    column: 13,
    hint: 'did you mean "allow"?',
  });

  const quiet = await run('policy', 'validate', '--quiet', team);
  t.equal(quiet.code, 0);
  t.equal(quiet.stdout, '', 'nothing to say about a valid policy');

  const w = await run('policy', 'validate', warned);
  t.equal(w.code, 0, 'warnings alone do not fail');
  t.match(w.stdout, /warned\.yaml:4: warning: rule "b" \(line 4\) can never match: the earlier rule "a" \(line 3\)/);
  t.match(w.stdout, /warned\.yaml: valid \(2 rules/);

  const quietWarned = await run('policy', 'validate', '--quiet', warned);
  t.equal(quietWarned.stdout, '', '--quiet hides warnings');

  const strict = await run('policy', 'validate', '--strict', warned);
  t.equal(strict.code, 1, '--strict fails on warnings');
  t.match(strict.stderr, /Error: 1 warning \(--strict\)/);

  // A window without a zone follows the daemon's TZ: warned about in auto_approve and breakglass as in rules.
  const local = join(dir, 'local-time.yaml');
  writeFileSync(
    local,
    `version: "1"
rules:
  - { name: prod, effect: require_approval, conditions: { profiles: [prod] } }
approvals:
  - name: prod-approvers
    profiles: [prod]
    approvers: [carol]
    auto_approve: { users: [alice], time: { days: [monday], hours: { start: "10:00", end: "17:00" } } }
breakglass:
  - name: emergency
    profiles: [prod]
    users: [alice]
    time: { hours: { start: "08:00", end: "20:00" } }
`,
  );
  const localStrict = await run('policy', 'validate', '--strict', local);
  t.equal(localStrict.code, 1, '--strict fails on a window without a timezone outside rules too');
  t.match(
    localStrict.stdout,
    /local-time\.yaml: warning: approvals entry "prod-approvers": auto_approve\.time has no timezone, so the daemon's local time zone applies/,
  );
  t.match(
    localStrict.stdout,
    /local-time\.yaml: warning: breakglass entry "emergency": time has no timezone, so the daemon's local time zone applies/,
  );
  t.match(localStrict.stderr, /Error: 2 warnings \(--strict\)/);

  const missing = await run('policy', 'validate', join(dir, 'nope.yaml'));
  t.equal(missing.code, 1);
  t.match(missing.stdout, /nope\.yaml does not exist/);

  const none = await run('policy', 'validate');
  t.equal(none.code, 2, 'no file is a usage error');
});

t.test('test: the trace says why each earlier rule did not match', async (t) => {
  const device = join(dir, 'device.json');
  writeFileSync(
    device,
    JSON.stringify({ os_type: 'darwin', os_version: '14.4', encrypted: true, mdm_compliant: true }),
  );
  const policyTest = (profile: string, user: string, time: string, ...extra: string[]) =>
    run('policy', 'test', team, '--profile', profile, '--user', user, '--time', time, ...extra);
  // Monday 2026-03-30 09:00 in Berlin (CEST).
  const r = await policyTest('prod', 'alice', '2026-03-30T09:00:00+02:00', '--mode', 'cli', '--device-json', device);
  t.equal(r.code, 3);
  t.match(r.stdout, /#0 +contractors-never-prod +deny +no: users: user "alice" is not in \[carol, dave\]/);
  t.match(
    r.stdout,
    /#1 +prod-admin-oncall-night +require_server_session +no: profiles: profile "prod" is not in \[prod-admin\]/,
  );
  t.match(r.stdout, /#2 +prod-business-hours +require_server +MATCH/);
  t.match(r.stdout, /Decision: DENIED \(ServerModeRequired\) by rule "prod-business-hours" \(#2\)/);
  t.match(r.stdout, /Requires: server mode/);

  const server = await policyTest('prod', 'alice', '2026-03-30T09:00:00+02:00', '--device-json', device, '--json');
  t.equal(server.code, 0);
  const body = JSON.parse(server.stdout);
  t.equal(body.decision.allowed, true);
  t.equal(body.decision.maxDurationMs, 7_200_000);
  t.equal(body.request.time, '2026-03-30T07:00:00.000Z');
  t.same(
    body.trace.map((x: { failed: string | null }) => x.failed),
    ['users', 'profiles', null],
  );

  const evening = await policyTest('prod', 'alice', '2026-03-30T18:00:00+02:00', '--device-json', device);
  t.equal(evening.code, 3);
  t.match(evening.stdout, /no: time\.hours: it is 18:00:00 in Europe\/Berlin, outside 08:00-18:00/);
  t.match(evening.stdout, /\(no rule matched: 6 checked\)/);
  t.match(evening.stdout, /Decision: DENIED \(PolicyDenied\)\nReason: +no matching rule/);

  const noDevice = await policyTest('prod', 'alice', '2026-03-30T09:00:00+02:00');
  t.match(noDevice.stdout, /no: device: no device posture is known/);

  const night = await policyTest('prod-admin', 'bob', '2026-03-29T01:30:00Z', '--session-store', 'dynamodb');
  t.equal(night.code, 0);
  const memory = await policyTest('prod-admin', 'bob', '2026-03-29T01:30:00Z');
  t.equal(memory.code, 3);
  t.match(memory.stdout, /Requires: a persistent session store/);
});

t.test('test: a require_server_session rule allows only the session table it names', async (t) => {
  // 23:30 in Berlin: the night on-call window of prod-admin-oncall-night, whose session_table is sentinel-sessions.
  const at = ['--time', '2026-03-30T23:30:00+02:00', '--session-store', 'dynamodb'];
  const base = ['policy', 'test', team, '--profile', 'prod-admin', '--user', 'alice', ...at];
  const same = await run(...base, '--session-table', 'sentinel-sessions');
  t.equal(same.code, 0, same.stdout);
  t.match(same.stdout, /table sentinel-sessions/);
  const other = await run(...base, '--session-table', 'my-sessions');
  t.equal(other.code, 3, other.stdout);
  t.match(other.stdout, /Decision: DENIED \(ServerModeRequired\) by rule "prod-admin-oncall-night"/);
  t.match(other.stdout, /Requires: sessions in DynamoDB table sentinel-sessions \(sessions\.table in config\.yaml\)/);
  const json = JSON.parse((await run(...base, '--session-table', 'my-sessions', '--json')).stdout);
  t.same(json.decision.requires, { serverSessionStore: true, sessionTable: 'sentinel-sessions' });
  t.equal(json.request.sessionTable, 'my-sessions');

  const memory = await run(
    'policy',
    'test',
    team,
    '--profile',
    'prod',
    '--user',
    'alice',
    '--session-store',
    'memory',
    '--session-table',
    'x-y',
  );
  t.equal(memory.code, 2, '--session-table without the dynamodb store is a usage error');
  const bad = await run(...base, '--session-table', 'no spaces');
  t.equal(bad.code, 2, 'a malformed table name is a usage error');
});

t.test('test and validate show control characters from the policy escaped, never to the terminal', async (t) => {
  // YAML escapes make control characters of a valid reason (a window title, here) or of an unknown key.
  const titled = join(dir, 'titled.yaml');
  writeFileSync(
    titled,
    'version: "1"\nrules:\n  - name: x\n    effect: allow\n    conditions: { profiles: [dev] }\n    reason: "\\e]0;pwned\\a"\n',
  );
  const tested = await run('policy', 'test', titled, '--profile', 'dev', '--user', 'alice');
  t.equal(tested.code, 0, tested.stderr);
  t.match(tested.stdout, /^Reason: +\\u001b\]0;pwned\\u0007$/m);
  const keyed = join(dir, 'keyed.yaml');
  writeFileSync(keyed, 'version: "1"\nrules:\n  - name: x\n    effect: allow\n    "\\e[2J": 1\n');
  const validated = await run('policy', 'validate', keyed);
  t.equal(validated.code, 1);
  t.match(validated.stdout, /unknown key "\\u001b\[2J"/);
  for (const out of [tested.stdout, validated.stdout, validated.stderr])
    t.notOk(/[\u0000-\u0009\u000b-\u001f]/.test(out), 'no control character but newlines');
});

t.test('test: usage errors exit 2 and an invalid policy exits 1', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--time', 'tomorrow'], /^Error: --time "tomorrow" is not an ISO-8601 date and time\nHint: /],
    [['--time', '2026-02-30T10:00:00Z'], /--time "2026-02-30T10:00:00Z" is not an ISO-8601/],
    [['--time', '2026-01-01'], /is not an ISO-8601 date and time/],
    [['--time', '2026-01-01T24:00:00Z'], /is not an ISO-8601/],
    [['--mode', 'root'], /--mode must be one of server, cli, credential_process/],
    [['--session-store', 'redis'], /--session-store must be one of memory, dynamodb/],
    [['--device-json', join(dir, 'missing.json')], /--device-json .* cannot be read \(ENOENT\)/],
  ];
  for (const [extra, message] of cases) {
    const r = await run('policy', 'test', team, '--profile', 'prod', '--user', 'alice', ...extra);
    t.equal(r.code, 2, extra.join(' '));
    t.match(r.stderr, message);
  }
  for (const [name, text, message] of [
    ['not-json.json', '{os_type: darwin}', /is not valid JSON/],
    ['wrong-type.json', '{"encrypted": "yes"}', /encrypted: Invalid input: expected boolean/],
    ['unknown-key.json', '{"encryption": true}', /Unrecognized key/],
    ['array.json', '[]', /\(top level\)/],
  ] as const) {
    const file = join(dir, name);
    writeFileSync(file, text);
    const r = await run('policy', 'test', team, '--profile', 'prod', '--user', 'alice', '--device-json', file);
    t.equal(r.code, 2, name);
    t.match(r.stderr, message, name);
  }
  // The daemon never evaluates a user named alice.smith: it evaluates alicesmith. Answering for the raw name answers
  // for a request that cannot happen (a deny rule naming "alice.smith" would seem to work here and deny nobody there).
  for (const [user, hint] of [
    ['alice.smith', /Hint: The daemon knows a caller named alice\.smith as "alicesmith": --user alicesmith/],
    ['carol@example.com', /--user carolexamplecom/],
    ['al\u0131ce', /--user alce/],
    ['...', /no ASCII letters or digits/],
  ] as const) {
    const r = await run('policy', 'test', team, '--profile', 'prod', '--user', user);
    t.equal(r.code, 2, `--user ${user}`);
    t.match(r.stderr, /^Error: --user ".*" is not a policy user name/, user);
    t.match(r.stderr, hint, user);
  }
  const noUser = await run('policy', 'test', team, '--profile', 'prod');
  t.equal(noUser.code, 2, '--user is required');

  const invalid = await run('policy', 'test', bad, '--profile', 'dev', '--user', 'alice');
  t.equal(invalid.code, 1);
  t.match(invalid.stdout, /bad\.yaml:4:13: rules\[0\]\.effect/);
  t.match(invalid.stderr, /every request would be denied/);
});

t.test('--help on each command has examples', async (t) => {
  for (const cmd of ['validate', 'test']) {
    const r = await run('policy', cmd, '--help');
    t.equal(r.code, 0);
    t.match(r.stdout, /Examples:\n {2}\$ sentinel policy /, cmd);
    t.match(r.stdout, /Exit codes:/, cmd);
  }
});

t.test('the policy commands load no AWS SDK and no fastify (static import graph)', async (t) => {
  // Static imports are what every `policy` subcommand pays for at start; the AWS SDK may appear only as a lazy
  // `import()` (pull/push/diff/sign/verify load it on demand), never on that static path.
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /(?:^|\n)\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g,
    )) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (m[1]) bare.add(spec);
    }
  };
  visit(join(root, 'cli', 'policy.ts'));
  t.ok(seen.has(join(root, 'core', 'policy', 'load.ts')), 'the walk reached the policy engine');
  t.ok(bare.has('yaml') && bare.has('zod'), 'and its libraries');
  t.same(
    [...bare].filter((s) => s.startsWith('@aws-sdk') || s === 'fastify'),
    [],
    'no AWS SDK or fastify on the load path of any policy command',
  );
});
