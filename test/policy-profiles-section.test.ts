// The `profiles:` section (DESIGN §17): what the vendor serves. It validates with the rest of the policy (a bad entry
// refuses the whole document, with line and column), only the document in force for a profile may define it, and the
// local daemon's decisions do not change because a policy has one.
import t from 'tap';
import { parsePolicy, type Problem } from '../core/policy/load.js';
import type { Policy } from '../core/policy/schema.js';
import { findProfile, listProfiles } from '../lambda/profiles.js';

const RULES = `version: "1"
rules:
  - { name: dev, effect: allow, conditions: { profiles: [dev] } }
`;

function problems(text: string): Problem[] {
  const r = parsePolicy(text);
  if (r.ok) throw new Error('expected the policy to be refused');
  return r.problems;
}

function policy(text: string): Policy {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

t.test('a valid section', async (t) => {
  const p = policy(
    `${RULES}profiles:\n  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/dev-admin", region: eu-west-1 }\n` +
      `  - name: org/prod\n    role_arn: arn:aws-us-gov:iam::111111111111:role/path/to/prod\n    region: us-gov-west-1\n    external_id: "team:prod/1"\n`,
  );
  t.same(p.profiles, [
    { name: 'dev', role_arn: 'arn:aws:iam::111111111111:role/dev-admin', region: 'eu-west-1' },
    {
      name: 'org/prod',
      role_arn: 'arn:aws-us-gov:iam::111111111111:role/path/to/prod',
      region: 'us-gov-west-1',
      external_id: 'team:prod/1',
    },
  ]);
});

t.test('bad entries are refused with line and column', async (t) => {
  const cases: Array<[string, string, RegExp, number, number]> = [
    [
      'unknown key',
      '  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/x", region: eu-west-1, rgion: x }\n',
      /unknown key "rgion" in profiles\[0\]/,
      5,
      83,
    ],
    [
      'a user ARN',
      '  - { name: dev, role_arn: "arn:aws:iam::111111111111:user/x", region: eu-west-1 }\n',
      /profiles\[0\]\.role_arn: expected an IAM role ARN/,
      5,
      28,
    ],
    [
      'a short account',
      '  - { name: dev, role_arn: "arn:aws:iam::1111:role/x", region: eu-west-1 }\n',
      /role_arn/,
      5,
      28,
    ],
    [
      'a bad region',
      '  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/x", region: Frankfurt }\n',
      /region: expected an AWS region/,
      5,
      72,
    ],
    [
      'a bad name',
      '  - { name: "../prod", role_arn: "arn:aws:iam::111111111111:role/x", region: eu-west-1 }\n',
      /profiles\[0\]\.name: expected a profile name/,
      5,
      13,
    ],
    [
      'an external id with a space',
      '  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/x", region: eu-west-1, external_id: "a b" }\n',
      /external_id/,
      5,
      96,
    ],
    ['a missing role', '  - { name: dev, region: eu-west-1 }\n', /role_arn/, 5, 5],
    [
      'a duplicate name',
      '  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/x", region: eu-west-1 }\n  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/y", region: eu-west-1 }\n',
      /duplicate profiles entry name "dev"/,
      6,
      13,
    ],
  ];
  for (const [name, entry, message, line, column] of cases) {
    const found = problems(`${RULES}profiles:\n${entry}`);
    const p = found.find((x) => message.test(x.message));
    t.ok(p, `${name}: ${JSON.stringify(found)}`);
    t.equal(p?.line, line, `${name}: line`);
    t.equal(p?.column, column, `${name}: column`);
  }
  t.match(problems(`${RULES}profiles: { dev: x }\n`)[0]!.message, /profiles/);
});

t.test('only the document in force for a profile defines it (SSM: one document per profile)', async (t) => {
  const devDoc = policy(
    `${RULES}profiles:\n  - { name: dev, role_arn: "arn:aws:iam::111111111111:role/dev", region: eu-west-1 }\n  - { name: prod, role_arn: "arn:aws:iam::111111111111:role/attacker", region: eu-west-1 }\n`,
  );
  const prodDoc = policy(
    `${RULES}profiles:\n  - { name: prod, role_arn: "arn:aws:iam::111111111111:role/prod", region: eu-west-1 }\n`,
  );
  const byProfile: Record<string, Policy> = { dev: devDoc, prod: prodDoc };
  const source = { policyFor: (p: string) => byProfile[p] ?? null, documents: () => [devDoc, prodDoc] };
  t.equal(findProfile(source, 'prod')?.role_arn, 'arn:aws:iam::111111111111:role/prod');
  t.same(
    listProfiles(source).map((p) => [p.name, p.role_arn]),
    [
      ['dev', 'arn:aws:iam::111111111111:role/dev'],
      ['prod', 'arn:aws:iam::111111111111:role/prod'],
    ],
  );
  t.equal(findProfile(source, 'stage'), undefined);
  t.same(listProfiles({ policyFor: () => null, documents: () => [] }), []);
});
