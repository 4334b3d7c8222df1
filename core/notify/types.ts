// Notifications (DESIGN §12): what is sent, to whom, and what came of it. The action a notification reports is always
// committed first; delivery never blocks it and never fails it.
export const NOTIFICATION_EVENTS = [
  'request.created',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.revoked',
  'breakglass.invoked',
  'breakglass.closed',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** The JSON body every target receives (snake_case, as the records are). */
export interface NotificationPayload {
  type: NotificationEvent;
  /** A uuid for this event; every target and every retry carries the same one. */
  id: string;
  /** RFC 3339 UTC. */
  timestamp: string;
  /** Who performed the action, as the sender claims it (a principal ARN, or `sentinel` for auto-approval). */
  actor: string;
  request?: Record<string, unknown>;
  breakglass?: Record<string, unknown>;
}

export interface DeliveryResult {
  target: string;
  kind: 'webhook' | 'sns';
  ok: boolean;
  attempts: number;
  /** Webhook: one uuid per target, the same on every retry (X-Sentinel-Delivery). SNS: the MessageId. */
  deliveryId: string | null;
  /** Why it failed (HTTP status, timeout, AWS error code); never a secret or a response body. */
  error?: string;
}

/** What a record keeps in `notification_status`: `none`, `delivered`, or `failed: <target>: <why>; …`. */
export function notificationStatus(results: readonly DeliveryResult[]): string {
  if (results.length === 0) return 'none';
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return 'delivered';
  return `failed: ${failed.map((r) => `${r.target}: ${r.error ?? 'error'}`).join('; ')}`.slice(0, 1024);
}
