// `sentinel audit verify | untracked-sessions | calls` against the CloudTrail emulator (throttled to 2 requests/s,
// paginated) and the session table in dynalite, through the real SDK clients.
import t from 'tap';
import { startSts } from './support/sts-emulator.js';
import {
  assumeRoleRecord,
  roleSessionCallRecord,
  startCloudTrail,
  type CloudTrailEmulator,
} from './support/cloudtrail-emulator.js';
import { sentinelInProcess } from './support/cli.js';
import { adminEnv, revokedLongAgo, startTeamTable } from './support/team-sessions.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/prod-admin`;
const ROLE2 = `arn:aws:iam::${ACCOUNT}:role/billing`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const MALLORY = `arn:aws:iam::${ACCOUNT}:user/mallory`;
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const U = 'cccccccccccccccc';

t.test(
  'CloudTrail audits across pages, throttled: unstamped, forged (no session, another user, another role)',
  async (t) => {
    const sts = await startSts();
    t.teardown(() => sts.close());
    const team = await startTeamTable(t);
    const ct: CloudTrailEmulator = await startCloudTrail({ throttle: true });
    t.teardown(() => ct.close());
    const env = { ...adminEnv(t, sts, team.url), AWS_ENDPOINT_URL_CLOUDTRAIL: ct.url };
    const now = Date.now();
    for (const [id, user] of [
      [A, 'alice'],
      [B, 'bob'],
    ] as const) {
      await team.store.create({
        id,
        user,
        profile: 'prod',
        mode: 'server',
        started_at: new Date(now - 3_600_000).toISOString(),
        expires_at: new Date(now + 3_600_000).toISOString(),
        source_identity: `sentinel-${user}-direct-${id}`,
        role_arn: ROLE,
      });
    }
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    // 60 genuine stamped AssumeRoles: more than one page of 50.
    for (let i = 0; i < 60; i++) {
      ct.addEvent(
        assumeRoleRecord({
          callerArn: ALICE,
          roleArn: ROLE,
          sourceIdentity: `sentinel-alice-direct-${A}`,
          time: at(30 + i / 10),
        }),
      );
    }
    ct.addEvent(assumeRoleRecord({ callerArn: MALLORY, roleArn: ROLE, time: at(10), eventId: 'ev-unstamped' }));
    ct.addEvent(
      assumeRoleRecord({
        callerArn: MALLORY,
        roleArn: ROLE,
        sourceIdentity: 'other-x',
        time: at(11),
        eventId: 'ev-other',
      }),
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: MALLORY,
        roleArn: ROLE,
        sourceIdentity: `sentinel-mallory-direct-${U}`,
        time: at(12),
        eventId: 'ev-no-session',
      }),
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: MALLORY,
        roleArn: ROLE,
        sourceIdentity: `sentinel-alice-direct-${B}`,
        time: at(13),
        eventId: 'ev-other-user',
      }),
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: MALLORY,
        roleArn: ROLE2,
        sourceIdentity: `sentinel-alice-direct-${A}`,
        time: at(14),
        eventId: 'ev-other-role',
      }),
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: MALLORY,
        roleArn: ROLE,
        sourceIdentity: 'sentinel-\u001b[2Jx',
        time: at(15),
        eventId: 'ev-garbled',
      }),
    );
    ct.addEvent(
      {
        eventTime: at(16).toISOString(),
        eventName: 'AssumeRole',
        eventSource: 'sts.amazonaws.com',
        eventID: 'ev-broken',
      },
      { rawCloudTrailEvent: '{"eventName": "AssumeRole", ' },
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: ALICE,
        roleArn: ROLE,
        sourceIdentity: `sentinel-alice-direct-${A}`,
        time: at(60 * 30),
      }),
    );
    ct.addEvent(
      roleSessionCallRecord({
        roleArn: ROLE,
        sessionName: 'sentinel-alice-r1',
        sourceIdentity: `sentinel-alice-direct-${A}`,
        eventName: 'ListBuckets',
        eventSource: 's3.amazonaws.com',
        time: at(5),
        eventId: 'call-1',
      }),
    );
    ct.addEvent(
      roleSessionCallRecord({
        roleArn: ROLE,
        sessionName: 'sentinel-bob-r2',
        sourceIdentity: `sentinel-bob-direct-${B}`,
        eventName: 'GetObject',
        eventSource: 's3.amazonaws.com',
        time: at(6),
      }),
    );
    ct.addEvent({
      eventTime: at(7).toISOString(),
      eventName: 'DescribeInstances',
      eventSource: 'ec2.amazonaws.com',
      userIdentity: 'not an object',
    });

    const started = Date.now();
    const verify = await sentinelInProcess(['audit', 'verify', '--since', '2h', '--json'], { env });
    t.equal(verify.code, 1, verify.stderr);
    const v = JSON.parse(verify.stdout);
    t.equal(v.ok, false);
    t.same(v.findings.map((f: { event_id: string; why: string }) => `${f.event_id}: ${f.why}`).sort(), [
      'ev-broken: unreadable event: CloudTrailEvent is not JSON',
      'ev-other: AssumeRole with a SourceIdentity Sentinel did not set',
      'ev-unstamped: AssumeRole without a SourceIdentity',
    ]);
    t.match(
      v.findings.find((f: { event_id: string }) => f.event_id === 'ev-unstamped'),
      { role_arn: ROLE, principal: MALLORY, source_identity: null },
    );
    t.match(v.roles, [
      { role_arn: ROLE2, stamped: 1, unstamped: 0 },
      { role_arn: ROLE, stamped: 63, unstamped: 2, around_sentinel: [MALLORY] },
    ]);
    t.ok(ct.calls.LookupEvents >= 2, 'more than one page');
    t.equal(ct.throttled, 0, 'paced under the 2 requests/s limit: never throttled');
    t.ok(Date.now() - started >= 400, 'pages are paced');

    const human = await sentinelInProcess(['audit', 'verify', '--since', '2h'], { env });
    t.equal(human.code, 1);
    t.equal(human.stdout.trim().split('\n').length, 3, 'findings only on stdout');
    t.match(human.stderr, `${ROLE}: 63 stamped, 2 not (by ${MALLORY})`);

    const untracked = await sentinelInProcess(
      ['audit', 'untracked-sessions', '--table', team.table, '--since', '2h', '--json'],
      { env },
    );
    t.equal(untracked.code, 1, untracked.stderr);
    const u = JSON.parse(untracked.stdout);
    t.same(u.findings.map((f: { event_id: string; why: string }) => `${f.event_id}: ${f.why}`).sort(), [
      'ev-broken: unreadable event: CloudTrailEvent is not JSON',
      'ev-garbled: a sentinel- stamp Sentinel does not build (forged)',
      `ev-no-session: no session ${U} in the session table (forged)`,
      `ev-other-role: session ${A} is for role ${ROLE} (forged)`,
      `ev-other-user: session ${B} belongs to user bob, not alice (forged)`,
    ]);
    const uh = await sentinelInProcess(['audit', 'untracked-sessions', '--table', team.table, '--since', '2h'], {
      env,
    });
    t.match(uh.stderr, /^64 Sentinel stamp\(s\) checked against team-sessions: 5 untracked\.\n$/);
    t.notMatch(uh.stdout, /\u001b/, 'a forged stamp cannot drive the terminal');
    t.match(uh.stdout, /sentinel-\\u001b\[2Jx/);

    const calls = await sentinelInProcess(['audit', 'calls', '--session', A, '--since', '1h', '--json'], { env });
    t.equal(calls.code, 0, calls.stderr);
    t.match(JSON.parse(calls.stdout), {
      ok: true,
      findings: [
        {
          event_id: 'call-1',
          event_name: 'ListBuckets',
          event_source: 's3.amazonaws.com',
          role_arn: ROLE,
          source_identity: `sentinel-alice-direct-${A}`,
        },
      ],
    });
    t.equal(JSON.parse(calls.stdout).findings.length, 1);

    const narrow = await sentinelInProcess(['audit', 'verify', '--since', '2h', '--until', '20m', '--json'], { env });
    t.equal(narrow.code, 0, 'only stamped events before 20 minutes ago');
    t.same(JSON.parse(narrow.stdout).findings, []);
  },
);

