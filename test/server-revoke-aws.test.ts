// `sentinel server revoke <id> --aws` and `sentinel enforce prune`, against dynalite and the IAM emulator with the
// real SDK clients: the store first, then one inline policy per revocation on the session's role.
import t from 'tap';
import { startSts } from './support/sts-emulator.js';
import { startIam, type IamEmulator } from './support/iam-emulator.js';
import { sentinel, sentinelInProcess } from './support/cli.js';
import { ADMIN_ARN, adminEnv, revokedLongAgo, startTeamTable, type TeamTable } from './support/team-sessions.js';
import type { HasTeardown } from './support/aws-env.js';

const ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/prod-admin`;
const ADMIN_WRITE = ['iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'];

interface Setup {
  iam: IamEmulator;
  team: TeamTable;
  env: NodeJS.ProcessEnv;
}

async function setup(t: HasTeardown, permissions = ADMIN_WRITE): Promise<Setup> {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const team = await startTeamTable(t);
  const iam = await startIam({ callers: sts, account: ACCOUNT, permissions: { [ADMIN_ARN]: permissions } });
  t.teardown(() => iam.close());
  iam.createRole('prod-admin', { trustPolicy: { Version: '2012-10-17', Statement: [] } });
  const env = { ...adminEnv(t, sts, team.url), AWS_ENDPOINT_URL_IAM: iam.url };
  return { iam, team, env };
}

async function seedSession(team: TeamTable, id: string, opts: { validUntil?: Date; roleArn?: string | null } = {}) {
  const now = Date.now();
  await team.store.create({
    id,
    user: 'alice',
    profile: 'prod',
    mode: 'server',
    started_at: new Date(now - 60_000).toISOString(),
    expires_at: new Date(now + 3_600_000).toISOString(),
    source_identity: `sentinel-alice-direct-${id}`,
    ...(opts.roleArn === null ? {} : { role_arn: opts.roleArn ?? ROLE_ARN }),
    credentials_valid_until: (opts.validUntil ?? new Date(now + 900_000)).toISOString(),
  });
}

const HOUR = 3_600_000;

const revoke = (s: Setup, id: string, ...extra: string[]) =>
  sentinelInProcess(['server', 'revoke', id, '--reason', 'INC-42', '--aws', '--table', s.team.table, ...extra], {
    env: s.env,
  });

t.test('revoke --aws: revoked in the store, then a deny for the session on its role', async (t) => {
  const s = await setup(t);
  const id = '0123456789abcdef';
  await seedSession(s.team, id);
  const out = await revoke(s, id);
  t.equal(out.code, 0, out.stderr);
  t.match(out.stdout, /^Revoked session 0123456789abcdef \(user alice, profile prod\) as secops\.\n/);
  t.match(out.stdout, /AWS: added inline policy sentinel-revoke-0123456789abcdef to role prod-admin/);
  t.equal((await s.team.store.get(id))?.status, 'revoked');
  const doc = JSON.parse(s.iam.role('prod-admin')!.inline.get(`sentinel-revoke-${id}`)!);
  t.same(doc.Statement, [
    {
      Sid: `SentinelRevoke${id}`,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringLike: { 'aws:SourceIdentity': `sentinel-*-${id}` } },
    },
  ]);

  const json = await revoke(s, id, '--json');
  t.equal(json.code, 0, 'a second run finds it revoked and writes the policy again (idempotent)');
  const body = JSON.parse(json.stdout);
  t.equal(body.status, 'revoked');
  t.match(body.aws, { ok: true, role_name: 'prod-admin', policy_name: `sentinel-revoke-${id}`, pruned: [] });
  t.equal(s.iam.role('prod-admin')!.inline.size, 1);
});

t.test('two admins revoking two sessions of one role at once: both policies stick', async (t) => {
  const s = await setup(t);
  const ids = ['1111111111111111', '2222222222222222'];
  for (const id of ids) await seedSession(s.team, id);
  const runs = await Promise.all(
    ids.map((id) =>
      sentinel(t, ['server', 'revoke', id, '--reason', 'INC-7', '--aws', '--table', s.team.table], { env: s.env }),
    ),
  );
  for (const r of runs) t.equal(r.code, 0, r.stderr);
  t.same(
    [...s.iam.role('prod-admin')!.inline.keys()].sort(),
    ids.map((id) => `sentinel-revoke-${id}`),
  );
  t.equal(s.iam.calls.PutRolePolicy, 2);
});

t.test(
  'missing iam:PutRolePolicy: revoked in the store, told the AWS step failed, exit 1; a rerun finishes',
  async (t) => {
    const s = await setup(t, ['iam:ListRolePolicies', 'iam:GetRolePolicy']);
    const id = '3333333333333333';
    await seedSession(s.team, id);
    const out = await revoke(s, id);
    t.equal(out.code, 1);
    t.match(out.stdout, /^Revoked session 3333333333333333/);
    t.match(out.stderr, /^Error: AWS step failed: not allowed to call iam:PutRolePolicy on role prod-admin\nHint: /);
    t.equal((await s.team.store.get(id))?.status, 'revoked');
    t.equal(s.iam.role('prod-admin')!.inline.size, 0);
    const json = await revoke(s, id, '--json');
    t.equal(json.code, 1);
    t.match(JSON.parse(json.stdout).aws, { ok: false, error: { code: 'AwsAccessDenied' } });

    s.iam.grant(ADMIN_ARN, ['iam:PutRolePolicy']);
    const again = await revoke(s, id);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /^Session 3333333333333333 was already revoked in the store \(by secops\)\./);
    t.ok(s.iam.role('prod-admin')!.inline.has(`sentinel-revoke-${id}`));
  },
);

t.test('the 10,240-character budget: prune first, then fail clearly, never a partial write', async (t) => {
  const s = await setup(t);
  const filler = (chars: number) => {
    const base = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: '', Effect: 'Deny', Action: 'x:y', Resource: '*' }],
    });
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'a'.repeat(chars - base.length), Effect: 'Deny', Action: 'x:y', Resource: '*' }],
    });
  };
  const role = s.iam.role('prod-admin')!;
  role.inline.set('team-policy', filler(10_150));
  const lapsedId = '4444444444444444';
  await seedSession(s.team, lapsedId, { validUntil: new Date(Date.now() - 14 * HOUR) });
  await revokedLongAgo(s.team, lapsedId, 14 * HOUR);
  role.inline.set(
    `sentinel-revoke-${lapsedId}`,
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] }),
  );
  t.ok(s.iam.inlineUsage('prod-admin') > 10_000);

  const id = '5555555555555555';
  await seedSession(s.team, id);
  const out = await revoke(s, id);
  t.equal(out.code, 1);
  t.match(
    out.stderr,
    /AWS step failed: role prod-admin has 10150 of 10240 inline-policy characters in use; the revocation needs \d+ more \(after pruning 1 lapsed revocation\)/,
  );
  t.match(out.stderr, /Hint: The revocation policy was not written/);
  t.same([...role.inline.keys()], ['team-policy'], 'the lapsed one was pruned, the new one not written');
  t.equal((await s.team.store.get(id))?.status, 'revoked', 'the store revocation stands');

  role.inline.set('team-policy', filler(9_000));
  const fits = await revoke(s, id);
  t.equal(fits.code, 0, fits.stderr);
  t.ok(role.inline.has(`sentinel-revoke-${id}`));
  t.ok(s.iam.inlineUsage('prod-admin') <= 10_240);
});

t.test('enforce prune deletes only revocations whose credentials lapsed', async (t) => {
  const s = await setup(t);
  const lapsed = 'aaaaaaaaaaaaaaaa';
  const live = 'bbbbbbbbbbbbbbbb';
  const unknown = 'cccccccccccccccc';
  await seedSession(s.team, lapsed, { validUntil: new Date(Date.now() - 14 * HOUR) });
  await revokedLongAgo(s.team, lapsed, 14 * HOUR);
  await seedSession(s.team, live);
  for (const id of [lapsed, live]) t.equal((await revoke(s, id)).code, 0);
  t.equal(
    s.iam.role('prod-admin')!.inline.has(`sentinel-revoke-${lapsed}`),
    false,
    'a session revoked longer ago than any credentials live needs no AWS deny',
  );
  s.iam.role('prod-admin')!.inline.set(`sentinel-revoke-${lapsed}`, '{"Version":"2012-10-17","Statement":[]}');
  s.iam.role('prod-admin')!.inline.set(`sentinel-revoke-${unknown}`, '{"Version":"2012-10-17","Statement":[]}');
  s.iam.role('prod-admin')!.inline.set('unrelated', '{"Version":"2012-10-17","Statement":[]}');

  const out = await sentinelInProcess(['enforce', 'prune', '--table', s.team.table, '--json'], { env: s.env });
  t.equal(out.code, 0, out.stderr);
  const body = JSON.parse(out.stdout);
  t.equal(body.ok, true);
  t.match(body.findings, [
    {
      role_name: 'prod-admin',
      deleted: [`sentinel-revoke-${lapsed}`],
      kept: [
        {
          policy_name: `sentinel-revoke-${live}`,
          why: /revoked at .*: credentials issued just before may stay valid until/,
        },
        { policy_name: `sentinel-revoke-${unknown}`, why: /no session record/ },
      ],
    },
  ]);
  t.same([...s.iam.role('prod-admin')!.inline.keys()].sort(), [
    'sentinel-revoke-bbbbbbbbbbbbbbbb',
    'sentinel-revoke-cccccccccccccccc',
    'unrelated',
  ]);

  const human = await sentinelInProcess(['enforce', 'prune', '--table', s.team.table, '--role', ROLE_ARN], {
    env: s.env,
  });
  t.equal(human.code, 0);
  t.match(human.stdout, /^prod-admin: deleted 0, kept 2\n/);
});

t.test(
  "revoke --aws and prune never trust a credentials_valid_until that may lag the session's last credentials",
  async (t) => {
    const s = await setup(t);
    // The record says the credentials lapsed a minute ago, but the daemon refreshed them seconds before the revoke:
    // touches are coalesced (written every few seconds) and refused once the session is revoked, so the new expiry
    // never reaches the record.
    const refreshed = '6666666666666666';
    await seedSession(s.team, refreshed, { validUntil: new Date(Date.now() - 60_000) });
    const out = await revoke(s, refreshed, '--json');
    t.equal(out.code, 0, out.stderr);
    t.match(JSON.parse(out.stdout).aws, { ok: true, policy_name: `sentinel-revoke-${refreshed}` });
    t.ok(s.iam.role('prod-admin')!.inline.has(`sentinel-revoke-${refreshed}`), 'the deny is written');

    // Revoked 2 hours ago, credentials_valid_until long passed: credentials issued just before that revoke may
    // live 12 hours.
    const recent = '7777777777777777';
    await seedSession(s.team, recent, { validUntil: new Date(Date.now() - 90 * 60_000) });
    await revokedLongAgo(s.team, recent, 2 * HOUR);
    // Revoked 14 hours ago, but its credentials were valid until 30 minutes ago: a session chained from them into
    // the same role (an hour at most) may still be valid.
    const chained = '8888888888888888';
    await seedSession(s.team, chained, { validUntil: new Date(Date.now() - 30 * 60_000) });
    await revokedLongAgo(s.team, chained, 14 * HOUR);
    for (const id of [recent, chained]) {
      s.iam.role('prod-admin')!.inline.set(`sentinel-revoke-${id}`, '{"Version":"2012-10-17","Statement":[]}');
    }
    const pruned = await sentinelInProcess(['enforce', 'prune', '--table', s.team.table, '--json'], { env: s.env });
    t.equal(pruned.code, 0, pruned.stderr);
    const body = JSON.parse(pruned.stdout);
    t.same(body.findings[0].deleted, []);
    t.same(
      body.findings[0].kept.map((k: { policy_name: string }) => k.policy_name).sort(),
      [refreshed, recent, chained].map((id) => `sentinel-revoke-${id}`),
    );
    t.match(
      body.findings[0].kept.find((k: { policy_name: string }) => k.policy_name.endsWith(recent)).why,
      /revoked at/,
    );
    t.equal(s.iam.calls.DeleteRolePolicy, 0);
  },
);

t.test('bad input: --aws without --table, no role on the record, a role that does not exist, bad names', async (t) => {
  const s = await setup(t);
  const noTable = await sentinelInProcess(['server', 'revoke', '0123456789abcdef', '--reason', 'x', '--aws'], {
    env: s.env,
  });
  t.equal(noTable.code, 2);
  t.match(noTable.stderr, /--aws needs --table/);

  const bare = 'dddddddddddddddd';
  await seedSession(s.team, bare, { roleArn: null });
  const out = await revoke(s, bare);
  t.equal(out.code, 1);
  t.match(out.stderr, /AWS step failed: session dddddddddddddddd names no role/);
  t.equal((await s.team.store.get(bare))?.status, 'revoked');

  const ghost = 'eeeeeeeeeeeeeeee';
  await seedSession(s.team, ghost, { roleArn: `arn:aws:iam::${ACCOUNT}:role/ghost` });
  const g = await revoke(s, ghost);
  t.equal(g.code, 1);
  t.match(g.stderr, /AWS step failed: no IAM role named ghost/);

  const badRole = await sentinelInProcess(['enforce', 'prune', '--table', s.team.table, '--role', 'bad role'], {
    env: s.env,
  });
  t.equal(badRole.code, 2);
  const badTable = await sentinelInProcess(['enforce', 'prune', '--table', 'x\u0007'], { env: s.env });
  t.equal(badTable.code, 2);
  t.match(badTable.stderr, /is not a DynamoDB table name/);
  t.equal(s.iam.calls.DeleteRolePolicy, 0);
});
