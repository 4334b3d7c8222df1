// A team daemon's life in the shared table (DESIGN §3, §6): it stamps its server_instance_id on every session it
// creates and reports it; last_access_at/request_count are coalesced off the hot path and flushed at stop; a graceful
// stop (in-process close, or SIGTERM to `sentinel daemon run`) ends its active sessions, leaves revoked ones as they
// are; `sentinel server sessions --server-instance` lists a daemon's sessions through the daemon. Requires
// `npm run build` (the CLI and the subprocess daemon).
import t from 'tap';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Session } from '../core/sessions/types.js';
import { startDaemon } from './support/daemon.js';
import { sentinel, userEnv } from './support/cli.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';

const touchWrites = (body: any) =>
  body?.UpdateExpression !== undefined && Object.values(body?.ExpressionAttributeNames ?? {}).includes('request_count');

t.test(
  'server_instance_id stamped and reported; touches coalesced, flushed at stop; stop ends active sessions',
  async (t) => {
    const team = await startTeamTable(t, { proxy: true });
    // A flush interval longer than the test: every touch write below is the one the stop flushes.
    const d = await startDaemon(t, {
      config: teamConfig(),
      env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
      touchFlushMs: 600_000,
    });
    const status = await d.client.get<{ server_instance_id: string; store: string; session_table: string }>(
      '/v1/status',
    );
    const instance = status.server_instance_id;
    t.match(instance, /^[0-9a-f]{16}$/);

    const dev = await d.openSession('dev');
    const prod = await d.openSession('prod');
    const gone = await d.openSession('dev');
    const cp = await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } });
    t.equal(cp.status, 200);
    const implicit = (await team.store.list({ user: 'alice', profile: 'dev' })).items.find(
      (s) => s.mode === 'credential_process',
    )!;
    t.ok(implicit, 'the implicit session is in the table');

    for (let i = 0; i < 20; i += 1)
      t.equal((await d.fetch({ transport: i % 2 ? 'tcp' : 'unix', token: dev.token })).status, 200);
    for (let i = 0; i < 2; i += 1)
      await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } });
    t.equal(team.proxy!.count('UpdateItem', touchWrites), 0, 'no touch written on the request path');
    t.equal((await team.store.get(dev.id))?.request_count, 0, 'the table has not been written for them yet');
    const reads = team.proxy!.operations.filter((o) => o.op === 'GetItem' && o.body?.Key?.id?.S === dev.id);
    t.ok(
      reads.length >= 20 && reads.every((o) => o.body.ConsistentRead === true),
      'every request read its session, strongly consistent',
    );

    await team.store.revoke(gone.id, 'secops', 'rotating the dev role');

    const listed = await sentinel(t, ['server', 'sessions', '--server-instance', instance, '--json'], {
      env: userEnv(d),
    });
    t.equal(listed.code, 0, `--server-instance through the daemon: ${listed.stderr}`);
    const ids = (JSON.parse(listed.stdout) as { sessions: Session[] }).sessions.map((s) => s.id);
    t.same(ids.sort(), [dev.id, prod.id, gone.id, implicit.id].sort(), "the daemon's sessions, and only those");
    const other = await sentinel(t, ['server', 'sessions', '--server-instance', '0000000000000000', '--json'], {
      env: userEnv(d),
    });
    t.equal(other.code, 0, other.stderr);
    t.same(JSON.parse(other.stdout).sessions, [], 'another instance has none here');
    const bad = await d.fetch({
      transport: 'unix',
      path: `/v1/sessions?server_instance_id=${encodeURIComponent('x y;$(id)')}`,
    });
    t.equal(bad.status, 400, 'a malformed instance id is refused');
    t.equal(bad.json?.Code, 'BadRequest');
    const long = await d.fetch({ transport: 'unix', path: `/v1/sessions?server_instance_id=${'a'.repeat(129)}` });
    t.equal(long.status, 400, 'an oversized one too');
    const twice = await d.fetch({ transport: 'unix', path: `/v1/sessions?server_instance_id=a&server_instance_id=b` });
    t.equal(twice.status, 400, 'and one given twice');

    await d.stop();

    const after = new Map((await team.store.list({ server_instance_id: instance })).items.map((s) => [s.id, s]));
    t.equal(after.size, 4, 'gsi-server-instance holds every session this daemon created');
    t.match(
      after.get(dev.id),
      { status: 'ended', request_count: 20, last_access_at: String, server_instance_id: instance },
      'the pending touch was written, then the session ended',
    );
    t.match(after.get(prod.id), { status: 'ended', request_count: 0 });
    t.match(after.get(implicit.id), { status: 'ended', mode: 'credential_process', request_count: 3 });
    t.match(
      after.get(gone.id),
      { status: 'revoked', revoked_by: 'secops' },
      'a session revoked meanwhile stays revoked',
    );
    t.equal(
      team.proxy!.count('UpdateItem', (b) => touchWrites(b) && b.Key.id.S === dev.id),
      1,
      'twenty requests, one touch write',
    );
    t.equal(
      team.proxy!.count('UpdateItem', (b) => touchWrites(b) && b.Key.id.S === implicit.id),
      1,
    );
    t.equal(
      (await team.store.list({ server_instance_id: instance, status: 'active' })).items.length,
      0,
      'nothing of it is left active',
    );
    t.match(
      d.logs(),
      new RegExp(`"event":"session_store_ready".*"server_instance_id":"${instance}"`),
      'the start logged the table check with its instance id',
    );
    t.match(d.logs(), /"event":"sessions_ended","count":3/);
  },
);

