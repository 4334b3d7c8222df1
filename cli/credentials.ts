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
  const body = await client.post('/v1/credentials', { profile: checkProfile(target.profile) });
  process.stdout.write(JSON.stringify(toProcessCredentials(body)) + '\n');
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
