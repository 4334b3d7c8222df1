// The team session store: one DynamoDB table shared by every daemon and every admin (DESIGN §6). Every write is
// conditional. Updates use an optimistic lock on `updated_at`: read the record (strongly consistent), write with
// "updated_at is still what I read AND the session is still active", and on a lost race read again — so a touch
// that loses to a revoke sees `revoked` and stops instead of writing over it. The lock token is the value read from
// the table, never a value this process computed, and every write moves it strictly forward (record.ts).
import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../errors.js';
import type { SessionStoreKind } from '../types.js';
import { fromItem, toItem, toValue, type Item } from './item.js';
import {
  badCursor,
  decodeCursor,
  encodeCursor,
  matches,
  newestFirst,
  normalizeQuery,
  pageInCode,
  type NormalizedQuery,
} from './query.js';
import {
  assertSessionId,
  checkIssued,
  checkTouch,
  duplicateSession,
  issuedChanges,
  laterOf,
  newRecord,
  nextUpdatedAt,
  notActive,
  revocation,
  unknownSession,
  withEffectiveStatus,
} from './record.js';
import { INDEXES, PARTITION_KEY } from './schema.js';
import { isConditionalCheckFailed, storeUnavailable } from './store-errors.js';
import type {
  IssuedFacts,
  NewSession,
  Session,
  SessionPage,
  SessionQuery,
  SessionStatus,
  SessionStore,
} from './types.js';

export interface DynamoSessionStoreOptions {
  client: DynamoDBClient;
  table: string;
  now?: () => Date;
  /** Attempts per update before giving up with Conflict (default 5). */
  maxAttempts?: number;
  /** Destroy the client on close (default true: the store was handed a client of its own). */
  ownsClient?: boolean;
}

/** One GSI partition read newest first (its range key is created_at). */
interface OrderedSource {
  index: string;
  hash: string;
  value: string;
}

/** Where an ordered source stands in the cursor: the key of the last item a page returned, or done. */
type SourcePosition = { k?: Record<string, string>; d?: true };

