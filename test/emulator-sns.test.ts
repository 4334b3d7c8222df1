import t from 'tap';
import { CreateTopicCommand, PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import { startSns } from './support/sns-emulator.js';
import { emulatorWithClient, rejection } from './support/sdk-client.js';
import type { HasTeardown } from './support/aws-env.js';
import { awsNotifierPorts } from '../core/notify/aws-ports.js';
import { createNotifier } from '../core/notify/notifier.js';
import { awsEnv, withEnv } from './support/aws-env.js';

const creds = { accessKeyId: 'AKIASNSTEST000000001', secretAccessKey: 'secret' };
const setup = (t: HasTeardown) => emulatorWithClient(t, startSns, (config) => new SNSClient(config), creds);

t.test('a real SNS client creates a topic and publishes with message attributes', async (t) => {
  const { emulator, client } = await setup(t);
  const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 'sentinel-security' }));
  t.equal(TopicArn, 'arn:aws:sns:us-east-1:111122223333:sentinel-security');
  const out = await client.send(
    new PublishCommand({
      TopicArn,
      Subject: 'Sentinel request.created',
      Message: '{"type":"request.created"}',
      MessageAttributes: { event_type: { DataType: 'String', StringValue: 'request.created' } },
    }),
  );
  t.match(out.MessageId, /^[0-9a-f-]{36}$/);
  t.equal(emulator.published.length, 1);
  t.same(emulator.published[0]!.attributes, { event_type: { DataType: 'String', StringValue: 'request.created' } });
  t.equal(emulator.published[0]!.accessKeyId, creds.accessKeyId);
});

t.test('SNS refusals reach the SDK with their codes', async (t) => {
  const { emulator, client } = await setup(t);
  const arn = emulator.createTopic('t1');
  t.equal(
    (await rejection(client.send(new PublishCommand({ TopicArn: arn + 'x', Message: 'm' })))).name,
    'NotFoundException',
  );
  const bad: PublishCommandInput[] = [
    { TopicArn: arn, Message: '' },
    { TopicArn: arn, Message: 'm', Subject: 'line\nbreak' },
    { TopicArn: arn, Message: 'm', Subject: 'x'.repeat(100) },
    { TopicArn: arn, Message: 'x'.repeat(262_145) },
    { TopicArn: arn, Message: 'm', MessageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } } },
    { TopicArn: arn, Message: 'm', MessageAttributes: { ok: { DataType: 'Text', StringValue: 'v' } } },
  ];
  for (const input of bad) {
    const r = await rejection(client.send(new PublishCommand(input)));
    t.equal(r.name, 'InvalidParameterException', JSON.stringify(input).slice(0, 80));
    t.equal(r.status, 400);
  }
  t.equal(emulator.published.length, 0, 'nothing was published');
  emulator.failNext('Publish', { code: 'InternalError' });
  t.equal((await rejection(client.send(new PublishCommand({ TopicArn: arn, Message: 'm' })))).status, 500);
});

t.test('unsigned and non-Query requests are refused', async (t) => {
  const { emulator } = await setup(t);
  const res = await fetch(emulator.url, {
    method: 'POST',
    body: 'Action=Publish&Version=2010-03-31',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(res.status, 403);
  t.match(await res.text(), /<Code>MissingAuthenticationToken<\/Code>/);
});

t.test('the notifier publishes through the real client, routed by AWS_ENDPOINT_URL_SNS', async (t) => {
  const { emulator } = await setup(t);
  const arn = emulator.createTopic('sentinel-security');
  withEnv(t, {
    ...awsEnv(),
    AWS_ENDPOINT_URL_SNS: emulator.url,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_PROFILE: undefined,
  });
  const ports = awsNotifierPorts({ region: 'us-east-1' });
  t.teardown(() => ports.destroy());
  const notifier = createNotifier(ports);
  const results = await notifier.notify(['security'], [{ name: 'security', sns: { topic_arn: arn } }], {
    type: 'breakglass.invoked',
    actor: 'arn:aws:iam::111111111111:user/alice',
    breakglass: { id: '0123456789abcdef' },
  });
  t.same(
    results.map((r) => [r.target, r.kind, r.ok]),
    [['security', 'sns', true]],
  );
  const msg = emulator.published[0]!;
  t.equal(msg.attributes.event_type?.StringValue, 'breakglass.invoked');
  t.equal(msg.subject, 'Sentinel breakglass.invoked');
  t.equal(JSON.parse(msg.message).breakglass.id, '0123456789abcdef');
  t.equal(results[0]!.deliveryId, msg.messageId);

  const missing = await notifier.notify(['gone'], [{ name: 'gone', sns: { topic_arn: arn + '-gone' } }], {
    type: 'breakglass.closed',
    actor: 'x',
  });
  t.same([missing[0]!.ok, missing[0]!.error], [false, 'NotFoundException']);
});
