// `sentinel permissions` and `permissions check` (DESIGN §16): every action in core/permissions.ts is a real IAM
// action, the printed policies are what `check` asks for, and `check` against the IAM emulator (SimulatePrincipalPolicy
// through a real IAM policy evaluator) names the one action a caller lacks. The caller is an IAM Identity Center
// session, checked as its role under /aws-reserved/sso.amazonaws.com/.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import {
  STATEMENTS,
  policyDocuments,
  sampleResource,
  simulationPrincipal,
  type PermissionContext,
} from '../core/permissions.js';
import { startSts } from './support/sts-emulator.js';
import { startIam } from './support/iam-emulator.js';
import { cleanEnv, sentinelInProcess, tempDir } from './support/cli.js';

const ACCOUNT = '123456789012';
const SSO_ROLE = 'AWSReservedSSO_Developer_0123456789abcdef';
const CALLER_KEY = 'AKIAPERMISSIONSCHECK';
const CALLER_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/alice@example.com`;

const context: PermissionContext = {
  account: ACCOUNT,
  region: 'eu-west-1',
  ssmRoot: '/sentinel/policies',
  signatureRoot: '/sentinel/signatures',
  tables: { sessions: 'sentinel-sessions', requests: 'sentinel-requests', breakglass: 'sentinel-breakglass' },
  signingKey: null,
  roles: 'arn:aws:iam::*:role/*',
  logGroup: 'sentinel-decisions',
};

/** The CLI in this process as the caller with access key `key`, in a fresh HOME, against the STS and IAM emulators. */
function callerCli(t: Test, key: string, stsUrl: string, iamUrl: string) {
  const dir = tempDir(t, 'sentinel-permissions-');
  const env = cleanEnv({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: key,
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: stsUrl,
    AWS_ENDPOINT_URL_IAM: iamUrl,
  });
  return { dir, env, cli: (args: string[]) => sentinelInProcess(args, { env }) };
}

t.test('every action is one IAM knows, and every statement is scoped or says why it is not', async (t) => {
  for (const s of STATEMENTS) {
    for (const action of s.actions) {
      const r = await runSimulation(
        {
          identityPolicies: [],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          request: {
            action,
            principal: `arn:aws:iam::${ACCOUNT}:user/x`,
            resource: { accountId: ACCOUNT, resource: '*' },
            contextVariables: {},
          },
        },
        {},
      );
      t.not(
        r.resultType === 'error' && JSON.stringify(r.errors).includes('invalid.action'),
        true,
        `${s.sid}: ${action}`,
      );
    }
    const resources = s.resources(context);
    if (resources.includes('*')) t.match(s.why, /does not scope|never refused/, `${s.sid}: "*" is explained`);
  }
  t.equal(new Set(STATEMENTS.map((s) => s.sid)).size, STATEMENTS.length, 'sids are unique');
});

t.test('principals: sessions map to their roles; resources get the caller account and region', async (t) => {
  t.same(simulationPrincipal(CALLER_ARN), {
    arn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/${SSO_ROLE}`,
    roleName: SSO_ROLE,
  });
  t.same(simulationPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/deploy/ci`), {
    arn: `arn:aws:iam::${ACCOUNT}:role/deploy`,
    roleName: 'deploy',
  });
  t.same(simulationPrincipal(`arn:aws:iam::${ACCOUNT}:user/alice`), { arn: `arn:aws:iam::${ACCOUNT}:user/alice` });
  t.equal(simulationPrincipal(`arn:aws:iam::${ACCOUNT}:root`), null);
  t.equal(simulationPrincipal(`arn:aws:sts::${ACCOUNT}:federated-user/bob`), null);
  t.equal(
    sampleResource('arn:aws:ssm:*:*:parameter/sentinel/policies/*', ACCOUNT, 'eu-west-1'),
    `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/sentinel/policies/example`,
  );
});

t.test('permissions check: all granted → 0; one action missing → 1, naming it', async (t) => {
  const sts = await startSts({ identities: { [CALLER_KEY]: CALLER_ARN } });
  t.teardown(() => sts.close());
  const iam = await startIam({ callers: sts, account: ACCOUNT });
  t.teardown(() => iam.close());
  const role = iam.createRole(SSO_ROLE, {
    path: '/aws-reserved/sso.amazonaws.com/',
    trustPolicy: { Version: '2012-10-17', Statement: [] },
  });
  iam.grant(role.arn, ['iam:SimulatePrincipalPolicy', 'iam:GetRole']);

  const { cli, env } = callerCli(t, CALLER_KEY, sts.url, iam.url);

  // What `permissions --role daemon` prints for this account and region is what the daemon role is given.
  const printed = await cli(['permissions', '--role', 'daemon', '--account', ACCOUNT, '--region', 'eu-west-1']);
  t.equal(printed.code, 0, printed.stderr);
  const daemonDoc = JSON.parse(printed.stdout).daemon;
  t.same(
    daemonDoc,
    policyDocuments(
      STATEMENTS.filter((s) => s.role === 'daemon'),
      context,
    ).daemon,
  );
  iam.attachPolicy(role.arn, daemonDoc);

  const ok = await cli(['permissions', 'check', '--json']);
  t.equal(ok.code, 0, ok.stderr);
  const okBody = JSON.parse(ok.stdout);
  t.same([okBody.ok, okBody.principal, okBody.missing], [true, role.arn, []]);
  t.ok(okBody.checked >= 8, `${okBody.checked} permissions simulated`);
  t.ok(iam.calls.SimulatePrincipalPolicy > 0);

  // The same role with one action taken out of the policy.
  const iam2 = await startIam({ callers: sts, account: ACCOUNT });
  t.teardown(() => iam2.close());
  const role2 = iam2.createRole(SSO_ROLE, {
    path: '/aws-reserved/sso.amazonaws.com/',
    trustPolicy: { Version: '2012-10-17', Statement: [] },
  });
  iam2.grant(role2.arn, ['iam:SimulatePrincipalPolicy', 'iam:GetRole']);
  const without = structuredClone(daemonDoc);
  for (const s of without.Statement) s.Action = s.Action.filter((a: string) => a !== 'kms:GetPublicKey');
  iam2.attachPolicy(role2.arn, without);
  const missing = await sentinelInProcess(['permissions', 'check'], {
    env: { ...env, AWS_ENDPOINT_URL_IAM: iam2.url },
  });
  t.equal(missing.code, 1);
  t.match(
    missing.stdout,
    /^missing: kms:GetPublicKey on arn:aws:kms:eu-west-1:123456789012:key\/example \(implicitDeny; policy\/daemon\)\n$/,
  );
  t.match(missing.stderr, /^Error: .*AWSReservedSSO_Developer_0123456789abcdef lacks kms:GetPublicKey\nHint: /);

  // A caller without iam:SimulatePrincipalPolicy gets a clear error, not a false "ok".
  iam2.revoke(role2.arn);
  const refused = await sentinelInProcess(['permissions', 'check'], {
    env: { ...env, AWS_ENDPOINT_URL_IAM: iam2.url },
  });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /SimulatePrincipalPolicy .* failed \(AccessDenied\)/);
});

t.test('check --role admin passes an admin with exactly the printed policy; no role checks nothing', async (t) => {
  const ADMIN_KEY = 'AKIAPERMISSIONSADMIN';
  const ADMIN_ARN = `arn:aws:iam::${ACCOUNT}:user/admin`;
  const sts = await startSts({ identities: { [ADMIN_KEY]: ADMIN_ARN } });
  t.teardown(() => sts.close());
  const iam = await startIam({ callers: sts, account: ACCOUNT });
  t.teardown(() => iam.close());
  iam.grant(ADMIN_ARN, ['iam:SimulatePrincipalPolicy']);
  // A user IAM knows, allowed nothing Sentinel needs.
  iam.attachPolicy(ADMIN_ARN, {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }],
  });
  const { cli, dir, env } = callerCli(t, ADMIN_KEY, sts.url, iam.url);

  // The caller holds nothing yet: every role's check fails and names what is missing, none passes with 0 checked.
  for (const role of ['audit', 'enforcement', 'admin']) {
    const none = await cli(['permissions', 'check', '--role', role, '--json']);
    t.equal(none.code, 1, `${role}: ${none.stderr}`);
    const body = JSON.parse(none.stdout);
    t.equal(body.ok, false, role);
    t.ok(body.checked > 0, `${role}: ${body.checked} checked`);
  }
  const audit = await cli(['permissions', 'check', '--role', 'audit']);
  t.match(audit.stdout, /^missing: cloudtrail:LookupEvents on \* \(implicitDeny; audit\/audit\)$/m);

  // The team-setup walk: attach what `permissions --role admin` prints, then `check --role admin` passes.
  const printed = await cli(['permissions', '--role', 'admin', '--account', ACCOUNT, '--region', 'eu-west-1']);
  t.equal(printed.code, 0, printed.stderr);
  iam.attachPolicy(ADMIN_ARN, JSON.parse(printed.stdout).admin);
  const ok = await cli(['permissions', 'check', '--role', 'admin']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^ok: arn:aws:iam::123456789012:user\/admin has all \d+ permissions checked\n$/);

  // As the walk runs it: `--profile admin`, whose region is in ~/.aws/config, no AWS_REGION. The resources are checked
  // in that region (they were checked in us-east-1, and every one was "missing").
  writeFileSync(join(dir, 'aws-config'), '[profile admin]\nregion = eu-west-1\n');
  writeFileSync(
    join(dir, 'aws-credentials'),
    `[admin]\naws_access_key_id = ${ADMIN_KEY}\naws_secret_access_key = not-a-secret\n`,
  );
  const profileEnv: NodeJS.ProcessEnv = {
    ...env,
    AWS_CONFIG_FILE: join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'),
  };
  for (const k of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) delete profileEnv[k];
  const byProfile = await sentinelInProcess(['permissions', 'check', '--role', 'admin', '--profile', 'admin'], {
    env: profileEnv,
  });
  t.equal(byProfile.code, 0, byProfile.stdout + byProfile.stderr);

  const empty = await cli(['permissions', 'check', '--role', 'vendor', '--feature', 'permissions']);
  t.equal(empty.code, 2, 'a selection with no statements is a usage error, not an "ok"');
  t.match(empty.stderr, /nothing to check/);
});

t.test('formats and bad input', async (t) => {
  const dir = tempDir(t, 'sentinel-permissions-');
  const env = cleanEnv({ HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') });
  const cli = (args: string[]) => sentinelInProcess(args, { env });
  const tf = await cli(['permissions', '--feature', 'policy', '--format', 'terraform']);
  t.equal(tf.code, 0);
  t.match(
    tf.stdout,
    /^data "aws_iam_policy_document" "sentinel_daemon" \{\n  statement \{\n    sid       = "SentinelReadPolicies"/,
  );
  t.match(tf.stdout, /data "aws_iam_policy_document" "sentinel_admin"/);
  const cfn = JSON.parse((await cli(['permissions', '--format', 'cloudformation'])).stdout);
  t.equal(cfn.Resources.SentinelDaemonPolicy.Type, 'AWS::IAM::ManagedPolicy');
  t.equal(cfn.Resources.SentinelVendorPolicy.Properties.PolicyDocument.Version, '2012-10-17');
  // Every feature has landed: nothing is printed as "still being built".
  const breakglass = await cli(['permissions', '--feature', 'breakglass']);
  t.equal(breakglass.code, 0);
  t.equal(breakglass.stderr, '');
  for (const [args, why] of [
    [['permissions', '--feature', 'bogus'], /--feature "bogus" is not a feature/],
    [['permissions', '--role', 'root'], /--role "root" is not a role/],
    [['permissions', '--format', 'xml'], /--format must be one of/],
    [['permissions', '--account', '12'], /--account must be 12 digits/],
    [['permissions', '--roles', 'role/*'], /--roles must be an IAM role ARN pattern/],
    [['permissions', 'check', '--role', 'x\u001b[31m'], /is not a role/],
  ] as const) {
    const r = await cli([...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, why);
  }
});

t.test(
  "--all-regions' region list: ssm:GetParametersByPath on AWS's public region parameters, printed for audit",
  async (t) => {
    const audit = policyDocuments(STATEMENTS, context).audit as unknown as {
      Statement: Array<{ Sid: string; Action: string[] | string; Resource: string[] | string }>;
    };
    const regions = audit.Statement.find((s) => s.Sid === 'SentinelAuditRegions');
    t.match(regions, {
      Action: ['ssm:GetParametersByPath'],
      Resource: ['arn:aws:ssm:*::parameter/aws/service/global-infrastructure/*'],
    });
    // Only AWS's own (account-less) parameters: not the account's, where Sentinel keeps its policies.
    const r = await runSimulation(
      {
        identityPolicies: [{ name: 'audit', policy: audit as never }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          action: 'ssm:GetParametersByPath',
          principal: `arn:aws:iam::${ACCOUNT}:user/auditor`,
          resource: { accountId: ACCOUNT, resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/sentinel/policies/x` },
          contextVariables: {},
        },
      },
      {},
    );
    t.equal(r.resultType !== 'error' && r.overallResult, 'ImplicitlyDenied', "not the account's own parameters");
  },
);
