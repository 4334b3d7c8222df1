// The approvals and notifications sections (DESIGN §10, §12): what validates, what is refused with line:column, what
// lint warns about, who is an approver (§5.3), when auto-approval applies, and what `policy test` shows.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy, type Problem } from '../core/policy/load.js';
import {
  approvalEntryFor,
  approverRefusal,
  autoApproval,
  isApprover,
  isRequester,
  principalName,
} from '../core/approvals/entry.js';
import { cleanEnv, sentinel, sentinelInProcess } from './support/cli.js';

const RULES = `version: "1"
rules:
  - name: prod
    effect: require_approval
    conditions: { profiles: [prod] }
  - name: stage
    effect: require_approval
    conditions: { profiles: [stage] }
`;

const SECTIONS = `approvals:
  - name: prod-approvers
    profiles: [prod]
    approvers: [carol, "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_*/dave@example.com"]
    max_duration: 4h
    auto_approve:
      users: [alice]
      time: { days: [monday, tuesday, wednesday, thursday, friday], hours: { start: "09:00", end: "17:00" }, timezone: Europe/Berlin }
      max_duration: 1h
    notify: [ops-webhook]
  - name: everything-else
    approvers: [erin]
notifications:
  - name: ops-webhook
    webhook: { url: "https://hooks.example.com/sentinel", secret_parameter: /sentinel/webhooks/ops }
  - name: security-topic
    sns: { topic_arn: "arn:aws:sns:eu-west-1:111111111111:sentinel-security" }
`;

function problems(text: string): Problem[] {
  const r = parsePolicy(text);
  if (r.ok) throw new Error('expected the policy to be refused');
  return r.problems;
}

function policy(text = RULES + SECTIONS) {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r;
}

t.test('the DESIGN §10/§12 example validates; the first entry matching a profile applies', async (t) => {
  const r = policy();
  t.equal(r.policy.approvals?.length, 2);
  t.equal(approvalEntryFor(r.policy, 'prod')?.name, 'prod-approvers');
  t.equal(approvalEntryFor(r.policy, 'stage')?.name, 'everything-else', 'no profiles = every profile');
  t.equal(approvalEntryFor(policy(RULES).policy, 'prod'), null);
});

t.test('bad sections are refused with line, column and a hint', async (t) => {
  const cases: Array<[string, string, RegExp, number, number]> = [
    [
      'unknown key in an entry',
      'approvals:\n  - name: a\n    approvers: [carol]\n    aprovers: [x]\n',
      /unknown key "aprovers" in approvals\[0\]/,
      12,
      5,
    ],
    [
      'malformed ARN pattern',
      'approvals:\n  - name: a\n    approvers: ["arn:aws:sts::1111:bogus"]\n',
      /approvals\[0\]\.approvers\[0\]: malformed principal ARN pattern/,
      11,
      17,
    ],
    [
      'a role ARN is not a principal',
      'approvals:\n  - name: a\n    approvers: ["arn:aws:iam::111111111111:role/x"]\n',
      /malformed/,
      11,
      17,
    ],
    ['a name with a space', 'approvals:\n  - name: a\n    approvers: ["carol smith"]\n', /principal name/, 11, 17],
    [
      'max_duration over 12h',
      'approvals:\n  - name: a\n    approvers: [c]\n    max_duration: 13h\n',
      /longer than the limit of 12h/,
      12,
      19,
    ],
    [
      'not a duration',
      'approvals:\n  - name: a\n    approvers: [c]\n    max_duration: soon\n',
      /expected a duration/,
      12,
      19,
    ],
    [
      'auto_approve longer than the entry',
      'approvals:\n  - name: a\n    approvers: [c]\n    max_duration: 1h\n    auto_approve: { max_duration: 2h }\n',
      /auto_approve\.max_duration 2h is longer than the entry's max_duration/,
      13,
      35,
    ],
    [
      'notify names no target',
      'approvals:\n  - name: a\n    approvers: [c]\n    notify: [ops]\n',
      /notify names "ops", which is not declared/,
      12,
      14,
    ],
    ['no approvers', 'approvals:\n  - name: a\n    approvers: []\n', /at least one approver/, 11, 16],
    [
      'duplicate entry names',
      'approvals:\n  - { name: a, approvers: [c] }\n  - { name: a, approvers: [d] }\n',
      /duplicate approvals entry name "a"/,
      11,
      13,
    ],
    [
      'webhook and sns together',
      'notifications:\n  - name: x\n    webhook: { url: "https://h.example/" }\n    sns: { topic_arn: "arn:aws:sns:eu-west-1:111111111111:t" }\n',
      /exactly one of webhook or sns/,
      10,
      11,
    ],
    [
      'plain http off loopback',
      'notifications:\n  - { name: x, webhook: { url: "http://hooks.example.com/" } }\n',
      /plain http is allowed only to loopback/,
      10,
      32,
    ],
    [
      'credentials in the URL',
      'notifications:\n  - { name: x, webhook: { url: "https://u:p@h.example/" } }\n',
      /must not contain a user name or password/,
      10,
      32,
    ],
    [
      'control character in the URL',
      'notifications:\n  - { name: x, webhook: { url: "https://h.example/\\ta" } }\n',
      /control characters/,
      10,
      32,
    ],
    [
      'bad topic ARN',
      'notifications:\n  - { name: x, sns: { topic_arn: "arn:aws:sqs:eu-west-1:111111111111:t" } }\n',
      /expected an SNS topic ARN/,
      10,
      34,
    ],
    [
      'duplicate targets',
      'notifications:\n  - { name: x, sns: { topic_arn: "arn:aws:sns:eu-west-1:111111111111:t" } }\n  - { name: x, sns: { topic_arn: "arn:aws:sns:eu-west-1:111111111111:u" } }\n',
      /duplicate notification target "x"/,
      11,
      13,
    ],
    [
      'unknown key in a webhook',
      'notifications:\n  - { name: x, webhook: { url: "https://h.example/", secret: abc } }\n',
      /unknown key "secret" in notifications\[0\]\.webhook/,
      10,
      54,
    ],
  ];
  for (const [what, section, message, line, column] of cases) {
    const p = problems(RULES + section);
    const hit = p.find((x) => message.test(x.message));
    t.ok(hit, `${what}: ${JSON.stringify(p.map((x) => x.message))}`);
    t.same([hit?.line, hit?.column], [line, column], `${what}: position`);
  }
  const hint = problems(RULES + 'approvals:\n  - name: a\n    approvers: [c]\n    aprovers: [x]\n').find(
    (x) => x.hint,
  )?.hint;
  t.match(hint, /did you mean "approvers"/);
});

