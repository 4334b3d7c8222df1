// Webhook delivery (DESIGN §12): POST the payload with X-Sentinel-Event, X-Sentinel-Delivery (one uuid across
// retries, so a receiver can de-duplicate), X-Sentinel-Timestamp (epoch seconds, fresh on every attempt) and, with a
// secret, X-Sentinel-Signature = sha256=HMAC(secret, "<timestamp>.<body>") — a receiver that checks the signature and
// refuses old timestamps cannot be fed a replay. Uses the global fetch (undici): core/ never imports node:http.
import { createHmac, randomUUID } from 'node:crypto';
import { webhookUrlProblem } from '../policy/notifications-section.js';
import type { DeliveryResult, NotificationEvent } from './types.js';

/** How long one attempt may take before it counts as a network error. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Waits before the 2nd, 3rd and 4th attempts. */
export const WEBHOOK_BACKOFF_MS: readonly number[] = [1000, 2000, 4000];

export interface WebhookOptions {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  backoffMs?: readonly number[];
  timeoutMs?: number;
  now?: () => Date;
  /** The sender's deadline (a command's bound): aborting it ends the attempt in flight and every retry at once, and
   * the result says the delivery was cut off. */
  signal?: AbortSignal;
}

/** The error of a delivery its sender's deadline cut off. */
export const CUT_OFF = "cut off at the sender's deadline";

export function signature(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** `wait`, or less when `signal` aborts first. */
function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  if (signal.aborted) return Promise.resolve();
  let on: () => void = () => {};
  const aborted = new Promise<void>((resolve) => {
    on = resolve;
    signal.addEventListener('abort', on, { once: true });
  });
  return Promise.race([wait, aborted]).finally(() => signal.removeEventListener('abort', on));
}

type Attempt = { ok: true } | { ok: false; retry: boolean; error: string };

async function attempt(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: Required<Pick<WebhookOptions, 'fetch' | 'timeoutMs'>> & Pick<WebhookOptions, 'signal'>,
): Promise<Attempt> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await opts.fetch(url, {
      method: 'POST',
      headers,
      body,
      // A redirect could lead anywhere, plain http included; the target is what the policy names, nothing else.
      redirect: 'manual',
      signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
    });
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, retry: res.status >= 500, error: `HTTP ${res.status}` };
  } catch (e) {
    if (opts.signal?.aborted) return { ok: false, retry: false, error: CUT_OFF };
    const name = (e as Error)?.name;
    const error = name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : 'network error';
    return { ok: false, retry: true, error };
  }
}

export async function deliverWebhook(
  target: { name: string; url: string },
  event: NotificationEvent,
  body: string,
  secret: string | null,
  options: WebhookOptions = {},
): Promise<DeliveryResult> {
  const deliveryId = randomUUID();
  const base = { target: target.name, kind: 'webhook' as const, deliveryId };
  const problem = webhookUrlProblem(target.url);
  if (problem) return { ...base, ok: false, attempts: 0, error: `url ${problem}` };
  const opts = {
    fetch: options.fetch ?? fetch,
    timeoutMs: options.timeoutMs ?? WEBHOOK_TIMEOUT_MS,
    signal: options.signal,
  };
  const sleep = options.sleep ?? realSleep;
  const backoff = options.backoffMs ?? WEBHOOK_BACKOFF_MS;
  const now = options.now ?? (() => new Date());
  let last: Attempt = { ok: false, retry: true, error: 'not sent' };
  for (let i = 0; i <= backoff.length; i++) {
    if (i > 0) await abortable(sleep(backoff[i - 1]!), opts.signal);
    if (opts.signal?.aborted) return { ...base, ok: false, attempts: i, error: CUT_OFF };
    const timestamp = String(Math.floor(now().getTime() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'sentinel-notifier',
      'x-sentinel-event': event,
      'x-sentinel-delivery': deliveryId,
      'x-sentinel-timestamp': timestamp,
    };
    if (secret !== null) headers['x-sentinel-signature'] = signature(secret, timestamp, body);
    last = await attempt(target.url, headers, body, opts);
    if (last.ok) return { ...base, ok: true, attempts: i + 1 };
    if (!last.retry) return { ...base, ok: false, attempts: i + 1, error: last.error };
  }
  return {
    ...base,
    ok: false,
    attempts: backoff.length + 1,
    error: `${last.ok ? '' : last.error} after ${backoff.length + 1} attempts`,
  };
}
