// The session table's shape (DESIGN §6), shared by the store that reads it and `sentinel init sessions` that creates
// and checks it. Pure data: no SDK import.

export const DEFAULT_TABLE = 'sentinel-sessions';
export const PARTITION_KEY = 'id';
export const TTL_ATTRIBUTE = 'ttl';

export interface IndexShape {
  name: string;
  hash: string;
  range: string;
}

export const INDEXES = {
  user: { name: 'gsi-user', hash: 'user', range: 'created_at' },
  status: { name: 'gsi-status', hash: 'status', range: 'created_at' },
  profile: { name: 'gsi-profile', hash: 'profile', range: 'created_at' },
  serverInstance: { name: 'gsi-server-instance', hash: 'server_instance_id', range: 'status' },
} as const satisfies Record<string, IndexShape>;

export const INDEX_LIST: readonly IndexShape[] = Object.values(INDEXES);

/** Every attribute a key schema (table or index) uses; all strings. */
export const KEY_ATTRIBUTES: readonly string[] = [
  PARTITION_KEY,
  ...new Set(INDEX_LIST.flatMap((i) => [i.hash, i.range])),
];

/** DynamoDB's own rule for table names (and config.yaml's). */
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
