// Approvals through the built `sentinel` binary (dist/), with distinct people the STS emulator tells apart: alice
// (the requester, through her daemon) is refused `exec prod` with the `sentinel request prod --reason` hint and files
// a request; bob is not an approver and alice may not approve her own (both NotApprover, exit 3); carol approves by
// name, and alice's `exec prod` runs; carol revokes, and it is refused again; dave, listed by an ARN pattern (an IAM
// Identity Center session), approves the next request with the real CLI.
import t from 'tap';
import { BASE_ARN, startDaemon } from './support/daemon.js';
import { sentinel } from './support/cli.js';
import {
  TEAM_REQUESTS,
  approvalsConfig,
  personEnv,
  startRequestsTable,
  startTeamTable,
} from './support/team-sessions.js';

const POLICY = `version: "1"
rules:
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
approvals:
  - name: prod-approvers
    profiles: [prod]
    approvers: [carol, "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_*/dave@example.com"]
    max_duration: 2h
`;

const PEOPLE = {
  bob: { key: 'AKIAPERSONBOB0000001', arn: 'arn:aws:iam::123456789012:user/bob' },
  carol: { key: 'AKIAPERSONCAROL00001', arn: 'arn:aws:iam::123456789012:user/carol' },
  dave: {
    key: 'AKIAPERSONDAVE000001',
    arn: 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b2c3d4e5f6a7b/dave@example.com',
  },
  // alice with keys of her own, outside her daemon: still the requester by principal ARN.
  alice: { key: 'AKIAPERSONALICE00001', arn: BASE_ARN },
};

