// The session table's shape (DESIGN §6) and the session record kind: the one declaration the record layer
// (core/records/) needs to store sessions in memory or in DynamoDB, and `sentinel init sessions` to create the table.
import { SentinelError } from '../errors.js';
import type { RecordKind } from '../records/kind.js';
import type { TableShape } from '../records/shape.js';
import { MODES, type Mode } from '../types.js';
import { SESSION_ID, SESSION_STATUSES, type Session, type SessionStatus } from './types.js';

export { TABLE_NAME } from '../records/shape.js';

export const DEFAULT_TABLE = 'sentinel-sessions';

export const INDEXES = {
  user: { name: 'gsi-user', hash: 'user', range: 'created_at' },
  status: { name: 'gsi-status', hash: 'status', range: 'created_at' },
  profile: { name: 'gsi-profile', hash: 'profile', range: 'created_at' },
  serverInstance: { name: 'gsi-server-instance', hash: 'server_instance_id', range: 'status' },
} as const;

export const SESSION_TABLE: TableShape = {
  noun: 'session',
  init: 'sessions',
  defaultName: DEFAULT_TABLE,
  partitionKey: 'id',
  indexes: Object.values(INDEXES),
  ttlAttribute: 'ttl',
  ttlNote: "history is kept 30 days past each session's expiry",
  unavailable: 'SessionStoreUnavailable',
  access: {
    // Scan serves an unfiltered `server sessions`; every filtered listing is a Query on an index.
    daemon: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan'],
    admin: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan'],
  },
};

export const SESSION_KIND: RecordKind<Session> = {
  noun: 'session',
  table: SESSION_TABLE,
  idPattern: SESSION_ID,
  fields: {
    id: 'string',
    user: 'string',
    profile: 'string',
    mode: 'string',
    status: 'string',
    started_at: 'string',
    expires_at: 'string',
    last_access_at: 'string',
    request_count: 'number',
    server_instance_id: 'string',
    source_identity: 'string',
    role_arn: 'string',
    credentials_valid_until: 'string',
    pid: 'number',
    host: 'string',
    owner_arn: 'string',
    revoked_by: 'string',
    revoked_reason: 'string',
    created_at: 'string',
    updated_at: 'string',
    ttl: 'number',
  },
  required: ['id', 'user', 'profile', 'mode', 'status', 'started_at', 'expires_at', 'created_at', 'updated_at', 'ttl'],
  status: {
    field: 'status',
    transitions: { active: ['revoked', 'expired', 'ended'], revoked: [], expired: [], ended: [] } satisfies Record<
      SessionStatus,
      readonly SessionStatus[]
    >,
  },
  check(record) {
    if (!MODES.includes(record.mode as Mode)) return undefined;
    if (!SESSION_STATUSES.includes(record.status as SessionStatus)) return undefined;
    if (Number.isNaN(Date.parse(record.expires_at as string))) return undefined;
    if (record.request_count === undefined) record.request_count = 0;
    return record as unknown as Session;
  },
  unknown: (id) => new SentinelError('SessionUnknown', `no session ${id}`, { details: { id } }),
  illegalTransition: (id, from) =>
    new SentinelError('SessionNotActive', `session ${id} is ${from}, not active`, { details: { id, status: from } }),
};