t.test(
  'a Sentinel session chained into another role: verify reports the chain, untracked-sessions does not call it forged',
  async (t) => {
    // AWS carries a session's SourceIdentity into every role it assumes in turn. Whether the chained AssumeRole shows the
    // stamp in requestParameters or only in the caller's sessionContext, Sentinel did not decide it: verify reports it
    // as a chain (not as "stamped"), and untracked-sessions checks only that the stamp names the user's real session.
    const sts = await startSts();
    t.teardown(() => sts.close());
    const team = await startTeamTable(t);
    const ct: CloudTrailEmulator = await startCloudTrail();
    t.teardown(() => ct.close());
    const env = { ...adminEnv(t, sts, team.url), AWS_ENDPOINT_URL_CLOUDTRAIL: ct.url };
    const now = Date.now();
    const stamp = `sentinel-alice-direct-${A}`;
    await team.store.create({
      id: A,
      user: 'alice',
      profile: 'prod',
      mode: 'server',
      started_at: new Date(now - 3_600_000).toISOString(),
      expires_at: new Date(now - 1_800_000).toISOString(),
      source_identity: stamp,
      role_arn: ROLE,
    });
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    const aliceInProd = `arn:aws:sts::${ACCOUNT}:assumed-role/prod-admin/sentinel-alice-r1`;
    ct.addEvent(
      assumeRoleRecord({ callerArn: ALICE, roleArn: ROLE, sourceIdentity: stamp, time: at(50), eventId: 'ev-origin' }),
    );
    // Chained after the session expired, into another role: only the stamp's session is Sentinel's.
    ct.addEvent(
      assumeRoleRecord({
        callerArn: aliceInProd,
        roleArn: ROLE2,
        callerSourceIdentity: stamp,
        time: at(10),
        eventId: 'ev-chain-bare',
      }),
    );
    ct.addEvent(
      assumeRoleRecord({
        callerArn: aliceInProd,
        roleArn: ROLE2,
        sourceIdentity: stamp,
        callerSourceIdentity: stamp,
        time: at(9),
        eventId: 'ev-chain-shown',
      }),
    );
    // A chain from a forged stamp is still forged.
    const forged = `sentinel-alice-direct-${U}`;
    ct.addEvent(
      assumeRoleRecord({
        callerArn: aliceInProd,
        roleArn: ROLE2,
        sourceIdentity: forged,
        callerSourceIdentity: forged,
        time: at(8),
        eventId: 'ev-chain-forged',
      }),
    );

    const verify = await sentinelInProcess(['audit', 'verify', '--since', '2h', '--json'], { env });
    t.equal(verify.code, 1, verify.stderr);
    const v = JSON.parse(verify.stdout);
    t.same(v.findings.map((f: { event_id: string; why: string }) => `${f.event_id}: ${f.why}`).sort(), [
      `ev-chain-bare: AssumeRole chained from a Sentinel session (${stamp}): the stamp carries over, but Sentinel did not decide this role`,
      `ev-chain-forged: AssumeRole chained from a Sentinel session (${forged}): the stamp carries over, but Sentinel did not decide this role`,
      `ev-chain-shown: AssumeRole chained from a Sentinel session (${stamp}): the stamp carries over, but Sentinel did not decide this role`,
    ]);
    t.match(v.roles, [
      { role_arn: ROLE2, stamped: 0, unstamped: 3 },
      { role_arn: ROLE, stamped: 1, unstamped: 0 },
    ]);

    const untracked = await sentinelInProcess(
      ['audit', 'untracked-sessions', '--table', team.table, '--since', '2h', '--json'],
      { env },
    );
    t.equal(untracked.code, 1, untracked.stderr);
    t.same(
      JSON.parse(untracked.stdout).findings.map((f: { event_id: string; why: string }) => `${f.event_id}: ${f.why}`),
      [`ev-chain-forged: no session ${U} in the session table (forged)`],
      'the real chain is not called forged for its other role or its later time; the forged one is',
    );
  },
);

