// L10: a listing (or a lookup by id) pointed at another kind of Sentinel table (`requests --table <break-glass table>`, `breakglass list
// --table <requests table>`, a session table) is refused with a usage error naming the table and what it holds,
// instead of answering "nothing matches"; the right table still lists. On dynalite, through the CLI in process.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUEST_TABLE } from '../core/approvals/record.js';
import { BREAKGLASS_TABLE, EVENT_INDEXES, EVENT_KIND } from '../core/breakglass/record.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import type { SentinelError } from '../core/errors.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';
import { ensureTable } from '../core/records/table.js';
import { cleanEnv, sentinelInProcess } from './support/cli.js';
import { startDynalite } from './support/dynalite.js';

const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDKIND', secretAccessKey: 'x' },
});
t.teardown(() => client.destroy());
await ensureTable(client, REQUEST_TABLE, 'team-requests', { pollMs: 5 });
await ensureTable(client, BREAKGLASS_TABLE, 'team-breakglass', { pollMs: 5 });
await ensureTable(client, SESSION_TABLE, 'team-sessions', { pollMs: 5 });

const home = mkdtempSync(join(tmpdir(), 'sentinel-table-kind-'));
t.teardown(() => rmSync(home, { recursive: true, force: true }));
const env = cleanEnv({
  HOME: home,
  AWS_ENDPOINT_URL_DYNAMODB: dynalite.url,
  AWS_ACCESS_KEY_ID: 'AKIDKIND',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_REGION: 'us-east-1',
});
const cli = (args: string[]) => sentinelInProcess(args, { env });

t.test('requests listing: another kind of table is refused, naming it', async (t) => {
  const bg = await cli(['requests', '--table', 'team-breakglass']);
  t.equal(bg.code, 2, bg.stderr);
  t.match(bg.stderr, /table team-breakglass is a break-glass table .*not an approval request table/);
  t.match(bg.stderr, /requests\.table in config\.yaml/);
  const sessions = await cli(['requests', '--pending', '--table', 'team-sessions']);
  t.equal(sessions.code, 2, sessions.stderr);
  t.match(sessions.stderr, /table team-sessions is a session table .*not an approval request table/);
  const right = await cli(['requests', '--table', 'team-requests']);
  t.equal(right.code, 0, right.stderr);
  t.match(right.stderr, /No requests match/);
});

t.test('breakglass list: another kind of table is refused, naming it', async (t) => {
  const req = await cli(['breakglass', 'list', '--table', 'team-requests']);
  t.equal(req.code, 2, req.stderr);
  t.match(req.stderr, /table team-requests is an approval request table .*not a break-glass table/);
  t.match(req.stderr, /breakglass\.table in config\.yaml/);
  const right = await cli(['breakglass', 'list', '--table', 'team-breakglass']);
  t.equal(right.code, 0, right.stderr);
  t.match(right.stderr + right.stdout, /No break-glass events match/);
});

t.test('an id looked up in another kind of table: the wrong table is named, not a missing record', async (t) => {
  const id = 'a'.repeat(16);
  const req = await cli(['requests', 'show', id, '--table', 'team-breakglass']);
  t.equal(req.code, 2, req.stderr);
  t.match(req.stderr, /table team-breakglass is a break-glass table .*not an approval request table/);
  const bg = await cli(['breakglass', 'show', id, '--table', 'team-sessions']);
  t.equal(bg.code, 2, bg.stderr);
  t.match(bg.stderr, /table team-sessions is a session table .*not a break-glass table/);
  // In the right table the same id is simply not there.
  const missingRequest = await cli(['requests', 'show', id, '--table', 'team-requests']);
  t.not(missingRequest.code, 0);
  t.match(missingRequest.stderr, new RegExp(`no approval request ${id}`));
  const missingEvent = await cli(['breakglass', 'show', id, '--table', 'team-breakglass']);
  t.not(missingEvent.code, 0);
  t.match(missingEvent.stderr, new RegExp(`no break-glass event ${id}`));
});

t.test(
  'a store pointed at another kind of table (a daemon misconfigured): its index query names the problem',
  async (t) => {
    const events = new DynamoRecordStore(EVENT_KIND, { client, table: 'team-requests', ownsClient: false });
    const error = await events.queryAll(EVENT_INDEXES.invoker, 'bob').then(
      () => null,
      (e: unknown) => e as SentinelError,
    );
    t.ok(error, 'refused');
    t.equal(error!.code, BREAKGLASS_TABLE.unavailable);
    t.equal(
      error!.message,
      'the table team-requests lacks the indexes of a break-glass table (gsi-invoker, gsi-status, gsi-profile): it is another kind of table',
    );
    t.match(error!.hint, /`sentinel init breakglass` creates a break-glass table/);
    t.notMatch(error!.message, /specified index/, "AWS's own text is not passed on");
  },
);
