// `enforce plan`: how far a role's trust policy makes AWS refuse what did not go through Sentinel (DESIGN §15).
// vendor: only the vendor's role may assume it; full: every statement that allows sts:AssumeRole requires a Sentinel
// SourceIdentity (`sts:SourceIdentity` like `sentinel-…`) and allows sts:SetSourceIdentity; none: no statement
// requires it; partial: anything between. Each statement at fault is named with what is wrong and the fix.
import { isSentinelError } from '../errors.js';
import type { RoleReader } from './iam.js';
import {
  conditionOperators,
  decodeTrustPolicy,
  conditionValues,
  statementCovers,
  statementPrincipals,
  type ParsedDocument,
  type RawStatement,
} from './policy-document.js';
import { SENTINEL_PREFIX } from './generate.js';

export type PlanStatus = 'vendor' | 'full' | 'partial' | 'none' | 'unknown';

export interface StatementFault {
  /** 1-based position in the Statement list, as a person counts them. */
  index: number;
  sid?: string;
  principals: string[];
  problem: string;
}

export interface PlanFinding {
  role_arn: string;
  role_name: string;
  status: PlanStatus;
  statements: StatementFault[];
  fix: string;
  /** Why the role could not be classified (status unknown). */
  error?: { code: string; message: string };
}

type Grade = 'complete' | 'partial' | 'none';

interface Graded {
  index: number;
  sid?: string;
  principals: string[];
  grade: Grade;
  problem?: string;
}

const SOURCE_IDENTITY = 'sts:SourceIdentity';

export function classifyTrustPolicy(
  role: { arn: string; name: string },
  parsed: ParsedDocument,
  options: { vendorPrincipal?: string } = {},
): PlanFinding {
  const base = { role_arn: role.arn, role_name: role.name };
  if (!parsed.ok) {
    return {
      ...base,
      status: 'unknown',
      statements: [],
      fix: 'Read the trust policy in the IAM console; replace it with `sentinel enforce generate trust-policy`.',
      error: {
        code: 'TrustPolicyUnreadable',
        message: `the trust policy of ${role.name} cannot be read: ${parsed.reason}`,
      },
    };
  }
  const allows = parsed.statements
    .map((s, i) => ({ s, index: i + 1 }))
    .filter(({ s }) => s.Effect === 'Allow' && (statementCovers(s, 'sts:AssumeRole') || federatedEntry(s)));
  if (allows.length === 0) {
    return {
      ...base,
      status: 'none',
      statements: [],
      fix: 'No statement allows sts:AssumeRole or a federated sign-in: nobody can assume this role, through Sentinel or not.',
    };
  }
  const principalsOf = (s: RawStatement) => {
    const p = statementPrincipals(s);
    return [...p.aws, ...p.other];
  };
  const vendor = options.vendorPrincipal;
  if (
    vendor &&
    allows.every(({ s }) => {
      const p = statementPrincipals(s);
      return p.other.length === 0 && p.aws.length > 0 && p.aws.every((a) => a === vendor);
    })
  ) {
    return { ...base, status: 'vendor', statements: [], fix: '' };
  }

  const graded: Graded[] = allows.map(({ s, index }) => grade(s, index, principalsOf(s), parsed.statements));
  const faults = graded.filter((g) => g.grade !== 'complete');
  const status: PlanStatus =
    faults.length === 0 ? 'full' : graded.every((g) => g.grade === 'none') ? 'none' : 'partial';
  return {
    ...base,
    status,
    statements: faults.map((g) => ({
      index: g.index,
      ...(g.sid ? { sid: g.sid } : {}),
      principals: g.principals,
      problem: g.problem!,
    })),
    fix: fixFor(status, faults, graded),
  };
}

/**
 * The sign-ins an identity provider vouches for: no Sentinel decision precedes them, and the SourceIdentity they carry
 * is the provider's claim, whatever a condition requires of it. The audits read only AssumeRole, so such a session
 * is not even seen there.
 */
const FEDERATED_ACTIONS = ['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRoleWithSAML'];

/** The federated sign-in a statement lets in, if any: its action, when its principal can be a federated one. */
function federatedEntry(s: RawStatement): string | undefined {
  const p = statementPrincipals(s);
  const federatedPrincipal =
    p.aws.includes('*') || s.NotPrincipal !== undefined || p.other.some((o) => /^federated:/i.test(o));
  return federatedPrincipal ? FEDERATED_ACTIONS.find((a) => statementCovers(s, a)) : undefined;
}