t.test('SIGTERM to `sentinel daemon run`: its sessions end in the table', async (t) => {
  const team = await startTeamTable(t);
  const d = await startDaemon(t, {
    mode: 'subprocess',
    config: teamConfig(),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });
  const status = await d.client.get<{ server_instance_id: string }>('/v1/status');
  const s = await d.openSession('dev');
  for (let i = 0; i < 3; i += 1) t.equal((await d.fetch({ transport: 'tcp', token: s.token })).status, 200);
  t.match(await team.store.get(s.id), { status: 'active', server_instance_id: status.server_instance_id });
  await d.stop();
  t.same(await d.exited(), { code: 0, signal: null }, 'a clean exit');
  t.match(await team.store.get(s.id), {
    status: 'ended',
    request_count: 3,
    server_instance_id: status.server_instance_id,
  });
});

t.test(
  'at stop: a lapsed session is recorded as expired; a table refusing writes does not hold the stop',
  async (t) => {
    const team = await startTeamTable(t, { proxy: true });
    const d = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
    const lapsed = await d.openSession('dev');
    const live = await d.openSession('dev');
    await team.client.send(
      new UpdateItemCommand({
        TableName: team.table,
        Key: { id: { S: lapsed.id } },
        UpdateExpression: 'SET expires_at = :past',
        ExpressionAttributeValues: { ':past': { S: new Date(Date.now() - 1000).toISOString() } },
      }),
    );
    await d.stop();
    t.equal((await team.store.get(lapsed.id))?.status, 'expired', 'past its expiry: expired, not ended');
    t.equal((await team.store.get(live.id))?.status, 'ended');

    const d2 = await startDaemon(t, { config: teamConfig(), env: { AWS_ENDPOINT_URL_DYNAMODB: team.url } });
    const stuck = await d2.openSession('dev');
    team.proxy!.fail('UpdateItem', 'ThrottlingException');
    await d2.stop();
    t.match(
      d2.logs(),
      new RegExp(`"event":"session_end_failed","session_id":"${stuck.id}","code":"SessionStoreUnavailable"`),
      'the failure is logged',
    );
    t.match(d2.logs(), /"event":"stopped"/, 'and the daemon stopped anyway');
    team.proxy!.fail('UpdateItem', null);
    t.equal(
      (await team.store.get(stuck.id))?.status,
      'active',
      'the record stays active until its expiry (its token died with the daemon)',
    );
  },
);
