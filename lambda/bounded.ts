// A Lambda container may be frozen as soon as the handler answers, so work that must happen (notifications and the
// record of their outcome) is awaited before answering — but never for longer than a bound, so a receiver that does
// not answer cannot hold the caller. What is not done by then stays in flight and runs if the container thaws.

/** How long an answer waits for its notifications. Well inside the daemon bridge's and the admin CLI's budget for one
 * vendor call (VENDOR_ATTEMPT_MS, 5 s, in core/vendor/client.ts): a sent POST is never repeated, so an answer that
 * came later than that budget would report an invocation or a decision that took effect as VendorUnavailable. */
export const NOTIFY_WAIT_MS = 2000;

export async function waitAtMost(work: Promise<unknown>, ms: number = NOTIFY_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
