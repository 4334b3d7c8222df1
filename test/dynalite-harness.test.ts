import t from 'tap';
import { DynamoDBClient, ListTablesCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite } from './support/dynalite.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const creds = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

t.test('dynalite answers a real SDK client on loopback and closes cleanly', async (t) => {
  const db = await startDynalite();
  const client = new DynamoDBClient({ endpoint: db.url, region: 'us-east-1', credentials: creds });
  const out = await client.send(new ListTablesCommand({}));
  t.same(out.TableNames, []);
  client.destroy();
  await db.close();
  await db.close(); // idempotent
});

t.test('with a path, a restarted dynalite on the same port keeps its tables', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dynalite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = await startDynalite({ path: dir });
  t.teardown(() => first.close());
  const client = new DynamoDBClient({ endpoint: first.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
  await client.send(
    new CreateTableCommand({
      TableName: 'tbl1',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  await first.close();
  await t.rejects(client.send(new ListTablesCommand({})), 'stopped dynalite refuses');
  const second = await startDynalite({ path: dir, port: first.port });
  t.teardown(() => second.close());
  const out = await client.send(new ListTablesCommand({}));
  t.same(out.TableNames, ['tbl1']);
  client.destroy();
  await second.close();
});
