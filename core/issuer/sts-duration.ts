// STS's bounds for AssumeRole and GetSessionToken DurationSeconds, stated once. Below 900 STS refuses the call, so a
// shorter cap is raised to it (the per-request revocation read still applies to every fetch); above 43,200 it refuses
// too (and a role's MaxSessionDuration may refuse less).
export const STS_MIN_SECONDS = 900;
export const STS_MAX_SECONDS = 43_200;
/** AssumeRole made with temporary credentials (a role's, or GetSessionToken's MFA session) is role chaining, which AWS
 * caps at one hour whatever the role's MaxSessionDuration says. */
export const STS_CHAINED_MAX_SECONDS = 3600;

/** Whole seconds within what STS accepts. */
export function clampStsDuration(seconds: number): number {
  return Math.min(STS_MAX_SECONDS, Math.max(STS_MIN_SECONDS, Math.floor(seconds)));
}
