import t from 'tap';
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  assumeRoleRecord,
  notEnabledRegion,
  roleSessionCallRecord,
  startCloudTrail,
  type CloudTrailEmulator,
} from './support/cloudtrail-emulator.js';
import { emulatorWithClient, rejection } from './support/sdk-client.js';
import type { HasTeardown } from './support/aws-env.js';

const ROLE = 'arn:aws:iam::123456789012:role/prod-admin';
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const creds = { accessKeyId: 'AKIAAUDITOR000000001', secretAccessKey: 'x' };
const T0 = Date.parse('2026-12-01T10:00:00Z');

async function setup(t: HasTeardown, throttle = false) {
  return emulatorWithClient(
    t,
    () => startCloudTrail({ throttle }),
    (config) => new CloudTrailClient(config),
    creds,
  );
}

function seedAssumeRoles(ct: CloudTrailEmulator, n: number): void {
  for (let i = 0; i < n; i++) {
    ct.addEvent(
      assumeRoleRecord({
        callerArn: ALICE,
        roleArn: ROLE,
        time: new Date(T0 + i * 60_000),
        eventId: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
        ...(i % 2 === 0 ? { sourceIdentity: `sentinel-alice-direct-${String(i).padStart(16, '0')}` } : {}),
      }),
    );
  }
}

t.test('a real CloudTrail client looks up events newest first, with CloudTrailEvent as JSON text', async (t) => {
  const { emulator, client } = await setup(t);
  seedAssumeRoles(emulator, 3);
  emulator.addEvent(
    roleSessionCallRecord({
      roleArn: ROLE,
      sessionName: 'sentinel-alice-r1',
      sourceIdentity: 'sentinel-alice-direct-0000000000000000',
      eventName: 'ListBuckets',
      eventSource: 's3.amazonaws.com',
      time: new Date(T0 + 30_000),
    }),
  );
  const out = await client.send(
    new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'AssumeRole' }] }),
  );
  t.equal(out.Events?.length, 3);
  t.same(
    out.Events!.map((e) => e.EventTime?.toISOString()),
    ['2026-12-01T10:02:00.000Z', '2026-12-01T10:01:00.000Z', '2026-12-01T10:00:00.000Z'],
  );
  const newest = out.Events![0]!;
  t.equal(newest.EventName, 'AssumeRole');
  t.equal(newest.EventSource, 'sts.amazonaws.com');
  t.equal(newest.Username, 'alice');
  t.equal(newest.ReadOnly, 'true');
  t.same(newest.Resources, [{ ResourceType: 'AWS::IAM::Role', ResourceName: ROLE }]);
  t.type(newest.CloudTrailEvent, 'string');
  const record = JSON.parse(newest.CloudTrailEvent!);
  t.equal(record.requestParameters.sourceIdentity, 'sentinel-alice-direct-0000000000000002');
  t.equal(record.requestParameters.roleArn, ROLE);
  t.equal(record.userIdentity.sourceIdentity, undefined, 'CloudTrail has no userIdentity.sourceIdentity');
  t.equal(out.NextToken, undefined);

  const calls = await client.send(
    new LookupEventsCommand({
      LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 's3.amazonaws.com' }],
    }),
  );
  t.equal(calls.Events?.length, 1);
  t.equal(
    JSON.parse(calls.Events![0]!.CloudTrailEvent!).userIdentity.sessionContext.sourceIdentity,
    'sentinel-alice-direct-0000000000000000',
  );
  t.equal(calls.Events![0]!.Username, 'sentinel-alice-r1');
});

t.test('time range and paging with NextToken', async (t) => {
  const { emulator, client } = await setup(t);
  seedAssumeRoles(emulator, 7);
  const query: LookupEventsCommandInput = {
    LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'AssumeRole' }],
    StartTime: new Date(T0 + 60_000),
    EndTime: new Date(T0 + 5 * 60_000),
    MaxResults: 2,
  };
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const out = await client.send(new LookupEventsCommand({ ...query, ...(token ? { NextToken: token } : {}) }));
    seen.push(...out.Events!.map((e) => e.EventId!.slice(-1)));
    token = out.NextToken;
    pages++;
  } while (token);
  t.same(seen, ['5', '4', '3', '2', '1'], 'StartTime and EndTime are inclusive, newest first');
  t.equal(pages, 3);

  const first = await client.send(new LookupEventsCommand(query));
  const reused = await rejection(
    client.send(
      new LookupEventsCommand({ ...query, MaxResults: 2, StartTime: new Date(T0), NextToken: first.NextToken }),
    ),
  );
  t.equal(reused.name, 'InvalidNextTokenException', 'a token belongs to its query');
  t.equal(
    (await rejection(client.send(new LookupEventsCommand({ NextToken: 'garbage' })))).name,
    'InvalidNextTokenException',
  );
});

