// What a secret looks like, declared once for everything Sentinel writes down that it did not compose itself: free
// text in decision-log entries, and causes of upstream failures in the operational log.

export const CENSORED = '[redacted]';

// AWS access key ids, and long runs of key/token alphabet that mix upper case, lower case and digits (secret keys,
// session tokens, Sentinel session tokens). Paths, ARNs, hex digests and ids do not mix all three in one unbroken run
// of 32 characters.
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA|AROA|AIDA|ABIA|ACCA)[A-Z0-9]{12,}\b/g;
const LONG_RUN = /[A-Za-z0-9/+=_-]{32,}/g;
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

/** Control characters become spaces, secret-looking runs are censored, the result is at most `max` characters. */
export function redactText(text: string, max: number): string {
  const clean = text
    .replace(CONTROL, ' ')
    .replace(ACCESS_KEY_ID, CENSORED)
    .replace(LONG_RUN, (run) => (/[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run) ? CENSORED : run));
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A failure described for a log line: its class name, error code, HTTP status and redacted message. */
export function describeCause(e: unknown): Record<string, unknown> {
  if (!e || typeof e !== 'object') return { type: typeof e };
  const err = e as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const out: Record<string, unknown> = {};
  if (typeof err.name === 'string') out.name = redactText(err.name, 64);
  if (typeof err.code === 'string') out.code = redactText(err.code, 64);
  if (typeof err.$metadata?.httpStatusCode === 'number') out.status = err.$metadata.httpStatusCode;
  if (typeof err.message === 'string') out.message = redactText(err.message, 300);
  return out;
}
