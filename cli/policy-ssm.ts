// `sentinel policy pull|push|diff|sign|verify` (DESIGN §13): the team's policies in SSM and their KMS signatures.
// The work is in core/policy/distribution.ts and signature.ts; this file parses flags, asks, and prints. The AWS SDK
// is loaded inside the actions only.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { PushPlan } from '../core/policy/distribution.js';
import { EXIT, SentinelError } from '../core/errors.js';
import { resolveAwsTarget, type AwsTarget } from './aws-target.js';
import { adminClient } from './aws-clients.js';
import { confirmPlan, printJson, reportError, usageError } from './output.js';
import type { GlobalOptions } from './program.js';
import { visible } from '../core/text/printable.js';
import { replaceFile } from '../core/replace-file.js';

interface AwsFlags {
  profile?: string;
  region?: string;
  root?: string;
  json?: boolean;
}

async function clients(target: AwsTarget) {
  const [{ SSMClient }, { KMSClient }] = await Promise.all([
    import('@aws-sdk/client-ssm'),
    import('@aws-sdk/client-kms'),
  ]);
  return { ssm: adminClient(SSMClient, target), kms: adminClient(KMSClient, target) };
}

async function distribution() {
  return import('../core/policy/distribution.js');
}

function checkProfile(profile: string, problem: (p: string) => string | null, allowAll = false): string {
  if (allowAll && profile === '*') return profile;
  const why = problem(profile);
  if (why) throw usageError(why, 'Name the profile as in ~/.aws/config, e.g. `prod`.');
  return profile;
}

async function rootOf(flags: AwsFlags, globals: GlobalOptions): Promise<string> {
  const { ssmRootProblem } = await distribution();
  let root = flags.root;
  if (root === undefined) {
    const { loadConfig } = await import('../core/config.js');
    root = loadConfig({ configFlag: globals.config }).policy.ssmRoot;
  }
  const why = ssmRootProblem(root);
  if (why) throw usageError(`--root: ${why}`, 'Give an absolute SSM path such as /sentinel/policies.');
  return root;
}

/** Policy bytes from a file, validated; PolicyInvalid lists every problem (printed by the caller). */
async function readValidPolicy(file: string): Promise<Buffer> {
  const [{ readPolicyFile }, { requireValidPolicy }] = await Promise.all([
    import('../core/policy/load.js'),
    distribution(),
  ]);
  const read = await readPolicyFile(file);
  if (!read.ok) throw new SentinelError('PolicyInvalid', read.problem.message, { hint: read.problem.hint });
  requireValidPolicy(read.bytes, file);
  return read.bytes;
}

async function printProblems(err: unknown, file: string): Promise<void> {
  if (!(err instanceof SentinelError) || err.code !== 'PolicyInvalid') return;
  const problems = (err.details?.problems ?? []) as Array<import('../core/policy/load.js').Problem>;
  if (problems.length === 0) return;
  const { formatProblem } = await import('../core/policy/load.js');
  process.stderr.write(problems.map((p) => formatProblem(p, file)).join('\n') + '\n');
}

async function pull(profile: string, flags: AwsFlags & { output?: string }, globals: GlobalOptions): Promise<number> {
  const d = await distribution();
  checkProfile(profile, d.profileNameProblem);
  const root = await rootOf(flags, globals);
  const target = await resolveAwsTarget(flags, globals);
  const { ssm, kms } = await clients(target);
  kms.destroy();
  try {
    const name = d.parameterName(root, profile);
    const stored = await d.readParameter(ssm, name);
    if (!stored) {
      throw new SentinelError('AwsCallFailed', `there is no policy parameter ${name}`, {
        hint: `Publish one with \`sentinel policy push ${profile} <file>\` or \`sentinel init bootstrap ${profile}\`.`,
      });
    }
    if (flags.output !== undefined) replaceFile(flags.output, Buffer.from(stored.value, 'utf8'));
    if (flags.json) {
      printJson({
        profile,
        parameter: name,
        version: stored.version,
        ...(flags.output !== undefined ? { file: flags.output } : { value: stored.value }),
      });
    } else if (flags.output === undefined) {
      process.stdout.write(stored.value);
    } else {
      process.stderr.write(`wrote ${name} (version ${stored.version}) to ${flags.output}\n`);
    }
    return EXIT.ok;
  } finally {
    ssm.destroy();
  }
}

