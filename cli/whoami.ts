// `sentinel whoami`: the principal behind a profile's credentials and the user name a policy would see for it
// (DESIGN §4, §5.3). It calls sts:GetCallerIdentity itself, so the AWS SDK is loaded lazily, inside the action.
import type { Command } from 'commander';
import { SentinelError } from '../core/errors.js';
import type { CallerIdentity } from '../core/issuer/types.js';
import { printJson } from './output.js';
import { resolveAwsTarget } from './aws-target.js';
import { adminClient } from './aws-clients.js';
import { assertSdkCanReadAwsFiles } from '../core/aws-shared-files.js';
import type { GlobalOptions } from './program.js';

interface WhoamiOptions {
  profile?: string;
  region?: string;
  json?: boolean;
}

export interface Whoami extends CallerIdentity {
  /** The profile whose credentials were used; null for the SDK's default chain. */
  profile: string | null;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'error';
}

export async function whoami(
  options: WhoamiOptions,
  globals: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Whoami> {
  const resolved = await resolveAwsTarget(options, globals, env);
  const profile = resolved.profile;
  // GetCallerIdentity is answered by every regional endpoint; us-east-1 is the SDK's own fallback for STS.
  const region = resolved.region ?? 'us-east-1';
  const [{ STSClient, GetCallerIdentityCommand }, { fromNodeProviderChain }, { parseCallerArn, ArnParseError }] =
    await Promise.all([
      import('@aws-sdk/client-sts'),
      import('@aws-sdk/credential-providers'),
      import('../core/identity/arn.js'),
    ]);
  if (profile) {
    // An unknown profile is named with its near misses (`dve` → "dev"), as `use` does, before any credential lookup.
    const [{ awsConfigFiles, createAwsConfig }, { silentLogger }] = await Promise.all([
      import('../daemon/vending/aws-config.js'),
      import('../core/log.js'),
    ]);
    await createAwsConfig(awsConfigFiles(env), silentLogger()).profile(profile);
  }
  const which = profile ? `profile ${profile}` : 'the default credential chain';
  // The chain reads the AWS files through the SDK: refused first if that would pollute this process.
  assertSdkCanReadAwsFiles(env);
  const credentials = fromNodeProviderChain(profile ? { profile } : {});
  try {
    await credentials();
  } catch (err) {
    throw new SentinelError(
      'BaseCredentialsUnavailable',
      `no credentials could be resolved for ${which} (${errorName(err)})`,
      {
        hint: profile
          ? `Check that ${profile} exists in your AWS config and that \`aws sts get-caller-identity --profile ${profile}\` works (SSO login, aws-vault, keys).`
          : 'Name a profile with --profile, or set AWS_PROFILE.',
      },
    );
  }
  const client = adminClient(STSClient, resolved, { region, credentials, maxAttempts: 2 });
  let arn: string | undefined;
  try {
    arn = (await client.send(new GetCallerIdentityCommand({}))).Arn;
  } catch (err) {
    throw new SentinelError('StsUnavailable', `sts:GetCallerIdentity failed for ${which} (${errorName(err)})`, {
      hint: 'Check network access to STS and that these credentials are still valid.',
    });
  } finally {
    client.destroy();
  }
  try {
    const { loadConfig } = await import('../core/config.js');
    const trusted = loadConfig({ configFlag: globals.config, env }).identity.trustedSessionRoles;
    return { ...parseCallerArn(arn, trusted), profile: profile ?? null };
  } catch (err) {
    if (!(err instanceof ArnParseError)) throw err;
    throw new SentinelError(
      'BaseCredentialsUnavailable',
      `STS answered ${String(arn)}, which cannot be a Sentinel user: ${err.message}`,
      {
        hint: 'Sentinel needs base credentials of an IAM user, an assumed role or a federated user.',
      },
    );
  }
}

export function register(program: Command): void {
  program
    .command('whoami')
    .description('show the caller ARN, account, identity type, raw name and policy user name of a profile')
    .option(
      '--profile <profile>',
      'AWS profile (default: $AWS_PROFILE, else aws_profile in config.yaml, else the default chain)',
    )
    .option(
      '--region <region>',
      'STS region (default: $AWS_REGION, else region in config.yaml, else the profile region in ~/.aws/config, else us-east-1)',
    )
    .option('--json', 'print JSON: {arn, account, type, rawName, policyName, profile}')
    .addHelpText(
      'after',
      `
The policy user name is what policy rules match in \`users:\` (the ASCII letters and digits of the raw name, at most
20). For a profile with role_arn, the daemon identifies you by the profile's source credentials, so ask about the
source profile to see the name your policy must use.

Examples:
  $ sentinel whoami --profile base
  $ sentinel whoami --json

Exit codes: 0 ok; 1 no credentials or STS error; 2 usage.`,
    )
    .action(async (options: WhoamiOptions, command: Command) => {
      const me = await whoami(options, command.optsWithGlobals<GlobalOptions>());
      if (options.json) {
        printJson(me);
        return;
      }
      const rows: Array<[string, string]> = [
        ['ARN', me.arn],
        ['Account', me.account],
        ['Type', me.type],
        ['Raw name', me.rawName],
        ['Policy name', me.policyName],
        ['Profile', me.profile ?? '(default chain)'],
      ];
      process.stdout.write(rows.map(([label, value]) => `${label.padEnd(11)}  ${value}\n`).join(''));
    });
}
