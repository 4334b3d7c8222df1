// The `notifications:` section (DESIGN §12): named targets that `approvals` (and `breakglass`) entries notify. A
// target is a webhook or an SNS topic, never both. Webhooks go over https; plain http only to this machine, where
// nothing on the network can read or alter the request. A URL with user:password in it is refused: the policy is
// readable by every user, and the signing secret belongs in SSM (`secret_parameter`).
import { z } from 'zod';

export const NOTIFICATION_KEYS = {
  notification: ['name', 'webhook', 'sns'],
  webhook: ['url', 'secret_parameter'],
  sns: ['topic_arn'],
} as const;

export const MAX_WEBHOOK_URL = 2048;
const TARGET_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SSM_PARAMETER = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;
const TOPIC_ARN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

/** Hosts a plain-http webhook may name: loopback only. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Why a webhook URL is refused, or null when it is acceptable. */
export function webhookUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.username || url.password) return 'must not contain a user name or password (use secret_parameter)';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? null : 'plain http is allowed only to loopback';
  return `scheme ${url.protocol.replace(/:$/, '')} is not supported (use https)`;
}

const webhook = z.strictObject({
  url: z
    .string()
    .max(MAX_WEBHOOK_URL, `the URL is longer than ${MAX_WEBHOOK_URL} characters`)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\x00-\x20\x7f]+$/, 'the URL must not contain spaces or control characters')
    .superRefine((v, ctx) => {
      const problem = webhookUrlProblem(v);
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          message: `webhook url ${problem}`,
          params: { hint: 'Use https://…; http:// only for 127.0.0.1 or localhost.' },
        });
      }
    }),
  secret_parameter: z
    .string()
    .regex(SSM_PARAMETER, 'expected an SSM parameter name such as /sentinel/webhooks/ops')
    .optional(),
});

const sns = z.strictObject({
  topic_arn: z
    .string()
    .regex(TOPIC_ARN, 'expected an SNS topic ARN such as arn:aws:sns:eu-west-1:111111111111:sentinel-security'),
});

const target = z
  .strictObject({
    name: z.string().regex(TARGET_NAME, 'expected a target name of 1-64 letters, digits, "_", "." or "-"'),
    webhook: webhook.optional(),
    sns: sns.optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.webhook === undefined) === (t.sns === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `notification target "${t.name}" must have exactly one of webhook or sns`,
        params: { hint: 'Declare two targets to notify both.' },
      });
    }
  });

export const notificationsSection = z.array(target);

export type NotificationTarget = z.infer<typeof target>;

/** Duplicate names are refused; returns the declared names (for `notify` references). */
export function checkNotifications(
  targets: readonly NotificationTarget[] | undefined,
  ctx: z.RefinementCtx,
): ReadonlySet<string> {
  const seen = new Map<string, number>();
  (targets ?? []).forEach((t, i) => {
    const first = seen.get(t.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['notifications', i, 'name'],
        message: `duplicate notification target "${t.name}" (first used by notifications[${first}])`,
      });
    } else seen.set(t.name, i);
  });
  return new Set(seen.keys());
}

/** Each `notify` entry of a section (approvals, breakglass) must name a declared target. */
export function checkNotifyTargets(
  section: string,
  index: number,
  notify: readonly string[] | undefined,
  targets: ReadonlySet<string>,
  ctx: z.RefinementCtx,
): void {
  (notify ?? []).forEach((target, j) => {
    if (targets.has(target)) return;
    ctx.addIssue({
      code: 'custom',
      path: [section, index, 'notify', j],
      message: `notify names "${target}", which is not declared in notifications`,
      params: {
        hint: targets.size
          ? `declared targets: ${[...targets].join(', ')}`
          : 'Declare it under notifications: with a webhook or sns.',
      },
    });
  });
}
