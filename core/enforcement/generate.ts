// The policies that make AWS refuse what did not go through Sentinel (DESIGN §15): a role trust policy, an SCP, an
// RCP, and the inline policy that revokes one session in AWS. Every one of them is proven with an independent IAM
// evaluator in the tests (test/enforce-generate.test.ts), not by eye.
import { SentinelError } from '../errors.js';
import type { PolicyDocument, PolicyStatement } from './policy-document.js';
import { isHex16 } from '../text/hex-id.js';
import { isPolicyUserName } from '../identity/arn.js';

/** Every Sentinel SourceIdentity starts with this (core/identity/source-identity.ts builds them). */
export const SENTINEL_PREFIX = 'sentinel-';
export const SENTINEL_PATTERN = `${SENTINEL_PREFIX}*`;
export const VERSION = '2012-10-17' as const;

// Principals IAM accepts in a trust policy's `AWS` element that Sentinel users would name: an account, its root, an IAM
// user or role (paths allowed), an assumed-role session is not a principal IAM accepts.
const PRINCIPAL_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):iam::\d{12}:(root|user\/(?:[\x21-\x7e]+\/)*[\w+=,.@-]{1,64}|role\/(?:[\x21-\x7e]+\/)*[\w+=,.@-]{1,64})$/;
const ACCOUNT_ID = /^\d{12}$/;
// Policy user names are ASCII letters and digits, at most 20 (DESIGN §5.3).
// An IAM resource ARN pattern for roles: IAM's wildcards allowed, no whitespace or control characters.
const ROLE_PATTERN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc|\*):iam::(\d{12}|\*):role\/[\x21-\x7e]{1,512}$/;

/** Roles under this path are what `enforce generate scp|rcp` protects unless told otherwise. */
export const DEFAULT_ROLE_PATTERN = 'arn:aws:iam::*:role/sentinel/*';

export interface TrustPolicyOptions {
  /** Who may assume the role with a Sentinel stamp: the team's principals, or the vendor's role alone (binding). */
  principals: string[];
  /** Restrict to these policy users' stamps (`sentinel-<user>-*`) instead of any Sentinel stamp. */
  users?: string[];
  /** Principals still allowed without a stamp while tools move over (remove them once `audit verify` is clean). */
  legacyPrincipals?: string[];
  /** Also require MFA in the base session (break-glass roles). */
  requireMfa?: boolean;
}

function checkPrincipal(value: string, flag: string): string {
  if (PRINCIPAL_ARN.test(value)) return value;
  if (ACCOUNT_ID.test(value)) return value;
  throw new SentinelError('UsageError', `${flag}: ${shown(value)} is not an IAM principal ARN or account id`, {
    hint: 'Name an account (123456789012), its root, an IAM user or a role: arn:aws:iam::123456789012:role/team/dev.',
  });
}

export function checkPolicyUser(value: string): string {
  if (!isPolicyUserName(value)) {
    throw new SentinelError('UsageError', `--users: ${shown(value)} is not a policy user name`, {
      hint: 'Policy user names are ASCII letters and digits, at most 20 (`sentinel whoami` prints yours).',
    });
  }
  return value;
}

export function checkRolePattern(value: string, flag = '--role-pattern'): string {
  if (!ROLE_PATTERN.test(value)) {
    throw new SentinelError('UsageError', `${flag}: ${shown(value)} is not a role ARN pattern`, {
      hint: `Use an IAM role ARN, wildcards allowed: ${DEFAULT_ROLE_PATTERN} or arn:aws:iam::123456789012:role/prod-*.`,
    });
  }
  return value;
}

/**
 * Text from the command line, safe to echo in a message: bounded, and everything but printable ASCII (what ARNs and
 * names are made of) as an escape, so neither a control character nor a bidi override reaches the terminal.
 */
export function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) : value)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/"$/, value.length > 80 ? '…"' : '"');
}

/** `sentinel-*`, or one `sentinel-<user>-*` per user. */
export function sourceIdentityPatterns(users?: string[]): string[] {
  if (!users || users.length === 0) return [SENTINEL_PATTERN];
  return [...new Set(users.map(checkPolicyUser))].map((u) => `${SENTINEL_PREFIX}${u}-*`);
}