async function push(
  profile: string,
  file: string,
  flags: AwsFlags & { sign?: boolean; key?: string; yes?: boolean; serial?: string },
  globals: GlobalOptions,
): Promise<number> {
  const d = await distribution();
  checkProfile(profile, d.profileNameProblem);
  if (flags.sign && !flags.key)
    throw usageError('--sign needs --key <kms key>', 'Name the KMS key: an id, ARN or alias.');
  if (flags.key && !flags.sign) throw usageError('--key is used only with --sign');
  if (flags.serial !== undefined && !flags.sign) throw usageError('--serial is used only with --sign');
  const serial = flags.serial === undefined ? undefined : serialFlag(flags.serial);
  const root = await rootOf(flags, globals);
  let bytes: Buffer;
  try {
    bytes = await readValidPolicy(file);
  } catch (e) {
    await printProblems(e, file);
    throw e;
  }
  const target = await resolveAwsTarget(flags, globals);
  const { ssm, kms } = await clients(target);
  try {
    const plan = await d.planPush(ssm, { root, profile, file, bytes, sign: flags.sign === true });
    if (serial !== undefined) plan.serial = serial;
    else if (flags.sign) await trustStoredSerial(plan, kms, flags.key!);
    if (!plan.changed && !flags.sign) {
      if (flags.json) printJson({ parameter: plan.parameter, version: plan.current?.version ?? null, written: false });
      else process.stderr.write(`${plan.parameter} already holds ${file}; nothing to push.\n`);
      return EXIT.ok;
    }
    const summary = [
      plan.changed
        ? shownDiff(plan.diff).trimEnd()
        : `${plan.parameter} already holds ${file}; only the signature is written.`,
      '',
      `Sentinel will write ${plan.parameter} (${plan.tier} tier, ${d.valueSize(plan.text)} bytes)` +
        (flags.sign ? ` and its signature ${plan.signatureParameter} (serial ${plan.serial}, key ${flags.key}).` : '.'),
    ].join('\n');
    if (!flags.json && flags.yes) process.stderr.write(`${summary}\n`);
    if (!(await confirmPlan(summary, flags.yes, `write ${plan.parameter}`))) return EXIT.error;
    const result = await d.applyPush(ssm, plan, flags.sign ? { kms, key: flags.key! } : undefined);
    if (flags.json) {
      printJson({ ...result, diff: plan.diff });
    } else {
      process.stdout.write(
        `${result.written ? `wrote ${result.parameter} version ${result.version} (${result.tier})` : `${result.parameter} unchanged`}` +
          (result.signature ? `; signed: ${result.signature.parameter} serial ${result.signature.serial}` : '') +
          '\n',
      );
    }
    if (!result.signature) {
      process.stderr.write(
        `Note: not signed. Daemons with policy.signing_key refuse ${plan.parameter} until it is (push --sign --key ...).\n`,
      );
    }
    return EXIT.ok;
  } finally {
    ssm.destroy();
    kms.destroy();
  }
}

async function diff(profile: string, file: string, flags: AwsFlags, globals: GlobalOptions): Promise<number> {
  // Exit 2 for every error, as diff(1) does: 1 means only "different".
  try {
    const d = await distribution();
    checkProfile(profile, d.profileNameProblem);
    const root = await rootOf(flags, globals);
    const { readPolicyFile } = await import('../core/policy/load.js');
    const read = await readPolicyFile(file);
    if (!read.ok) throw new SentinelError('PolicyInvalid', read.problem.message, { hint: read.problem.hint });
    const target = await resolveAwsTarget(flags, globals);
    const { ssm, kms } = await clients(target);
    kms.destroy();
    try {
      const name = d.parameterName(root, profile);
      const stored = await d.readParameter(ssm, name);
      const { unifiedDiff } = await import('../core/text/unified-diff.js');
      const text = unifiedDiff(stored?.value ?? '', read.bytes.toString('utf8'), `ssm:${name}`, file);
      if (flags.json) printJson({ parameter: name, exists: stored !== null, same: text === '', diff: text });
      else process.stdout.write(shownDiff(text));
      return text === '' ? EXIT.ok : EXIT.error;
    } finally {
      ssm.destroy();
    }
  } catch (e) {
    reportError(e, flags);
    return EXIT.usage;
  }
}

