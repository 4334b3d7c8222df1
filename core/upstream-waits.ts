// What the process is waiting for upstream right now (issue 9 item 11): each slow call an answer may hang on (STS, the
// resolution of base credentials) registers itself while it runs, so GET /v1/status can say "AWS STS (AssumeRole for
// prod)" to a CLI that has waited more than a second. One registry per process: a daemon serves one user.

export interface UpstreamWait {
  /** What is awaited, for people: `AWS STS (AssumeRole for prod)`. Never a secret. */
  what: string;
  since: number;
}

const waits = new Set<UpstreamWait>();

/** Runs `call`, listed as waiting for `what` until it settles. */
export async function waitingFor<T>(what: string, call: () => Promise<T>): Promise<T> {
  const wait = { what, since: Date.now() };
  waits.add(wait);
  try {
    return await call();
  } finally {
    waits.delete(wait);
  }
}

/** The calls in flight, oldest first, with how long each has run. */
export function upstreamWaits(now = Date.now()): Array<{ what: string; seconds: number }> {
  return [...waits].map((w) => ({ what: w.what, seconds: Math.max(0, Math.floor((now - w.since) / 1000)) }));
}
