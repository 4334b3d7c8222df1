// `sentinel permissions` and `sentinel permissions check` (DESIGN §16): print the IAM permissions of core/permissions.ts
// for this configuration, and ask IAM (SimulatePrincipalPolicy) whether the caller has them. The AWS SDK is loaded
// inside `check` only.
import type { Command } from 'commander';
import { EXIT, SentinelError } from '../core/errors.js';
import { resolveAwsTarget } from './aws-target.js';
import { adminClient } from './aws-clients.js';
import { NO_CREDENTIALS_HINT, noCredentialsFound } from '../core/aws-http.js';
import { printJson, usageError } from './output.js';
import type { GlobalOptions } from './program.js';

interface PrintFlags {
  feature?: string;
  role?: string;
  format?: string;
  account?: string;
  region?: string;
  roles?: string;
  json?: boolean;
}

interface CheckFlags {
  feature?: string;
  role?: string;
  profile?: string;
  region?: string;
  json?: boolean;
}

const FORMATS = ['json', 'terraform', 'cloudformation'] as const;

async function selection(flags: { feature?: string; role?: string }) {
  const p = await import('../core/permissions.js');
  if (flags.feature !== undefined && !p.FEATURES.includes(flags.feature)) {
    throw usageError(
      `--feature ${JSON.stringify(flags.feature.slice(0, 40))} is not a feature`,
      `One of: ${p.FEATURES.join(', ')}.`,
    );
  }
  if (flags.role !== undefined && !(p.ROLES as readonly string[]).includes(flags.role)) {
    throw usageError(
      `--role ${JSON.stringify(flags.role.slice(0, 40))} is not a role`,
      `One of: ${p.ROLES.join(', ')}.`,
    );
  }
  return {
    p,
    statements: p.selectStatements(
      flags as { feature?: string; role?: import('../core/permissions.js').PermissionRole },
    ),
  };
}

/** The resource names of this configuration (config.yaml), with the account and region given. */
async function contextFor(globals: GlobalOptions, account: string, region: string, roles?: string) {
  const { loadConfig } = await import('../core/config.js');
  const { SIGNATURE_ROOT } = await import('../core/policy/signature.js');
  const config = loadConfig({ configFlag: globals.config });
  return {
    account,
    region,
    ssmRoot: config.policy.ssmRoot,
    signatureRoot: SIGNATURE_ROOT,
    tables: {
      sessions: config.sessions.table,
      requests: config.requests.table,
      breakglass: config.breakglass.table,
    },
    signingKey: config.policy.signingKey,
    roles: roles ?? `arn:aws:iam::*:role/*`,
    logGroup: 'sentinel-decisions',
  };
}

