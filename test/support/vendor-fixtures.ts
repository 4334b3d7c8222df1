// What the vendor-path tests that drive core services directly share: a policy provider fixed on one policy text that
// answers every decision with require_approval, and an IAM-user principal in the test account.
import type { Principal } from '../../core/authorize/types.js';
import { parsePolicy } from '../../core/policy/load.js';
import type { Policy } from '../../core/policy/schema.js';
import type { PolicyProvider } from '../../core/policy/types.js';

/** `text` parsed (or the test fails at load), and a provider holding it whose decide() always asks for an approval. */
export function requireApprovalProvider(text: string): { policy: Policy; provider: PolicyProvider } {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const policy = parsed.policy;
  const provider = {
    policyFor: () => policy,
    documents: () => [policy],
    decide: () => ({ effect: 'require_approval', allowed: false, reason: 'prod needs an approval' }),
  } as unknown as PolicyProvider;
  return { policy, provider };
}

/** The IAM user `user` of account 111122223333, named as policy user `user`. */
export const userPrincipal = (user: string): Principal => ({
  arn: `arn:aws:iam::111122223333:user/${user}`,
  account: '111122223333',
  type: 'user',
  rawName: user,
  user,
});
