// Hostile and mistaken policies: each is refused as a whole, with the line and column of the problem and a hint where
// one is plausible; a source that already had a good policy keeps it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_POLICY_BYTES, parsePolicy, readPolicyFile, type Problem } from '../core/policy/load.js';
import { createFilePolicySource } from '../core/policy/source-file.js';
import { silentLogger } from '../core/log.js';

const GOOD = `version: "1"
rules:
  - name: dev
    effect: allow
    conditions:
      profiles: [dev]
`;

function problemsOf(text: string | Uint8Array): Problem[] {
  const r = parsePolicy(text);
  if (r.ok) throw new Error('expected the policy to be refused');
  return r.problems;
}

interface Case {
  name: string;
  text: string | Uint8Array;
  message: RegExp;
  line?: number;
  column?: number;
  hint?: RegExp;
}

const BOMB = `version: "1"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
rules: [*e]
`;

const cases: Case[] = [
  {
    name: 'unknown effect',
    text: 'version: "1"\nrules:\n  - name: dev\n    effect: alow\n    conditions: { profiles: [dev] }\n',
    message: /rules\[0\]\.effect: unknown effect "alow"/,
    line: 4,
    column: 13,
    hint: /did you mean "allow"\?/,
  },
  {
    name: 'unknown key in a rule',
    text: 'version: "1"\nrules:\n  - name: dev\n    effect: allow\n    conditions: { profiles: [dev] }\n    reasn: typo\n',
    message: /unknown key "reasn" in rules\[0\]/,
    line: 6,
    column: 5,
    hint: /did you mean "reason"\?/,
  },
  {
    name: 'unknown condition (user instead of users)',
    text: 'version: "1"\nrules:\n  - name: dev\n    effect: allow\n    conditions:\n      profiles: [dev]\n      user: [alice]\n',
    message: /unknown key "user" in rules\[0\]\.conditions/,
    line: 7,
    column: 7,
    hint: /did you mean "users"\?/,
  },
  {
    name: 'unknown top-level key',
    text: GOOD + 'rate_limit: []\n',
    message: /unknown key "rate_limit" at the top level/,
    line: 7,
    column: 1,
    hint: /did you mean "rate_limits"\?/,
  },
  {
    name: 'version "2"',
    text: GOOD.replace('"1"', '"2"'),
    message: /version: unsupported policy version/,
    line: 1,
    column: 10,
    hint: /version: "1"/,
  },
  {
    name: 'version 1.0 (a float)',
    text: GOOD.replace('"1"', '1.0'),
    message: /version: expected a string, got a number/,
    line: 1,
    column: 10,
    hint: /quote it/,
  },
  {
    name: 'version missing',
    text: 'rules:\n  - { name: dev, effect: allow, conditions: { profiles: [dev] } }\n',
    message: /missing "version"/,
    line: 1,
    column: 1,
  },
  {
    name: 'bad time zone',
    text: GOOD + '      time: { timezone: Europe/Berln }\n',
    message: /rules\[0\]\.conditions\.time\.timezone: unknown time zone \(got "Europe\/Berln"\)/,
    line: 7,
    column: 25,
    hint: /did you mean "Europe\/Berlin"\?/,
  },
  {
    name: '25:00',
    text: GOOD + '      time: { hours: { start: "08:00", end: "25:00" } }\n',
    message: /time\.hours\.end: expected a 24-hour time/,
    line: 7,
    column: 45,
  },
  {
    name: '9:00 without the leading zero',
    text: GOOD + '      time: { hours: { start: "9:00", end: "17:00" } }\n',
    message: /time\.hours\.start/,
    line: 7,
    hint: /write "09:00"/,
  },
  {
    name: 'unknown weekday',
    text: GOOD + '      time: { days: [Mon] }\n',
    message: /unknown weekday "Mon"/,
    line: 7,
    column: 22,
    hint: /did you mean "monday"\?/,
  },
  {
    name: 'unknown mode',
    text: GOOD + '      mode: [sever]\n',
    message: /unknown mode "sever"/,
    line: 7,
    column: 14,
    hint: /did you mean "server"\?/,
  },
  {
    name: 'duplicate rule names',
    text: GOOD + '  - name: dev\n    effect: deny\n    conditions: { profiles: [prod] }\n',
    message: /duplicate rule name "dev" \(first used by rules\[0\]\)/,
    line: 7,
    column: 11,
  },
  {
    name: 'empty rules',
    text: 'version: "1"\nrules: []\n',
    message: /rules: the policy has no rules/,
    line: 2,
    column: 8,
  },
  {
    name: 'a rule without profiles, users or time',
    text: 'version: "1"\nrules:\n  - name: all\n    effect: allow\n    conditions: {}\n',
    message: /rule "all" has no conditions/,
    line: 5,
    column: 17,
    hint: /denied by default/,
  },
  { name: 'alias bomb', text: BOMB, message: /aliases expand too far/ },
  {
    name: 'binary garbage (NUL bytes)',
    text: Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]),
    message: /not a text file/,
    line: 1,
    column: 1,
  },
  {
    name: 'invalid UTF-8',
    text: Uint8Array.from([0x76, 0x65, 0x72, 0xff, 0xfe, 0x3a]),
    message: /not valid UTF-8/,
    line: 1,
    column: 1,
  },
  {
    name: 'control characters',
    text: 'version: "1"\nrules:\x1b[31m []\n',
    message: /control characters/,
    line: 2,
    column: 7,
  },
  {
    name: 'numeric profile',
    text: GOOD.replace('[dev]', '[123]'),
    message: /profiles\[0\]: expected a string, got a number \(123\)/,
    line: 6,
    column: 18,
    hint: /quote it: "123"/,
  },
  {
    name: 'octal-looking user',
    text: GOOD + '      users: [007]\n',
    message: /users\[0\]: expected a string, got a number \(7\)/,
    line: 7,
    hint: /quote it: "007"/,
  },
  {
    name: 'boolean device flag as a string',
    text: GOOD + '      device: { require_mdm: "yes" }\n',
    message: /require_mdm: expected a boolean, got string/,
    line: 7,
    hint: /true or false/,
  },
  {
    name: 'profiles as a scalar',
    text: GOOD.replace('[dev]', 'dev'),
    message: /profiles: expected a list, got string/,
    line: 6,
    column: 17,
    hint: /write a list: \[dev\]/,
  },
  {
    name: 'users with no value',
    text: GOOD + '      users:\n',
    message: /users: expected a list, got null/,
    line: 7,
    hint: /no value/,
  },
  {
    name: 'rules as a mapping',
    text: 'version: "1"\nrules: { name: dev }\n',
    message: /rules: expected a list, got a mapping/,
    line: 2,
    column: 8,
  },
  {
    name: 'a list at the top level',
    text: '- version: "1"\n',
    message: /expected a mapping with "version" and "rules"/,
    line: 1,
    column: 1,
  },
  { name: 'empty file', text: '', message: /the policy is empty/, line: 1, column: 1 },
  { name: 'only a comment', text: '# nothing here\n', message: /the policy is empty/ },
  {
    name: 'duplicate key',
    text: 'version: "1"\nversion: "1"\nrules: []\n',
    message: /YAML: Map keys must be unique/,
    line: 2,
    column: 1,
  },
  { name: 'two documents', text: GOOD + '---\n' + GOOD, message: /YAML: Source contains multiple documents/ },
  {
    name: 'unresolved tag',
    text: GOOD.replace('effect: allow', 'effect: !!python/object allow'),
    message: /YAML: Unresolved tag/,
    line: 4,
  },
  { name: 'YAML syntax error', text: 'version: "1"\nrules: [\n', message: /^YAML: /, line: 3 },
  {
    name: 'YAML 1.1 booleans and sexagesimals are not strings',
    text: '%YAML 1.1\n---\n' + GOOD + '      time: { hours: { start: 09:00, end: 17:00 } }\n',
    message: /hours\.start: expected a string, got a number \(540\)/,
    hint: /quote it: "09:00"/,
  },
  {
    name: 'merge keys are not a feature',
    text: GOOD + '  - <<: { effect: allow }\n    name: x\n    conditions: { profiles: [x] }\n',
    message: /unknown key "<<"/,
  },
  {
    name: '__proto__ is just an unknown key',
    text: GOOD + '__proto__: { rules: [] }\n',
    message: /unknown key "__proto__"/,
    line: 7,
  },
  {
    name: 'overlong rule name',
    text: GOOD.replace('name: dev', `name: ${'x'.repeat(200)}`),
    message: /rule name is longer than 128/,
    line: 3,
  },
  {
    name: 'bad duration',
    text: GOOD + '    max_server_duration: 1 hour\n',
    message: /max_server_duration: expected a duration/,
    line: 7,
    hint: /1h30m/,
  },
  {
    name: 'bad OS type',
    text: GOOD + '      device: { allowed_os_types: [macos] }\n',
    message: /allowed_os_types\[0\]: unknown OS type \(got "macos"\)/,
    line: 7,
  },
  // The daemon knows every caller by ASCII letters and digits, at most 20 (DESIGN §5.3): a users entry with anything
  // else matches nobody, so a deny rule that names one denies nobody and the request goes on to the next rules.
  {
    name: 'a raw IAM name in users (the daemon knows that caller as alicesmith)',
    text: GOOD.replace('effect: allow', 'effect: deny') + '      users: [bob, alice.smith]\n',
    message: /users\[1\]: "alice\.smith" is not a policy user name/,
    line: 7,
    column: 20,
    hint: /Sentinel knows a caller named alice\.smith as "alicesmith"; write that/,
  },
  {
    name: 'a users entry longer than the 20 characters a policy user name keeps',
    text: GOOD + '      users: [alicesmithexamplecomx]\n',
    message: /"alicesmithexamplecomx" is not a policy user name/,
    hint: /as "alicesmithexamplecom"/,
  },
  {
    name: 'a users entry with no ASCII letter or digit',
    text: GOOD + '      users: ["..."]\n',
    message: /"\.\.\." is not a policy user name/,
    hint: /matches nobody/,
  },
  {
    name: 'a users entry with letters that are not ASCII (dotless i, full-width)',
    text: GOOD + '      users: ["al\u0131ce", "\uff41lice"]\n',
    message: /users\[0\]: "al\u0131ce" is not a policy user name/,
  },
  {
    name: 'a breakglass user that is not a policy user name',
    text: GOOD + 'breakglass:\n  - name: e\n    profiles: [dev]\n    users: [carol@example.com]\n',
    message: /breakglass\[0\]\.users\[0\]: "carol@example\.com" is not a policy user name/,
    hint: /"carolexamplecom"/,
  },
  {
    name: 'an auto_approve user that is not a policy user name',
    text: GOOD + 'approvals:\n  - name: a\n    approvers: [carol]\n    auto_approve: { users: [dave-ops] }\n',
    message: /auto_approve\.users\[0\]: "dave-ops" is not a policy user name/,
  },
  // Requests name profiles only as profile names, and conditions match them exactly: any other entry matches no
  // request, so a deny rule naming one denies nothing.
  {
    name: 'a profiles entry with a trailing space, in a deny rule',
    text: GOOD.replace('effect: allow', 'effect: deny').replace('[dev]', '[dev, "prod "]'),
    message: /profiles\[1\]: "prod " is not a profile name/,
    line: 6,
    hint: /exactly as in ~\/\.aws\/config/,
  },
  {
    name: 'a profiles entry that looks like a pattern (names match exactly)',
    text: GOOD.replace('[dev]', '["prod-*"]'),
    message: /"prod-\*" is not a profile name .*no patterns/,
  },
  {
    name: 'a breakglass, approvals or rate_limits profile that is not a profile name',
    text:
      GOOD +
      'breakglass:\n  - name: e\n    profiles: ["team:dev"]\n    users: [carol]\n' +
      'approvals:\n  - name: a\n    approvers: [carol]\n    profiles: ["a b"]\n',
    message: /breakglass\[0\]\.profiles\[0\]: "team:dev" is not a profile name/,
  },
  {
    name: 'YAML nested thousands deep (the parser runs out of stack): one clear problem',
    text: GOOD.replace('[dev]', '['.repeat(5000) + ']'.repeat(5000)),
    message: /^the YAML is nested too deeply/,
    hint: /a few levels/,
  },
  {
    name: 'bad session table',
    text: GOOD + '    session_table: "no spaces allowed"\n',
    message: /session_table: expected a DynamoDB table name/,
    line: 7,
  },
];