function grade(s: RawStatement, index: number, principals: string[], all: RawStatement[]): Graded {
  const sid = typeof s.Sid === 'string' ? s.Sid : undefined;
  const g = { index, ...(sid ? { sid } : {}), principals };
  const federated = federatedEntry(s);
  if (federated) {
    return {
      ...g,
      grade: 'none',
      problem: `allows ${federated}: an identity provider's sign-in, which no Sentinel decision precedes (its SourceIdentity is the provider's to choose)`,
    };
  }
  const operators = conditionOperators(s, SOURCE_IDENTITY);
  const like = conditionValues(s, 'StringLike', SOURCE_IDENTITY) ?? conditionValues(s, 'StringEquals', SOURCE_IDENTITY);
  if (!like) {
    const weak = operators.find((op) => /IfExists$/i.test(op) || /Not/i.test(op) || /^For(Any|All)Value:/i.test(op));
    return {
      ...g,
      grade: 'none',
      problem: weak
        ? `allows sts:AssumeRole with ${weak} on sts:SourceIdentity, which a call without a SourceIdentity passes`
        : 'allows sts:AssumeRole without requiring a SourceIdentity (tools that bypass Sentinel get in)',
    };
  }
  if (like.length === 0 || !like.every((v) => v.startsWith(SENTINEL_PREFIX) && v.length > SENTINEL_PREFIX.length)) {
    return {
      ...g,
      grade: 'partial',
      problem: `requires a SourceIdentity, but ${JSON.stringify(like)} is not a Sentinel pattern (sentinel-* or sentinel-<user>-*)`,
    };
  }
  const setAllowed =
    statementCovers(s, 'sts:SetSourceIdentity') ||
    all.some(
      (o) =>
        o !== s &&
        o.Effect === 'Allow' &&
        statementCovers(o, 'sts:SetSourceIdentity') &&
        principals.every((p) => [...statementPrincipals(o).aws, ...statementPrincipals(o).other].includes(p)),
    );
  if (!setAllowed) {
    return {
      ...g,
      grade: 'partial',
      problem:
        'requires a Sentinel SourceIdentity but does not allow sts:SetSourceIdentity, so every stamped AssumeRole is refused',
    };
  }
  return { ...g, grade: 'complete' };
}

function fixFor(status: PlanStatus, faults: Graded[], all: Graded[]): string {
  if (status === 'full') return '';
  const stampable = (p: string) => p.startsWith('arn:') || /^\d{12}$/.test(p);
  const awsPrincipals = [...new Set(all.flatMap((g) => g.principals).filter(stampable))];
  const unstamped = [
    ...new Set(
      faults
        .filter((f) => f.grade === 'none')
        .flatMap((f) => f.principals)
        .filter(stampable),
    ),
  ];
  const command = [
    'sentinel enforce generate trust-policy',
    ...awsPrincipals.map((p) => `--principal ${p}`),
    ...unstamped.map((p) => `--legacy-principal ${p}`),
  ].join(' ');
  const steps: string[] = [];
  for (const f of faults) {
    if (f.grade === 'partial' && f.problem!.includes('SetSourceIdentity')) {
      steps.push(`statement ${f.index}: add sts:SetSourceIdentity to its Action, under the same condition`);
    } else if (f.grade === 'partial') {
      steps.push(`statement ${f.index}: require sts:SourceIdentity StringLike sentinel-* (or sentinel-<user>-*)`);
    }
  }
  if (faults.some((f) => f.principals.some((p) => !stampable(p)))) {
    steps.push(
      "a principal Sentinel cannot stand for ('*', a service or a federated principal) also assumes it: narrow it, or leave the role out of enforcement",
    );
  }
  const replace = awsPrincipals.length
    ? `replace the trust policy with the output of \`${command}\`${unstamped.length ? ', then drop --legacy-principal once `sentinel audit verify` shows no unstamped AssumeRole' : ''}`
    : 'replace the trust policy with `sentinel enforce generate trust-policy --principal <who assumes it>`';
  return [...steps, replace].join('; ');
}

/** Reads and classifies each role; a role that cannot be read is reported `unknown` with why, never thrown. */
export async function planRoles(
  reader: RoleReader,
  roleNames: string[],
  options: { vendorPrincipal?: string } = {},
): Promise<PlanFinding[]> {
  const findings: PlanFinding[] = [];
  for (const name of roleNames) {
    try {
      const role = await reader.getRole(name);
      findings.push(classifyTrustPolicy(role, decodeTrustPolicy(role.trustPolicyEncoded), options));
    } catch (err) {
      if (!isSentinelError(err)) throw err;
      findings.push({
        role_arn: '',
        role_name: name,
        status: 'unknown',
        statements: [],
        fix: err.hint,
        error: { code: err.code, message: err.message },
      });
    }
  }
  return findings;
}