t.test('bad input: times, regions, session ids, tables; CloudTrail refusing', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const ct = await startCloudTrail({ throttle: false });
  t.teardown(() => ct.close());
  const env = { ...adminEnv(t, sts, 'http://127.0.0.1:9'), AWS_ENDPOINT_URL_CLOUDTRAIL: ct.url };
  for (const args of [
    ['verify'],
    ['verify', '--since', 'yesterday'],
    ['verify', '--since', '1h', '--until', '2h'],
    ['verify', '--since', '1h', '--region', 'mars\u0007'],
    ['verify', '--since', '1h', '--region', 'us-east-1', '--region', 'mars'],
    ['calls', '--session', 'XYZ'],
    ['untracked-sessions', '--since', '1h', '--table', 'a b'],
  ]) {
    const r = await sentinelInProcess(['audit', ...args], { env });
    t.equal(r.code, 2, `exit 2: ${args.join(' ')}`);
    t.equal(r.stdout.includes('\u0007'), false);
    t.notMatch(r.stderr, /\u0007/);
  }
  t.equal(ct.calls.LookupEvents ?? 0, 0, 'nothing asked of CloudTrail');

  ct.setFailure('LookupEvents', { code: 'InternalServerError', status: 500 });
  const down = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--json'], { env });
  t.equal(down.code, 2);
  t.match(JSON.parse(down.stdout), { ok: false, findings: [], error: { code: 'CloudTrailUnavailable' } });
  // DESIGN §8: with --json, the error on stderr too, as every command prints it.
  t.match(JSON.parse(down.stderr), { error: { code: 'CloudTrailUnavailable', hint: /LookupEvents/ } });
});

