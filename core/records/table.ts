// Creating and checking a table of a given shape (`sentinel init sessions`, and every other table the record layer
// uses). The key schema and the indexes are required and checked exactly; a table that differs is reported and left alone. Encryption, point-in-time recovery,
// deletion protection and TTL are protections, not structure: each is attempted, and the report says which took
// effect (dynalite, for one, has no UpdateTimeToLive and reports no encryption).
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../errors.js';
import { storeUnavailable } from './aws-errors.js';
import { TABLE_SETUP_ACTIONS, keyAttributes, type TableShape } from './shape.js';

export type FeatureName = 'pay_per_request' | 'encryption' | 'point_in_time_recovery' | 'deletion_protection' | 'ttl';
/** enabled = this run turned it on; already = it was on; unsupported = the endpoint has no such operation;
 * failed = the endpoint refused (the error name says why); unknown = the endpoint does not report it. */
export type FeatureState = 'enabled' | 'already' | 'unsupported' | 'failed' | 'unknown';

export interface FeatureResult {
  feature: FeatureName;
  state: FeatureState;
  error?: string;
}

export interface TableReport {
  table: string;
  /** created = this run created it; exists = it was there with the right shape. */
  action: 'created' | 'exists';
  status: string;
  features: FeatureResult[];
}

export function tableDefinition(shape: TableShape, table: string): CreateTableCommandInput {
  return {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes(shape).map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [{ AttributeName: shape.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: shape.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.hash, KeyType: 'HASH' },
        { AttributeName: i.range, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    SSESpecification: { Enabled: true, SSEType: 'KMS' },
    DeletionProtectionEnabled: true,
  };
}

/** Every way an existing table differs from the definition, in words; empty when it has the right shape. */
export function shapeProblems(shape: TableShape, desc: TableDescription): string[] {
  const key = shape.partitionKey;
  const problems: string[] = [];
  const types = new Map((desc.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  const keys = desc.KeySchema ?? [];
  const hash = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = keys.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (hash !== key || range !== undefined || types.get(key) !== 'S') {
    const found = [
      hash && `${hash} (${types.get(hash) ?? '?'}, HASH)`,
      range && `${range} (${types.get(range) ?? '?'}, RANGE)`,
    ]
      .filter(Boolean)
      .join(' + ');
    problems.push(`key schema is ${found || 'missing'}; expected ${key} (S, HASH) only`);
  }
  const indexes = new Map((desc.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g]));
  for (const want of shape.indexes) {
    const got = indexes.get(want.name);
    if (!got) {
      problems.push(`index ${want.name} (${want.hash}, ${want.range}) is missing`);
      continue;
    }
    const gh = got.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const gr = got.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (gh !== want.hash || gr !== want.range || types.get(want.hash) !== 'S' || types.get(want.range) !== 'S') {
      problems.push(
        `index ${want.name} is keyed (${gh ?? '-'}, ${gr ?? '-'}); expected (${want.hash}, ${want.range}), both strings`,
      );
    }
    if (got.Projection?.ProjectionType !== 'ALL') {
      problems.push(`index ${want.name} projects ${got.Projection?.ProjectionType ?? 'nothing'}; expected ALL`);
    }
  }
  return problems;
}

export async function describeTable(
  client: DynamoDBClient,
  shape: TableShape,
  table: string,
): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (err) {
    if ((err as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw storeUnavailable(err, table, shape);
  }
}

function tableReady(desc: TableDescription | undefined): boolean {
  return desc?.TableStatus === 'ACTIVE' && (desc.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
}

export interface EnsureOptions {
  /** Progress lines (the CLI writes them to stderr). */
  onProgress?: (line: string) => void;
  pollMs?: number;
  timeoutMs?: number;
}

/**
 * Creates the table when it is missing, waits until it and its indexes are ACTIVE, then turns on the protections.
 * A table that exists with the right shape is left as it is apart from protections that are off; one with another
 * shape is refused (Conflict) without any change.
 */
export async function ensureTable(
  client: DynamoDBClient,
  shape: TableShape,
  table: string,
  options: EnsureOptions = {},
): Promise<TableReport> {
  const progress = options.onProgress ?? (() => {});
  let desc = await describeTable(client, shape, table);
  let action: TableReport['action'] = 'exists';
  if (desc) {
    const problems = shapeProblems(shape, desc);
    if (problems.length) throw wrongShape(table, problems);
    progress(`table ${table} exists with the expected keys and indexes`);
  } else {
    progress(`creating table ${table}`);
    try {
      desc = (await client.send(new CreateTableCommand(tableDefinition(shape, table)))).TableDescription;
      action = 'created';
    } catch (err) {
      // Someone else created it between our look and our create: check what they made.
      if ((err as { name?: string }).name !== 'ResourceInUseException') throw storeUnavailable(err, table, shape);
      desc = await describeTable(client, shape, table);
      const problems = desc ? shapeProblems(shape, desc) : [];
      if (problems.length) throw wrongShape(table, problems);
    }
  }
  desc = await waitActive(client, shape, table, desc, progress, options);
  const features: FeatureResult[] = [
    {
      feature: 'pay_per_request',
      state:
        desc.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST'
          ? action === 'created'
            ? 'enabled'
            : 'already'
          : 'unknown',
    },
    encryptionState(desc, action),
    await ensureDeletionProtection(client, table, desc, action),
    await ensurePointInTimeRecovery(client, table, options.pollMs ?? 2000),
    await ensureTtl(client, table, shape.ttlAttribute),
  ];
  return { table, action, status: desc.TableStatus ?? 'ACTIVE', features };
}

function wrongShape(table: string, problems: string[]): SentinelError {
  return new SentinelError('Conflict', `table ${table} exists with a different shape: ${problems.join('; ')}`, {
    details: { table, problems },
    hint: 'Sentinel did not change it. Use another --table name, or migrate or delete that table yourself.',
  });
}

async function waitActive(
  client: DynamoDBClient,
  shape: TableShape,
  table: string,
  first: TableDescription | undefined,
  progress: (line: string) => void,
  options: EnsureOptions,
): Promise<TableDescription> {
  // First look soon (small tables are ACTIVE within seconds), then every pollMs.
  const pollMs = options.pollMs ?? 2000;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 10 * 60_000);
  let desc = first;
  let wait = Math.min(250, pollMs);
  while (!tableReady(desc)) {
    const pending = (desc?.GlobalSecondaryIndexes ?? [])
      .filter((g) => g.IndexStatus !== 'ACTIVE')
      .map((g) => g.IndexName);
    const elapsed = Math.round((Date.now() - started) / 1000);
    progress(
      `waiting for ${table}: table ${desc?.TableStatus ?? 'unknown'}${pending.length ? `, indexes not yet active: ${pending.join(', ')}` : ''} (${elapsed}s)`,
    );
    if (Date.now() > deadline) {
      throw new SentinelError(shape.unavailable, `table ${table} did not become ACTIVE in time`, {
        hint: `Check it in the DynamoDB console; run \`sentinel init ${shape.init}\` again once it is ACTIVE.`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, pollMs);
    desc = await describeTable(client, shape, table);
  }
  progress(`table ${table} is ACTIVE`);
  return desc!;
}

function failure(err: unknown): FeatureResult['state'] {
  const name = (err as { name?: string }).name;
  // dynalite answers UnknownOperationException; some endpoints answer a ValidationException for unknown fields.
  return name === 'UnknownOperationException' || name === 'UnknownOperation' ? 'unsupported' : 'failed';
}

function safeName(err: unknown): string | undefined {
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : undefined;
}

function encryptionState(desc: TableDescription, action: TableReport['action']): FeatureResult {
  const status = desc.SSEDescription?.Status;
  if (status === 'ENABLED' || status === 'ENABLING' || status === 'UPDATING')
    return { feature: 'encryption', state: action === 'created' ? 'enabled' : 'already' };
  // DynamoDB always encrypts at rest (AWS owned key); an endpoint that reports nothing may still do so.
  return { feature: 'encryption', state: 'unknown' };
}

async function ensureDeletionProtection(
  client: DynamoDBClient,
  table: string,
  desc: TableDescription,
  action: TableReport['action'],
): Promise<FeatureResult> {
  if (desc.DeletionProtectionEnabled === true)
    return { feature: 'deletion_protection', state: action === 'created' ? 'enabled' : 'already' };
  try {
    const out = await client.send(new UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: true }));
    return {
      feature: 'deletion_protection',
      state: out.TableDescription?.DeletionProtectionEnabled === true ? 'enabled' : 'unknown',
    };
  } catch (err) {
    // dynalite validates UpdateTable without knowing this field and refuses it as an empty update.
    return {
      feature: 'deletion_protection',
      state: failure(err) === 'unsupported' || safeName(err) === 'ValidationException' ? 'unsupported' : 'failed',
      ...errorField(err),
    };
  }
}

async function ensurePointInTimeRecovery(
  client: DynamoDBClient,
  table: string,
  pollMs: number,
): Promise<FeatureResult> {
  try {
    const now = await client.send(new DescribeContinuousBackupsCommand({ TableName: table }));
    if (now.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED') {
      return { feature: 'point_in_time_recovery', state: 'already' };
    }
    // A table that just became ACTIVE may refuse for a little while (ContinuousBackupsUnavailableException).
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(
          new UpdateContinuousBackupsCommand({
            TableName: table,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        );
        return { feature: 'point_in_time_recovery', state: 'enabled' };
      } catch (err) {
        if (safeName(err) !== 'ContinuousBackupsUnavailableException' || attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, pollMs * attempt));
      }
    }
  } catch (err) {
    return { feature: 'point_in_time_recovery', state: failure(err), ...errorField(err) };
  }
}

async function ensureTtl(client: DynamoDBClient, table: string, attribute: string): Promise<FeatureResult> {
  try {
    const now = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
    const d = now.TimeToLiveDescription;
    if ((d?.TimeToLiveStatus === 'ENABLED' || d?.TimeToLiveStatus === 'ENABLING') && d.AttributeName === attribute) {
      return { feature: 'ttl', state: 'already' };
    }
    if (d?.TimeToLiveStatus === 'ENABLED' || d?.TimeToLiveStatus === 'ENABLING') {
      // TTL on another attribute would reap records at the wrong time; changing it is the owner's call.
      return {
        feature: 'ttl',
        state: 'failed',
        error: `TTL is on attribute ${d.AttributeName ?? '?'}, not ${attribute}`,
      };
    }
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
    return { feature: 'ttl', state: 'enabled' };
  } catch (err) {
    return { feature: 'ttl', state: failure(err), ...errorField(err) };
  }
}

function errorField(err: unknown): { error?: string } {
  const name = safeName(err);
  return name ? { error: name } : {};
}

// --- IAM policies printed by `init <table> --plan` --------------------------------------------------------------------

function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function resources(table: string, region: string, account: string): string[] {
  const arn = `arn:${partition(region)}:dynamodb:${region}:${account}:table/${table}`;
  return [arn, `${arn}/index/*`];
}

/** What each daemon's AWS profile needs, and what an admin needs (the table's own access lists), plus table set-up. */
export function iamPolicies(
  shape: TableShape,
  table: string,
  region: string,
  account = '*',
): { daemon: object; admin: object } {
  const res = resources(table, region, account);
  const name = shape.init.charAt(0).toUpperCase() + shape.init.slice(1);
  return {
    daemon: {
      Version: '2012-10-17',
      Statement: [{ Sid: `SentinelDaemon${name}`, Effect: 'Allow', Action: [...shape.access.daemon], Resource: res }],
    },
    admin: {
      Version: '2012-10-17',
      Statement: [
        { Sid: `SentinelAdmin${name}`, Effect: 'Allow', Action: [...shape.access.admin], Resource: res },
        {
          Sid: `SentinelInit${name}`,
          Effect: 'Allow',
          Action: [...TABLE_SETUP_ACTIONS],
          Resource: res.slice(0, 1),
        },
      ],
    },
  };
}
