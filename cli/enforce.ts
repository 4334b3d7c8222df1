// `sentinel enforce generate trust-policy|scp|rcp|vendor-scp`, `enforce plan`, `enforce prune` (DESIGN §15): the policies that
// make AWS refuse what did not go through Sentinel, how far each role is from them, and the clean-up of AWS-side
// revocations whose credentials have lapsed. Flags are parsed here; core/enforcement does the work.
import type { Command } from 'commander';
import { EXIT } from '../core/errors.js';
import type { PlanFinding } from '../core/enforcement/plan.js';
import { resolveAwsTarget } from './aws-target.js';
import { printJson, usageError } from './output.js';
import type { GlobalOptions } from './program.js';
import { visible } from '../core/text/printable.js';

interface AwsFlags {
  profile?: string;
  region?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function addAwsOptions(command: Command): Command {
  return command
    .option('--profile <profile>', 'AWS profile for the IAM calls (default: AWS_PROFILE, then config aws_profile)')
    .option('--region <region>', 'AWS region (IAM is global; default: AWS_REGION, then config region)');
}

export function renderPlan(findings: PlanFinding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${f.role_name}  ${f.status}${f.role_arn ? `  ${f.role_arn}` : ''}`);
    if (f.error) lines.push(`  error: ${f.error.message}`);
    for (const s of f.statements) {
      lines.push(
        `  statement ${s.index}${s.sid ? ` (${s.sid})` : ''} [${s.principals.join(', ') || 'no principal'}]: ${s.problem}`,
      );
    }
    if (f.fix) lines.push(`  fix: ${f.fix}`);
  }
  return lines.map((line) => visible(line)).join('\n') + '\n';
}

export function register(program: Command): void {
  const enforce = program
    .command('enforce')
    .description('make AWS refuse what did not go through Sentinel: trust policies, SCPs, AWS-side revocation')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel enforce plan --role prod-admin --role arn:aws:iam::123456789012:role/ci/deployer
  $ sentinel enforce generate trust-policy --principal arn:aws:iam::123456789012:root > trust.json
  $ sentinel enforce prune --table sentinel-sessions --region eu-west-1

What each policy stops and what it does not: docs/enforcement.md.`,
    );