export const one = (values: string[]): string | string[] => (values.length === 1 ? values[0]! : values);

export function trustPolicy(options: TrustPolicyOptions): PolicyDocument {
  if (options.principals.length === 0) {
    throw new SentinelError('UsageError', 'at least one --principal is needed', {
      hint: 'Name who may assume the role through Sentinel: --principal arn:aws:iam::123456789012:root',
    });
  }
  const principals = [...new Set(options.principals.map((p) => checkPrincipal(p, '--principal')))];
  const legacy = [...new Set((options.legacyPrincipals ?? []).map((p) => checkPrincipal(p, '--legacy-principal')))];
  const condition: PolicyStatement['Condition'] = {
    StringLike: { 'sts:SourceIdentity': one(sourceIdentityPatterns(options.users)) },
  };
  if (options.requireMfa) condition.Bool = { 'aws:MultiFactorAuthPresent': 'true' };
  const statements: PolicyStatement[] = [
    {
      Sid: 'SentinelStampedAssumeRole',
      Effect: 'Allow',
      Principal: { AWS: one(principals) },
      // AssumeRole with a SourceIdentity also needs sts:SetSourceIdentity, under the same condition: without it
      // every stamped call is refused.
      Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
      Condition: condition,
    },
  ];
  if (legacy.length > 0) {
    statements.push({
      Sid: 'LegacyUnstampedAssumeRole',
      Effect: 'Allow',
      Principal: { AWS: one(legacy) },
      Action: 'sts:AssumeRole',
    });
  }
  return { Version: VERSION, Statement: statements };
}

/**
 * An SCP: member-account callers may assume the protected roles only with a Sentinel stamp. `StringNotLike` on a
 * missing key is true, so an AssumeRole without any SourceIdentity is denied too. SCPs never bind the management
 * account.
 */
export function serviceControlPolicy(rolePattern = DEFAULT_ROLE_PATTERN): PolicyDocument {
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: 'DenyAssumeProtectedRoleWithoutSentinel',
        Effect: 'Deny',
        Action: 'sts:AssumeRole',
        Resource: checkRolePattern(rolePattern),
        Condition: { StringNotLike: { 'sts:SourceIdentity': SENTINEL_PATTERN } },
      },
    ],
  };
}

/**
 * An RCP: the same rule on the roles themselves, so it also binds callers from outside the organization. AWS services
 * acting as themselves are left alone (they cannot stamp).
 */
export function resourceControlPolicy(rolePattern = DEFAULT_ROLE_PATTERN): PolicyDocument {
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: 'DenyAssumeProtectedRoleWithoutSentinel',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sts:AssumeRole',
        Resource: checkRolePattern(rolePattern),
        Condition: {
          StringNotLike: { 'sts:SourceIdentity': SENTINEL_PATTERN },
          BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
        },
      },
    ],
  };
}

/** The inline policy name of one session's AWS-side revocation. */
export function revocationPolicyName(sessionId: string): string {
  return `sentinel-revoke-${checkSessionId(sessionId)}`;
}

export const REVOCATION_POLICY_NAME = /^sentinel-revoke-([0-9a-f]{16})$/;

/**
 * Denies everything to credentials stamped with this session (`sentinel-<user>-<marker>-<id>`): IAM evaluates
 * `aws:SourceIdentity` on every call, so this reaches credentials already issued.
 */
export function revocationPolicy(sessionId: string): PolicyDocument {
  const id = checkSessionId(sessionId);
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: `SentinelRevoke${id}`,
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringLike: { 'aws:SourceIdentity': `${SENTINEL_PREFIX}*-${id}` } },
      },
    ],
  };
}

function checkSessionId(id: string): string {
  if (!isHex16(id)) {
    throw new SentinelError('UsageError', `${shown(id)} is not a session id (16 lowercase hex)`, {
      hint: 'List sessions with `sentinel server sessions`.',
    });
  }
  return id;
}
