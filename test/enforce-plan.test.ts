// `sentinel enforce plan` and `enforce generate` through the CLI, against the IAM emulator with the real IAM client.
import t from 'tap';
import { startSts } from './support/sts-emulator.js';
import { startIam, type IamEmulator } from './support/iam-emulator.js';
import { ROOT, sentinelInProcess } from './support/cli.js';
import { adminEnv, ADMIN_ARN } from './support/team-sessions.js';
import { trustPolicy } from '../core/enforcement/generate.js';
import type { HasTeardown } from './support/aws-env.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEMPLATE_POLICY_ROOT } from '../core/enforcement/vendor-scp.js';

const ACCOUNT = '111122223333';
const VENDOR = `arn:aws:iam::${ACCOUNT}:role/sentinel-vendor`;
const TEAM = `arn:aws:iam::${ACCOUNT}:root`;
const LEGACY = `arn:aws:iam::${ACCOUNT}:role/legacy-ci`;
const sentinelCondition = { StringLike: { 'sts:SourceIdentity': 'sentinel-*' } };

async function setup(t: HasTeardown): Promise<{ iam: IamEmulator; env: NodeJS.ProcessEnv }> {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const iam = await startIam({ callers: sts, account: ACCOUNT, permissions: { [ADMIN_ARN]: ['iam:GetRole'] } });
  t.teardown(() => iam.close());
  const env = { ...adminEnv(t, sts, 'http://127.0.0.1:9'), AWS_ENDPOINT_URL_IAM: iam.url };
  iam.createRole('vendor-only', {
    trustPolicy: trustPolicy({ principals: [VENDOR] }),
  });
  iam.createRole('full', { path: '/team/', trustPolicy: trustPolicy({ principals: [TEAM], users: ['alice'] }) });
  iam.createRole('legacy', { trustPolicy: trustPolicy({ principals: [TEAM], legacyPrincipals: [LEGACY] }) });
  iam.createRole('no-set', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Principal: { AWS: TEAM }, Action: 'sts:AssumeRole', Condition: sentinelCondition },
    },
  });
  iam.createRole('other-pattern', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Team',
          Effect: 'Allow',
          Principal: { AWS: [TEAM] },
          Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          Condition: { StringLike: { 'sts:SourceIdentity': 'team-*' } },
        },
      ],
    },
  });
  iam.createRole('none', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: TEAM }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    },
  });
  iam.createRole('if-exists', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: TEAM },
          Action: 'sts:*',
          Condition: { StringLikeIfExists: { 'sts:SourceIdentity': 'sentinel-*' } },
        },
      ],
    },
  });
  iam.createRole('not-json', { trustPolicy: '{"Version": "2012-10-17", "Statement": [' });
  return { iam, env };
}

const plan = (env: NodeJS.ProcessEnv, ...args: string[]) => sentinelInProcess(['enforce', 'plan', ...args], { env });

t.test('plan classifies vendor, full, partial (three ways) and none, with the statements at fault', async (t) => {
  const { iam, env } = await setup(t);
  const roles = [
    'vendor-only',
    `arn:aws:iam::${ACCOUNT}:role/team/full`,
    'legacy',
    'no-set',
    'other-pattern',
    'none',
    'if-exists',
  ];
  const out = await plan(env, ...roles.flatMap((r) => ['--role', r]), '--vendor-principal', VENDOR, '--json');
  t.equal(out.code, 1, 'partial and none: exit 1');
  t.equal(out.stderr, '');
  const body = JSON.parse(out.stdout);
  t.equal(body.ok, false);
  t.equal(body.error, undefined);
  const by = Object.fromEntries(body.findings.map((f: { role_name: string }) => [f.role_name, f]));
  t.same(
    body.findings.map((f: { role_name: string; status: string }) => `${f.role_name}:${f.status}`),
    [
      'vendor-only:vendor',
      'full:full',
      'legacy:partial',
      'no-set:partial',
      'other-pattern:partial',
      'none:none',
      'if-exists:none',
    ],
  );
  t.equal(by.full.role_arn, `arn:aws:iam::${ACCOUNT}:role/team/full`);
  t.same(by.full.statements, []);
  t.equal(by.full.fix, '');

  t.match(by.legacy.statements, [
    { index: 2, sid: 'LegacyUnstampedAssumeRole', principals: [LEGACY], problem: /without requiring a SourceIdentity/ },
  ]);
  t.equal(by.legacy.statements.length, 1, 'the Sentinel statement is not at fault');
  t.match(by.legacy.fix, `--principal ${TEAM} --principal ${LEGACY} --legacy-principal ${LEGACY}`);
  t.match(by.legacy.fix, /drop --legacy-principal once `sentinel audit verify`/);

  t.match(by['no-set'].statements, [{ index: 1, problem: /does not allow sts:SetSourceIdentity/ }]);
  t.match(by['no-set'].fix, /statement 1: add sts:SetSourceIdentity/);
  t.match(by['other-pattern'].statements, [
    { index: 1, sid: 'Team', problem: /\["team-\*"\] is not a Sentinel pattern/ },
  ]);
  t.equal(by.none.statements.length, 2);
  t.match(by.none.statements[1], { principals: ['Service:ec2.amazonaws.com'] });
  t.match(by.none.fix, /cannot stand for/);
  t.match(by['if-exists'].statements, [
    { problem: /StringLikeIfExists on sts:SourceIdentity, which a call without a SourceIdentity passes/ },
  ]);
  t.equal(iam.calls.GetRole, roles.length, 'one GetRole per role');
});

