// A caller's identities on a credential server: one per distinct base identity among the profiles it knows (the
// daemon caches GetCallerIdentity per base identity). What "my requests" and "my break-glass events" are matched on.

export interface Identity {
  arn: string;
  user: string;
}

export async function callerIdentities(
  profiles: () => Promise<string[]>,
  identify: (profile: string) => Promise<Identity>,
): Promise<Identity[]> {
  const seen = new Map<string, Identity>();
  for (const profile of await profiles()) {
    try {
      const id = await identify(profile);
      seen.set(id.arn, id);
    } catch {
      // A profile whose credentials cannot be resolved has no records of this caller to show.
    }
  }
  return [...seen.values()];
}
