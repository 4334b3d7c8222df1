// Delivers one event to the targets an approvals or break-glass entry names. Never throws: every target's outcome is
// a DeliveryResult, and the caller records `notificationStatus(results)`. Secrets come from SSM (SecureString, read
// with decryption) through a port; SNS through a port; both are created lazily, so a policy without targets costs
// nothing and the light CLI path imports no SDK.
import { randomUUID } from 'node:crypto';
import type { NotificationTarget } from '../policy/schema.js';
import type { DeliveryResult, NotificationEvent, NotificationPayload } from './types.js';
import { deliverWebhook, type WebhookOptions } from './webhook.js';

export interface NotifierPorts {
  /** The decrypted value of an SSM SecureString. Throws when it cannot be read. */
  secret(parameter: string): Promise<string>;
  /** SNS Publish; answers the MessageId. Throws with the AWS error name on failure. */
  publish(input: { topicArn: string; subject: string; message: string; eventType: NotificationEvent }): Promise<string>;
  webhook?: WebhookOptions;
}

export interface Notifier {
  notify(
    targetNames: readonly string[],
    declared: readonly NotificationTarget[],
    event: Omit<NotificationPayload, 'id' | 'timestamp'> & { timestamp?: string },
  ): Promise<DeliveryResult[]>;
}

// Secrets are read once per notifier and kept briefly: a retry storm must not become an SSM storm, and a rotated
// secret is picked up within minutes.
const SECRET_TTL_MS = 5 * 60_000;

function safeError(e: unknown): string {
  const name = (e as Error)?.name;
  return typeof name === 'string' && /^[A-Za-z]{1,64}$/.test(name) ? name : 'error';
}

export function createNotifier(ports: NotifierPorts): Notifier {
  const secrets = new Map<string, { value: Promise<string>; at: number }>();
  const secret = (parameter: string): Promise<string> => {
    const hit = secrets.get(parameter);
    if (hit && Date.now() - hit.at < SECRET_TTL_MS) return hit.value;
    const value = ports.secret(parameter);
    secrets.set(parameter, { value, at: Date.now() });
    value.catch(() => secrets.delete(parameter));
    return value;
  };

  const one = async (
    target: NotificationTarget,
    payload: NotificationPayload,
    body: string,
  ): Promise<DeliveryResult> => {
    if (target.webhook) {
      let key: string | null = null;
      if (target.webhook.secret_parameter !== undefined) {
        try {
          key = await secret(target.webhook.secret_parameter);
        } catch (e) {
          // Unsigned is not a fallback: a receiver that expects a signature must never be taught to accept none.
          return {
            target: target.name,
            kind: 'webhook',
            ok: false,
            attempts: 0,
            deliveryId: null,
            error: `secret parameter unreadable (${safeError(e)})`,
          };
        }
      }
      return deliverWebhook({ name: target.name, url: target.webhook.url }, payload.type, body, key, ports.webhook);
    }
    try {
      const messageId = await ports.publish({
        topicArn: target.sns!.topic_arn,
        subject: `Sentinel ${payload.type}`,
        message: body,
        eventType: payload.type,
      });
      return { target: target.name, kind: 'sns', ok: true, attempts: 1, deliveryId: messageId };
    } catch (e) {
      return { target: target.name, kind: 'sns', ok: false, attempts: 1, deliveryId: null, error: safeError(e) };
    }
  };

  return {
    async notify(targetNames, declared, event) {
      // A name listed twice (`notify: [ops, ops]` validates) is one target: told once.
      const targets = [...new Set(targetNames)]
        .map((n) => declared.find((t) => t.name === n))
        .filter((t): t is NotificationTarget => t !== undefined);
      if (targets.length === 0) return [];
      const payload: NotificationPayload = {
        ...event,
        id: randomUUID(),
        timestamp: event.timestamp ?? new Date().toISOString(),
      };
      const body = JSON.stringify(payload);
      return Promise.all(targets.map((t) => one(t, payload, body)));
    },
  };
}

/** How long past its bound a command waits for deliveries its deadline cut off to settle and be recorded. */
export const CUT_OFF_GRACE_MS = 2_000;

/** Waits for `work` (deliveries, or the recording of their outcome) at most `ms` (the CLI's 20 s bound). At `ms` it
 * aborts `deadline`, the signal the notifier's webhooks run under, so deliveries still going end at once and their
 * results say they were cut off; null when even that has not settled CUT_OFF_GRACE_MS later (a hung SNS or SSM call). */
export async function within<T>(work: Promise<T>, ms: number, deadline: AbortController): Promise<T | null> {
  const timers: NodeJS.Timeout[] = [];
  const timeout = new Promise<null>((resolve) => {
    timers.push(setTimeout(() => deadline.abort(), ms));
    timers.push(setTimeout(() => resolve(null), ms + CUT_OFF_GRACE_MS));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/** How long a stopping daemon gives deliveries still going before it cuts them off. */
export const STOP_WAIT_MS = 5_000;

/** A daemon's stop: deliveries get STOP_WAIT_MS, then `deadline` cuts them off and their outcome (`cut off`) is
 * recorded; a receiver that never answers cannot hold the stop for its 4 attempts of 10 s. */
export async function drain(idle: Promise<void> | undefined, deadline: AbortController): Promise<void> {
  await within(idle ?? Promise.resolve(), STOP_WAIT_MS, deadline);
}

/** What a record keeps when a command's deliveries had no outcome by its bound: each target failed, and why. */
export function unsettledStatus(targetNames: readonly string[], ms: number): string {
  return `failed: ${targetNames.map((t) => `${t}: no outcome within ${ms / 1000}s`).join('; ')}`.slice(0, 1024);
}
