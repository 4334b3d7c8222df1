// Policies in SSM as a team publishes them (DESIGN §13): the parameter `<root>/<profile>` holds the policy byte for
// byte, `/sentinel/signatures/<profile>` its envelope. Reading never re-formats (that would break signatures);
// writing validates first, picks the tier by size and never asks SSM to downgrade an Advanced parameter.
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { SentinelError } from '../errors.js';
import { unifiedDiff } from '../text/unified-diff.js';
import { parsePolicy, type Problem } from './load.js';
import { PROFILE_NAME, SIGNATURE_ROOT, parseEnvelope, signPolicy } from './signature.js';

export const STANDARD_MAX_SIZE = 4096;
export const ADVANCED_MAX_SIZE = 8192;
/** An SSM parameter path: `/`-separated segments of the characters SSM allows, not starting with aws or ssm. */
const SSM_ROOT = /^(\/[A-Za-z0-9_.-]+)+$|^\/$/;

export type Tier = 'Standard' | 'Advanced';

export interface StoredParameter {
  name: string;
  value: string;
  version: number;
}

/** A usage problem as the CLI reports it (exit 2), or null. */
export function profileNameProblem(profile: string): string | null {
  if (PROFILE_NAME.test(profile)) return null;
  return `${JSON.stringify(profile.slice(0, 40))} is not a profile name (letters, digits, _ . -; at most 128)`;
}

export function ssmRootProblem(root: string): string | null {
  if (root.length > 1000 || !SSM_ROOT.test(root) || /^\/(aws|ssm)/i.test(root)) {
    return `${JSON.stringify(root.slice(0, 60))} is not an SSM parameter path such as /sentinel/policies`;
  }
  return null;
}

export function parameterName(root: string, profile: string): string {
  return `${root === '/' ? '' : root.replace(/\/+$/, '')}/${profile}`;
}

export function signatureName(profile: string): string {
  return `${SIGNATURE_ROOT}/${profile}`;
}

/**
 * The size SSM's tier limits are checked against. SSM documents the limits in characters; UTF-8 bytes are never fewer,
 * so a tier chosen by bytes always fits, whichever SSM counts (for ASCII policies the two are the same).
 */
export function valueSize(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The tier a value of this size needs; an Advanced parameter stays Advanced (SSM cannot go back). Null: too large. */
export function tierFor(text: string, existing: Tier | null): Tier | null {
  const size = valueSize(text);
  if (size > ADVANCED_MAX_SIZE) return null;
  return existing === 'Advanced' || size > STANDARD_MAX_SIZE ? 'Advanced' : 'Standard';
}

function awsName(e: unknown): string {
  const name = (e as { name?: unknown })?.name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(name) ? name : 'error';
}

/** An AWS refusal as a Sentinel error naming the call and the AWS error code, never AWS's message text. */
export function awsFailure(call: string, e: unknown): SentinelError {
  if (e instanceof SentinelError) return e;
  const name = awsName(e);
  // Raised by the SDK before any request: nothing was asked of AWS, so "failed (Error)" would say nothing.
  if (name === 'Error' && (e as Error).message === 'Region is missing') {
    return new SentinelError('AwsCallFailed', `${call}: no AWS region was given and none is configured`, {
      hint: 'Pass --region R, set AWS_REGION, or set region in config.yaml or in the AWS profile.',
    });
  }
  if (name === 'CredentialsProviderError') {
    return new SentinelError('AwsCallFailed', `${call}: no AWS credentials could be found`, {
      hint: 'Name a profile that has credentials (--profile, AWS_PROFILE or aws_profile in config.yaml), or sign in (`aws sso login --profile <name>`).',
    });
  }
  const hint =
    name === 'AccessDeniedException' || name === 'AccessDenied'
      ? 'Your AWS identity lacks this permission: `sentinel permissions --feature policy` lists what is needed.'
      : 'Check --profile/--region and network access to AWS, then try again.';
  return new SentinelError('AwsCallFailed', `${call} failed (${name})`, { hint });
}

export async function readParameter(ssm: SSMClient, name: string): Promise<StoredParameter | null> {
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return { name, value: out.Parameter?.Value ?? '', version: out.Parameter?.Version ?? 0 };
  } catch (e) {
    if (awsName(e) === 'ParameterNotFound') return null;
    throw awsFailure(`SSM GetParameter ${name}`, e);
  }
}

export async function readTier(ssm: SSMClient, name: string): Promise<Tier | null> {
  const { DescribeParametersCommand } = await import('@aws-sdk/client-ssm');
  try {
    const out = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }),
    );
    const tier = out.Parameters?.find((p) => p.Name === name)?.Tier;
    return tier === 'Advanced' ? 'Advanced' : tier ? 'Standard' : null;
  } catch (e) {
    throw awsFailure(`SSM DescribeParameters ${name}`, e);
  }
}

export async function writeParameter(ssm: SSMClient, name: string, value: string, tier: Tier): Promise<number> {
  const { PutParameterCommand } = await import('@aws-sdk/client-ssm');
  try {
    const out = await ssm.send(
      new PutParameterCommand({ Name: name, Value: value, Type: 'String', Tier: tier, Overwrite: true }),
    );
    return out.Version ?? 0;
  } catch (e) {
    throw awsFailure(`SSM PutParameter ${name}`, e);
  }
}