t.test(
  'plan: all vendor or full exits 0; without --vendor-principal a vendor-only role is judged as full',
  async (t) => {
    const { env } = await setup(t);
    const out = await plan(env, '--role', 'vendor-only', '--role', 'full');
    t.equal(out.code, 0);
    t.match(out.stdout, /^vendor-only {2}full {2}arn:aws:iam::111122223333:role\/vendor-only\nfull {2}full {2}/);
  },
);

t.test('plan: a role an identity provider signs into (web identity, SAML) is never full', async (t) => {
  const { iam, env } = await setup(t);
  const OIDC = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
  const SAML = `arn:aws:iam::${ACCOUNT}:saml-provider/okta`;
  const stamped = trustPolicy({ principals: [TEAM] }).Statement[0]!;
  iam.createRole('github', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        stamped,
        {
          Effect: 'Allow',
          Principal: { Federated: OIDC },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:org/*' } },
        },
      ],
    },
  });
  // Even a SourceIdentity condition does not make it Sentinel's: the identity provider chooses that value.
  iam.createRole('okta', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        stamped,
        {
          Effect: 'Allow',
          Principal: { Federated: SAML },
          Action: ['sts:AssumeRoleWithSAML', 'sts:SetSourceIdentity'],
          Condition: sentinelCondition,
        },
      ],
    },
  });
  iam.createRole('oidc-only', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Federated: OIDC }, Action: 'sts:AssumeRoleWithWebIdentity' }],
    },
  });
  // A team statement whose Action happens to cover the federated calls is not at fault: its principal cannot make them.
  iam.createRole('sts-star', {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [{ ...stamped, Action: 'sts:*' }],
    },
  });
  const out = await plan(
    env,
    ...['github', 'okta', 'oidc-only', 'sts-star'].flatMap((r) => ['--role', r]),
    '--vendor-principal',
    VENDOR,
    '--json',
  );
  t.equal(out.code, 1, out.stderr);
  const body = JSON.parse(out.stdout);
  t.same(
    body.findings.map((f: { role_name: string; status: string }) => `${f.role_name}:${f.status}`),
    ['github:partial', 'okta:partial', 'oidc-only:none', 'sts-star:full'],
  );
  t.match(body.findings[0].statements, [
    { index: 2, principals: [`Federated:${OIDC}`], problem: /sts:AssumeRoleWithWebIdentity/ },
  ]);
  t.match(body.findings[1].statements, [{ index: 2, problem: /sts:AssumeRoleWithSAML/ }]);
  t.match(body.findings[0].fix, /cannot stand for/);
});

t.test('plan: roles that do not exist, trust policies that are not JSON, malformed ARNs, no permission', async (t) => {
  const { iam, env } = await setup(t);
  const out = await plan(env, '--role', 'ghost', '--role', 'not-json', '--role', 'full', '--json');
  t.equal(out.code, 2, 'a role that cannot be read: exit 2');
  const body = JSON.parse(out.stdout);
  t.equal(body.ok, false);
  t.match(body.findings, [
    { role_name: 'ghost', status: 'unknown', error: { code: 'RoleUnknown', message: 'no IAM role named ghost' } },
    { role_name: 'not-json', status: 'unknown', error: { code: 'TrustPolicyUnreadable', message: /is not JSON/ } },
    { role_name: 'full', status: 'full' },
  ]);
  t.same(body.error, { code: 'RoleUnknown', message: 'no IAM role named ghost' });

  const human = await plan(env, '--role', 'ghost');
  t.equal(human.code, 2);
  t.match(human.stdout, /ghost {2}unknown\n {2}error: no IAM role named ghost/);

  const before = iam.calls.GetRole;
  for (const bad of [
    'arn:aws:iam::1234:role/x',
    'arn:aws:s3:::bucket',
    'has space',
    'x'.repeat(65),
    'evil\u001b[31m',
    '',
  ]) {
    const r = await plan(env, '--role', 'full', '--role', bad);
    t.equal(r.code, 2, `usage error for ${JSON.stringify(bad)}`);
    t.match(r.stderr, /^Error: .*is not a role name or role ARN\nHint: /);
    t.notMatch(r.stderr, /\u001b\[31m/, 'no raw control characters echoed');
    t.equal(r.stdout, '');
  }
  t.equal(iam.calls.GetRole, before, 'nothing was asked of IAM');
  const vendor = await plan(env, '--role', 'full', '--vendor-principal', 'not-an-arn');
  t.equal(vendor.code, 2);
  t.match(vendor.stderr, /not an IAM principal ARN/);

  iam.revoke(ADMIN_ARN);
  const denied = await plan(env, '--role', 'full', '--json');
  t.equal(denied.code, 2);
  t.match(JSON.parse(denied.stdout).findings, [
    { status: 'unknown', error: { code: 'AwsAccessDenied', message: 'not allowed to call iam:GetRole on role full' } },
  ]);
});

t.test('generate prints only the document: JSON with a 2-space indent', async (t) => {
  const env = { ...process.env };
  const out = await sentinelInProcess(
    [
      'enforce',
      'generate',
      'trust-policy',
      '--principal',
      TEAM,
      '--principal',
      '123456789012',
      '--users',
      'alice, bob',
    ],
    { env },
  );
  t.equal(out.code, 0);
  t.equal(out.stderr, '');
  const doc = JSON.parse(out.stdout);
  t.equal(out.stdout, JSON.stringify(doc, null, 2) + '\n');
  t.same(doc.Statement[0].Principal, { AWS: [TEAM, '123456789012'] });
  t.same(doc.Statement[0].Condition, { StringLike: { 'sts:SourceIdentity': ['sentinel-alice-*', 'sentinel-bob-*'] } });
  const scp = await sentinelInProcess(['enforce', 'generate', 'scp', '--role-pattern', 'arn:aws:iam::*:role/prod-*'], {
    env,
  });
  t.equal(scp.code, 0);
  t.equal(JSON.parse(scp.stdout).Statement[0].Resource, 'arn:aws:iam::*:role/prod-*');
  const rcp = await sentinelInProcess(['enforce', 'generate', 'rcp'], { env });
  t.equal(JSON.parse(rcp.stdout).Statement[0].Principal, '*');

  for (const args of [
    ['trust-policy'],
    ['trust-policy', '--principal', 'nope'],
    ['trust-policy', '--principal', TEAM, '--users', 'bad-name'],
    // No name at all must not widen the policy to every user's stamp.
    ['trust-policy', '--principal', TEAM, '--users', ''],
    ['trust-policy', '--principal', TEAM, '--users', ' , '],
    ['trust-policy', '--principal', TEAM, '--users', 'al*ce'],
    ['trust-policy', '--principal', TEAM, '--users', 'alice,"bob"'],
    ['trust-policy', '--principal', TEAM, '--users', 'alice\u0007'],
    ['scp', '--role-pattern', 'arn:aws:iam::*:user/*'],
    ['rcp', '--role-pattern', 'x'.repeat(10_000)],
  ]) {
    const r = await sentinelInProcess(['enforce', 'generate', ...args], { env });
    t.equal(r.code, 2, `usage error: ${args.join(' ').slice(0, 60)}`);
    t.equal(r.stdout, '', 'nothing on stdout');
    t.ok(r.stderr.length < 600, 'a bounded message');
  }
});

t.test(
  'generate vendor-scp through the CLI: the document, --compact, and usage errors for hostile flags',
  async (t) => {
    const env = { ...process.env };
    const R = 'eu-west-1';
    const fn = `arn:aws:lambda:${R}:${ACCOUNT}:function:sentinel-vendor`;
    const base = [
      '--function-arn',
      fn,
      '--role-arn',
      VENDOR,
      ...['sessions', 'requests', 'breakglass'].flatMap((n) => [
        '--table',
        `arn:aws:dynamodb:${R}:${ACCOUNT}:table/sentinel-${n}`,
      ]),
      '--pipeline-role',
      `arn:aws:iam::${ACCOUNT}:role/sentinel-deploy`,
    ];
    const vendorScp = (...args: string[]) => sentinelInProcess(['enforce', 'generate', 'vendor-scp', ...args], { env });

    const out = await vendorScp(...base, '--api-arn', `arn:aws:apigateway:${R}::/restapis/a1b2c3d4e5`);
    t.equal(out.code, 0);
    t.equal(out.stderr, '');
    const doc = JSON.parse(out.stdout);
    t.equal(out.stdout, JSON.stringify(doc, null, 2) + '\n', 'JSON with a 2-space indent, nothing else');
    t.same(
      doc.Statement.map((s: { Sid: string }) => s.Sid),
      [
        'SentinelVendorFunction',
        'SentinelVendorRole',
        'SentinelVendorTables',
        'SentinelVendorLogs',
        'SentinelVendorPolicy',
        'SentinelVendorApi',
      ],
    );
    t.same(
      doc.Statement[3].Resource,
      [
        `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/sentinel-vendor`,
        `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/sentinel-vendor:*`,
      ],
      'the log group Lambda writes to, by default',
    );
    t.ok(
      doc.Statement[4].Resource.includes(`arn:aws:ssm:${R}:${ACCOUNT}:parameter/sentinel/policies/*`),
      'the template policy root by default',
    );
    const compact = await vendorScp(...base, '--compact', '--policy-root', '/org/sentinel');
    t.equal(compact.code, 0);
    t.equal(compact.stdout, JSON.stringify(JSON.parse(compact.stdout)) + '\n', 'one line');
    t.match(compact.stdout, `parameter/org/sentinel/*`);

    const help = await vendorScp('--help');
    t.match(help.stdout, /service\s+principal/);
    // The example in --help, run as written: the template's names pass every check.
    const example = /\n {2}\$ sentinel (enforce generate vendor-scp (?:.*\\\n)+.*) > vendor-scp\.json\n/.exec(
      help.stdout,
    );
    t.ok(example, 'an example, one flag a line');
    const ran = await sentinelInProcess(example![1]!.replace(/\\\n/g, ' ').split(/\s+/), { env });
    t.equal(ran.code, 0, 'the example runs');
    t.match(ran.stdout, 'table/sentinel-breakglass');
    // …and they are lambda/template.yaml's: its defaults, and the log group it names after the function.
    const template = readFileSync(join(ROOT, 'lambda', 'template.yaml'), 'utf8');
    const defaultOf = (name: string) =>
      new RegExp(`\\n  ${name}:\\n(?: {4}.*\\n)*? {4}Default: (\\S+)\\n`).exec(template)?.[1];
    t.match(help.stdout, `:function:${defaultOf('FunctionName')} `);
    for (const table of ['SessionsTableName', 'RequestsTableName', 'BreakglassTableName']) {
      t.match(help.stdout, `:table/${defaultOf(table)} `, `${table}'s default`);
    }
    t.equal(defaultOf('PolicyRoot'), TEMPLATE_POLICY_ROOT);
    t.match(
      template,
      'LogGroupName:\n        Fn::Sub: /aws/lambda/${FunctionName}\n',
      'the log group the default names',
    );

    const without = (flag: string) => {
      const i = base.indexOf(flag);
      return [...base.slice(0, i), ...base.slice(i + 2)];
    };
    for (const args of [
      [],
      without('--function-arn'),
      without('--role-arn'),
      without('--pipeline-role'),
      base.filter((a) => !a.includes('dynamodb') && a !== '--table'),
      [...base, '--table', ''],
      [...base, '--function-arn', ''],
      [...base, '--function-arn', `${fn}\u0007`],
      [...base, '--table', `arn:aws:dynamodb:${R}:${ACCOUNT}:table/x\n{"Effect":"Allow"}`],
      [...base, '--pipeline-role', 'arn:aws:iam::*:role/*'],
      [...base, '--pipeline-role', '*'],
      [...base, '--role-arn', 'x'.repeat(100_000)],
      [...base, '--api-arn', `arn:aws:execute-api:${R}:${ACCOUNT}:a1b2c3d4e5/v1/*/*`],
      [...base, '--log-group-arn', `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/sentinel-vendor`],
      [...base, '--policy-root', '/sentinel/\u202epolicies'],
      [
        ...base,
        ...Array.from({ length: 60 }, (_, i) => ['--pipeline-role', `arn:aws:iam::${ACCOUNT}:role/deploy-${i}`]).flat(),
      ],
    ]) {
      const r = await vendorScp(...args);
      t.equal(r.code, 2, `usage error: ${args.slice(-2).join(' ').slice(0, 80)}`);
      t.equal(r.stdout, '', 'nothing on stdout');
      t.match(r.stderr, /^Error: .*\n(Hint: .*\n)?/);
      t.ok(r.stderr.length < 600, 'a bounded message');
      t.notMatch(r.stderr, /[\u0007\u202e]|\n\{/, 'control characters shown, not sent');
    }
  },
);
