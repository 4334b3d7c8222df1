// The `profiles:` section (DESIGN §17): what a profile means to the server-side vendor, which has no ~/.aws/config —
// the role it assumes for that profile, in which region, with which external id. The local daemon ignores it (its
// profiles come from the user's AWS config). Role ARNs are checked here, so a typo refuses the policy rather than
// failing at the first AssumeRole.
import { z } from 'zod';
import { isValidProfileName, MAX_PROFILE_NAME, PROFILE_NAME_RULE } from '../profile-name.js';
import { checkUniqueNames } from './schema-common.js';

export const PROFILE_KEYS = {
  profile: ['name', 'role_arn', 'region', 'external_id'],
} as const;

// IAM role ARNs as STS accepts them for AssumeRole (a path, then a 1-64 character name).
const ROLE_ARN =
  /^arn:(?:aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::\d{12}:role\/(?:[\x21-\x2e\x30-\x7e]+\/)*[\w+=,.@-]{1,64}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
// STS: 2-1224 characters of [\w+=,.@:/-].
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

const entry = z.strictObject({
  name: z
    .string()
    .max(MAX_PROFILE_NAME, `a profile name is at most ${MAX_PROFILE_NAME} characters`)
    .refine(isValidProfileName, `expected a profile name (${PROFILE_NAME_RULE})`),
  role_arn: z
    .string()
    .max(2048, 'role_arn is longer than 2048 characters')
    .regex(ROLE_ARN, 'expected an IAM role ARN such as arn:aws:iam::111111111111:role/prod-admin'),
  region: z.string().regex(REGION, 'expected an AWS region such as eu-west-1'),
  external_id: z
    .string()
    .regex(EXTERNAL_ID, 'expected an external id (2-1224 of letters, digits and _+=,.@:/-)')
    .optional(),
});

export const profilesSection = z.array(entry);

export type ProfileEntry = z.infer<typeof entry>;

export function checkProfiles(profiles: readonly ProfileEntry[] | undefined, ctx: z.RefinementCtx): void {
  checkUniqueNames('profiles', profiles, ctx);
}

/** The vendor's definition of a profile, or undefined. */
export function profileEntryFor(
  profiles: readonly ProfileEntry[] | undefined,
  profile: string,
): ProfileEntry | undefined {
  return profiles?.find((p) => p.name === profile);
}