/**
 * A diff for a terminal: what is stored in SSM is whatever its writers put there, and no policy holds control
 * characters (the loader refuses them), so they are shown escaped; tabs and the diff's own newlines stay.
 */
function shownDiff(diff: string): string {
  return visible(diff, /[\t\n]/);
}

function serialFlag(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw usageError(`--serial ${JSON.stringify(value.slice(0, 20))} is not a positive integer`);
  return Number(value);
}

/**
 * The next serial follows the stored envelope, which anyone who can write SSM can replace or delete. Daemons refuse a
 * serial at or below the highest they accepted, so a push that followed a lowered serial would be refused by all of
 * them while it reported success, and the policy in force could no longer be changed. Followed only when the stored
 * envelope is this key's signature of the stored policy, or when the parameter has never held anything but the first
 * version (nothing signed can have been accepted yet).
 */
async function trustStoredSerial(plan: PushPlan, kms: KMSClient, key: string) {
  const current = plan.current;
  if (!current || current.version <= 1) return;
  const { checkSignature, fetchVerificationKey } = await import('../core/policy/signature.js');
  const d = await distribution();
  let verification;
  try {
    verification = await fetchVerificationKey(kms, key);
  } catch (e) {
    throw d.awsFailure(`KMS GetPublicKey ${key}`, e);
  }
  const check = checkSignature(Buffer.from(current.value, 'utf8'), plan.storedSignature, verification, plan.profile);
  if (check.ok) return;
  throw new SentinelError(
    'SignatureInvalid',
    `${plan.signatureParameter} is not this key's signature of ${plan.parameter} (version ${current.version}): ${check.problem}; its serial cannot be trusted, and daemons that accepted a higher one would refuse serial ${plan.serial}; nothing was written`,
    {
      hint: `Pass --serial with a number above every serial published for ${plan.profile} (a daemon that refuses one says "serial N is older than M"), e.g. --serial $(date +%s).`,
    },
  );
}

async function sign(
  profile: string,
  file: string,
  flags: AwsFlags & { key: string; serial?: string; output?: string },
  globals: GlobalOptions,
): Promise<number> {
  const d = await distribution();
  checkProfile(profile, d.profileNameProblem, true);
  let serial = flags.serial === undefined ? undefined : serialFlag(flags.serial);
  let bytes: Buffer;
  try {
    bytes = await readValidPolicy(file);
  } catch (e) {
    await printProblems(e, file);
    throw e;
  }
  if (serial === undefined) {
    // The next serial after the envelope this replaces, so re-signing into the same file always moves forward.
    const { readFileSync } = await import('node:fs');
    const previous =
      flags.output !== undefined && existsSync(flags.output) ? readFileSync(flags.output, 'utf8') : undefined;
    serial = d.storedSerial(previous) + 1;
  }
  const target = await resolveAwsTarget(flags, globals);
  const { ssm, kms } = await clients(target);
  ssm.destroy();
  try {
    const { signPolicy } = await import('../core/policy/signature.js');
    let signed;
    try {
      signed = await signPolicy(kms, flags.key, bytes, profile, serial);
    } catch (e) {
      throw d.awsFailure(`KMS signing with ${flags.key}`, e);
    }
    if (flags.output !== undefined) replaceFile(flags.output, signed.text + '\n');
    if (flags.json)
      printJson(flags.output !== undefined ? { file: flags.output, ...signed.envelope } : signed.envelope);
    else if (flags.output === undefined) process.stdout.write(signed.text + '\n');
    else process.stderr.write(`signed ${file} for profile ${profile}, serial ${serial}: ${flags.output}\n`);
    return EXIT.ok;
  } finally {
    kms.destroy();
  }
}

