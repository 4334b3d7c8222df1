// `sentinel audit verify | untracked-sessions | calls --all-regions`: the regions from SSM's public parameters, each
// region's CloudTrail read on its own (the emulator keeps a history and a rate limit per region), regions the account
// has not enabled skipped and listed, any other region failure reported and never clean. Real SDK clients throughout.
import t from 'tap';
import { startSts, type StsEmulator } from './support/sts-emulator.js';
import {
  assumeRoleRecord,
  notEnabledRegion,
  roleSessionCallRecord,
  startCloudTrail,
  type CloudTrailEmulator,
} from './support/cloudtrail-emulator.js';
import { startSsm, type SsmEmulator } from './support/ssm-emulator.js';
import { sentinelInProcess } from './support/cli.js';
import { adminEnv, startTeamTable } from './support/team-sessions.js';
import type { HasTeardown } from './support/aws-env.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/prod-admin`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const MALLORY = `arn:aws:iam::${ACCOUNT}:user/mallory`;
const A = 'aaaaaaaaaaaaaaaa';
const FORGED = 'ffffffffffffffff';
const PATH = '/aws/service/global-infrastructure/regions';
// Twelve: more than one page of GetParametersByPath (10) and more than 8 regions read at once.
const REGIONS = [
  'ap-east-1',
  'ap-south-1',
  'eu-central-1',
  'eu-north-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];

interface World {
  sts: StsEmulator;
  ct: CloudTrailEmulator;
  ssm: SsmEmulator;
  env: NodeJS.ProcessEnv;
}

async function world(t: HasTeardown, dynamodbUrl = 'http://127.0.0.1:9'): Promise<World> {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const ct = await startCloudTrail({ throttle: true });
  t.teardown(() => ct.close());
  const ssm = await startSsm();
  t.teardown(() => ssm.close());
  for (const r of REGIONS) {
    ssm.putPublic(`${PATH}/${r}`, r);
    ssm.putPublic(`${PATH}/${r}/longName`, `Region ${r}`);
  }
  // ap-east-1 (Hong Kong) is an opt-in region this account never enabled.
  ct.setRegionFailure('ap-east-1', notEnabledRegion);
  const env = {
    ...adminEnv(t, sts, dynamodbUrl),
    AWS_ENDPOINT_URL_CLOUDTRAIL: ct.url,
    AWS_ENDPOINT_URL_SSM: ssm.url,
  };
  return { sts, ct, ssm, env };
}

const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
type Region = { region: string; status: string; events?: number; findings?: number; error?: { message: string } };
const byRegion = (regions: Region[]) => Object.fromEntries(regions.map((r) => [r.region, r]));

t.test(
  'a finding only in a region nobody listed: missed without --all-regions, found with it; a not-enabled region is skipped',
  async (t) => {
    const team = await startTeamTable(t);
    const { ct, ssm, env } = await world(t, team.url);
    await team.store.create({
      id: A,
      user: 'alice',
      profile: 'prod',
      mode: 'server',
      started_at: ago(60).toISOString(),
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      source_identity: `sentinel-alice-direct-${A}`,
      role_arn: ROLE,
    });
    // The default region (us-east-1) is clean; eu-west-1 has an unstamped AssumeRole and a forged stamp.
    ct.addEvent(
      assumeRoleRecord({
        callerArn: ALICE,
        roleArn: ROLE,
        sourceIdentity: `sentinel-alice-direct-${A}`,
        time: ago(30),
      }),
    );
    ct.addEvent(
      assumeRoleRecord({ callerArn: MALLORY, roleArn: ROLE, time: ago(20), region: 'eu-west-1', eventId: 'ev-west' }),
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: MALLORY,
        roleArn: ROLE,
        sourceIdentity: `sentinel-alice-direct-${FORGED}`,
        time: ago(10),
        region: 'eu-west-1',
        eventId: 'ev-forged-west',
      }),
    );
    ct.addEvent(
      roleSessionCallRecord({
        roleArn: ROLE,
        sessionName: 'sentinel-alice',
        sourceIdentity: `sentinel-alice-direct-${A}`,
        eventName: 'ListBuckets',
        eventSource: 's3.amazonaws.com',
        time: ago(15),
        region: 'sa-east-1',
        eventId: 'call-sa',
      }),
    );

    // The gap: the default region alone says clean.
    const narrow = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--json'], { env });
    t.equal(narrow.code, 0, narrow.stderr);
    t.same(JSON.parse(narrow.stdout).findings, []);
    t.equal(JSON.parse(narrow.stdout).regions, undefined, 'the single-region report is unchanged');
    t.equal(ssm.calls.GetParametersByPath ?? 0, 0, 'without --all-regions no region list is read');

    const all = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions', '--json'], { env });
    t.equal(all.code, 1, all.stderr);
    const body = JSON.parse(all.stdout);
    t.same(
      body.findings.map((f: { event_id: string; region: string }) => `${f.region} ${f.event_id}`),
      ['eu-west-1 ev-west'],
      'the unstamped AssumeRole (the forged stamp is for untracked-sessions, below)',
    );
    t.equal(body.ok, false);
    t.equal(body.incomplete, false, 'a not-enabled region does not make the audit incomplete');
    t.same(
      body.regions.map((r: Region) => r.region),
      REGIONS,
      'every region of both pages of the list, and no sub-path (longName)',
    );
    const regions = byRegion(body.regions);
    t.match(regions['ap-east-1'], { status: 'not_enabled', error: { message: /UnrecognizedClientException/ } });
    t.equal(regions['ap-east-1'].events, undefined, 'a skipped region claims no events scanned');
    t.match(regions['eu-west-1'], { status: 'ok', events: 2, findings: 1 });
    t.match(regions['us-east-1'], { status: 'ok', events: 1, findings: 0 });
    t.match(regions['us-west-2'], { status: 'ok', events: 0, findings: 0 });
    t.equal(ssm.calls.GetParametersByPath, 2, 'the region list read over its two pages');
    t.equal(ct.callsByRegion['ap-east-1'], 1, 'the refused region is asked once, not retried');
    for (const r of REGIONS) t.ok(ct.callsByRegion[r]! >= 1, `${r} asked`);

    // The same in text: per region on stderr, findings on stdout.
    const text = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions'], { env });
    t.equal(text.code, 1, text.stderr);
    t.match(text.stderr, /^ap-east-1: not enabled \(skipped\)$/m);
    t.match(text.stderr, /^eu-west-1: 2 event\(s\) scanned, 1 finding\(s\)$/m);
    t.match(text.stderr, /^us-east-1: 1 event\(s\) scanned, 0 finding\(s\)$/m);
    t.match(text.stderr, /^12 region\(s\): 11 read, 1 not enabled \(skipped\), 0 failed$/m);
    t.match(text.stdout, /ev-west/);

    // The forged stamp used in eu-west-1: untracked-sessions finds it only across all regions.
    const untrackedArgs = ['audit', 'untracked-sessions', '--table', team.table, '--since', '1h', '--json'];
    const missed = await sentinelInProcess(untrackedArgs, { env });
    t.equal(missed.code, 0, missed.stderr);
    const forged = await sentinelInProcess([...untrackedArgs, '--all-regions'], { env });
    t.equal(forged.code, 1, forged.stderr);
    t.match(JSON.parse(forged.stdout).findings, [
      { event_id: 'ev-forged-west', region: 'eu-west-1', why: `no session ${FORGED} in the session table (forged)` },
    ]);
    t.equal(JSON.parse(forged.stdout).findings.length, 1);

    // Nothing found and a region skipped: exit 0 (calls lists, it finds nothing wrong).
    const calls = await sentinelInProcess(
      ['audit', 'calls', '--session', A, '--since', '1h', '--all-regions', '--json'],
      {
        env,
      },
    );
    t.equal(calls.code, 0, calls.stderr);
    const c = JSON.parse(calls.stdout);
    t.match(c, { ok: true, incomplete: false, findings: [{ event_id: 'call-sa', region: 'sa-east-1' }] });
    t.match(byRegion(c.regions)['sa-east-1'], { status: 'ok', findings: 1 });
    t.match(byRegion(c.regions)['ap-east-1'], { status: 'not_enabled' });
  },
);

