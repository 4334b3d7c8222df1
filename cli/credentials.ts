// `sentinel credentials --profile <p>`: the credential_process helper (DESIGN §8). SDKs run it before their calls and
// read stdout as the Version 1 JSON, so stdout carries that JSON and nothing else, ever; refusals go to stderr with the
// catalogue's exit code (3 denied, 4 daemon not running). It is on the hot path of every AWS CLI command: this module
// imports only the socket client and the error catalogue, and main.ts runs its common form without commander.
import type { Command } from 'commander';
import { SentinelError } from '../core/errors.js';
import { connect } from './client.js';
import type { GlobalOptions } from './program.js';
import { reportError } from './output.js';
import { isPrintableText } from '../core/text/printable.js';
import { plainFlags } from './plain-flags.js';

/** https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html — Version must be the number 1. */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

interface Target {
  profile: string;
  socket?: string;
  config?: string;
}

/** The daemon's `POST /v1/credentials` answer in credential_process form; anything incomplete is refused. */
export function toProcessCredentials(body: unknown): ProcessCredentials {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const key of ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'] as const) {
    if (typeof b[key] !== 'string' || (b[key] as string).length === 0) {
      throw new SentinelError('InternalError', `the daemon answered credentials without ${key}`);
    }
  }
  if (Number.isNaN(Date.parse(b.Expiration as string)))
    throw new SentinelError('InternalError', 'the daemon answered an unreadable Expiration');
  return {
    Version: 1,
    AccessKeyId: b.AccessKeyId as string,
    SecretAccessKey: b.SecretAccessKey as string,
    SessionToken: b.Token as string,
    Expiration: b.Expiration as string,
  };
}

function checkProfile(profile: string): string {
  if (!isPrintableText(profile, 256)) {
    throw new SentinelError('UsageError', 'the profile name is empty, too long or contains control characters', {
      hint: 'In ~/.aws/config: credential_process = sentinel credentials --profile <name>',
    });
  }
  return profile;
}

async function printCredentials(target: Target): Promise<void> {
  const client = await connect(target);
  const profile = checkProfile(target.profile);
  let body: unknown;
  try {
    body = await client.post('/v1/credentials', { profile });
  } catch (e) {
    throw (await callsSentinel(profile, e)) ?? e;
  }
  process.stdout.write(JSON.stringify(toProcessCredentials(body)) + '\n');
}

/** Refusals a profile that calls Sentinel itself ends in: its base credentials are Sentinel's own, for another role. */
const SELF_REFERENCE_SYMPTOMS = new Set(['PolicyDenied', 'NotStampable', 'BaseCredentialsUnavailable']);

/**
 * `sentinel credentials --profile dev-sentinel`, where dev-sentinel is the profile whose credential_process is
 * `sentinel credentials --profile dev`: the daemon resolves it through Sentinel itself and refuses it for a user it
 * does not know. Read only after a refusal (this is every AWS CLI command's hot path), from the AWS config the CLI
 * reads; what to ask for instead is the profile that command names.
 */
async function callsSentinel(profile: string, refusal: unknown): Promise<SentinelError | undefined> {
  if (!(refusal instanceof SentinelError) || !SELF_REFERENCE_SYMPTOMS.has(refusal.code)) return undefined;
  try {
    const [{ awsConfigFiles, createAwsConfig }, { silentLogger }] = await Promise.all([
      import('../daemon/vending/aws-config.js'),
      import('../core/log.js'),
    ]);
    const p = await createAwsConfig(awsConfigFiles(), silentLogger()).profile(profile);
    const command = p.settings.get('credential_process') ?? '';
    const named = /\bsentinel(?:\.js)?\b.*\bcredentials\b.*--profile[= ]+['"]?([\w+=,.@-]+)/.exec(command)?.[1];
    if (named === undefined || p.info.roleArn !== undefined) return undefined;
    return new SentinelError(
      'UsageError',
      `profile "${profile}" is the one whose credential_process calls Sentinel (\`sentinel credentials --profile ${named}\`): Sentinel vends "${named}", not "${profile}"`,
      {
        hint: `Ask for the profile it names: \`sentinel credentials --profile ${named}\` (AWS tools use "${profile}"; Sentinel itself uses "${named}").`,
        cause: refusal,
      },
    );
  } catch {
    return undefined; // the refusal itself says enough
  }
}

/**
 * `credentials --profile P` with at most --socket/--config, parsed without commander (main.ts): undefined for any
 * other shape (help, unknown flags), which then goes through the full program and its usual messages.
 */
export function parseFast(args: string[]): Target | undefined {
  const values = plainFlags(args, ['profile', 'socket', 'config']);
  if (values?.profile === undefined) return undefined;
  return { profile: values.profile, socket: values.socket, config: values.config };
}

/** The exit code of the fast path, or undefined when `args` needs the full command-line parser. */
export async function runFast(args: string[]): Promise<number | undefined> {
  const target = parseFast(args);
  if (!target) return undefined;
  try {
    await printCredentials(target);
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

export function register(program: Command): void {
  program
    .command('credentials')
    .description('credential_process helper: print Version 1 JSON credentials for a profile, from the daemon')
    .requiredOption('--profile <profile>', 'AWS profile to get credentials for')
    .addHelpText(
      'after',
      `
Point a profile of ~/.aws/config at it; every SDK and the AWS CLI then ask the daemon (mode credential_process),
which checks policy and revocation on each call:

  [profile dev-sentinel]
  credential_process = sentinel credentials --profile dev

Prints only {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} on stdout; problems go to
stderr.

Examples:
  $ sentinel credentials --profile dev
  $ aws sts get-caller-identity --profile dev-sentinel

Exit codes: 0 ok; 1 error; 2 usage; 3 denied by policy; 4 daemon not running.`,
    )
    .action(async (options: { profile: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      await printCredentials({ profile: options.profile, socket: globals.socket, config: globals.config });
    });
}
