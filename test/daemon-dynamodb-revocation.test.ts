// Revocation at team scale, end to end (DESIGN §3.4 step 2, §6): a daemon with the DynamoDB session store (dynalite)
// serves a session; an admin elsewhere runs `sentinel server revoke --table` as a separate process; the daemon's very
// next request for that session is refused with 403 SessionRevoked naming who and why, and clients no one here wrote
// (the AWS CLI, the JS SDK default chain) see the refusal. A revoked credential_process session is not replaced by
// asking again. Requires `npm run build` (the CLI runs as a subprocess).
import t from 'tap';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { fetchWithClient, startDaemon } from './support/daemon.js';
import { sentinel, userEnv } from './support/cli.js';
import { ADMIN_NAME, adminEnv, startTeamTable, teamConfig } from './support/team-sessions.js';

const noCredentials = (body: unknown) =>
  !/AccessKeyId|SecretAccessKey|"Token"|SessionToken/.test(JSON.stringify(body ?? {}));

t.test(
  'an admin revokes with --table from another process: the next request is 403 SessionRevoked everywhere',
  async (t) => {
    const team = await startTeamTable(t);
    const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
    const status = await d.client.get<{ store: string; session_table: string | null; server_instance_id: string }>(
      '/v1/status',
    );
    t.match(status, { store: 'dynamodb', session_table: team.table, server_instance_id: /^[0-9a-f]{16}$/ });

    const session = await d.openSession('dev');
    const stored = await team.store.get(session.id);
    t.match(
      stored,
      {
        id: session.id,
        status: 'active',
        user: 'alice',
        profile: 'dev',
        mode: 'server',
        server_instance_id: status.server_instance_id,
      },
      'the session is in the shared table, stamped with this daemon',
    );

    const before = await d.fetch({ transport: 'tcp', token: session.token });
    t.equal(before.status, 200, 'served while active');
    const [cliBefore, sdkBefore] = await Promise.all([
      fetchWithClient('aws-cli', session.url, session.token),
      fetchWithClient('js-sdk', session.url, session.token),
    ]);
    t.equal(cliBefore.code, 0, `the AWS CLI gets credentials before the revoke: ${cliBefore.stderr}`);
    t.equal(sdkBefore.code, 0, `the JS SDK gets credentials before the revoke: ${sdkBefore.stderr}`);
    const assumed = d.sts.calls.AssumeRole;

    const reason = 'laptop reported stolen (INC-4711)';
    const revoke = await sentinel(
      t,
      ['server', 'revoke', session.id, '--reason', reason, '--table', team.table, '--region', 'us-east-1'],
      {
        env: adminEnv(t, d.sts, team.url),
      },
    );
    t.equal(revoke.code, 0, `revoke exits 0: ${revoke.stderr}`);
    t.match(revoke.stdout, new RegExp(`Revoked session ${session.id}.*as ${ADMIN_NAME}`));

    const next = await d.fetch({ transport: 'tcp', token: session.token });
    t.equal(next.status, 403, "the daemon's very next request is refused");
    t.match(next.json, { Code: 'SessionRevoked', code: 'SessionRevoked' });
    t.ok(noCredentials(next.json), 'no credentials in the refusal');
    t.match(next.json.Message, new RegExp(`revoked by ${ADMIN_NAME}`), 'the message says who revoked it');
    t.match(next.json.Message, /laptop reported stolen \(INC-4711\)/, 'and why');
    t.match(next.json.Message, /sentinel use dev/, 'and what to do');
    t.match(next.json.hint, new RegExp(`sentinel server session ${session.id}`));

    const unix = await d.fetch({ transport: 'unix', token: session.token });
    t.equal(unix.status, 403, 'refused on the Unix socket too');
    t.equal(unix.json?.Code, 'SessionRevoked');

    const [cli, sdk, http] = await Promise.all(
      (['aws-cli', 'js-sdk', 'js-from-http'] as const).map((name) => fetchWithClient(name, session.url, session.token)),
    );
    for (const [name, r] of [
      ['aws-cli', cli],
      ['js-sdk', sdk],
      ['js-from-http', http],
    ] as const) {
      t.not(r!.code, 0, `${name} fails`);
      t.equal(r!.credentials, undefined, `${name} got no credentials`);
    }
    t.match(
      cli!.stderr,
      /\(403\).*"Code":"SessionRevoked".*laptop reported stolen/,
      'the AWS CLI shows the code and the reason',
    );
    t.match(
      JSON.parse(http!.stderr),
      { Code: 'SessionRevoked', Message: new RegExp(`revoked by ${ADMIN_NAME}`) },
      'the JS container provider surfaces the code',
    );
    t.equal(d.sts.calls.AssumeRole, assumed, 'nothing reached STS after the revoke');

    const record = await team.store.get(session.id);
    t.match(record, { status: 'revoked', revoked_by: ADMIN_NAME, revoked_reason: reason });
    const viaDaemon = await d.client.get<{ status: string; revoked_by: string }>(`/v1/sessions/${session.id}`);
    t.match(viaDaemon, { status: 'revoked', revoked_by: ADMIN_NAME }, "the daemon's control API reads the same record");

    const lines = (await d.decisions()).filter((l) => l.session_id === session.id && l.event === 'credentials');
    t.ok(
      lines.some((l) => l.outcome === 'deny' && l.error_code === 'SessionRevoked'),
      'the refusals are decision-log lines',
    );
    t.notOk(
      lines.some((l, i) => l.outcome === 'allow' && lines.slice(0, i).some((p) => p.error_code === 'SessionRevoked')),
      'no allow after the first refusal',
    );
  },
);