t.test(
  'untracked-sessions: a real session stamp replayed outside its lifetime, or with another marker, is forged',
  async (t) => {
    const sts = await startSts();
    t.teardown(() => sts.close());
    const team = await startTeamTable(t);
    const ct = await startCloudTrail({ throttle: false });
    t.teardown(() => ct.close());
    const env = { ...adminEnv(t, sts, team.url), AWS_ENDPOINT_URL_CLOUDTRAIL: ct.url };
    const now = Date.now();
    const iso = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const LIVE = '1111111111111111';
    const LAPSED = '2222222222222222';
    const REVOKED = '3333333333333333';
    for (const [id, startedAgo, expiresAgo] of [
      [LIVE, 60, -60],
      [LAPSED, 300, 240],
      [REVOKED, 300, -300],
    ] as const) {
      await team.store.create({
        id,
        user: 'alice',
        profile: 'prod',
        mode: 'server',
        started_at: iso(startedAgo),
        expires_at: iso(expiresAgo),
        source_identity: `sentinel-alice-direct-${id}`,
        role_arn: ROLE,
      });
    }
    // Revoked 200 minutes ago: the admin's revoke is what set updated_at then.
    await revokedLongAgo(team, REVOKED, 200 * 60_000, now);
    const stamp = (id: string, minutesAgo: number, eventId: string, marker = 'direct') =>
      ct.addEvent(
        assumeRoleRecord({
          callerArn: ALICE,
          roleArn: ROLE,
          sourceIdentity: `sentinel-alice-${marker}-${id}`,
          time: new Date(now - minutesAgo * 60_000),
          eventId,
        }),
      );
    stamp(LIVE, 30, 'ok-live');
    stamp(LAPSED, 270, 'ok-lapsed');
    stamp(REVOKED, 250, 'ok-before-revoke');
    stamp(LIVE, 90, 'ev-before-start');
    stamp(LAPSED, 20, 'ev-after-expiry');
    stamp(REVOKED, 100, 'ev-after-revoke');
    stamp(LIVE, 25, 'ev-other-marker', 'breakglass');

    const r = await sentinelInProcess(
      ['audit', 'untracked-sessions', '--table', team.table, '--since', '6h', '--json'],
      { env },
    );
    t.equal(r.code, 1, r.stderr);
    const findings = JSON.parse(r.stdout).findings as Array<{ event_id: string; why: string }>;
    t.same(findings.map((f) => f.event_id).sort(), [
      'ev-after-expiry',
      'ev-after-revoke',
      'ev-before-start',
      'ev-other-marker',
    ]);
    t.match(
      findings.find((f) => f.event_id === 'ev-after-revoke')!.why,
      /outside session 3333333333333333's life.*revoked/,
    );
    t.match(
      findings.find((f) => f.event_id === 'ev-other-marker')!.why,
      `session ${LIVE} is stamped sentinel-alice-direct-${LIVE}, not sentinel-alice-breakglass-${LIVE} (forged)`,
    );
  },
);

t.test(
  'a CloudTrail that pages in a loop (the same NextToken forever): could not check, exit 2, not a hang',
  async (t) => {
    const sts = await startSts();
    t.teardown(() => sts.close());
    const ct = await startCloudTrail({ throttle: false });
    t.teardown(() => ct.close());
    const env = { ...adminEnv(t, sts, 'http://127.0.0.1:9'), AWS_ENDPOINT_URL_CLOUDTRAIL: ct.url };
    ct.addEvent(assumeRoleRecord({ callerArn: ALICE, roleArn: ROLE, time: new Date(Date.now() - 60_000) }));
    ct.setStuckNextToken('c3R1Y2s=');
    const r = await sentinelInProcess(['audit', 'verify', '--since', '1h', '--json'], { env });
    t.equal(r.code, 2, r.stderr);
    t.match(JSON.parse(r.stdout), {
      ok: false,
      findings: [],
      error: { code: 'CloudTrailUnavailable', message: /NextToken it had already given/ },
    });
    t.ok(ct.calls.LookupEvents <= 3, `gave up at the repeated token (${ct.calls.LookupEvents} calls)`);
  },
);