t.test('input rules: one attribute, known keys, time order, MaxResults', async (t) => {
  const { client } = await setup(t);
  const bad = (input: LookupEventsCommandInput) => rejection(client.send(new LookupEventsCommand(input)));
  t.equal(
    (
      await bad({
        LookupAttributes: [
          { AttributeKey: 'EventName', AttributeValue: 'AssumeRole' },
          { AttributeKey: 'Username', AttributeValue: 'alice' },
        ],
      })
    ).name,
    'InvalidLookupAttributesException',
  );
  t.equal(
    (await bad({ LookupAttributes: [{ AttributeKey: 'Nope' as 'EventName', AttributeValue: 'x' }] })).name,
    'InvalidLookupAttributesException',
  );
  t.equal((await bad({ StartTime: new Date(T0 + 1000), EndTime: new Date(T0) })).name, 'InvalidTimeRangeException');
  t.equal((await bad({ MaxResults: 51 })).name, 'InvalidMaxResultsException');
  t.equal((await bad({ MaxResults: 0 })).name, 'InvalidMaxResultsException');
});

t.test('regions have their own history, taken from the request signature', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.addEvent(assumeRoleRecord({ callerArn: ALICE, roleArn: ROLE, time: new Date(T0), region: 'eu-west-1' }));
  t.equal((await client.send(new LookupEventsCommand({}))).Events?.length, 0, 'us-east-1 has none');
  const eu = new CloudTrailClient({ endpoint: emulator.url, region: 'eu-west-1', credentials: creds, maxAttempts: 1 });
  t.teardown(() => eu.destroy());
  t.equal((await eu.send(new LookupEventsCommand({}))).Events?.length, 1);
});

t.test('a region can refuse every call: not enabled (the credentials unknown there) or failing', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.addEvent(assumeRoleRecord({ callerArn: ALICE, roleArn: ROLE, time: new Date(T0), region: 'ap-east-1' }));
  const hk = new CloudTrailClient({ endpoint: emulator.url, region: 'ap-east-1', credentials: creds, maxAttempts: 1 });
  t.teardown(() => hk.destroy());
  emulator.setRegionFailure('ap-east-1', notEnabledRegion);
  const refused = await rejection(hk.send(new LookupEventsCommand({})));
  t.equal(refused.name, 'UnrecognizedClientException', 'the SDK names the exception by its code');
  t.equal(refused.status, 400);
  t.match(refused.message, /security token included in the request is invalid/);
  t.same((await client.send(new LookupEventsCommand({}))).Events, [], 'us-east-1 still answers');
  emulator.setRegionFailure('ap-east-1', { code: 'InternalServerError' });
  const down = await rejection(hk.send(new LookupEventsCommand({})));
  t.equal(down.name, 'InternalServerError');
  t.equal(down.status, 500);
  emulator.setRegionFailure('ap-east-1', null);
  t.equal((await hk.send(new LookupEventsCommand({}))).Events?.length, 1);
  t.same(emulator.callsByRegion, { 'ap-east-1': 3, 'us-east-1': 1 });
});

t.test('more than 2 requests in a second are throttled', async (t) => {
  const { emulator, client } = await setup(t, true);
  await client.send(new LookupEventsCommand({}));
  await client.send(new LookupEventsCommand({}));
  const third = await rejection(client.send(new LookupEventsCommand({})));
  t.equal(third.name, 'ThrottlingException');
  t.equal(third.status, 400);
  t.equal(emulator.throttled, 1);
  await new Promise((r) => setTimeout(r, 1050));
  t.ok((await client.send(new LookupEventsCommand({}))).Events, 'allowed again after a second');
});

t.test('a raw CloudTrailEvent is returned exactly as seeded (for records with missing fields)', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.addEvent(
    { eventTime: '2026-12-01T10:00:00Z', eventName: 'AssumeRole', eventSource: 'sts.amazonaws.com' },
    { rawCloudTrailEvent: '{"eventName":"AssumeRole"' },
  );
  const out = await client.send(new LookupEventsCommand({}));
  t.equal(out.Events![0]!.CloudTrailEvent, '{"eventName":"AssumeRole"');
  t.equal(out.Events![0]!.Username, undefined);
});

t.test('protocol: both target forms, unsigned and malformed requests', async (t) => {
  const { emulator } = await setup(t);
  seedAssumeRoles(emulator, 1);
  const headers = (target: string) => ({
    authorization: `AWS4-HMAC-SHA256 Credential=AKIAX/20261201/us-east-1/cloudtrail/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'ab'.repeat(32)}`,
    'x-amz-date': '20261201T120000Z',
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': target,
  });
  const post = async (body: string, h: Record<string, string>) => {
    const res = await fetch(emulator.url, { method: 'POST', body, headers: h });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const long = await post('{}', headers('com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents'));
  t.equal(long.status, 200);
  t.equal((long.json.Events as unknown[]).length, 1);
  t.equal((await post('{}', headers('CloudTrail_20131101.LookupEvents'))).status, 200);
  t.equal((await post('{}', headers('CloudTrail_20131101.DeleteTrail'))).json.__type, 'UnknownOperationException');
  t.equal((await post('{not json', headers('CloudTrail_20131101.LookupEvents'))).json.__type, 'SerializationException');
  t.equal(
    (await post('{"StartTime":"yesterday"}', headers('CloudTrail_20131101.LookupEvents'))).json.__type,
    'SerializationException',
  );
  const unsigned = await post('{}', { 'content-type': 'application/x-amz-json-1.1' });
  t.equal(unsigned.json.__type, 'MissingAuthenticationTokenException');
});
