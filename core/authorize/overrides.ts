// Override lookups (DESIGN §3.4 step 3, §10, §11): an approved request may lift a `require_approval`, an active
// break-glass event a `deny` or `require_approval`. Which kind may lift what is decided in authorize(); a lookup only
// says whether it has one.
import type { Read } from '../records/read-set.js';
import type { OverrideLookup } from './types.js';

/** No approvals, no break-glass: every denial stands. */
export const noOverrides: OverrideLookup = { find: async () => null };

/** The first override any lookup returns, asked in order (approvals before break-glass); a lookup that throws ends
 * the search with its error (fail closed). */
export function composeOverrides(...lookups: OverrideLookup[]): OverrideLookup {
  if (lookups.length === 0) return noOverrides;
  if (lookups.length === 1) return lookups[0]!;
  return {
    async find(request, decision, now) {
      for (const lookup of lookups) {
        const found = await lookup.find(request, decision, now);
        if (found) return found;
      }
      return null;
    },
    // Asked on every credential request, and nearly always empty: nothing is allocated until a lookup names a read.
    reads(principal, profile) {
      let all: Array<Read<any>> | undefined;
      for (const lookup of lookups) {
        const reads = lookup.reads?.(principal, profile);
        if (reads && reads.length > 0) (all ??= []).push(...reads);
      }
      return all ?? [];
    },
  };
}
