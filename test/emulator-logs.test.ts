// The CloudWatch Logs emulator against the real SDK v3 client: PutLogEvents' limits and order, partial rejection by
// timestamp, GetLogEvents paging, group/stream errors, throttling and an unreachable service.
import t, { type Test } from 'tap';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  type InputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { startLogs, type LogsEmulator, type LogsOptions } from './support/logs-emulator.js';
import { spawnLogsProcess } from './support/logs-process.js';
import { emulatorWithClient, rejection } from './support/sdk-client.js';

const CREDS = { accessKeyId: 'AKIAEMULATORTEST0001', secretAccessKey: 'emulator-secret' };

async function setup(t: Test, options: LogsOptions = {}) {
  const { emulator, client } = await emulatorWithClient<LogsEmulator, CloudWatchLogsClient>(
    t,
    () => startLogs(options),
    (c) => new CloudWatchLogsClient(c),
    CREDS,
  );
  await client.send(new CreateLogGroupCommand({ logGroupName: 'sentinel' }));
  await client.send(new CreateLogStreamCommand({ logGroupName: 'sentinel', logStreamName: 'host-alice' }));
  const put = (logEvents: InputLogEvent[]) =>
    client.send(new PutLogEventsCommand({ logGroupName: 'sentinel', logStreamName: 'host-alice', logEvents }));
  return { emulator, client, put };
}

t.test('put, read back in order, page by page', async (t) => {
  const { emulator, client, put } = await setup(t);
  const now = Date.now();
  const events = Array.from({ length: 12_000 }, (_, i) => ({ timestamp: now - 12_000 + i, message: `line ${i}` }));
  await put(events.slice(0, 10_000));
  await put(events.slice(10_000));
  const got: string[] = [];
  let token: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await client.send(
      new GetLogEventsCommand({
        logGroupName: 'sentinel',
        logStreamName: 'host-alice',
        startFromHead: true,
        nextToken: token,
      }),
    );
    pages++;
    for (const e of page.events ?? []) got.push(e.message!);
    if (page.nextForwardToken === token) break;
    token = page.nextForwardToken;
  }
  t.same(
    got,
    events.map((e) => e.message),
    '12,000 events, in order',
  );
  t.ok(pages >= 3, `paged (${pages} pages, at most 10,000 events each)`);
  const d = await client.send(new DescribeLogStreamsCommand({ logGroupName: 'sentinel' }));
  t.equal(d.logStreams?.[0]?.logStreamName, 'host-alice');
  t.equal(emulator.events('sentinel', 'host-alice').length, 12_000);
});

t.test("PutLogEvents' limits are enforced as the service does", async (t) => {
  const { put } = await setup(t);
  const now = Date.now();
  const cases: Array<[string, InputLogEvent[], RegExp]> = [
    [
      '10,001 events',
      Array.from({ length: 10_001 }, (_, i) => ({ timestamp: now, message: `m${i}` })),
      /length between 1 and 10000/,
    ],
    [
      'over 1,048,576 bytes counting 26 per event',
      Array.from({ length: 5 }, () => ({ timestamp: now, message: 'x'.repeat(209_700) })),
      /Upload too large: 1048630 bytes/,
    ],
    [
      'out of order',
      [
        { timestamp: now, message: 'b' },
        { timestamp: now - 1, message: 'a' },
      ],
      /chronological order/,
    ],
    [
      'a span over 24 hours',
      [
        { timestamp: now - 86_400_001, message: 'a' },
        { timestamp: now, message: 'b' },
      ],
      /span more than 24 hours/,
    ],
    ['an empty message', [{ timestamp: now, message: '' }], /length greater than or equal to 1/],
  ];
  for (const [what, events, message] of cases) {
    const r = await rejection(put(events));
    t.equal(r.name, 'InvalidParameterException', what);
    t.match(r.message, message, what);
  }
  const fits = Array.from({ length: 5 }, () => ({ timestamp: now, message: 'x'.repeat(209_689) }));
  await put(fits);
  t.pass('exactly 1,048,575 bytes is accepted');
});

t.test('partial rejection: rejectedLogEventsInfo names the ranges; only the rest is stored', async (t) => {
  const { emulator, put } = await setup(t);
  emulator.now = () => Date.now() + 14 * 86_400_000 - 3_600_000; // the service's clock: 14 days minus an hour ahead
  const now = Date.now();
  const r = await put([
    { timestamp: now - 2 * 3_600_000, message: 'too old' },
    { timestamp: now, message: 'kept' },
  ]);
  t.same(r.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 1 });
  t.same(
    emulator.events('sentinel', 'host-alice').map((e) => e.message),
    ['kept'],
  );
  emulator.now = () => Date.now() - 3 * 3_600_000; // three hours behind: "now" is too new
  const r2 = await put([
    { timestamp: now - 3_600_000 * 4, message: 'kept too' },
    { timestamp: now, message: 'too new' },
  ]);
  t.same(r2.rejectedLogEventsInfo, { tooNewLogEventStartIndex: 1 });
  emulator.now = () => Date.now();
  emulator.setRetention('sentinel', 1);
  const r3 = await put([{ timestamp: now - 25 * 3_600_000, message: 'expired' }]);
  t.same(r3.rejectedLogEventsInfo, { expiredLogEventEndIndex: 1 });
});