t.test('each bad policy is refused with position and hint', async (t) => {
  for (const c of cases) {
    const problems = problemsOf(c.text);
    const p = problems.find((x) => c.message.test(x.message));
    if (!p) {
      t.fail(`${c.name}: no problem matches ${c.message}; got ${JSON.stringify(problems.map((x) => x.message))}`);
      continue;
    }
    t.pass(`${c.name}: refused (${p.message})`);
    if (/nested too deeply/.test(p.message)) t.equal(problems.length, 1, `${c.name}: said once`);
    if (c.line !== undefined) t.equal(p.line, c.line, `${c.name}: line`);
    if (c.column !== undefined) t.equal(p.column, c.column, `${c.name}: column`);
    if (c.hint) t.match(p.hint ?? '', c.hint, `${c.name}: hint`);
  }
});

t.test('every problem in a policy is reported, in line order', async (t) => {
  const problems = problemsOf(
    'version: "1"\nrules:\n  - name: a\n    effect: alow\n    conditions: { profiles: [dev], mode: [sever] }\n    extra: 1\n',
  );
  t.same(
    problems.map((p) => [p.line, p.path]),
    [
      [4, 'rules[0].effect'],
      [5, 'rules[0].conditions.mode[0]'],
      [6, 'rules[0].extra'],
    ],
  );
});

