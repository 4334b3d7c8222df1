// `sentinel init bootstrap <profile>...` and `sentinel init status` (DESIGN §16). The work is in core/bootstrap.ts;
// the tables are the ones `sentinel init <table>` creates (TABLES in init.ts), so a table command that exists is
// one bootstrap can create: --with-<name> for each.
import type { Command } from 'commander';
import { EXIT, SentinelError } from '../core/errors.js';
import { describeTarget, requireRegion, resolveAwsTarget } from './aws-target.js';
import { adminClient, ADMIN_ATTEMPT_MS, ADMIN_ATTEMPTS } from './aws-clients.js';
import type { TableInit } from './init.js';
import { confirmPlan, printJson, usageError } from './output.js';
import type { GlobalOptions } from './program.js';

type Flags = Record<string, string | boolean | undefined> & {
  profile?: string;
  region?: string;
  root?: string;
  plan?: boolean;
  yes?: boolean;
  json?: boolean;
};

const flagName = (spec: TableInit) => `with${spec.shape.init[0]!.toUpperCase()}${spec.shape.init.slice(1)}`;

async function setup(flags: Flags, globals: GlobalOptions, tables: readonly TableInit[], wanted: readonly TableInit[]) {
  const { loadConfig } = await import('../core/config.js');
  const { ssmRootProblem } = await import('../core/policy/distribution.js');
  const config = loadConfig({ configFlag: globals.config });
  const root = flags.root ?? config.policy.ssmRoot;
  const rootProblem = ssmRootProblem(root);
  if (rootProblem) throw usageError(`--root: ${rootProblem}`, 'Give an absolute SSM path such as /sentinel/policies.');
  const target = await resolveAwsTarget(flags, globals);
  const region = requireRegion(target);
  const chosen = wanted.map((spec) => ({ shape: spec.shape, name: spec.configured(config) ?? spec.shape.defaultName }));
  const [{ SSMClient }, { createTableClient }] = await Promise.all([
    import('@aws-sdk/client-ssm'),
    import('../core/records/client.js'),
  ]);
  const ssm = adminClient(SSMClient, target, { region });
  const dynamodb =
    chosen.length > 0 || tables.length > 0
      ? createTableClient({ ...target, region, timeoutMs: ADMIN_ATTEMPT_MS, maxAttempts: ADMIN_ATTEMPTS })
      : null;
  return { config, root, region, target, chosen, ssm, dynamodb };
}

function planLines(plan: Array<{ kind: string; name: string; action: string }>): string {
  return plan
    .map(
      (i) =>
        `  ${i.action === 'create' ? 'create' : 'exists'}  ${i.kind.padEnd(9)}  ${i.name}${i.action === 'exists' ? ' (left as it is)' : ''}`,
    )
    .join('\n');
}

async function bootstrap(profiles: string[], flags: Flags, globals: GlobalOptions, tables: readonly TableInit[]) {
  const d = await import('../core/policy/distribution.js');
  for (const p of profiles) {
    const why = d.profileNameProblem(p);
    if (why) throw usageError(why, 'Name the profiles as in ~/.aws/config.');
  }
  const wanted = tables.filter((spec) => flags[flagName(spec)] === true);
  const ctx = await setup(flags, globals, [], wanted);
  const { planBootstrap, applyBootstrap } = await import('../core/bootstrap.js');
  const perms = await import('../core/permissions.js');
  const { SIGNATURE_ROOT } = await import('../core/policy/signature.js');
  const features = ['credentials', 'policy', 'permissions', ...wanted.map((w) => w.shape.init)];
  const iam = perms.policyDocuments(
    perms.STATEMENTS.filter((s) => features.includes(s.feature)),
    {
      account: '*',
      region: ctx.region,
      ssmRoot: ctx.root,
      signatureRoot: SIGNATURE_ROOT,
      tables: {
        sessions: ctx.config.sessions.table,
        requests: ctx.chosen.find((c) => c.shape.init === 'approvals')?.name ?? 'sentinel-requests',
        breakglass: ctx.chosen.find((c) => c.shape.init === 'breakglass')?.name ?? 'sentinel-breakglass',
      },
      signingKey: ctx.config.policy.signingKey,
      roles: 'arn:aws:iam::*:role/*',
      logGroup: 'sentinel-decisions',
    },
  );
  try {
    const request = { root: ctx.root, profiles: [...new Set(profiles)], tables: ctx.chosen };
    const plan = await planBootstrap(ctx.ssm, ctx.dynamodb, request);
    const who = describeTarget({ ...ctx.target, region: undefined });
    const text = `Sentinel bootstrap in ${ctx.region}, using ${who}:\n${planLines(plan)}\nNew policy parameters hold a starting policy that validates and denies every request.\n`;
    if (flags.plan) {
      if (flags.json) printJson({ region: ctx.region, plan, iam });
      else {
        process.stdout.write(text);
        process.stdout.write(
          `\nIAM policies (\`sentinel permissions\` prints them for every feature):\n${JSON.stringify(iam, null, 2)}\n`,
        );
        process.stdout.write('\nNothing was changed (--plan).\n');
      }
      return EXIT.ok;
    }
    if (plan.every((i) => i.action === 'exists')) {
      if (flags.json) printJson({ region: ctx.region, applied: plan.map((i) => ({ ...i, result: 'exists' })), iam });
      else process.stdout.write(`${text}Everything is in place; nothing to do.\n`);
      return EXIT.ok;
    }
    if (!(await confirmPlan(text, flags.yes, 'bootstrap'))) return EXIT.error;
    const applied = await applyBootstrap(ctx.ssm, ctx.dynamodb, request, plan, (line) =>
      process.stderr.write(`${line}\n`),
    );
    if (flags.json) printJson({ region: ctx.region, applied, iam });
    else {
      for (const a of applied) process.stdout.write(`${a.result.padEnd(7)}  ${a.kind.padEnd(9)}  ${a.name}\n`);
      process.stdout.write(`\nIAM policies for the roles involved:\n${JSON.stringify(iam, null, 2)}\n`);
      process.stdout.write(
        `\nNext: edit each policy (sentinel policy pull <profile> -o p.yaml), then sentinel policy push <profile> p.yaml --sign --key <kms key>.\n`,
      );
    }
    return EXIT.ok;
  } finally {
    ctx.ssm.destroy();
    ctx.dynamodb?.destroy();
  }
}

