// `daemon status` shows what the start-up check of a DynamoDB session table found (daemon/lifecycle/session-table.ts):
// the table answered, or why it cannot be used — a table of another kind named as such — so a misconfiguration shows
// before anyone needs credentials. On dynalite, with the daemon in process and the plain status through the CLI.
import t, { type Test } from 'tap';
import { REQUEST_TABLE } from '../core/approvals/record.js';
import { ensureTable } from '../core/records/table.js';
import { sentinelInProcess } from './support/cli.js';
import { startDaemon, type DaemonHarness } from './support/daemon.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';
import { until } from './support/wait.js';

type Check = { checked_at: string; code: string | null; problem: string | null } | null;

async function checked(d: DaemonHarness) {
  const status = await until(
    () => d.client.get<{ session_table: string; session_table_check: Check }>('/v1/status'),
    (s) => s.session_table_check !== null,
    10_000,
  );
  const plain = await sentinelInProcess(['--config', d.configFile, 'daemon', 'status'], { env: { ...d.env } });
  return { check: status.session_table_check!, table: status.session_table, plain };
}

/** A daemon whose session table is `table`; undefined: the team's session table. */
async function daemonOn(t: Test, table?: string) {
  const team = await startTeamTable(t);
  await ensureTable(team.client, REQUEST_TABLE, 'team-requests', { pollMs: 5 });
  const d = await startDaemon(t, {
    config: teamConfig(table ?? team.table),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  });
  return { d, table: table ?? team.table };
}

t.test('a session table that answers: reachable at start', async (t) => {
  const { d, table: configured } = await daemonOn(t);
  const { check, table, plain } = await checked(d);
  t.equal(table, configured);
  t.equal(check.problem, null);
  t.equal(check.code, null);
  t.ok(Date.parse(check.checked_at) > 0, 'with the time it was checked');
  t.equal(plain.code, 0, plain.stderr);
  t.match(
    plain.stdout,
    new RegExp(`^sessions: 0 active \\(dynamodb store, table ${configured}: reachable at start\\)`, 'm'),
  );
});

t.test('a table of another kind: named in status before anyone asks for credentials', async (t) => {
  const { d } = await daemonOn(t, 'team-requests');
  const { check, plain } = await checked(d);
  t.equal(check.code, 'SessionStoreUnavailable');
  t.match(check.problem, /team-requests lacks the indexes of a session table .*another kind of table/);
  t.equal(plain.code, 0, plain.stderr);
  t.match(
    plain.stdout,
    /^sessions: .*table team-requests: NOT USABLE at start \(SessionStoreUnavailable: the table team-requests lacks the indexes/m,
  );
});

t.test('the memory store: no table, no check', async (t) => {
  const d = await startDaemon(t, {});
  const status = await d.client.get<{ session_table: string | null; session_table_check: Check }>('/v1/status');
  t.equal(status.session_table, null);
  t.equal(status.session_table_check, null);
  const plain = await sentinelInProcess(['--config', d.configFile, 'daemon', 'status'], { env: { ...d.env } });
  t.match(plain.stdout, /^sessions: 0 active \(memory store\),/m);
});