async function verify(
  file: string,
  flags: AwsFlags & { signature: string; key: string; for?: string },
  globals: GlobalOptions,
): Promise<number> {
  const [{ readPolicyFile }, sig] = await Promise.all([
    import('../core/policy/load.js'),
    import('../core/policy/signature.js'),
  ]);
  const read = await readPolicyFile(file);
  if (!read.ok) throw usageError(read.problem.message, read.problem.hint);
  const envelopeFile = await readPolicyFile(flags.signature);
  if (!envelopeFile.ok) throw usageError(`--signature: ${envelopeFile.problem.message}`);
  const text = envelopeFile.bytes.toString('utf8');
  const parsed = sig.parseEnvelope(text);
  if (!parsed.ok) throw new SentinelError('SignatureInvalid', `${flags.signature}: ${parsed.problem}`);
  const profile = flags.for ?? parsed.envelope.metadata.profile;
  const target = await resolveAwsTarget(flags, globals);
  const { ssm, kms } = await clients(target);
  ssm.destroy();
  try {
    let key;
    try {
      key = await sig.fetchVerificationKey(kms, flags.key);
    } catch (e) {
      const { awsFailure } = await distribution();
      throw awsFailure(`KMS GetPublicKey ${flags.key}`, e);
    }
    const check = sig.checkSignature(read.bytes, text, key, profile);
    const m = parsed.envelope.metadata;
    if (flags.json) {
      printJson({
        valid: check.ok,
        file,
        signature: flags.signature,
        profile: m.profile,
        serial: m.serial,
        key_id: m.key_id,
        signed_at: m.signed_at,
        ...(check.ok ? {} : { problem: check.problem }),
      });
    }
    if (!check.ok) throw new SentinelError('SignatureInvalid', `${flags.signature}: ${check.problem}`);
    if (!flags.json)
      process.stdout.write(
        `valid: ${file} signed by ${m.key_id} for profile ${m.profile}, serial ${m.serial}, at ${m.signed_at}\n`,
      );
    return EXIT.ok;
  } finally {
    kms.destroy();
  }
}

const AWS_HELP = `--profile/--region choose the AWS credentials and region (default: $AWS_PROFILE/$AWS_REGION, then
aws_profile/region in config.yaml); --root the SSM path (default: policy.ssm_root, /sentinel/policies).`;

function awsOptions(command: Command, withRoot = true): Command {
  command.option('--profile <profile>', 'AWS profile for the SSM/KMS calls').option('--region <region>', 'AWS region');
  if (withRoot) command.option('--root <path>', 'SSM path of the policies (default: policy.ssm_root in config.yaml)');
  return command.option('--json', 'print JSON');
}

