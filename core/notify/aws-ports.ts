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
  const config = boundedClientConfig(options, { timeoutMs: options.timeoutMs ?? NOTIFY_ATTEMPT_MS });
  const owned: Array<{ destroy(): void }> = [];
  let ssm: Promise<import('@aws-sdk/client-ssm').SSMClient> | undefined;
  let sns: Promise<import('@aws-sdk/client-sns').SNSClient> | undefined;
  return {
    async secret(parameter) {
      ssm ??= import('@aws-sdk/client-ssm').then(({ SSMClient }) => {
        const c = new SSMClient(config);
        owned.push(c);
        return c;
      });
      const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const out = await (await ssm).send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
      const value = out.Parameter?.Value;
      if (typeof value !== 'string' || value.length === 0)
        throw Object.assign(new Error('empty'), { name: 'EmptySecret' });
      return value;
    },
    async publish(input) {
      sns ??= import('@aws-sdk/client-sns').then(({ SNSClient }) => {
        const c = new SNSClient(config);
        owned.push(c);
        return c;
      });
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
