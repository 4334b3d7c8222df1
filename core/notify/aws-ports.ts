// The notifier's AWS ports with the real SDK clients (SSM GetParameter with decryption; SNS Publish with the
// `event_type` message attribute), loaded on first use and configured like Sentinel's other AWS calls.
import { boundedClientConfig, type ClientTarget } from '../aws-http.js';
import type { NotifierPorts } from './notifier.js';

export interface AwsClientConfig extends ClientTarget {
  /** Per attempt (default NOTIFY_ATTEMPT_MS). */
  timeoutMs?: number;
}

/** Per SSM or SNS attempt. A hung call would otherwise never settle: a webhook secret read that hangs is cached, and
 * every later notification to that webhook would wait on it. */
export const NOTIFY_ATTEMPT_MS = 5_000;

export function awsNotifierPorts(options: AwsClientConfig): NotifierPorts & { destroy(): void } {
  // Built with the first client, not here: every daemon makes these ports at start, most never use them, and a daemon
  // must not be refused for AWS files only a notification would have read (boundedClientConfig checks them).
  const config = () => boundedClientConfig(options, { timeoutMs: options.timeoutMs ?? NOTIFY_ATTEMPT_MS });
  /** A refused client is not kept: the next notification tries again. */
  const retryable = <T>(p: Promise<T>, forget: () => void) =>
    p.catch((e: unknown) => {
      forget();
      throw e;
    });
  const owned: Array<{ destroy(): void }> = [];
  let ssm: Promise<import('@aws-sdk/client-ssm').SSMClient> | undefined;
  let sns: Promise<import('@aws-sdk/client-sns').SNSClient> | undefined;
  return {
    async secret(parameter) {
      ssm ??= retryable(
        import('@aws-sdk/client-ssm').then(({ SSMClient }) => {
          const c = new SSMClient(config());
          owned.push(c);
          return c;
        }),
        () => (ssm = undefined),
      );
      const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const out = await (await ssm).send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
      const value = out.Parameter?.Value;
      if (typeof value !== 'string' || value.length === 0)
        throw Object.assign(new Error('empty'), { name: 'EmptySecret' });
      return value;
    },
    async publish(input) {
      sns ??= retryable(
        import('@aws-sdk/client-sns').then(({ SNSClient }) => {
          const c = new SNSClient(config());
          owned.push(c);
          return c;
        }),
        () => (sns = undefined),
      );
      const { PublishCommand } = await import('@aws-sdk/client-sns');
      const out = await (
        await sns
      ).send(
        new PublishCommand({
          TopicArn: input.topicArn,
          Subject: input.subject,
          Message: input.message,
          MessageAttributes: { event_type: { DataType: 'String', StringValue: input.eventType } },
        }),
      );
      return out.MessageId ?? '';
    },
    destroy() {
      for (const c of owned) c.destroy();
    },
  };
}
