// The approval request record (DESIGN §10) as a record kind of the record layer: the `sentinel-requests` table's
// shape, the fields, and the only legal transitions (pending → approved | denied | cancelled, approved → revoked).
// `expired` is never written: it is derived on read from expires_at (pending) and window_end (approved).
import { SentinelError } from '../errors.js';
import type { RecordKind } from '../records/kind.js';
import type { TableShape } from '../records/shape.js';
import { HEX16 } from '../text/hex-id.js';

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled' | 'revoked';
/** What a reader sees: the stored status, or `expired` when its time has passed. */
export type EffectiveStatus = RequestStatus | 'expired';
export const REQUEST_STATUSES: readonly RequestStatus[] = ['pending', 'approved', 'denied', 'cancelled', 'revoked'];

export const REQUEST_ID = HEX16;
/** A pending request lapses after 24 h. */
export const PENDING_LIFETIME_MS = 24 * 3_600_000;
/** History survives 30 days past the end of a request before DynamoDB's TTL may reap it. */
export const REQUEST_HISTORY_MS = 30 * 86_400_000;

export interface ApprovalRequest {
  id: string;
  requester: string; // policy user name
  requester_arn: string;
  profile: string;
  justification: string;
  duration: number; // seconds asked for
  status: RequestStatus;
  /** The approvals entry that applied when the request was filed. */
  rule: string;
  created_at: string;
  updated_at: string;
  expires_at: string;
  approver?: string;
  approver_arn?: string;
  approver_comment?: string;
  decided_at?: string;
  window_start?: string;
  window_end?: string;
  auto_approved: boolean;
  notification_status?: string;
  /** The event `notification_status` is about: the latest this record announced (absent on records from before it
   * was kept). */
  notification_event?: string;
  ttl: number;
}

export const REQUEST_INDEXES = {
  requester: { name: 'gsi-requester', hash: 'requester', range: 'created_at' },
  status: { name: 'gsi-status', hash: 'status', range: 'created_at' },
  profile: { name: 'gsi-profile', hash: 'profile', range: 'created_at' },
} as const;

export const REQUEST_TABLE: TableShape = {
  noun: 'approval request',
  init: 'approvals',
  defaultName: 'sentinel-requests',
  partitionKey: 'id',
  indexes: Object.values(REQUEST_INDEXES),
  ttlAttribute: 'ttl',
  ttlNote: 'history is kept 30 days past the end of each request',
  unavailable: 'SessionStoreUnavailable',
  access: {
    // The daemon files, reads and cancels its user's requests; approvers decide and revoke with their own identity.
    daemon: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    admin: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan'],
  },
};

const TRANSITIONS: Readonly<Record<string, readonly RequestStatus[]>> = {
  pending: ['approved', 'denied', 'cancelled'],
  approved: ['revoked'],
  denied: [],
  cancelled: [],
  revoked: [],
};

const isTime = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));

export const REQUEST_KIND: RecordKind<ApprovalRequest> = {
  noun: 'approval request',
  table: REQUEST_TABLE,
  idPattern: REQUEST_ID,
  fields: {
    id: 'string',
    requester: 'string',
    requester_arn: 'string',
    profile: 'string',
    justification: 'string',
    duration: 'number',
    status: 'string',
    rule: 'string',
    created_at: 'string',
    updated_at: 'string',
    expires_at: 'string',
    approver: 'string',
    approver_arn: 'string',
    approver_comment: 'string',
    decided_at: 'string',
    window_start: 'string',
    window_end: 'string',
    auto_approved: 'boolean',
    notification_status: 'string',
    notification_event: 'string',
    ttl: 'number',
  },
  required: [
    'id',
    'requester',
    'requester_arn',
    'profile',
    'justification',
    'duration',
    'status',
    'rule',
    'created_at',
    'updated_at',
    'expires_at',
    'auto_approved',
    'ttl',
  ],
  check(r) {
    if (!isTime(r.created_at) || !isTime(r.expires_at)) return undefined;
    if (r.status === 'approved' || r.status === 'revoked') {
      // An approval without its window proves nothing; fail closed rather than guess one.
      if (!isTime(r.window_start) || !isTime(r.window_end)) return undefined;
    }
    return r as unknown as ApprovalRequest;
  },
  status: { field: 'status', transitions: TRANSITIONS },
  unknown: (id) =>
    new SentinelError('NotFound', `no approval request ${id}`, {
      hint: 'List requests with `sentinel requests`.',
      details: { id },
    }),
  illegalTransition: (id, from, to) =>
    new SentinelError('Conflict', `approval request ${id} is ${from}, so it cannot become ${to}`, {
      hint: `Show it with \`sentinel requests show ${id}\`; only a pending request can be decided or cancelled, only an approved one revoked.`,
      details: { id, status: from },
    }),
};

/** The status a reader sees at `now`. */
export function effectiveStatus(r: ApprovalRequest, now: Date): EffectiveStatus {
  if (r.status === 'pending' && Date.parse(r.expires_at) <= now.getTime()) return 'expired';
  if (r.status === 'approved' && r.window_end !== undefined && Date.parse(r.window_end) <= now.getTime()) {
    return 'expired';
  }
  return r.status;
}