t.test(
  'revocation is not undone by asking again: credential_process stays refused for that user and profile',
  async (t) => {
    const team = await startTeamTable(t);
    const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
    const user = userEnv(d);

    const first = await sentinel(t, ['credentials', '--profile', 'dev'], { env: user });
    t.equal(first.code, 0, first.stderr);
    t.match(JSON.parse(first.stdout), { Version: 1, AccessKeyId: /^ASIA/, SessionToken: String });

    const implicit = (await team.store.list({ user: 'alice', profile: 'dev' })).items;
    t.equal(implicit.length, 1, 'one implicit session in the table');
    t.match(implicit[0], { mode: 'credential_process', status: 'active' });

    const revoke = await sentinel(
      t,
      [
        'server',
        'revoke',
        implicit[0]!.id,
        '--reason',
        'key leaked in CI logs',
        '--table',
        team.table,
        '--region',
        'us-east-1',
      ],
      {
        env: adminEnv(t, d.sts, team.url),
      },
    );
    t.equal(revoke.code, 0, revoke.stderr);

    const again = await sentinel(t, ['credentials', '--profile', 'dev'], { env: user });
    t.equal(again.code, 1, 'the next credential_process call fails');
    t.equal(again.stdout, '', 'nothing on stdout for the SDK to mistake for credentials');
    t.match(
      again.stderr,
      new RegExp(
        `^Error: session ${implicit[0]!.id} \\(dev\\) was revoked by ${ADMIN_NAME} \\(reason: key leaked in CI logs\\)`,
        'm',
      ),
    );
    t.match(again.stderr, /stays refused until/, 'it says how long');

    const post = await d.fetch({
      transport: 'unix',
      method: 'POST',
      path: '/v1/credentials',
      body: { profile: 'dev' },
    });
    t.equal(post.status, 403);
    t.equal(post.json?.Code, 'SessionRevoked', 'POST /v1/credentials: refused, asked again');
    t.ok(noCredentials(post.json));
    t.equal(
      (await team.store.list({ user: 'alice', profile: 'dev' })).items.length,
      1,
      'no new implicit session was created',
    );

    const other = await sentinel(t, ['credentials', '--profile', 'prod'], { env: user });
    t.equal(other.code, 3, 'another profile is still decided by policy (prod requires a daemon session)');

    const explicit = await d.openSession('dev');
    t.equal(
      (await d.fetch({ transport: 'tcp', token: explicit.token })).status,
      200,
      'an explicit session needs a fresh policy decision, and gets one',
    );
    const opens = (await d.decisions()).filter((l) => l.event === 'session_open' && l.session_id === explicit.id);
    t.match(opens, [{ outcome: 'allow', rule: 'dev-for-alice' }], 'and that decision is logged');
  },
);

t.test('a session past its expiry is refused with SessionExpired and recorded as expired', async (t) => {
  const team = await startTeamTable(t);
  const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
  const session = await d.openSession('dev');
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200);
  // Time passes for this one record: its expires_at moves into the past (the daemon's cached credentials are still
  // fresh, so only the revocation read can refuse them).
  await team.client.send(
    new UpdateItemCommand({
      TableName: team.table,
      Key: { id: { S: session.id } },
      UpdateExpression: 'SET expires_at = :past',
      ExpressionAttributeValues: { ':past': { S: new Date(Date.now() - 1000).toISOString() } },
    }),
  );
  const r = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(r.status, 403);
  t.equal(r.json?.Code, 'SessionExpired');
  t.ok(noCredentials(r.json));
  t.match(r.json?.Message, /expired at .*sentinel use dev/, 'the message says when, and what to do');
  let record = await team.store.get(session.id);
  for (let i = 0; i < 50 && record?.status !== 'expired'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    record = await team.store.get(session.id);
  }
  t.equal(record?.status, 'expired', 'the lapse is recorded in the table');
});

t.test('revoke through the daemon: reasons up to 1024 characters, one line; hostile input refused', async (t) => {
  const team = await startTeamTable(t);
  const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
  const long = await d.openSession('dev');
  const reason = `INC-1 ${'x'.repeat(1018)}`;
  t.equal(reason.length, 1024);
  const r = await sentinel(t, ['server', 'revoke', long.id, '--reason', reason, '--json'], { env: userEnv(d) });
  t.equal(r.code, 0, `a 1024-character reason through the daemon is accepted (the CLI allows it): ${r.stderr}`);
  t.equal(JSON.parse(r.stdout).revoked_reason, reason);
  t.equal((await team.store.get(long.id))?.revoked_reason, reason, 'and stored whole');

  const s = await d.openSession('dev');
  const cases: Array<[string, unknown]> = [
    ['1025 characters', { reason: 'y'.repeat(1025) }],
    ['a newline', { reason: 'first line\nsecond line' }],
    ['an escape sequence', { reason: 'look \u001b[31mred' }],
    ['blank', { reason: '   ' }],
    ['a number', { reason: 42 }],
    ['an unknown field', { reason: 'ok', by: 'someone-else' }],
    ['a megabyte', { reason: 'z'.repeat(1 << 20) }],
  ];
  for (const [what, body] of cases) {
    const res = await d.fetch({ transport: 'unix', method: 'POST', path: `/v1/sessions/${s.id}/revoke`, body });
    t.ok(res.status === 400 || res.status === 413, `${what}: refused (${res.status})`);
    t.ok(res.json?.Code === 'BadRequest' || res.json?.Code === 'PayloadTooLarge', `${what}: ${res.json?.Code}`);
  }
  t.equal((await team.store.get(s.id))?.status, 'active', 'none of them revoked anything');
  t.equal((await d.fetch({ transport: 'tcp', token: s.token })).status, 200);
});
