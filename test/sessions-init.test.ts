// `sentinel init sessions` against dynalite: creates the table with the right keys and indexes, a second run changes
// nothing, a table of another shape is reported and left alone, and nothing happens without consent. Each outcome runs
// once as the built binary (a subprocess: exit codes and a clean stdout are the contract; requires `npm run build`),
// the other cases run main() in-process; the shape checks also run on hand-made descriptions.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { ensureTable, iamPolicies, shapeProblems, tableDefinition } from '../core/records/table.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';
import { awsEnv } from './support/aws-env.js';
import { startDynalite } from './support/dynalite.js';
import { sentinelInProcess } from './support/cli.js';

const MAIN = new URL('../dist/cli/main.js', import.meta.url).pathname;
if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');

const home = mkdtempSync(join(tmpdir(), 'sentinel-init-'));
t.teardown(() => rmSync(home, { recursive: true, force: true }));
const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDINIT', secretAccessKey: 'x' },
});
t.teardown(() => client.destroy());

const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  AWS_CONFIG_FILE: join(home, 'none'),
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
  ...awsEnv({ dynamodb: dynalite.url }),
  AWS_ACCESS_KEY_ID: 'AKIDINIT',
  AWS_SECRET_ACCESS_KEY: 'x',
};

function sentinel(
  args: string[],
  e: NodeJS.ProcessEnv = env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // stdin is /dev/null: not a terminal, as in CI.
    const child = execFile(process.execPath, [MAIN, ...args], { env: e, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The same command in this process (one at a time). */
const inProcess = (args: string[], e: NodeJS.ProcessEnv = env) => sentinelInProcess(args, { env: e });

const describe = async (name: string) => (await client.send(new DescribeTableCommand({ TableName: name }))).Table!;
const tables = async () => (await client.send(new ListTablesCommand({}))).TableNames ?? [];

t.test('creates the table with the right keys and indexes, then a second run is a no-op', async (t) => {
  // Without AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, as most users run it: the SDK client it builds prints no
  // Node version warning, because the binary silences it.
  const first = await sentinel(['init', 'sessions', '--table', 'team-a', '--region', 'us-east-1', '-y', '--json'], {
    ...env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
  });
  t.equal(first.code, 0, first.stderr);
  t.notMatch(first.stderr, /NodeVersionSupportWarning/);
  const report = JSON.parse(first.stdout);
  t.equal(report.action, 'created');
  t.equal(report.status, 'ACTIVE');
  t.equal(report.region, 'us-east-1');
  t.match(first.stderr, /creating table team-a\n/, 'progress on stderr');
  t.match(first.stderr, /table team-a is ACTIVE\n/);
  const states = Object.fromEntries(
    report.features.map((f: { feature: string; state: string }) => [f.feature, f.state]),
  );
  t.same(states, {
    pay_per_request: 'enabled',
    encryption: 'unknown', // dynalite reports no SSEDescription
    deletion_protection: 'unsupported',
    point_in_time_recovery: 'unsupported',
    ttl: 'unsupported', // dynalite: UnknownOperationException on UpdateTimeToLive
  });

  const desc = await describe('team-a');
  t.same(desc.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
  t.equal(desc.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
  const gsis = Object.fromEntries(
    (desc.GlobalSecondaryIndexes ?? []).map((g) => [
      g.IndexName,
      [g.KeySchema?.map((k) => `${k.AttributeName}:${k.KeyType}`), g.Projection?.ProjectionType],
    ]),
  );
  t.same(gsis, {
    'gsi-user': [['user:HASH', 'created_at:RANGE'], 'ALL'],
    'gsi-status': [['status:HASH', 'created_at:RANGE'], 'ALL'],
    'gsi-profile': [['profile:HASH', 'created_at:RANGE'], 'ALL'],
    'gsi-server-instance': [['server_instance_id:HASH', 'status:RANGE'], 'ALL'],
  });
  t.same(shapeProblems(SESSION_TABLE, desc), []);

  const second = await inProcess(['init', 'sessions', '--table', 'team-a', '--region', 'us-east-1', '-y']);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, /^Table team-a in us-east-1: already in place, ACTIVE\.\n/);
  t.match(second.stdout, /\n {2}ttl {21}unsupported \(UnknownOperationException\)\n/);
  const again = await describe('team-a');
  t.equal(again.CreationDateTime?.getTime(), desc.CreationDateTime?.getTime(), 'the same table, not a new one');
  t.same(
    again.GlobalSecondaryIndexes?.map((g) => g.IndexName),
    desc.GlobalSecondaryIndexes?.map((g) => g.IndexName),
  );
});

t.test('a table with another key schema is reported and not modified (exit 1)', async (t) => {
  await client.send(
    new CreateTableCommand({
      TableName: 'wrong-keys',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  const before = await describe('wrong-keys');
  const r = await sentinel(['init', 'sessions', '--table', 'wrong-keys', '--region', 'us-east-1', '-y']);
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /^Error: table wrong-keys exists with a different shape: key schema is pk \(S, HASH\) \+ sk \(N, RANGE\); expected id \(S, HASH\) only; index gsi-user \(user, created_at\) is missing;/,
  );
  t.match(r.stderr, /\nHint: Sentinel did not change it\./);
  const after = await describe('wrong-keys');
  t.same(after.KeySchema, before.KeySchema);
  t.same(after.AttributeDefinitions, before.AttributeDefinitions);
  t.equal(after.GlobalSecondaryIndexes, undefined, 'no index was added');

  const json = await inProcess(['init', 'sessions', '--table', 'wrong-keys', '--region', 'us-east-1', '-y', '--json']);
  t.equal(json.code, 1);
  const body = JSON.parse(json.stdout);
  t.equal(body.action, 'refused');
  t.equal(body.problems.length, 5, 'the key schema and four missing indexes');
  t.equal(JSON.parse(json.stderr).error.code, 'Conflict');
});

t.test('a table missing an index or projecting less is reported', async (t) => {
  const def = tableDefinition(SESSION_TABLE, 'partial');
  def.GlobalSecondaryIndexes = def.GlobalSecondaryIndexes!.filter((g) => g.IndexName !== 'gsi-profile');
  def.GlobalSecondaryIndexes[0]!.Projection = { ProjectionType: 'KEYS_ONLY' };
  def.AttributeDefinitions = def.AttributeDefinitions!.filter((a) => a.AttributeName !== 'profile');
  await client.send(new CreateTableCommand(def));
  const r = await inProcess(['init', 'sessions', '--table', 'partial', '--region', 'us-east-1', '-y']);
  t.equal(r.code, 1);
  t.match(r.stderr, /index gsi-user projects KEYS_ONLY; expected ALL/);
  t.match(r.stderr, /index gsi-profile \(profile, created_at\) is missing/);
  t.equal((await describe('partial')).GlobalSecondaryIndexes?.length, 3, 'unchanged');
});

t.test('no consent, no change: stdin not a terminal without -y; --plan changes nothing', async (t) => {
  const before = await tables();
  // Both through the binary: the first reads its real stdin (/dev/null), the second runs without
  // AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, as most users do, and prints nothing but the plan.
  const [r, plan] = await Promise.all([
    sentinel(['init', 'sessions', '--table', 'needs-consent', '--region', 'us-east-1']),
    sentinel(['init', 'sessions', '--table', 'planned', '--region', 'eu-west-1', '--plan'], {
      ...env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    }),
  ]);
  t.equal(r.code, 2);
  t.match(r.stderr, /^Error: refusing to create a table without confirmation: stdin is not a terminal\nHint: .*-y/);

  t.equal(plan.code, 0, plan.stderr);
  t.equal(plan.stderr, '', 'nothing on stderr: no NodeVersionSupportWarning');
  t.match(plan.stdout, /^Sentinel will create \(or check\) the DynamoDB table planned in eu-west-1/);
  t.match(plan.stdout, /index gsi-server-instance\s+\(server_instance_id, status\)/);
  t.match(plan.stdout, /IAM policy for each daemon's AWS profile/);
  t.match(plan.stdout, /"arn:aws:dynamodb:eu-west-1:\*:table\/planned\/index\/\*"/);
  t.match(plan.stdout, /Nothing was changed/);

  const planJson = await inProcess([
    'init',
    'sessions',
    '--table',
    'planned',
    '--region',
    'eu-west-1',
    '--plan',
    '--json',
  ]);
  t.equal(planJson.code, 0);
  const body = JSON.parse(planJson.stdout);
  t.same(body.iam.daemon.Statement[0].Action, [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:Query',
    'dynamodb:Scan',
  ]);
  t.same(body.definition.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
  t.same(await tables(), before, 'no table was created by either');
});

t.test('usage errors: no region, bad table name', async (t) => {
  const noRegion = { ...env };
  delete noRegion.AWS_REGION;
  delete noRegion.AWS_DEFAULT_REGION;
  const r = await inProcess(['init', 'sessions', '--table', 'x-table', '-y'], noRegion);
  t.equal(r.code, 2);
  t.match(r.stderr, /^Error: no AWS region/);
  const bad = await inProcess(['init', 'sessions', '--table', 'no/slashes', '--region', 'us-east-1', '-y']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /is not a DynamoDB table name/);
});

t.test('shape checks and IAM policies, in-process', async (t) => {
  const good = tableDefinition(SESSION_TABLE, 'x') as unknown as TableDescription;
  t.same(shapeProblems(SESSION_TABLE, good), []);
  const stringly = {
    ...good,
    AttributeDefinitions: good.AttributeDefinitions!.map((a) =>
      a.AttributeName === 'created_at' ? { ...a, AttributeType: 'N' } : a,
    ),
  } as TableDescription;
  t.match(shapeProblems(SESSION_TABLE, stringly), [
    /gsi-user is keyed \(user, created_at\); expected \(user, created_at\), both strings/,
  ]);
  const swapped = {
    ...good,
    GlobalSecondaryIndexes: good.GlobalSecondaryIndexes!.map((g) =>
      g.IndexName === 'gsi-status'
        ? { ...g, KeySchema: [...g.KeySchema!].reverse().map((k, i) => ({ ...k, KeyType: i ? 'RANGE' : 'HASH' })) }
        : g,
    ),
  } as TableDescription;
  t.match(shapeProblems(SESSION_TABLE, swapped), [/gsi-status is keyed \(created_at, status\)/]);
  t.same(shapeProblems(SESSION_TABLE, {} as TableDescription).length, 5);

  const cn = iamPolicies(SESSION_TABLE, 't1', 'cn-north-1', '123456789012') as {
    daemon: { Statement: Array<{ Resource: string[] }> };
  };
  t.same(cn.daemon.Statement[0]!.Resource, [
    'arn:aws-cn:dynamodb:cn-north-1:123456789012:table/t1',
    'arn:aws-cn:dynamodb:cn-north-1:123456789012:table/t1/index/*',
  ]);

  // Created by ensureTable directly: the library reports the same and a re-run agrees.
  const lines: string[] = [];
  const made = await ensureTable(client, SESSION_TABLE, 'lib-made', { pollMs: 5, onProgress: (l) => lines.push(l) });
  t.equal(made.action, 'created');
  t.ok(
    lines.some((l) => /^waiting for lib-made: table CREATING/.test(l)) || lines.includes('table lib-made is ACTIVE'),
  );
  t.equal((await ensureTable(client, SESSION_TABLE, 'lib-made', { pollMs: 5 })).action, 'exists');
});