/** What is stored beside a policy; verifying it needs the key (`sentinel policy verify`), so this never says "signed". */
function signatureText(signature: { serial: number | null } | null): string {
  if (!signature) return 'not signed';
  if (signature.serial === null) return 'signature parameter unreadable (not an envelope)';
  return `envelope serial ${signature.serial} (not verified: sentinel policy verify)`;
}

async function status(flags: Flags, globals: GlobalOptions, tables: readonly TableInit[]) {
  const ctx = await setup(flags, globals, tables, tables);
  const { bootstrapStatus } = await import('../core/bootstrap.js');
  try {
    const s = await bootstrapStatus(ctx.ssm, ctx.dynamodb, ctx.root, ctx.chosen);
    if (flags.json) printJson({ region: ctx.region, root: ctx.root, ...s });
    else {
      process.stdout.write(`Policy parameters under ${ctx.root} (${ctx.region}):\n`);
      if (s.parameters.length === 0) process.stdout.write('  none (sentinel init bootstrap <profile>...)\n');
      for (const p of s.parameters) {
        process.stdout.write(
          `  ${p.profile.padEnd(20)} version ${String(p.version ?? '-').padEnd(4)} ${String(p.tier ?? '-').padEnd(9)} ${signatureText(p.signature)}\n`,
        );
      }
      process.stdout.write('Tables:\n');
      for (const t of s.tables)
        process.stdout.write(
          `  ${t.of.padEnd(12)} ${t.name.padEnd(28)} ${t.status}${t.error ? ` (${t.error.message})` : ''}\n`,
        );
    }
    const unknown = s.tables.filter((t) => t.error);
    if (unknown.length > 0) {
      throw new SentinelError(
        'AwsCallFailed',
        `DynamoDB did not describe ${unknown.map((t) => t.name).join(', ')}: their state is unknown`,
        { hint: 'Check --profile/--region, network access to DynamoDB and dynamodb:DescribeTable, then run it again.' },
      );
    }
    return EXIT.ok;
  } finally {
    ctx.ssm.destroy();
    ctx.dynamodb?.destroy();
  }
}

export function registerBootstrap(init: Command, tables: readonly TableInit[]): void {
  const command = init
    .command('bootstrap')
    .description(
      'create the policy parameters (a starting policy that denies) and tables a team needs; print IAM policies',
    )
    .argument('<profile...>', 'profiles to create a policy parameter for (<root>/<profile>)')
    .option('--root <path>', 'SSM path of the policies (default: policy.ssm_root in config.yaml)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else region in config.yaml)')
    .option('--profile <profile>', 'AWS profile to create them with (default: $AWS_PROFILE, else aws_profile)')
    .option('--plan', 'print what would be created and the IAM policies; change nothing')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--json', 'print JSON: {region, plan | applied: [{kind, name, action, of, result?}], iam}');
  for (const spec of tables)
    command.option(
      `--with-${spec.shape.init}`,
      `also create the ${spec.shape.noun} (sentinel init ${spec.shape.init})`,
    );
  command
    .addHelpText(
      'after',
      `
Plan, confirm, apply. What exists is left as it is, so running it again changes nothing. Tables are created as
\`sentinel init <table>\` creates them (keys, indexes, TTL, protections).

Examples:
  $ sentinel init bootstrap dev prod --with-sessions --region eu-west-1 --plan
  $ sentinel init bootstrap dev prod --with-sessions --region eu-west-1 --profile admin -y

Exit codes: 0 done (or nothing to do); 1 AWS error or declined; 2 usage.`,
    )
    .action(async (profiles: string[], flags: Flags, cmd: Command) => {
      process.exitCode = await bootstrap(profiles, flags, cmd.optsWithGlobals<GlobalOptions>(), tables);
    });

  init
    .command('status')
    .description('list the policy parameters (version, tier, signature serial) and the state of each table')
    .option('--root <path>', 'SSM path of the policies (default: policy.ssm_root in config.yaml)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else region in config.yaml)')
    .option('--profile <profile>', 'AWS profile to read with (default: $AWS_PROFILE, else aws_profile)')
    .option('--json', 'print JSON: {region, root, parameters: [...], tables: [{of, name, status}]}')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel init status --region eu-west-1
  $ sentinel init status --json | jq '.parameters[] | select(.signature == null)'

Exit codes: 0 listed; 1 AWS error; 2 usage.`,
    )
    .action(async (flags: Flags, cmd: Command) => {
      process.exitCode = await status(flags, cmd.optsWithGlobals<GlobalOptions>(), tables);
    });
}
