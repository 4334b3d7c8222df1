// The break-glass terms the CLI checks before it asks the daemon (DESIGN §11), apart from the section's schema so a
// CLI that only names them does not load zod.
export const REASON_CODES = ['incident', 'maintenance', 'security', 'recovery', 'other'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** DESIGN §11: an event lasts 1h unless the entry says otherwise, and never more than 4h. */
export const DEFAULT_BREAKGLASS_DURATION_MS = 3_600_000;
export const MAX_BREAKGLASS_DURATION_MS = 4 * 3_600_000;