async function print(flags: PrintFlags, globals: GlobalOptions): Promise<number> {
  const format = flags.format ?? 'json';
  if (!(FORMATS as readonly string[]).includes(format))
    throw usageError(`--format must be one of ${FORMATS.join(', ')}`);
  if (flags.account !== undefined && !/^\d{12}$/.test(flags.account)) throw usageError('--account must be 12 digits');
  if (flags.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(flags.region))
    throw usageError('--region must be an AWS region such as eu-west-1');
  if (flags.roles !== undefined && !/^arn:aws[\w-]*:iam::(\d{12}|\*):role\/[\w+=,.@/*-]+$/.test(flags.roles))
    throw usageError('--roles must be an IAM role ARN pattern such as arn:aws:iam::111111111111:role/dev-*');
  const { p, statements } = await selection(flags);
  const context = await contextFor(globals, flags.account ?? '*', flags.region ?? '*', flags.roles);
  const docs = p.policyDocuments(statements, context);
  if (format === 'terraform') process.stdout.write(p.terraform(docs));
  else if (format === 'cloudformation') printJson(p.cloudFormation(docs));
  else printJson(docs);
  return EXIT.ok;
}

function awsCode(e: unknown): string {
  const name = (e as { name?: unknown })?.name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(name) ? name : 'error';
}

async function check(flags: CheckFlags, globals: GlobalOptions): Promise<number> {
  const role = flags.role ?? 'daemon';
  const { p, statements } = await selection({ feature: flags.feature, role });
  // "ok" must mean something was checked: an empty selection would pass any caller.
  if (statements.length === 0) {
    throw usageError(
      `the role ${role} needs nothing for the feature ${flags.feature}: there is nothing to check`,
      `\`sentinel permissions --role ${role}\` lists the features of that role.`,
    );
  }
  const target = await resolveAwsTarget(flags, globals);
  const region = target.region ?? 'us-east-1';
  const [{ STSClient, GetCallerIdentityCommand }, { IAMClient, GetRoleCommand, SimulatePrincipalPolicyCommand }] =
    await Promise.all([import('@aws-sdk/client-sts'), import('@aws-sdk/client-iam')]);
  const sts = adminClient(STSClient, target, { region });
  const iam = adminClient(IAMClient, target, { region });
  try {
    let callerArn: string;
    try {
      callerArn = (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? '';
    } catch (e) {
      if (noCredentialsFound(e)) {
        throw new SentinelError('AwsCallFailed', 'STS GetCallerIdentity: no AWS credentials could be found', {
          hint: NO_CREDENTIALS_HINT,
        });
      }
      // The catalogue's hint for AwsCallFailed suggests `sentinel permissions check`, the command that failed.
      throw new SentinelError('AwsCallFailed', `STS GetCallerIdentity failed (${awsCode(e)})`, {
        hint: 'Check --profile/--region and network access to AWS, then try again.',
      });
    }
    const principal = p.simulationPrincipal(callerArn);
    if (!principal) {
      throw new SentinelError('AwsCallFailed', `${callerArn} is not a user or role IAM can simulate`, {
        hint: 'Run it with the profile of an IAM user or role (root and federated users cannot be simulated).',
      });
    }
    let principalArn = principal.arn;
    if (principal.roleName) {
      // The role's real ARN has its path; an assumed-role ARN does not show it.
      try {
        principalArn = (await iam.send(new GetRoleCommand({ RoleName: principal.roleName }))).Role?.Arn ?? principalArn;
      } catch {
        // No iam:GetRole: keep the mapped ARN (AWS Identity Center paths are known).
      }
    }
    const account = /:(\d{12}):/.exec(principalArn)?.[1] ?? '*';
    const context = await contextFor(globals, account, region);
    const missing: Array<{
      feature: string;
      role: string;
      sid: string;
      action: string;
      resource: string;
      decision: string;
    }> = [];
    let checked = 0;
    for (const s of statements) {
      for (const { actions, resource } of p.simulationChecks(s, context, account, region)) {
        let out;
        try {
          out = await iam.send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: principalArn,
              ActionNames: actions,
              ...(resource === '*' ? {} : { ResourceArns: [resource] }),
            }),
          );
        } catch (e) {
          const code = awsCode(e);
          throw new SentinelError('AwsCallFailed', `IAM SimulatePrincipalPolicy for ${principalArn} failed (${code})`, {
            hint:
              code === 'AccessDenied'
                ? 'The caller needs iam:SimulatePrincipalPolicy on itself (`sentinel permissions --feature permissions`).'
                : 'Check --profile/--region and network access to IAM, then try again.',
          });
        }
        for (const r of out.EvaluationResults ?? []) {
          checked++;
          if (r.EvalDecision !== 'allowed') {
            missing.push({
              feature: s.feature,
              role: s.role,
              sid: s.sid,
              action: r.EvalActionName ?? '?',
              resource: r.EvalResourceName ?? resource,
              decision: r.EvalDecision ?? 'implicitDeny',
            });
          }
        }
      }
    }
    if (checked === 0) {
      throw new SentinelError('AwsCallFailed', `IAM SimulatePrincipalPolicy returned no results for ${principalArn}`, {
        hint: 'Nothing was checked, so nothing is known to be allowed; run it again, or simulate in the IAM console.',
      });
    }
    // One line per action: an action denied on several resources is named once, with each resource.
    if (flags.json)
      printJson({ ok: missing.length === 0, caller: callerArn, principal: principalArn, checked, missing });
    else {
      for (const m of missing)
        process.stdout.write(`missing: ${m.action} on ${m.resource} (${m.decision}; ${m.feature}/${m.role})\n`);
      if (missing.length === 0) process.stdout.write(`ok: ${principalArn} has all ${checked} permissions checked\n`);
    }
    if (missing.length > 0) {
      const actions = [...new Set(missing.map((m) => m.action))];
      throw new SentinelError('PermissionsMissing', `${principalArn} lacks ${actions.join(', ')}`);
    }
    return EXIT.ok;
  } finally {
    sts.destroy();
    iam.destroy();
  }
}

export function register(program: Command): void {
  const permissions = program
    .command('permissions')
    .description(
      'print the IAM permissions Sentinel needs, per feature and role; `check` asks IAM whether you have them',
    )
    .option('--feature <feature>', 'only this feature (credentials, policy, sessions, approvals, breakglass, ...)')
    .option('--role <role>', 'only this role (daemon, requester, approver, admin, enforcement, audit, vendor)')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'json')
    .option('--account <id>', 'AWS account id to put in resource ARNs (default: any, "*")')
    .option('--region <region>', 'region to put in resource ARNs (default: any, "*")')
    .option('--roles <arn pattern>', 'the roles Sentinel assumes (default: arn:aws:iam::*:role/*; narrow it)')
    .option('--json', 'the same as --format json')
    .addHelpText(
      'after',
      `
Resource names come from config.yaml (policy.ssm_root, policy.signing_key, the table names).

Examples:
  $ sentinel permissions --role daemon
  $ sentinel permissions --feature policy --format terraform --account 111111111111 --region eu-west-1
  $ sentinel permissions --format cloudformation > sentinel-iam.json
  $ sentinel permissions check --role admin --profile admin

Exit codes: 0 printed; 1 config error; 2 usage.`,
    )
    .action(async (flags: PrintFlags, command: Command) => {
      process.exitCode = await print(flags, command.optsWithGlobals<GlobalOptions>());
    });

  permissions
    .command('check')
    .description('simulate the permissions of a role for the caller with IAM SimulatePrincipalPolicy')
    .option('--role <role>', 'which role to check (default: daemon)')
    .option('--feature <feature>', 'only this feature (default: every feature that exists)')
    .option('--profile <profile>', 'AWS profile whose identity to check (default: $AWS_PROFILE, else aws_profile)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else region in config.yaml)')
    .option(
      '--json',
      'print JSON: {ok, caller, principal, checked, missing: [{feature, role, sid, action, resource, decision}]}',
    )
    .addHelpText(
      'after',
      `
An assumed-role or IAM Identity Center session is checked as its role (IAM cannot simulate a session). Each
statement is simulated on a representative resource of this configuration.

Examples:
  $ sentinel permissions check
  $ sentinel permissions check --role admin --feature policy --profile admin --json

Exit codes: 0 every permission allowed; 1 something is missing (named) or IAM refused; 2 usage.`,
    )
    .action(async (flags: CheckFlags, command: Command) => {
      // Commander hands options written after `check` to whichever command defines them first (the parent).
      const merged = { ...command.optsWithGlobals<CheckFlags & GlobalOptions>(), ...flags };
      process.exitCode = await check(merged, merged);
    });
}