t.test('request, NotApprover for bob and the requester, approve by name and by ARN pattern, revoke', async (t) => {
  const team = await startTeamTable(t);
  await startRequestsTable(team);
  const d = await startDaemon(t, {
    policy: POLICY,
    config: approvalsConfig(),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });
  // An approver's machine: their own keys, the team's config and the policy in force (approvers are checked against it).
  const approver = (who: keyof typeof PEOPLE) =>
    personEnv(t, d.sts, team.url, PEOPLE[who], {
      '.config/sentinel/config.yaml': `region: us-east-1\nrequests: { table: ${TEAM_REQUESTS} }\n`,
      '.config/sentinel/policy.yaml': POLICY,
    });
  const [bob, carol, dave, aliceOwnKeys] = [approver('bob'), approver('carol'), approver('dave'), approver('alice')];
  const alice = { ...d.env };
  const execProd = () => sentinel(t, ['exec', 'prod', '--', 'true'], { env: alice });

  const refused = await execProd();
  t.equal(refused.code, 3, 'exec prod is refused as a denial (exit 3)');
  t.match(refused.stderr, /Hint: .*sentinel request prod --reason/, 'with how to ask, for this profile');

  const filed = await sentinel(t, ['request', 'prod', '--reason', 'deploy hotfix for INC-42', '--json'], {
    env: alice,
  });
  t.equal(filed.code, 0, filed.stderr);
  const request = JSON.parse(filed.stdout) as { id: string; status: string };
  t.equal(request.status, 'pending');

  const [byBob, byAlice] = await Promise.all([
    sentinel(t, ['approve', request.id, '--json'], { env: bob }),
    sentinel(t, ['approve', request.id], { env: aliceOwnKeys }),
  ]);
  t.equal(byBob.code, 3, 'bob is not an approver: exit 3');
  t.equal(JSON.parse(byBob.stdout || byBob.stderr).error.code, 'NotApprover');
  t.equal(byAlice.code, 3, 'the requester cannot approve her own request');
  t.match(byAlice.stderr, /Error: .*your own request/);

  const approved = await sentinel(t, ['approve', request.id, '--comment', 'ok for INC-42'], { env: carol });
  t.equal(approved.code, 0, approved.stderr);
  t.match(approved.stdout, new RegExp(`Approved request ${request.id} \\(alice, prod\\): approved by carol`));
  t.equal((await execProd()).code, 0, 'alice can exec prod under the approval');

  // --table after the subcommand reaches it (carol runs no daemon, so without it this would exit 4).
  const shown = await sentinel(t, ['requests', 'show', request.id, '--table', TEAM_REQUESTS, '--json'], { env: carol });
  t.equal(shown.code, 0, shown.stderr);
  t.equal(JSON.parse(shown.stdout).approver, 'carol');

  const revoked = await sentinel(t, ['requests', 'revoke', request.id, '--reason', 'incident over'], { env: carol });
  t.equal(revoked.code, 0, revoked.stderr);
  t.equal((await execProd()).code, 3, 'revoked: exec prod is refused again');

  const next = await sentinel(t, ['request', 'prod', '--reason', 'second try at the hotfix', '--json'], { env: alice });
  const second = JSON.parse(next.stdout) as { id: string };
  const byDave = await sentinel(t, ['approve', second.id, '--json'], { env: dave });
  t.equal(byDave.code, 0, `dave approves through the ARN pattern: ${byDave.stderr}`);
  t.equal(JSON.parse(byDave.stdout).approver, 'dave@example.com');
  t.equal((await execProd()).code, 0, 'served under the approval dave gave');

  // Paging, from the table (an approver) and through the daemon (the requester): newest first, one per page.
  for (const [how, args, env] of [
    ['table', ['requests', '--for-profile', 'prod'], carol],
    ['daemon', ['requests', '--mine'], alice],
  ] as const) {
    const page1 = await sentinel(t, [...args, '--limit', '1', '--json'], { env });
    t.equal(page1.code, 0, `${how}: ${page1.stderr}`);
    const one = JSON.parse(page1.stdout) as { requests: Array<{ id: string }>; next_cursor: string | null };
    t.same(
      one.requests.map((r) => r.id),
      [second.id],
      `${how}: the newest first`,
    );
    t.type(one.next_cursor, 'string', `${how}: a cursor, since more match`);
    const page2 = await sentinel(t, [...args, '--limit', '1', '--cursor', one.next_cursor!, '--json'], { env });
    const two = JSON.parse(page2.stdout) as { requests: Array<{ id: string }>; next_cursor: string | null };
    t.same(
      two.requests.map((r) => r.id),
      [request.id],
      `${how}: then the older one`,
    );
    t.equal(two.next_cursor, null, `${how}: the last page says so`);
    const text = await sentinel(t, [...args, '--limit', '1'], { env });
    t.match(text.stderr, `More match: add --cursor ${one.next_cursor}`, `${how}: text output says how to go on`);
  }
  const badCursor = await sentinel(t, ['requests', '--mine', '--cursor', 'bogus'], { env: alice });
  t.equal(badCursor.code, 2, 'a cursor it did not print is a usage error');

  // An approver is checked against the policy in force: with none that is valid, nothing is decided (fail closed).
  const third = JSON.parse(
    (await sentinel(t, ['request', 'prod', '--reason', 'third try at the hotfix', '--json'], { env: alice })).stdout,
  ) as { id: string };
  const carolBrokenPolicy = personEnv(t, d.sts, team.url, PEOPLE.carol, {
    '.config/sentinel/config.yaml': `region: us-east-1\nrequests: { table: ${TEAM_REQUESTS} }\n`,
    '.config/sentinel/policy.yaml': 'version: "1"\nrules: [\n',
  });
  const blind = await sentinel(t, ['approve', third.id, '--json'], { env: carolBrokenPolicy });
  t.equal(blind.code, 1, 'no valid policy: an error, not a decision');
  const error = JSON.parse(blind.stdout || blind.stderr).error as { code: string; message: string; hint: string };
  t.equal(error.code, 'PolicyUnavailable');
  t.match(error.message, /^no valid policy for prod: /);
  t.match(error.hint, /Approvers are checked against the policy in force/);
  const still = await sentinel(t, ['requests', 'show', third.id, '--table', TEAM_REQUESTS, '--json'], { env: carol });
  t.equal(JSON.parse(still.stdout).status, 'pending', 'and the request is still pending');

  // --status expired reads pending and approved records and keeps the lapsed ones: none of these has lapsed yet.
  const expired = await sentinel(t, ['requests', '--status', 'expired', '--json'], { env: carol });
  t.equal(expired.code, 0, expired.stderr);
  t.same(JSON.parse(expired.stdout).requests, [], 'nothing has lapsed');
  const pending = await sentinel(t, ['requests', '--status', 'pending', '--json'], { env: carol });
  t.same(
    (JSON.parse(pending.stdout).requests as Array<{ id: string }>).map((r) => r.id),
    [third.id],
    '--status pending lists the one still open',
  );
});