/** The serial of the stored envelope (0 when there is none, or it is not a current envelope). */
export function storedSerial(envelopeText: string | undefined): number {
  if (envelopeText === undefined) return 0;
  const parsed = parseEnvelope(envelopeText);
  return parsed.ok ? parsed.envelope.metadata.serial : 0;
}

/** Policy text checked the way the daemon would check it; throws PolicyInvalid with every problem. */
export function requireValidPolicy(bytes: Uint8Array, where: string): { text: string; problems: Problem[] } {
  const parsed = parsePolicy(bytes);
  if (!parsed.ok) {
    throw new SentinelError('PolicyInvalid', `${where} is not a valid policy; nothing was written`, {
      details: { problems: parsed.problems },
    });
  }
  return { text: Buffer.from(bytes).toString('utf8'), problems: [] };
}

export interface PushPlan {
  profile: string;
  parameter: string;
  signatureParameter: string;
  text: string;
  current: StoredParameter | null;
  currentTier: Tier | null;
  tier: Tier;
  diff: string;
  changed: boolean;
  /** With --sign: the serial the new envelope will carry. */
  serial?: number;
  /** With --sign: the envelope stored now, whose serial the next one follows. */
  storedSignature?: string;
}

/** Everything `policy push` decides before it writes: validation, size and tier, the diff, the next serial. */
export async function planPush(
  ssm: SSMClient,
  options: { root: string; profile: string; file: string; bytes: Uint8Array; sign: boolean },
): Promise<PushPlan> {
  const { root, profile, file, bytes, sign } = options;
  const { text } = requireValidPolicy(bytes, file);
  const parameter = parameterName(root, profile);
  const size = valueSize(text);
  if (size > ADVANCED_MAX_SIZE) {
    throw new SentinelError(
      'PolicyTooLarge',
      `${file} is ${size} bytes; SSM parameters hold at most ${ADVANCED_MAX_SIZE} (Advanced tier); nothing was written`,
    );
  }
  const [current, currentTier] = await Promise.all([readParameter(ssm, parameter), readTier(ssm, parameter)]);
  const tier = tierFor(text, currentTier)!;
  const plan: PushPlan = {
    profile,
    parameter,
    signatureParameter: signatureName(profile),
    text,
    current,
    currentTier,
    tier,
    diff: unifiedDiff(current?.value ?? '', text, `ssm:${parameter}`, file),
    changed: current?.value !== text,
  };
  if (sign) {
    const envelope = await readParameter(ssm, plan.signatureParameter);
    plan.serial = storedSerial(envelope?.value) + 1;
    if (envelope) plan.storedSignature = envelope.value;
  }
  return plan;
}

export interface PushResult {
  parameter: string;
  version: number | null;
  tier: Tier;
  written: boolean;
  signature?: { parameter: string; version: number; serial: number; key_id: string };
}

/**
 * Writes what planPush decided. With a key, the envelope is made (KMS Sign) before anything is written, so a KMS
 * refusal writes nothing, and it is written after the policy, as daemons expect.
 */
export async function applyPush(ssm: SSMClient, plan: PushPlan, signing?: { kms: KMSClient; key: string }) {
  const bytes = Buffer.from(plan.text, 'utf8');
  let signed: Awaited<ReturnType<typeof signPolicy>> | undefined;
  if (signing) {
    try {
      signed = await signPolicy(signing.kms, signing.key, bytes, plan.profile, plan.serial ?? 1);
    } catch (e) {
      throw awsFailure(`KMS signing with ${signing.key}`, e);
    }
  }
  const result: PushResult = {
    parameter: plan.parameter,
    version: plan.current?.version ?? null,
    tier: plan.tier,
    written: false,
  };
  if (plan.changed) {
    result.version = await writeParameter(ssm, plan.parameter, plan.text, plan.tier);
    result.written = true;
  }
  if (signed) {
    let version: number;
    try {
      const sigTier = tierFor(signed.text, await readTier(ssm, plan.signatureParameter))!;
      version = await writeParameter(ssm, plan.signatureParameter, signed.text, sigTier);
    } catch (e) {
      // The policy is in SSM already: whoever runs push must learn that it is, and that it is unsigned.
      if (!result.written) throw e;
      const err = awsFailure(`writing ${plan.signatureParameter}`, e);
      throw new SentinelError(
        err.code,
        `${plan.parameter} was written (version ${result.version}) but its signature was not: ${err.message}; daemons with policy.signing_key keep their last good policy for ${plan.profile} until it is`,
        {
          hint: `Once SSM accepts it, write the signature alone: \`sentinel policy push ${plan.profile} <the same file> --sign --key ${signing!.key} --serial ${signed.envelope.metadata.serial}\`.`,
        },
      );
    }
    result.signature = {
      parameter: plan.signatureParameter,
      version,
      serial: signed.envelope.metadata.serial,
      key_id: signed.envelope.metadata.key_id,
    };
  }
  return result;
}