t.test('version: 1 (a bare integer, as the original read it) is accepted with a warning', async (t) => {
  const r = parsePolicy(GOOD.replace('"1"', '1'));
  t.ok(r.ok, 'accepted');
  if (r.ok) {
    t.equal(r.policy.version, '1');
    t.match(r.warnings[0]?.message, /write version: "1"/);
    t.equal(r.warnings[0]?.line, 1);
  }
  t.equal(parsePolicy(GOOD.replace('"1"', '01')).ok, false, '01 is not 1');
  t.equal(parsePolicy(GOOD.replace('"1"', '0x1')).ok, false, '0x1 is not 1');
});

t.test('a UTF-8 byte order mark is fine', async (t) => {
  t.ok(parsePolicy(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GOOD)])).ok);
});

t.test('files: over 8 MiB refused unread, non-regular files refused, missing files explained', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-policy-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const big = join(dir, 'big.yaml');
  writeFileSync(big, '');
  truncateSync(big, 10 * 1024 * 1024); // sparse: 10 MB by stat, nothing on disk
  const r = await readPolicyFile(big);
  t.equal(r.ok, false);
  if (!r.ok) t.match(r.problem.message, /10485760 bytes; policies over 8 MiB are refused unread/);
  t.equal(
    problemsOf(Buffer.alloc(MAX_POLICY_BYTES + 1, 0x20))[0]!.message,
    `the policy is ${MAX_POLICY_BYTES + 1} bytes; the limit is 8 MiB`,
  );

  const sub = join(dir, 'a-directory.yaml');
  mkdirSync(sub);
  const d = await readPolicyFile(sub);
  t.equal(d.ok, false);
  if (!d.ok) t.match(d.problem.message, /not a regular file/);

  const fifo = join(dir, 'fifo.yaml');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    const f = await readPolicyFile(fifo); // would block forever if it were opened for reading
    t.equal(f.ok, false);
    if (!f.ok) t.match(f.problem.message, /not a regular file/);
  }

  const missing = await readPolicyFile(join(dir, 'nope.yaml'));
  t.equal(missing.ok, false);
  if (!missing.ok) {
    t.equal(missing.missing, true);
    t.match(missing.problem.message, /nope\.yaml does not exist/);
    t.match(missing.problem.hint ?? '', /sentinel policy validate .*nope\.yaml/);
  }
});

