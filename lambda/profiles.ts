// What a profile means to the vendor (DESIGN §17): an entry of the `profiles:` section of the policy document in force
// for it. With the SSM source each profile has its own document, and only that document may define it: a policy for
// `dev` cannot point `prod` at another role.
import { SentinelError } from '../core/errors.js';
import { profileEntryFor, type ProfileEntry } from '../core/policy/profiles-section.js';
import type { PolicyProvider } from '../core/policy/types.js';

export type ProfileSource = Pick<PolicyProvider, 'policyFor' | 'documents'>;

export function findProfile(policy: ProfileSource, name: string): ProfileEntry | undefined {
  return profileEntryFor(policy.policyFor?.(name)?.profiles, name);
}

export function requireProfile(policy: ProfileSource, name: string): ProfileEntry {
  const found = findProfile(policy, name);
  if (!found) {
    throw new SentinelError('ProfileUnknown', `the vendor has no profile "${name}"`, {
      hint: 'The vendor serves the profiles of its policy’s `profiles:` section; list them with GET /v1/profiles.',
    });
  }
  return found;
}

/** Every profile the vendor serves, sorted by name. */
export function listProfiles(policy: ProfileSource): ProfileEntry[] {
  const out = new Map<string, ProfileEntry>();
  for (const doc of policy.documents?.() ?? []) {
    for (const p of doc.profiles ?? []) {
      if (!out.has(p.name) && findProfile(policy, p.name) === p) out.set(p.name, p);
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}