t.test('missing group or stream, existing ones, throttling, an unreachable service', async (t) => {
  const { emulator, client, put } = await setup(t);
  const missing = await rejection(
    client.send(
      new PutLogEventsCommand({
        logGroupName: 'nope',
        logStreamName: 's',
        logEvents: [{ timestamp: Date.now(), message: 'm' }],
      }),
    ),
  );
  t.equal(missing.name, 'ResourceNotFoundException');
  const missingStream = await rejection(
    client.send(
      new PutLogEventsCommand({
        logGroupName: 'sentinel',
        logStreamName: 'other',
        logEvents: [{ timestamp: Date.now(), message: 'm' }],
      }),
    ),
  );
  t.equal(missingStream.name, 'ResourceNotFoundException');
  t.equal(
    (await rejection(client.send(new CreateLogGroupCommand({ logGroupName: 'sentinel' })))).name,
    'ResourceAlreadyExistsException',
  );
  t.equal(
    (
      await rejection(
        client.send(new CreateLogStreamCommand({ logGroupName: 'sentinel', logStreamName: 'host-alice' })),
      )
    ).name,
    'ResourceAlreadyExistsException',
  );
  t.equal(
    (await rejection(client.send(new CreateLogGroupCommand({ logGroupName: 'bad name!' })))).name,
    'InvalidParameterException',
  );
  emulator.failNext('PutLogEvents', { code: 'ThrottlingException', message: 'Rate exceeded' });
  const throttled = await rejection(put([{ timestamp: Date.now(), message: 'm' }]));
  t.equal(throttled.name, 'ThrottlingException');
  emulator.setDown(true);
  const down = await rejection(put([{ timestamp: Date.now(), message: 'm' }]));
  t.notOk(down.status, `no HTTP answer while down (${down.name})`);
  emulator.setDown(false);
  await put([{ timestamp: Date.now(), message: 'back' }]);
  t.same(
    emulator.events('sentinel', 'host-alice').map((e) => e.message),
    ['back'],
    'nothing from the failed calls was stored',
  );
});

t.test('keepEvents false (bench/audit.ts): events are checked and counted, not kept', async (t) => {
  const { emulator, put } = await setup(t, { keepEvents: false });
  const now = Date.now();
  const r = await put([
    { timestamp: now - 2, message: 'a' },
    { timestamp: now - 1, message: 'b' },
    { timestamp: now + 3 * 3_600_000, message: 'too new' },
  ]);
  t.same(r.rejectedLogEventsInfo, { tooNewLogEventStartIndex: 2 }, 'rejected as when kept');
  t.equal(emulator.count('sentinel', 'host-alice'), 2, 'the accepted events are counted');
  t.same(emulator.events('sentinel', 'host-alice'), [], 'and not kept');
  const unordered = await rejection(
    put([
      { timestamp: now, message: 'later' },
      { timestamp: now - 1, message: 'earlier' },
    ]),
  );
  t.equal(unordered.name, 'InvalidParameterException', 'the limits still hold');
  t.equal(emulator.count('sentinel', 'host-alice'), 2, 'a refused batch is not counted');
});

t.test('the emulator in a child process counts what it accepts, kept or not', async (t) => {
  for (const keepEvents of [true, false]) {
    const logs = await spawnLogsProcess({ keepEvents });
    t.teardown(() => logs.close());
    const client = new CloudWatchLogsClient({ endpoint: logs.url, region: 'us-east-1', credentials: CREDS });
    t.teardown(() => client.destroy());
    await client.send(new CreateLogGroupCommand({ logGroupName: 'g' }));
    await client.send(new CreateLogStreamCommand({ logGroupName: 'g', logStreamName: 's' }));
    const now = Date.now();
    const logEvents = Array.from({ length: 5 }, (_, i) => ({ timestamp: now + i, message: `line ${i}` }));
    await client.send(new PutLogEventsCommand({ logGroupName: 'g', logStreamName: 's', logEvents }));
    t.equal(await logs.count('g', 's'), 5, `count, keepEvents ${keepEvents}`);
    t.equal((await logs.events('g', 's')).length, keepEvents ? 5 : 0, `events, keepEvents ${keepEvents}`);
    t.equal(await logs.count('g', 'no-such-stream'), 0, 'a stream that does not exist counts 0');
  }
});
