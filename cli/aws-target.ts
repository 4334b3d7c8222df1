// Which AWS profile and region an admin command (one that calls AWS itself) uses, decided in one place (DESIGN §8):
// --profile/--region, else AWS_PROFILE/AWS_REGION (AWS_DEFAULT_REGION too, as the AWS CLI reads it), else the
// config's aws_profile/region, else (region only) the profile's own region in the AWS config file. config.yaml is read
// only when a flag and the environment leave something open.
// Light: no AWS SDK.
import type { VendorConfig } from '../core/config.js';
import type { Env } from '../core/paths.js';
import { usageError } from './output.js';
import { isPrintableText } from '../core/text/printable.js';

export interface AwsTargetFlags {
  profile?: string;
  region?: string;
}

export interface AwsTarget {
  /** undefined: the SDK's default credential chain. */
  profile?: string;
  /** undefined: nothing named one; callers that need a region say so (requireRegion). */
  region?: string;
  /** Where each value came from, for messages. */
  source: { profile: TargetSource; region: TargetSource };
}

export type TargetSource = 'flag' | 'environment' | 'config' | 'aws-profile' | 'none';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function checkProfile(value: string, where: string): string {
  if (!isPrintableText(value, 128) || /\s/.test(value)) {
    throw usageError(
      `${where}: ${JSON.stringify(value.slice(0, 40))} is not an AWS profile name`,
      'List profiles with `aws configure list-profiles`.',
    );
  }
  return value;
}

function checkRegion(value: string, where: string): string {
  if (!REGION.test(value))
    throw usageError(
      `${where}: ${JSON.stringify(value.slice(0, 40))} is not an AWS region`,
      'Name a region such as eu-west-1.',
    );
  return value;
}

export async function resolveAwsTarget(
  flags: AwsTargetFlags,
  globals: { config?: string } = {},
  env: Env = process.env,
): Promise<AwsTarget> {
  const source: AwsTarget['source'] = { profile: 'none', region: 'none' };
  let profile: string | undefined;
  let region: string | undefined;
  if (flags.profile !== undefined) [profile, source.profile] = [checkProfile(flags.profile, '--profile'), 'flag'];
  else if (env.AWS_PROFILE) [profile, source.profile] = [checkProfile(env.AWS_PROFILE, 'AWS_PROFILE'), 'environment'];
  if (flags.region !== undefined) [region, source.region] = [checkRegion(flags.region, '--region'), 'flag'];
  else if (env.AWS_REGION || env.AWS_DEFAULT_REGION) {
    region = checkRegion(
      (env.AWS_REGION || env.AWS_DEFAULT_REGION)!,
      env.AWS_REGION ? 'AWS_REGION' : 'AWS_DEFAULT_REGION',
    );
    source.region = 'environment';
  }
  if (profile === undefined || region === undefined) {
    const { loadConfig } = await import('../core/config.js');
    const config = loadConfig({ env, configFlag: globals.config });
    if (profile === undefined && config.awsProfile) [profile, source.profile] = [config.awsProfile, 'config'];
    if (region === undefined && config.region) [region, source.region] = [config.region, 'config'];
  }
  // Last, as the AWS CLI does: the region of the profile itself (`aws configure set region` writes it there).
  if (region === undefined) {
    const fromProfile = await profileRegion(profile ?? 'default', env);
    if (fromProfile) [region, source.region] = [fromProfile, 'aws-profile'];
  }
  return { profile, region, source };
}

/** `region` of a profile in the AWS config file; undefined when the file, the profile or a valid region is missing. */
async function profileRegion(profile: string, env: Env): Promise<string | undefined> {
  const { awsConfigFiles, MAX_AWS_CONFIG_BYTES, parseIni } = await import('../daemon/vending/aws-config.js');
  const { readFile, stat } = await import('node:fs/promises');
  const { configFile } = awsConfigFiles(env);
  try {
    if ((await stat(configFile)).size > MAX_AWS_CONFIG_BYTES) return undefined;
    const sections = parseIni(await readFile(configFile, 'utf8'));
    const region = sections.get(profile === 'default' ? 'default' : `profile ${profile}`)?.get('region');
    return region !== undefined && REGION.test(region) ? region : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Who signs a call to the server-side vendor and for which region (DESIGN §17): --profile, else vendor.profile, else
 * the SDK's default chain (which reads AWS_PROFILE and the AWS_* keys itself); --region, else vendor.region. Not
 * AWS_REGION: the region is part of the SigV4 scope, so it must be the API's, not the one the user works in.
 */
export function vendorTarget(
  flags: AwsTargetFlags,
  vendor: VendorConfig,
): { url: string; region: string; profile: string | null } {
  return {
    url: vendor.url,
    region: flags.region !== undefined ? checkRegion(flags.region, '--region') : vendor.region,
    profile: flags.profile !== undefined ? checkProfile(flags.profile, '--profile') : vendor.profile,
  };
}

export function requireRegion(target: AwsTarget): string {
  if (!target.region) {
    throw usageError(
      'no AWS region: none was given and none is configured',
      'Pass --region R, set AWS_REGION, or set region in config.yaml or in the AWS profile.',
    );
  }
  return target.region;
}

/** For messages: `profile admin` or `the default credential chain`. */
export function describeTarget(target: AwsTarget): string {
  return `${target.profile ? `profile ${target.profile}` : 'the default credential chain'}${target.region ? `, region ${target.region}` : ''}`;
}