t.test('a source with a good policy keeps it through every bad one, and reports each', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-policy-keep-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, GOOD);
  const source = createFilePolicySource({ file, log: silentLogger(), watch: false });
  t.teardown(() => source.close());
  await source.start();
  const req = {
    user: 'alice',
    profile: 'dev',
    time: new Date(),
    mode: 'server' as const,
    sessionStore: 'memory' as const,
  };
  const good = source.status();
  t.equal(good.lastError, null);
  t.equal(source.decide(req).allowed, true);

  const bad: Array<[string, () => void]> = [
    ...cases.map((c): [string, () => void] => [c.name, () => writeFileSync(file, c.text)]),
    [
      '10 MB file',
      () => {
        writeFileSync(file, '');
        truncateSync(file, 10 * 1024 * 1024);
      },
    ],
    ['file removed', () => rmSync(file)],
  ];
  for (const [name, write] of bad) {
    write();
    const status = await source.reload();
    t.ok(status.lastError, `${name}: reported`);
    t.equal(status.version, good.version, `${name}: the good version stays in force`);
    t.equal(source.decide(req).allowed, true, `${name}: decisions unchanged`);
    t.equal(source.decide(req).policyVersion, good.version);
  }
  writeFileSync(file, GOOD.replace('[dev]', '[prod]'));
  const fixed = await source.reload();
  t.equal(fixed.lastError, null, 'a good policy clears the error');
  t.not(fixed.version, good.version, 'and is the new version');
  t.equal(source.decide(req).allowed, false, 'and decides');
});