export function registerSsm(policy: Command): void {
  awsOptions(
    policy
      .command('pull')
      .description('write the policy stored in SSM for a profile, byte for byte (stdout, or -o file)')
      .argument('<profile>', 'the profile whose policy to read (<root>/<profile>)')
      .option('-o, --output <file>', 'write to this file (mode 0600) instead of stdout'),
  )
    .addHelpText(
      'after',
      `
${AWS_HELP}
Nothing is re-formatted: the bytes are what the signature covers.

Examples:
  $ sentinel policy pull prod -o prod.yaml
  $ sentinel policy pull prod --root /team/policies --profile admin | less

Exit codes: 0 written; 1 no such parameter or AWS error; 2 usage.`,
    )
    .action(async (profile: string, flags, command: Command) => {
      process.exitCode = await pull(profile, flags, command.optsWithGlobals<GlobalOptions>());
    });

  awsOptions(
    policy
      .command('push')
      .description('validate a policy file, show the diff against SSM, confirm, and write it (optionally signed)')
      .argument('<profile>', 'the profile the policy is for (<root>/<profile>)')
      .argument('<file>', 'policy file (YAML)')
      .option('--sign', 'also write the signature envelope to /sentinel/signatures/<profile> (needs --key)')
      .option('--key <kms key>', 'KMS signing key: key id, key ARN, alias/name or alias ARN')
      .option('--serial <n>', 'with --sign: the serial to sign with (default: the stored serial + 1)')
      .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)'),
  )
    .addHelpText(
      'after',
      `
${AWS_HELP}
Up to 4,096 bytes go to the Standard tier, up to 8,192 to Advanced (UTF-8 bytes: never fewer than the characters
SSM counts); larger is refused before anything is written. A parameter that is Advanced stays Advanced. With --sign the envelope (serial = the stored serial + 1) is
written after the policy; KMS signs before anything is written, so a KMS refusal changes nothing. The stored serial is
followed only when the stored envelope is this key's signature of the stored policy (or the parameter is at its first
version); otherwise push refuses and asks for --serial, since daemons refuse a serial below one they accepted.

Examples:
  $ sentinel policy push prod prod.yaml
  $ sentinel policy push prod prod.yaml --sign --key alias/sentinel-policy -y

Exit codes: 0 written (or nothing to write); 1 invalid policy, too large, declined or AWS error; 2 usage.`,
    )
    .action(async (profile: string, file: string, flags, command: Command) => {
      process.exitCode = await push(profile, file, flags, command.optsWithGlobals<GlobalOptions>());
    });

  awsOptions(
    policy
      .command('diff')
      .description('unified diff between the policy in SSM and a local file')
      .argument('<profile>', 'the profile whose stored policy to compare')
      .argument('<file>', 'policy file (YAML)'),
  )
    .addHelpText(
      'after',
      `
${AWS_HELP}
Prints \`--- ssm:<parameter>\` / \`+++ <file>\` and the hunks; a missing parameter compares as empty.

Examples:
  $ sentinel policy diff prod prod.yaml
  $ sentinel policy diff prod prod.yaml --json | jq .same

Exit codes: 0 same; 1 different; 2 error (as diff(1)).`,
    )
    .action(async (profile: string, file: string, flags, command: Command) => {
      process.exitCode = await diff(profile, file, flags, command.optsWithGlobals<GlobalOptions>());
    });

  awsOptions(
    policy
      .command('sign')
      .description('sign a policy file for a profile with a KMS key; print or write the envelope')
      .argument('<profile>', 'the profile the policy is for; "*" for a policy file that governs every profile')
      .argument('<file>', 'policy file (YAML)')
      .requiredOption('--key <kms key>', 'KMS signing key: key id, key ARN, alias/name or alias ARN')
      .option('--serial <n>', 'serial to sign (default: one more than the envelope at -o, else 1)')
      .option('-o, --output <file>', 'write the envelope to this file (mode 0600) instead of stdout'),
    false,
  )
    .addHelpText(
      'after',
      `
The envelope binds the policy's SHA-256, the profile and the serial; KMS signs the digest of its canonical JSON
(RSASSA_PSS_SHA_256, MessageType DIGEST), so the policy's size never matters. A daemon whose policy.source is a
file reads <file>.sig and expects profile "*".

Examples:
  $ sentinel policy sign prod prod.yaml --key alias/sentinel-policy -o prod.yaml.sig
  $ sentinel policy sign '*' ~/.config/sentinel/policy.yaml --key alias/sentinel-policy -o ~/.config/sentinel/policy.yaml.sig

Exit codes: 0 signed; 1 invalid policy or AWS error; 2 usage.`,
    )
    .action(async (profile: string, file: string, flags, command: Command) => {
      process.exitCode = await sign(profile, file, flags, command.optsWithGlobals<GlobalOptions>());
    });

  awsOptions(
    policy
      .command('verify')
      .description('check a signature envelope against a policy file, locally with the KMS public key')
      .argument('<file>', 'policy file (YAML)')
      .requiredOption('--signature <file>', 'the signature envelope (JSON)')
      .requiredOption('--key <kms key>', 'the KMS key the signature must be by (any key form)')
      .option('--for <profile>', 'require the envelope to be for this profile (default: accept the one it names)'),
    false,
  )
    .addHelpText(
      'after',
      `
The public key is fetched once (KMS GetPublicKey); the check runs here. KMS Verify is never called.

Examples:
  $ sentinel policy verify prod.yaml --signature prod.yaml.sig --key alias/sentinel-policy
  $ sentinel policy verify prod.yaml --signature prod.yaml.sig --key alias/sentinel-policy --for prod --json

Exit codes: 0 valid; 1 not valid (or AWS error); 2 usage.`,
    )
    .action(async (file: string, flags, command: Command) => {
      process.exitCode = await verify(file, flags, command.optsWithGlobals<GlobalOptions>());
    });
}
