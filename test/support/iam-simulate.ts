// IAM SimulatePrincipalPolicy for the IAM emulator: the principal's identity policies (a role's inline policies and
// any attached with `attachPolicy`) evaluated by a real IAM policy evaluator (@cloud-copilot/iam-simulate, which
// also refuses actions IAM does not have), answered in the Query/XML shape the SDK parses. One result per action and
// resource; no context entries, permission boundaries or SCPs (Sentinel's check does not send them).
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsServiceError, ValidationCollector, el, node } from './aws-protocol.js';

const DECISIONS: Record<string, string> = {
  Allowed: 'allowed',
  ExplicitlyDenied: 'explicitDeny',
  ImplicitlyDenied: 'implicitDeny',
};

function members(p: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${name}.member.${i}`); i++) out.push(p.get(`${name}.member.${i}`)!);
  return out;
}

/**
 * The `<SimulatePrincipalPolicyResult>` body, or an AwsServiceError. `policiesOf` answers the identity policies of a
 * principal ARN, or undefined when IAM has no such user or role (NoSuchEntity).
 */
export async function simulatePrincipalPolicy(
  p: URLSearchParams,
  policiesOf: (principalArn: string) => object[] | undefined,
): Promise<string> {
  const source = p.get('PolicySourceArn') ?? undefined;
  const actions = members(p, 'ActionNames');
  const resources = members(p, 'ResourceArns');
  const v = new ValidationCollector();
  v.checkString(source, 'policySourceArn', { required: true, min: 20, max: 2048 });
  if (actions.length === 0) v.add(undefined, 'actionNames', 'Member must not be null');
  actions.forEach((a, i) => v.checkString(a, `actionNames.${i + 1}.member`, { min: 3, max: 128 }));
  resources.forEach((r, i) => v.checkString(r, `resourceArns.${i + 1}.member`, { min: 1, max: 2048 }));
  v.throwIfAny('ValidationError');
  const policies = policiesOf(source!);
  if (!policies) throw new AwsServiceError('NoSuchEntity', `The entity ${source} cannot be found.`, 404);
  const account = /^arn:aws[\w-]*:iam::(\d{12}):/.exec(source!)?.[1] ?? '123456789012';
  const results: string[] = [];
  for (const action of actions) {
    for (const resource of resources.length ? resources : ['*']) {
      const r = await runSimulation(
        {
          identityPolicies: policies.map((policy, i) => ({ name: `policy${i}`, policy: policy as never })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          // IAM's simulation of identity policies does not consult resource policies; a KMS key is only usable by
          // IAM policies under a key policy that delegates to the account, so the default one is assumed.
          ...(action.toLowerCase().startsWith('kms:') ? { resourcePolicy: defaultKeyPolicy(account) as never } : {}),
          request: { action, principal: source!, resource: { accountId: account, resource }, contextVariables: {} },
        },
        {},
      );
      if (r.resultType === 'error') {
        throw new AwsServiceError('InvalidInput', `Invalid action or resource: ${action} on ${resource}`, 400);
      }
      results.push(
        node(
          'member',
          el('EvalActionName', action) +
            el('EvalResourceName', resource) +
            el('EvalDecision', DECISIONS[r.overallResult] ?? 'implicitDeny') +
            node('MatchedStatements', '') +
            node('MissingContextValues', ''),
        ),
      );
    }
  }
  return node('EvaluationResults', results.join('')) + el('IsTruncated', 'false');
}

/** The key policy AWS gives a new KMS key: the account's IAM policies decide (KMS needs a key policy to allow). */
export function defaultKeyPolicy(account: string): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}