  const generate = enforce
    .command('generate')
    .description('print a policy document (JSON) to paste into IAM or AWS Organizations')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel enforce generate trust-policy --principal arn:aws:iam::123456789012:root
  $ sentinel enforce generate scp --role-pattern 'arn:aws:iam::*:role/prod-*'
  $ sentinel enforce generate rcp
  $ sentinel enforce generate vendor-scp --function-arn <arn> --role-arn <arn> --table <arn>... --pipeline-role <arn>`,
    );

  generate
    .command('trust-policy')
    .description('a role trust policy: sts:AssumeRole and sts:SetSourceIdentity only with a Sentinel SourceIdentity')
    .requiredOption(
      '--principal <arn>',
      'who may assume the role through Sentinel (repeatable); the vendor role for the binding form',
      collect,
    )
    .option('--users <names>', 'only these policy users (comma-separated): sentinel-<user>-* instead of sentinel-*')
    .option('--legacy-principal <arn>', 'also allowed without a stamp, while tools move over (repeatable)', collect)
    .option('--require-mfa', 'also require MFA in the base session (break-glass roles)')
    .addHelpText(
      'after',
      `
Prints only the policy document (JSON, 2-space indent) on stdout.

Examples:
  $ sentinel enforce generate trust-policy --principal arn:aws:iam::123456789012:root
  $ sentinel enforce generate trust-policy --principal 123456789012 --users alice,bob --require-mfa
  $ sentinel enforce generate trust-policy --principal arn:aws:iam::123456789012:role/sentinel-vendor
  $ sentinel enforce generate trust-policy --principal 123456789012 --legacy-principal arn:aws:iam::123456789012:role/old-ci

Exit codes: 0 printed; 2 usage (a principal that is not an ARN or account id, a bad user name).`,
    )
    .action(
      async (flags: { principal: string[]; users?: string; legacyPrincipal?: string[]; requireMfa?: boolean }) => {
        const { trustPolicy } = await import('../core/enforcement/generate.js');
        const users = flags.users
          ?.split(',')
          .map((u) => u.trim())
          .filter((u) => u !== '');
        // An empty list would mean no restriction at all: every user's stamp (sentinel-*), the widest policy.
        if (users?.length === 0)
          throw usageError('--users names no user', 'Name policy users (`--users alice,bob`), or leave --users out.');
        printJson(
          trustPolicy({
            principals: flags.principal,
            ...(users ? { users } : {}),
            legacyPrincipals: flags.legacyPrincipal ?? [],
            requireMfa: flags.requireMfa === true,
          }),
        );
      },
    );

  for (const kind of ['scp', 'rcp'] as const) {
    generate
      .command(kind)
      .description(
        kind === 'scp'
          ? 'a service control policy: member-account callers assume the protected roles only with a Sentinel stamp'
          : 'a resource control policy: the same on the roles themselves, binding callers outside the organization too',
      )
      .option('--role-pattern <arn>', 'the protected roles (IAM wildcards)', 'arn:aws:iam::*:role/sentinel/*')
      .addHelpText(
        'after',
        `
Prints only the policy document (JSON, 2-space indent) on stdout. ${
          kind === 'scp'
            ? 'SCPs bind principals in member accounts, never the management account.'
            : 'RCPs bind every caller of the roles, from inside the organization or not; AWS services acting as themselves are left alone.'
        }

Examples:
  $ sentinel enforce generate ${kind}
  $ sentinel enforce generate ${kind} --role-pattern 'arn:aws:iam::123456789012:role/prod-*'

Exit codes: 0 printed; 2 usage (a pattern that is not a role ARN pattern).`,
      )
      .action(async (flags: { rolePattern: string }) => {
        const g = await import('../core/enforcement/generate.js');
        printJson(
          kind === 'scp' ? g.serviceControlPolicy(flags.rolePattern) : g.resourceControlPolicy(flags.rolePattern),
        );
      });
  }

  generate
    .command('vendor-scp')
    .description(
      'a service control policy that keeps the server-side vendor the vendor: only the pipeline may invoke or change it',
    )
    .requiredOption('--function-arn <arn>', 'the vendor function, unqualified (its versions and aliases are covered)')
    .requiredOption('--role-arn <arn>', "the function's execution role (the stack's VendorRoleArn output)")
    .requiredOption('--table <arn>', 'a table of the vendor (repeatable: sessions, requests, break-glass)', collect)
    .requiredOption(
      '--pipeline-role <arn pattern>',
      'who deploys the vendor, exempt from every Deny (repeatable)',
      collect,
    )
    .option(
      '--policy-writer <arn pattern>',
      'who publishes policies, exempt from the policy-parameter Deny only (repeatable)',
      collect,
    )
    .option(
      '--log-group-arn <arn>',
      "the function's log group (default: /aws/lambda/<function name>, where Lambda writes)",
    )
    .option('--policy-root <path>', 'SSM path of the policies, as config policy.ssm_root', '/sentinel/policies')
    .option(
      '--api-arn <arn>',
      "API Gateway's ARN of the vendor's API, to deny changes to it: arn:aws:apigateway:<region>::/restapis/<id>",
    )
    .option(
      '--signing-key-arn <arn>',
      "the KMS key that signs the policies (the template's SigningKeyArn): only the pipeline and policy writers sign",
    )
    .option('--compact', 'print the document on one line (what AWS counts when it is sent through the API or CLI)')
    .addHelpText(
      'after',
      `
Prints only the policy document (JSON, 2-space indent) on stdout. Outside the roles --pipeline-role names, nobody in
the account may invoke the function (a hand-made event could name any user), change its code, configuration,
permissions or URL, pass or change its role, write its tables or its log group, or write the policy parameters
(under --policy-root and /sentinel/signatures), or change the API (--api-arn). With --signing-key-arn, only the
pipeline and --policy-writer roles may sign with the policy-signing key or give themselves its use. The vendor's own
role stays allowed its table and log writes. API Gateway's invocation of the function is not denied: it is a service
principal's, which no SCP binds. SCPs bind principals in member accounts, never the management account.

AWS allows an SCP 5,120 characters; the console drops the indentation, the API and CLI count it: send
--compact output with them. An input that would not fit even compact is refused.

The example is for lambda/template.yaml's default names in eu-west-1: --role-arn is the stack's VendorRoleArn
output, the API id is the first label of its ApiUrl output.

Examples:
  $ sentinel enforce generate vendor-scp \\
      --function-arn arn:aws:lambda:eu-west-1:123456789012:function:sentinel-vendor \\
      --role-arn arn:aws:iam::123456789012:role/sentinel-vendor-VendorRole-1A2B3C4D5E6F \\
      --table arn:aws:dynamodb:eu-west-1:123456789012:table/sentinel-sessions \\
      --table arn:aws:dynamodb:eu-west-1:123456789012:table/sentinel-requests \\
      --table arn:aws:dynamodb:eu-west-1:123456789012:table/sentinel-breakglass \\
      --api-arn arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5 \\
      --pipeline-role arn:aws:iam::123456789012:role/sentinel-deploy --compact > vendor-scp.json

Exit codes: 0 printed; 2 usage (a malformed ARN or pattern, one outside the function's account or region, a
pattern that would exempt every role, a document over the size limit).`,
    )
    .action(
      async (flags: {
        functionArn: string;
        roleArn: string;
        table: string[];
        pipelineRole: string[];
        policyWriter?: string[];
        logGroupArn?: string;
        policyRoot: string;
        apiArn?: string;
        signingKeyArn?: string;
        compact?: boolean;
      }) => {
        const { vendorServiceControlPolicy } = await import('../core/enforcement/vendor-scp.js');
        const doc = vendorServiceControlPolicy({
          functionArn: flags.functionArn,
          roleArn: flags.roleArn,
          tables: flags.table,
          pipelineRoles: flags.pipelineRole,
          policyWriters: flags.policyWriter ?? [],
          policyRoot: flags.policyRoot,
          ...(flags.logGroupArn !== undefined ? { logGroupArn: flags.logGroupArn } : {}),
          ...(flags.apiArn !== undefined ? { apiArn: flags.apiArn } : {}),
          ...(flags.signingKeyArn !== undefined ? { signingKeyArn: flags.signingKeyArn } : {}),
        });
        if (flags.compact) process.stdout.write(JSON.stringify(doc) + '\n');
        else printJson(doc);
      },
    );

  addAwsOptions(
    enforce
      .command('plan')
      .description(
        "classify each role's trust policy: vendor, full, partial or none, with the statements at fault and the fix",
      )
      .requiredOption('--role <arn or name>', 'a role to check (repeatable)', collect)
      .option('--vendor-principal <arn>', "the server-side vendor's role: roles only it may assume are `vendor`")
      .option('--json', 'print {ok, findings, error?}'),
  )
    .addHelpText(
      'after',
      `
Reads each role with iam:GetRole. vendor: only the vendor's role may assume it; full: every statement allowing
sts:AssumeRole requires sts:SourceIdentity like sentinel-* and allows sts:SetSourceIdentity, and no identity
provider may sign in (AssumeRoleWithWebIdentity, AssumeRoleWithSAML); partial; none.

Examples:
  $ sentinel enforce plan --role prod-admin --role staging-admin
  $ sentinel enforce plan --role arn:aws:iam::123456789012:role/prod-admin --vendor-principal arn:aws:iam::123456789012:role/sentinel-vendor --json

Exit codes: 0 every role vendor or full; 1 some role partial or none; 2 usage, or a role that could not be read.`,
    )
    .action(async (flags: AwsFlags & { role: string[]; vendorPrincipal?: string }, command: Command) => {
      const [{ roleNameOf, createIamAdmin }, { planRoles }] = await Promise.all([
        import('../core/enforcement/iam.js'),
        import('../core/enforcement/plan.js'),
      ]);
      const names = flags.role.map(roleNameOf);
      if (flags.vendorPrincipal !== undefined) {
        const { trustPolicy } = await import('../core/enforcement/generate.js');
        trustPolicy({ principals: [flags.vendorPrincipal] }); // validates it as a principal (usage error otherwise)
      }
      const target = await resolveAwsTarget(flags, command.optsWithGlobals<GlobalOptions>());
      const iam = await createIamAdmin(target);
      let findings: PlanFinding[];
      try {
        findings = await planRoles(iam, names, flags.vendorPrincipal ? { vendorPrincipal: flags.vendorPrincipal } : {});
      } finally {
        iam.close();
      }
      const unreadable = findings.filter((f) => f.status === 'unknown');
      const ok = findings.every((f) => f.status === 'vendor' || f.status === 'full');
      if (flags.json) {
        printJson({
          ok,
          findings,
          ...(unreadable.length
            ? { error: { code: unreadable[0]!.error!.code, message: unreadable[0]!.error!.message } }
            : {}),
        });
      } else {
        process.stdout.write(renderPlan(findings));
      }
      process.exitCode = unreadable.length ? EXIT.usage : ok ? EXIT.ok : EXIT.error;
    });

  addAwsOptions(
    enforce
      .command('prune')
      .description("delete AWS-side revocation policies whose session's credentials have all lapsed")
      .requiredOption('--table <name>', 'the session table (each revoked session is read from it)')
      .option(
        '--role <arn or name>',
        'only this role (repeatable; default: the roles of revoked sessions in the table)',
        collect,
      )
      .option('--json', 'print {ok, findings, error?}'),
  )
    .addHelpText(
      'after',
      `
A policy sentinel-revoke-<id> is deleted once every credential of its session has surely lapsed: 12 hours (STS's
longest) after the session was revoked, and an hour (a chained session) after its credentials_valid_until, which
can lag the credentials issued just before the revoke. One whose session record is missing is kept and reported.

Examples:
  $ sentinel enforce prune --table sentinel-sessions --region eu-west-1
  $ sentinel enforce prune --table sentinel-sessions --role prod-admin --json

Exit codes: 0 done; 1 an AWS or store error; 2 usage.`,
    )
    .action(async (flags: AwsFlags & { table: string; role?: string[] }, command: Command) => {
      const { roleNameOf, createIamAdmin } = await import('../core/enforcement/iam.js');
      const { pruneRole } = await import('../core/enforcement/aws-revocation.js');
      const { checkTableName, openSessionTable } = await import('./session-table.js');
      const explicit = (flags.role ?? []).map(roleNameOf);
      const target = await resolveAwsTarget(flags, command.optsWithGlobals<GlobalOptions>());
      const store = await openSessionTable(target, checkTableName(flags.table));
      const iam = await createIamAdmin(target);
      try {
        const roles = explicit.length ? explicit : await revokedRoles(store, roleNameOf);
        const findings = [];
        for (const role of roles) findings.push(await pruneRole(iam, role, (id) => store.get(id)));
        if (flags.json) printJson({ ok: true, findings });
        else {
          for (const f of findings) {
            process.stdout.write(visible(`${f.role_name}: deleted ${f.deleted.length}, kept ${f.kept.length}`) + '\n');
            for (const name of f.deleted) process.stdout.write(`  deleted ${name}\n`);
            for (const k of f.kept) process.stdout.write(visible(`  kept ${k.policy_name}: ${k.why}`) + '\n');
          }
          if (findings.length === 0) process.stdout.write('No roles with revoked sessions.\n');
        }
      } finally {
        iam.close();
        await store.close();
      }
    });
}

/** The roles of revoked sessions in the table: where revocation policies can be. */
async function revokedRoles(
  store: import('../core/sessions/types.js').SessionStore,
  roleNameOf: (v: string) => string,
): Promise<string[]> {
  const roles = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await store.list({ status: 'revoked', limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const s of page.items) if (s.role_arn) roles.add(roleNameOf(s.role_arn));
    cursor = page.cursor;
  } while (cursor);
  return [...roles].sort();
}