t.test('lint: a require_approval nobody can approve, an entry no rule uses', async (t) => {
  const warnings = policy(RULES + 'approvals:\n  - { name: dev-only, profiles: [dev], approvers: [c] }\n').warnings.map(
    (w) => w.message,
  );
  t.ok(
    warnings.some((w) => /require_approval rule "prod": no approvals entry covers profile prod/.test(w)),
    String(warnings),
  );
  t.ok(warnings.some((w) => /approvals entry "dev-only": no require_approval rule names its profiles/.test(w)));
  t.same(
    policy().warnings.filter((w) => /approv/.test(w.message)),
    [],
    'a complete policy has no approvals warnings',
  );
});

t.test('approvers: raw name, ARN pattern, never the requester, never a self-named role session (§5.3)', async (t) => {
  const entry = approvalEntryFor(policy().policy, 'prod')!;
  const carolSso = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_abc/carol';
  const carolUser = 'arn:aws:iam::111111111111:user/carol';
  const fakeCarol = 'arn:aws:sts::111111111111:assumed-role/deploy/carol';
  const dave = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123/dave@example.com';
  const daveOtherRole = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_ReadOnly_1/dave@example.com';
  const bob = 'arn:aws:iam::111111111111:user/bob';
  t.equal(principalName(carolSso), 'carol');
  t.equal(principalName(fakeCarol), 'deploy', 'a non-SSO role is known by its role name');
  t.ok(isApprover(entry, carolSso));
  t.ok(isApprover(entry, carolUser));
  t.notOk(isApprover(entry, fakeCarol), 'a role session named carol is not carol');
  t.ok(isApprover(entry, dave), 'ARN pattern');
  t.notOk(isApprover(entry, daveOtherRole));
  t.notOk(isApprover(entry, bob));
  t.notOk(isApprover(entry, 'not an arn'));
  const byCarol = { requester_arn: carolUser, requester: 'carol' };
  t.equal(approverRefusal(entry, carolUser, byCarol), 'you cannot approve your own request');
  t.match(approverRefusal(entry, bob, byCarol), /not an approver in approvals entry "prod-approvers"/);
  // The same person under another identity the policy knows by the same name: an IAM Identity Center session, an IAM
  // user of that name in another account, or the name in other case. Before, only the ARN was compared, so carol
  // approved her own request as her SSO self (and the vendor served it).
  for (const other of [
    carolSso,
    'arn:aws:iam::222222222222:user/carol',
    'arn:aws:iam::111111111111:user/Carol',
    'arn:aws:iam::111111111111:user/engineering/carol',
  ])
    t.equal(
      approverRefusal(entry, other, byCarol),
      'you cannot approve your own request: this identity is the policy user "carol" too',
      other,
    );
  t.equal(approverRefusal(entry, carolSso, { requester_arn: bob, requester: 'bob' }), null, 'carol approves bob');
  t.notOk(isRequester(fakeCarol, byCarol), 'a role session named carol is the role, not carol');
  t.ok(isRequester(carolSso, byCarol));
  t.notOk(isRequester('not an arn', byCarol));
  const raw = policy(RULES + 'approvals:\n  - { name: a, approvers: [carolsmithverylongname01] }\n').policy;
  t.notOk(isApprover(approvalEntryFor(raw, 'prod')!, 'arn:aws:iam::111111111111:user/carolsmithverylongname0'));
  t.ok(
    isApprover(approvalEntryFor(raw, 'prod')!, 'arn:aws:iam::111111111111:user/carolsmithverylongname01'),
    'untruncated',
  );
});