type Changes = Partial<Pick<Session, 'status' | 'revoked_by' | 'revoked_reason' | 'last_access_at'>> &
  IssuedFacts & {
    add_requests?: number;
  };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoSessionStore implements SessionStore {
  readonly kind: SessionStoreKind = 'dynamodb';
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => Date;
  private readonly maxAttempts: number;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: DynamoSessionStoreOptions) {
    this.client = options.client;
    this.table = options.table;
    this.now = options.now ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 5;
    this.ownsClient = options.ownsClient ?? true;
  }

  async create(input: NewSession): Promise<Session> {
    this.assertOpen();
    const record = newRecord(input, this.now());
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': PARTITION_KEY },
        }),
      );
    } catch (err) {
      throw isConditionalCheckFailed(err) ? duplicateSession(record.id) : storeUnavailable(err, this.table);
    }
    return record;
  }

  async get(id: string): Promise<Session | undefined> {
    this.assertOpen();
    assertSessionId(id);
    return this.read(id);
  }

  async touch(id: string, at: Date, requests: number, issued?: IssuedFacts): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    checkTouch(at, requests);
    const facts = checkIssued(issued);
    await this.update(id, (s) => ({
      add_requests: requests,
      last_access_at: laterOf(s.last_access_at, at.toISOString()),
      ...issuedChanges(s, facts),
    }));
  }

  async revoke(id: string, by: string, reason: string): Promise<Session> {
    this.assertOpen();
    assertSessionId(id);
    const fields = revocation(by, reason);
    return this.update(id, () => ({ status: 'revoked', ...fields }));
  }

  async end(id: string): Promise<Session> {
    this.assertOpen();
    assertSessionId(id);
    return this.update(id, () => ({ status: 'ended' }));
  }

  async expire(id: string): Promise<Session> {
    this.assertOpen();
    assertSessionId(id);
    return this.update(id, () => ({ status: 'expired' }));
  }

  async list(query?: SessionQuery): Promise<SessionPage> {
    this.assertOpen();
    const q = normalizeQuery(query);
    const now = this.now();
    const ordered = this.orderedSources(q);
    if (ordered) return this.listOrdered(ordered, q, now);
    // No created_at-ordered index fits: read the candidates whole and sort them here.
    const all = q.server_instance_id !== undefined ? await this.readServerInstance(q) : await this.scanAll();
    const hits = all.filter((s) => matches(s, q, now)).map((s) => withEffectiveStatus(s, now));
    return pageInCode(hits, q);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  private assertOpen(): void {
    if (this.closed) throw new SentinelError('SessionStoreUnavailable', 'the session store is closed');
  }

  // --- reads ---------------------------------------------------------------------------------------------------

  private async read(id: string): Promise<Session | undefined> {
    let item: Item | undefined;
    try {
      const out = await this.client.send(
        new GetItemCommand({ TableName: this.table, Key: { [PARTITION_KEY]: { S: id } }, ConsistentRead: true }),
      );
      item = out.Item;
    } catch (err) {
      throw storeUnavailable(err, this.table);
    }
    return item ? fromItem(item) : undefined;
  }

  // --- the optimistic-lock update --------------------------------------------------------------------------------

  private async update(id: string, change: (current: Session) => Changes): Promise<Session> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.read(id);
      if (!current) throw unknownSession(id);
      if (current.status !== 'active') throw notActive(id, current.status);
      const changes = change(current);
      try {
        return await this.conditionalUpdate(current, changes);
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw storeUnavailable(err, this.table);
      }
      // Lost the race: someone wrote in between. Back off a little (jittered) and act on what is there now.
      if (attempt < this.maxAttempts) await sleep(Math.random() * 5 * 2 ** attempt);
    }
    throw new SentinelError('Conflict', `session ${id} kept changing while it was being updated`, { details: { id } });
  }

  private async conditionalUpdate(current: Session, changes: Changes): Promise<Session> {
    const names: Record<string, string> = { '#updated_at': 'updated_at', '#status': 'status' };
    const values: Record<string, AttributeValue> = {
      ':read': { S: current.updated_at },
      ':active': { S: 'active' },
      ':updated_at': { S: nextUpdatedAt(current.updated_at, this.now()) },
    };
    const set = ['#updated_at = :updated_at'];
    const remove: string[] = [];
    const fields: (keyof Changes & keyof Session)[] = [
      'status',
      'revoked_by',
      'revoked_reason',
      'last_access_at',
      'source_identity',
      'role_arn',
      'credentials_valid_until',
    ];
    for (const field of fields) {
      if (!(field in changes)) continue;
      const value = toValue(field, changes[field]);
      names[`#${field}`] = field;
      if (value) {
        values[`:${field}`] = value;
        set.push(`#${field} = :${field}`);
      } else {
        remove.push(`#${field}`);
      }
    }
    if (changes.add_requests !== undefined) {
      names['#request_count'] = 'request_count';
      values[':requests'] = { N: String(changes.add_requests) };
      values[':zero'] = { N: '0' };
      set.push('#request_count = if_not_exists(#request_count, :zero) + :requests');
    }
    const out = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { [PARTITION_KEY]: { S: current.id } },
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: '#updated_at = :read AND #status = :active',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (!out.Attributes)
      throw new SentinelError(
        'SessionStoreUnavailable',
        `the session table ${this.table} did not return the updated record`,
      );
    return fromItem(out.Attributes);
  }

  // --- list --------------------------------------------------------------------------------------------------------

  /**
   * The created_at-ordered index partitions that hold every possible match, or undefined when none fits. A user is
   * the narrowest partition, then a profile, then a status. `expired` also reads `active`: a lapsed session that
   * nothing has marked yet is reported expired (dynalite never reaps, and DynamoDB reaps lazily).
   */
  private orderedSources(q: NormalizedQuery): OrderedSource[] | undefined {
    if (q.user !== undefined) return [{ index: INDEXES.user.name, hash: INDEXES.user.hash, value: q.user }];
    // A daemon's own sessions: its partition of gsi-server-instance is small and keyed by status; read it whole.
    if (q.server_instance_id !== undefined) return undefined;
    if (q.profile !== undefined) return [{ index: INDEXES.profile.name, hash: INDEXES.profile.hash, value: q.profile }];
    if (q.status !== undefined) {
      const statuses: SessionStatus[] = q.status === 'expired' ? ['expired', 'active'] : [q.status];
      return statuses.map((s) => ({ index: INDEXES.status.name, hash: INDEXES.status.hash, value: s }));
    }
    return undefined;
  }

  /**
   * A k-way merge of newest-first index partitions. No FilterExpression (DynamoDB would apply Limit before it): the
   * filters run here, and each source's place is the key of the last item this page returned from it, so the next
   * page resumes exactly there (ExclusiveStartKey) whatever was read ahead and discarded.
   */
  private async listOrdered(sources: OrderedSource[], q: NormalizedQuery, now: Date): Promise<SessionPage> {
    const positions = this.decodePositions(sources, q);
    const state = sources.map((source, i) => ({
      source,
      position: positions[i]!,
      buffer: [] as Session[],
      next: positions[i]!.k ? this.startKey(source, positions[i]!.k!) : undefined,
      exhausted: positions[i]!.d === true,
    }));
    const fill = async (s: (typeof state)[number]) => {
      while (s.buffer.length === 0 && !s.exhausted) {
        const page = await this.queryPage(s.source, q, s.next);
        s.buffer.push(...page.items.filter((item) => matches(item, q, now)));
        s.next = page.next;
        if (!page.next) s.exhausted = true;
      }
    };
    const items: Session[] = [];
    let more = false;
    while (true) {
      await Promise.all(state.map(fill));
      let best: (typeof state)[number] | undefined;
      for (const s of state) if (s.buffer.length && (!best || newestFirst(s.buffer[0]!, best.buffer[0]!) < 0)) best = s;
      if (!best) break;
      if (items.length === q.limit) {
        more = true;
        break;
      }
      const item = best.buffer.shift()!;
      items.push(withEffectiveStatus(item, now));
      best.position = { k: this.positionKey(best.source, item) };
    }
    if (!more) return { items };
    const cursor = state.map((s) => (s.exhausted && s.buffer.length === 0 ? { d: true as const } : s.position));
    return { items, cursor: encodeCursor(q, cursor) };
  }

  private async queryPage(
    source: OrderedSource,
    q: NormalizedQuery,
    start: Item | undefined,
  ): Promise<{ items: Session[]; next?: Item }> {
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: source.index,
      KeyConditionExpression: q.since !== undefined ? '#h = :h AND #c >= :since' : '#h = :h',
      ExpressionAttributeNames: { '#h': source.hash, ...(q.since !== undefined ? { '#c': 'created_at' } : {}) },
      ExpressionAttributeValues: {
        ':h': { S: source.value },
        ...(q.since !== undefined ? { ':since': { S: q.since } } : {}),
      },
      ScanIndexForward: false,
      // Safe only because there is no FilterExpression: Limit bounds what is read, filters run afterwards.
      Limit: Math.min(1000, q.limit + 1),
      ...(start ? { ExclusiveStartKey: start } : {}),
    };
    try {
      const out = await this.client.send(new QueryCommand(input));
      return { items: (out.Items ?? []).map(fromItem), next: out.LastEvaluatedKey };
    } catch (err) {
      throw storeUnavailable(err, this.table);
    }
  }

  private positionKey(source: OrderedSource, s: Session): Record<string, string> {
    return { id: s.id, created_at: s.created_at, h: source.value };
  }

  private startKey(source: OrderedSource, k: Record<string, string>): Item {
    return { [PARTITION_KEY]: { S: k.id! }, created_at: { S: k.created_at! }, [source.hash]: { S: source.value } };
  }

  private decodePositions(sources: OrderedSource[], q: NormalizedQuery): SourcePosition[] {
    const raw = decodeCursor(q);
    if (raw === undefined) return sources.map(() => ({}));
    if (!Array.isArray(raw) || raw.length !== sources.length) throw badCursor();
    return raw.map((p: unknown, i): SourcePosition => {
      const o = p as SourcePosition | null;
      if (!o || typeof o !== 'object') throw badCursor();
      if (o.d === true) return { d: true };
      const k = o.k as Record<string, unknown> | undefined;
      if (!k || typeof k !== 'object' || Object.keys(k).length !== 3) throw badCursor();
      if (typeof k.id !== 'string' || !/^[0-9a-f]{16}$/.test(k.id)) throw badCursor();
      if (typeof k.created_at !== 'string' || k.created_at.length > 64 || k.created_at.length === 0) throw badCursor();
      if (k.h !== sources[i]!.value) throw badCursor();
      return { k: { id: k.id, created_at: k.created_at, h: k.h } };
    });
  }

  /** A server instance's partition, narrowed by status when the index key can express it. */
  private async readServerInstance(q: NormalizedQuery): Promise<Session[]> {
    const byStatus = q.status !== undefined && q.status !== 'expired';
    return this.readAll(
      (start) =>
        new QueryCommand({
          TableName: this.table,
          IndexName: INDEXES.serverInstance.name,
          KeyConditionExpression: byStatus ? '#h = :h AND #s = :s' : '#h = :h',
          ExpressionAttributeNames: {
            '#h': INDEXES.serverInstance.hash,
            ...(byStatus ? { '#s': INDEXES.serverInstance.range } : {}),
          },
          ExpressionAttributeValues: {
            ':h': { S: q.server_instance_id! },
            ...(byStatus ? { ':s': { S: q.status! } } : {}),
          },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
    );
  }

  /** No filter that an index can serve: the whole table, one Scan page after another (cost: the table's size). */
  private scanAll(): Promise<Session[]> {
    return this.readAll(
      (start) => new ScanCommand({ TableName: this.table, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
  }

  private async readAll(command: (start?: Item) => QueryCommand | ScanCommand): Promise<Session[]> {
    const all: Session[] = [];
    let start: Item | undefined;
    do {
      try {
        const out = await this.client.send(command(start) as QueryCommand);
        for (const item of out.Items ?? []) all.push(fromItem(item));
        start = out.LastEvaluatedKey;
      } catch (err) {
        throw storeUnavailable(err, this.table);
      }
    } while (start);
    return all;
  }
}
