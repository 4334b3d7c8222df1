// The session record and the store interface (DESIGN §6). Both implementations (memory, DynamoDB) satisfy the same
// contract test suite. Stores throw SentinelError('SessionStoreUnavailable') when they cannot answer, so callers
// fail closed, and SentinelError('SessionNotActive'|'SessionUnknown'|'Conflict') for refused writes.
import type { RecordKind, StoredRecord } from '../records/kind.js';
import type { Read, ReadSet } from '../records/read-set.js';
import type { RecordStore } from '../records/store.js';
import type { Mode, SessionStoreKind } from '../types.js';
import { HEX16 } from '../text/hex-id.js';

export type SessionStatus = 'active' | 'revoked' | 'expired' | 'ended';
export const SESSION_STATUSES: readonly SessionStatus[] = ['active', 'revoked', 'expired', 'ended'];

export const SESSION_ID = HEX16;

/** History survives for 30 days after a session's expiry before DynamoDB's TTL may reap it. */
export const HISTORY_MS = 30 * 86_400_000;

export interface Session {
  id: string; // 16 lowercase hex
  user: string; // policy user name
  profile: string;
  mode: Mode;
  status: SessionStatus;
  started_at: string; // RFC 3339 UTC
  expires_at: string;
  last_access_at?: string;
  request_count: number;
  server_instance_id?: string;
  /** The SourceIdentity every credential of this session carries (DESIGN §4); absent for unstamped profiles. */
  source_identity?: string;
  /** The role its credentials are for: where an AWS-side revocation (§15) puts its deny. */
  role_arn?: string;
  /** The latest expiry of any credentials issued for it (RFC 3339): until then an AWS-side revocation must stay. */
  credentials_valid_until?: string;
  pid?: number;
  host?: string;
  /** The principal ARN that opened it, where the server knows one (the vendor, DESIGN §17): only it may use it. */
  owner_arn?: string;
  revoked_by?: string;
  revoked_reason?: string;
  created_at: string;
  updated_at: string;
  ttl: number; // epoch seconds, expires_at + 30 days
}

/** What issuing credentials for a session records on it. */
export type IssuedFacts = Partial<Pick<Session, 'source_identity' | 'role_arn' | 'credentials_valid_until'>>;

export type NewSession = Pick<Session, 'id' | 'user' | 'profile' | 'mode' | 'started_at' | 'expires_at'> &
  Partial<Pick<Session, 'server_instance_id' | 'pid' | 'host' | 'owner_arn'>> &
  IssuedFacts;

export interface SessionQuery {
  status?: SessionStatus;
  user?: string;
  profile?: string;
  server_instance_id?: string;
  /** RFC 3339; only sessions created at or after it. */
  since?: string;
  /** Page size (1..1000, default 100). */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface SessionPage {
  items: Session[]; // newest first (created_at descending)
  cursor?: string; // present when more items may follow
}

export interface SessionStore {
  readonly kind: SessionStoreKind;
  /** Creates the record (status active, request_count 0); the id must be new (else Conflict). */
  create(session: NewSession): Promise<Session>;
  /** Strongly consistent read. An active session whose expires_at has passed is returned as it is stored; callers
   * decide (and may call expire()). */
  get(id: string): Promise<Session | undefined>;
  /** Adds `requests` to request_count and sets last_access_at; only while active; lost races are retried. `issued`
   * records what credentials were issued since the last touch: source_identity and role_arn as given,
   * credentials_valid_until only ever moved later. */
  touch(id: string, at: Date, requests: number, issued?: IssuedFacts): Promise<void>;
  /** active → revoked, recording who and why. */
  revoke(id: string, by: string, reason: string): Promise<Session>;
  /** active → ended (its owner is done: use --off, process gone, daemon stop). */
  end(id: string): Promise<Session>;
  /** active → expired. */
  expire(id: string): Promise<Session>;
  /** Newest first; filters combine (AND). Sessions whose expires_at has passed are reported with status expired. */
  list(query?: SessionQuery): Promise<SessionPage>;
  close(): Promise<void>;
  /** The session and other records read together, strongly consistently: one BatchGetItem when they share this
   * store's DynamoDB client (DESIGN §3.4). Absent: each is read on its own. */
  readWith?(id: string, reads: ReadonlyArray<Read<any>>): Promise<{ session?: Session; read: ReadSet }>;
  /** A store of another record kind on this store's connection, so that its reads can join readWith(). */
  sibling?<R extends StoredRecord>(kind: RecordKind<R>, table: string): RecordStore<R>;
}