t.test('auto-approve: user, time window and duration must all hold', async (t) => {
  const entry = approvalEntryFor(policy().policy, 'prod')!;
  const mondayNoon = new Date('2026-12-07T11:00:00Z'); // 12:00 in Berlin
  const sunday = new Date('2026-12-06T11:00:00Z');
  t.equal(autoApproval(entry, 'alice', 3_600_000, mondayNoon).applies, true);
  t.match(autoApproval(entry, 'bob', 3_600_000, mondayNoon).reason, /not in auto_approve\.users/);
  t.match(autoApproval(entry, 'alice', 3_600_000, sunday).reason, /outside auto_approve\.time/);
  t.match(autoApproval(entry, 'alice', 7_200_000, mondayNoon).reason, /over auto_approve\.max_duration/);
  t.match(autoApproval(approvalEntryFor(policy().policy, 'stage')!, 'alice', 1, mondayNoon).reason, /no auto_approve/);
});

t.test(
  'auto_approve.time with a timezone does not follow the TZ the process runs with; without one it does',
  async (t) => {
    // The report's case: Monday 04:42 UTC is 13:42 in Tokyo. Each run is a real process started with that TZ.
    const dir = mkdtempSync(join(tmpdir(), 'sentinel-approvals-tz-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const fileWith = (zone: string) => {
      const file = join(dir, `policy${zone.replace(/\W/g, '-')}.yaml`);
      writeFileSync(
        file,
        RULES +
          `approvals:
  - name: prod-approvers
    profiles: [prod]
    approvers: [carol]
    auto_approve: { users: [alice], time: { days: [monday, tuesday, wednesday, thursday, friday], hours: { start: "10:00", end: "17:00" }${zone} } }
`,
      );
      return file;
    };
    const autoApproves = async (file: string, tz: string) => {
      const r = await sentinel(
        t,
        ['policy', 'test', file, '--profile', 'prod', '--user', 'alice', '--time', '2026-12-07T04:42:00Z', '--json'],
        { env: cleanEnv({ TZ: tz }) },
      );
      return JSON.parse(r.stdout).approval.auto_approve.applies as boolean;
    };
    const utc = fileWith(', timezone: UTC');
    const tokyo = fileWith(', timezone: Asia/Tokyo');
    const local = fileWith('');
    const [utcInTokyo, utcInUtc, tokyoInUtc, localInTokyo, localInUtc] = await Promise.all([
      autoApproves(utc, 'Asia/Tokyo'),
      autoApproves(utc, 'UTC'),
      autoApproves(tokyo, 'UTC'),
      autoApproves(local, 'Asia/Tokyo'),
      autoApproves(local, 'UTC'),
    ]);
    t.equal(utcInTokyo, false, 'timezone UTC, daemon in Tokyo: 04:42 is outside 10:00-17:00');
    t.equal(utcInUtc, false, 'timezone UTC, daemon in UTC: the same answer');
    t.equal(tokyoInUtc, true, 'timezone Asia/Tokyo, daemon in UTC: 13:42 in Tokyo is inside');
    t.same([localInTokyo, localInUtc], [true, false], 'without a timezone the answer moves with TZ (lint warns)');
  },
);

t.test('policy test shows the entry, the approvers and whether auto-approve applies now', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-approvals-section-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, RULES + SECTIONS);
  const human = await sentinelInProcess([
    'policy',
    'test',
    file,
    '--profile',
    'prod',
    '--user',
    'alice',
    '--time',
    '2026-12-07T11:00:00Z',
  ]);
  t.equal(human.code, 3);
  t.match(human.stdout, /Requires: an approved request: `sentinel request <profile> --reason "\.\.\."`/);
  t.match(human.stdout, /Approvals: entry "prod-approvers" \(max 4h\)/);
  t.match(
    human.stdout,
    /approvers: +carol, arn:aws:sts::111111111111:assumed-role\/AWSReservedSSO_Admin_\*\/dave@example\.com/,
  );
  t.match(human.stdout, /auto-approve: yes, auto_approve of entry "prod-approvers" applies/);
  const json = await sentinelInProcess([
    'policy',
    'test',
    file,
    '--profile',
    'prod',
    '--user',
    'bob',
    '--time',
    '2026-12-07T11:00:00Z',
    '--json',
  ]);
  const body = JSON.parse(json.stdout);
  t.same(body.approval.auto_approve, {
    applies: false,
    reason: 'user "bob" is not in auto_approve.users',
    max_duration: '1h',
  });
  t.equal(body.approval.entry, 'prod-approvers');
});
