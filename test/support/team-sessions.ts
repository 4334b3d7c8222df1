// A team setup for daemon tests with the DynamoDB session store: dynalite (optionally behind the counting proxy), the
// session table created as `sentinel init sessions` creates it, a store an admin's machine would use, the config a
// daemon needs to use that table, and the environment of an admin who runs `sentinel server revoke --table`
// elsewhere (no daemon, own AWS keys, identity from the STS emulator).
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REQUEST_KIND, REQUEST_TABLE, type ApprovalRequest } from '../../core/approvals/record.js';
import { DynamoRecordStore } from '../../core/records/dynamodb.js';
import { DynamoSessionStore } from '../../core/sessions/dynamodb.js';
import { ensureTable } from '../../core/records/table.js';
import { SESSION_TABLE } from '../../core/sessions/schema.js';
import type { HasTeardown } from './aws-env.js';
import { cleanEnv } from './cli.js';
import { startDynamoProxy, type DynamoProxy } from './dynamodb-proxy.js';
import { startDynalite, type Dynalite } from './dynalite.js';
import type { StsEmulator } from './sts-emulator.js';

export const TEAM_TABLE = 'team-sessions';
export const ADMIN_KEY = 'AKIDSECOPSADMIN00001';
export const ADMIN_ARN = 'arn:aws:iam::111122223333:user/secops';
/** The policy user name STS reports for ADMIN_ARN: what revoked_by records. */
export const ADMIN_NAME = 'secops';

export interface TeamTable {
  dynalite: Dynalite;
  /** Present with `proxy: true`: what the daemon talks to, counting operations. */
  proxy?: DynamoProxy;
  /** The endpoint daemons and admins use (the proxy's when there is one). */
  url: string;
  table: string;
  /** An admin's view of the table (straight to dynalite, never through the proxy). */
  store: DynamoSessionStore;
  client: DynamoDBClient;
}

export async function startTeamTable(
  t: HasTeardown,
  options: { proxy?: boolean; port?: number; path?: string; table?: string } = {},
): Promise<TeamTable> {
  const table = options.table ?? TEAM_TABLE;
  const dynalite = await startDynalite({ port: options.port, path: options.path });
  t.teardown(() => dynalite.close());
  const client = new DynamoDBClient({
    endpoint: dynalite.url,
    region: 'us-east-1',
    credentials: { accessKeyId: ADMIN_KEY, secretAccessKey: 'admin-secret' },
    maxAttempts: 1,
  });
  t.teardown(() => client.destroy());
  await ensureTable(client, SESSION_TABLE, table, { pollMs: 5 });
  const store = new DynamoSessionStore({ client, table, ownsClient: false });
  let proxy: DynamoProxy | undefined;
  if (options.proxy) {
    proxy = await startDynamoProxy(dynalite.url);
    t.teardown(() => proxy!.close());
  }
  return { dynalite, proxy, url: proxy?.url ?? dynalite.url, table, store, client };
}

export const TEAM_REQUESTS = 'team-requests';

/** The team's approval requests table beside its session table (as `sentinel init approvals` makes it), and an
 * approver's view of it (straight to dynalite). */
export async function startRequestsTable(team: TeamTable): Promise<DynamoRecordStore<ApprovalRequest>> {
  await ensureTable(team.client, REQUEST_TABLE, TEAM_REQUESTS, { pollMs: 5 });
  return new DynamoRecordStore(REQUEST_KIND, { client: team.client, table: TEAM_REQUESTS, ownsClient: false });
}

/** config.yaml of a team daemon that serves approvals: teamConfig with the requests table, and `extra`. */
export const approvalsConfig = (extra = '') => teamConfig(undefined, `requests: { table: ${TEAM_REQUESTS} }\n${extra}`);

/** config.yaml of a team daemon: the session table, and the profile Sentinel uses for its own AWS calls. */
export function teamConfig(table = TEAM_TABLE, extra = ''): string {
  return `aws_profile: base\nregion: us-east-1\nsessions: { store: dynamodb, table: ${table} }\n${extra}`;
}

/** An admin's shell on another machine: own keys, no Sentinel config, no daemon. */
export function adminEnv(t: HasTeardown, sts: StsEmulator, dynamodbUrl: string): NodeJS.ProcessEnv {
  return personEnv(t, sts, dynamodbUrl, { key: ADMIN_KEY, arn: ADMIN_ARN });
}

/**
 * Another person's shell (an approver's, say): own access key, which the STS emulator maps to `arn`, no daemon, and
 * `files` (paths under the home, e.g. `.config/sentinel/config.yaml`) written 0600 in 0700 directories, as a careful
 * user keeps them (policy files are checked like ssh keys).
 */
export function personEnv(
  t: HasTeardown,
  sts: StsEmulator,
  dynamodbUrl: string,
  who: { key: string; arn: string },
  files: Record<string, string> = {},
): NodeJS.ProcessEnv {
  sts.setIdentity(who.key, who.arn);
  const home = mkdtempSync(join(tmpdir(), 'sentinel-person-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(home, path)), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, path), text, { mode: 0o600 });
  }
  return cleanEnv({
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_RUNTIME_DIR: join(home, 'run'),
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_ACCESS_KEY_ID: who.key,
    AWS_SECRET_ACCESS_KEY: 'person-secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl,
  });
}

/** Revokes session `id` (in the store only) as if it happened `agoMs` ago: the revoke's write is what sets updated_at. */
export async function revokedLongAgo(team: TeamTable, id: string, agoMs: number, now = Date.now()): Promise<void> {
  await team.store.revoke(id, 'secops', 'INC-0');
  await team.client.send(
    new UpdateItemCommand({
      TableName: team.table,
      Key: { id: { S: id } },
      UpdateExpression: 'SET updated_at = :u',
      ExpressionAttributeValues: { ':u': { S: new Date(now - agoMs).toISOString() } },
    }),
  );
}
