// What a profile means to the vendor (DESIGN §17): an entry of the `profiles:` section of the policy document in force
// for it. With the SSM source each profile has its own document, and only that document may define it: a policy for
// `dev` cannot point `prod` at another role.
import { SentinelError } from '../core/errors.js';
import { profileEntryFor, type ProfileEntry } from '../core/policy/profiles-section.js';
import type { PolicyProvider } from '../core/policy/types.js';

export type ProfileSource = Pick<PolicyProvider, 'policyFor' | 'documents' | 'decide'>;

export function findProfile(policy: Pick<ProfileSource, 'policyFor'>, name: string): ProfileEntry | undefined {
  return profileEntryFor(policy.policyFor?.(name)?.profiles, name);
}

/** The hint of a PolicyUnavailable at the vendor: the catalogue's names a daemon and a file; this policy is the
 * vendor's, from SSM, and is fixed by whoever publishes it. */
export function vendorPolicyHint(profile: string): string {
  return `The vendor's log says why; once the policy parameter for ${profile} is published valid and signed (\`sentinel policy push\`), the vendor loads it at its next refresh.`;
}

export function requireProfile(policy: ProfileSource, name: string): ProfileEntry {
  const found = findProfile(policy, name);
  if (found) return found;
  // No document in force for the profile: either none exists (an unknown profile), or the vendor cannot load it (SSM
  // silent at a cold start, a parameter refused). The second is PolicyUnavailable, saying why, not "no such profile".
  if (!policy.policyFor?.(name)) {
    const decision = policy.decide({
      user: 'sentinel',
      profile: name,
      time: new Date(),
      mode: 'server',
      sessionStore: 'dynamodb',
    });
    if (decision.errorCode === 'PolicyUnavailable') {
      throw new SentinelError('PolicyUnavailable', decision.reason, { hint: vendorPolicyHint(name) });
    }
  }
  throw new SentinelError('ProfileUnknown', `the vendor has no profile "${name}"`, {
    hint: 'The vendor serves the profiles of its policy’s `profiles:` section; list them with GET /v1/profiles.',
  });
}

/** Every profile the vendor serves, sorted by name. */
export function listProfiles(policy: Pick<ProfileSource, 'policyFor' | 'documents'>): ProfileEntry[] {
  const out = new Map<string, ProfileEntry>();
  for (const doc of policy.documents?.() ?? []) {
    for (const p of doc.profiles ?? []) {
      if (!out.has(p.name) && findProfile(policy, p.name) === p) out.set(p.name, p);
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}