t.test(
  'a region that fails (5xx, throttled beyond the retries) makes the audit incomplete and says which',
  async (t) => {
    const { ct, env } = await world(t);
    ct.addEvent(
      assumeRoleRecord({ callerArn: ALICE, roleArn: ROLE, sourceIdentity: `sentinel-alice-direct-${A}`, time: ago(5) }),
    );
    ct.setRegionFailure('eu-west-3', { code: 'InternalServerError' });
    ct.setRegionFailure('eu-north-1', { code: 'ThrottlingException', message: 'Rate exceeded' });

    const r = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions', '--json'], { env });
    t.equal(r.code, 2, 'no finding, but two regions unread: could not check, not clean');
    const body = JSON.parse(r.stdout);
    t.match(body, { ok: false, incomplete: true, findings: [] });
    const regions = byRegion(body.regions);
    t.match(regions['eu-west-3'], {
      status: 'failed',
      error: { code: 'CloudTrailUnavailable', message: /eu-west-3.*InternalServerError/ },
    });
    t.match(regions['eu-north-1'], { status: 'failed', error: { message: /eu-north-1.*ThrottlingException/ } });
    t.match(regions['ap-east-1'], { status: 'not_enabled' });
    t.match(regions['us-east-1'], { status: 'ok', events: 1 });
    t.ok(ct.callsByRegion['eu-west-3']! > 1, `retried before giving up (${ct.callsByRegion['eu-west-3']} calls)`);
    // Throttling's retries back off for seconds: once is enough; eu-west-3 still fails below.
    ct.setRegionFailure('eu-north-1', null);

    const text = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions'], { env });
    t.equal(text.code, 2);
    t.match(text.stderr, /^eu-west-3: FAILED: CloudTrail LookupEvents in eu-west-3 failed \(InternalServerError\)$/m);
    t.match(
      text.stderr,
      /^12 region\(s\): 10 read, 1 not enabled \(skipped\), 1 failed: INCOMPLETE, eu-west-3 could not be read$/m,
    );

    // A finding elsewhere is still reported as one (exit 1), with the audit still marked incomplete.
    ct.addEvent(
      assumeRoleRecord({ callerArn: MALLORY, roleArn: ROLE, time: ago(3), region: 'us-west-1', eventId: 'ev-w1' }),
    );
    const found = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions', '--json'], { env });
    t.equal(found.code, 1);
    t.match(JSON.parse(found.stdout), { ok: false, incomplete: true, findings: [{ event_id: 'ev-w1' }] });
  },
);

t.test(
  "credentials refused in the caller's own region, or in every region, are a failure, not opt-in regions",
  async (t) => {
    const { ct, env } = await world(t);
    ct.setRegionFailure('us-east-1', notEnabledRegion);
    const home = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions', '--json'], { env });
    t.equal(home.code, 2);
    t.match(byRegion(JSON.parse(home.stdout).regions)['us-east-1'], {
      status: 'failed',
      error: { message: /refused in your own region/ },
    });

    for (const r of REGIONS) ct.setRegionFailure(r, notEnabledRegion);
    const none = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions'], {
      env: { ...env, AWS_REGION: 'eu-west-1' },
    });
    t.equal(none.code, 2, 'no region read at all is never clean');
    t.match(none.stderr, /0 read.*INCOMPLETE/);
  },
);

t.test('--region with --all-regions is a usage error; nothing is asked of AWS', async (t) => {
  const { ct, ssm, env } = await world(t);
  for (const cmd of [
    ['verify', '--since', '1h'],
    ['untracked-sessions', '--table', 'sentinel-sessions', '--since', '1h'],
    ['calls', '--session', A],
  ]) {
    const r = await sentinelInProcess(['audit', ...cmd, '--all-regions', '--region', 'eu-west-1'], { env });
    t.equal(r.code, 2, cmd[0]);
    t.match(r.stderr, /--all-regions and --region cannot be used together/);
  }
  t.equal(ssm.calls.GetParametersByPath ?? 0, 0);
  t.equal(ct.calls.LookupEvents ?? 0, 0);
});

t.test('a region list that is not a list of region codes is refused: nothing builds an endpoint from it', async (t) => {
  for (const [name, value] of [
    [`${PATH}/x`, '../x'],
    [`${PATH}/big`, 'a'.repeat(10 * 1024)],
    [`${PATH}/evil`, 'us-east-1.evil.example'],
    [`${PATH}/at`, 'evil.example/us-east-1'],
    [`${PATH}/us-west-2`, 'eu-west-1'],
    [`${PATH}/empty`, ''],
  ] as const) {
    const { ct, ssm, env } = await world(t);
    ssm.putPublic(name, value);
    const r = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions', '--json'], { env });
    t.equal(r.code, 2, `${name}: ${r.stderr.slice(0, 200)}`);
    const body = JSON.parse(r.stdout);
    t.match(body, {
      ok: false,
      findings: [],
      error: { code: 'AwsCallFailed', message: /list of AWS regions.*refused/ },
    });
    t.ok(body.error.message.length < 300, 'the hostile value is not echoed whole');
    t.equal(ct.calls.LookupEvents ?? 0, 0, `${name}: no region read`);
  }
  // No list at all (an SSM answering nothing) is refused too: "all regions" of nothing is not clean.
  const { ssm, env } = await world(t);
  ssm.reset();
  const empty = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--all-regions', '--json'], { env });
  t.equal(empty.code, 2);
  t.match(JSON.parse(empty.stdout).error.message, /no region at all/);
});
