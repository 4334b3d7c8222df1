// Break-glass records (DESIGN §11) as record kinds of the record layer, all in one table `sentinel-breakglass`:
// - the event (16 hex id; active → closed; `expired` is derived on read from expires_at, never written);
// - the lock `lock#<invoker>#<profile>`: the invoker's latest event on the profile and the end of its cooldown, taken
//   with a conditional write, so two daemons cannot both open an event or both skip a cooldown;
// - quota slots `rl#<rule>#u#<user>#<n>` / `rl#<rule>#p#<profile>#<n>`: a quota of N is N items, each taken with
//   `attribute_not_exists(id) OR freed_at < :now` — counting by conditional writes, not over an eventually
//   consistent index, is what makes the limit hold under races.
// Locks and slots carry none of the index attributes, so the indexes hold events only.
import { SentinelError } from '../errors.js';
import type { RecordKind } from '../records/kind.js';
import type { TableShape } from '../records/shape.js';
import { HEX16, isHex16 } from '../text/hex-id.js';

export type EventStatus = 'active' | 'closed';
export type EffectiveEventStatus = EventStatus | 'expired';

export const EVENT_ID = HEX16;
/** History survives 30 days past the end of an event before DynamoDB's TTL may reap it. */
export const EVENT_HISTORY_MS = 30 * 86_400_000;

export interface BreakglassEvent {
  id: string;
  invoker: string; // policy user name
  invoker_arn: string;
  profile: string;
  reason_code: string;
  justification: string;
  status: EventStatus;
  /** The breakglass entry that allowed it. */
  rule: string;
  mfa_verified: boolean;
  escalated: boolean;
  created_at: string;
  updated_at: string;
  expires_at: string;
  closed_by?: string;
  closed_by_arn?: string;
  closed_reason?: string;
  closed_at?: string;
  notification_status?: string;
  /** The event `notification_status` is about: the latest this record announced (absent on records from before it
   * was kept). */
  notification_event?: string;
  ttl: number;
}

export const EVENT_INDEXES = {
  invoker: { name: 'gsi-invoker', hash: 'invoker', range: 'created_at' },
  status: { name: 'gsi-status', hash: 'status', range: 'created_at' },
  profile: { name: 'gsi-profile', hash: 'profile', range: 'created_at' },
} as const;

export const BREAKGLASS_TABLE: TableShape = {
  noun: 'break-glass',
  init: 'breakglass',
  defaultName: 'sentinel-breakglass',
  partitionKey: 'id',
  indexes: Object.values(EVENT_INDEXES),
  ttlAttribute: 'ttl',
  ttlNote: 'events are kept 30 days past their end; locks and slots once they no longer count',
  unavailable: 'SessionStoreUnavailable',
  access: {
    // The daemon invokes (lock, slots, event), reads, closes and re-reads events on every credential request.
    daemon: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ],
    admin: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan'],
  },
};

const isTime = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));

export const EVENT_KIND: RecordKind<BreakglassEvent> = {
  noun: 'break-glass event',
  table: BREAKGLASS_TABLE,
  idPattern: EVENT_ID,
  fields: {
    id: 'string',
    invoker: 'string',
    invoker_arn: 'string',
    profile: 'string',
    reason_code: 'string',
    justification: 'string',
    status: 'string',
    rule: 'string',
    mfa_verified: 'boolean',
    escalated: 'boolean',
    created_at: 'string',
    updated_at: 'string',
    expires_at: 'string',
    closed_by: 'string',
    closed_by_arn: 'string',
    closed_reason: 'string',
    closed_at: 'string',
    notification_status: 'string',
    notification_event: 'string',
    ttl: 'number',
  },
  required: [
    'id',
    'invoker',
    'invoker_arn',
    'profile',
    'reason_code',
    'justification',
    'status',
    'rule',
    'mfa_verified',
    'escalated',
    'created_at',
    'updated_at',
    'expires_at',
    'ttl',
  ],
  check(r) {
    // An event whose end cannot be read could grant access for ever: fail closed.
    if (!isTime(r.created_at) || !isTime(r.expires_at)) return undefined;
    return r as unknown as BreakglassEvent;
  },
  status: { field: 'status', transitions: { active: ['closed'], closed: [] } },
  unknown: (id) =>
    new SentinelError('NotFound', `no break-glass event ${id}`, {
      hint: 'List events with `sentinel breakglass list`.',
      details: { id },
    }),
  illegalTransition: (id, from) =>
    new SentinelError('Conflict', `break-glass event ${id} is already ${from}`, {
      hint: `Show it with \`sentinel breakglass show ${id}\`.`,
      details: { id, status: from },
    }),
};

/** The status a reader sees at `now`. */
export function effectiveEventStatus(e: BreakglassEvent, now: Date): EffectiveEventStatus {
  if (e.status === 'active' && Date.parse(e.expires_at) <= now.getTime()) return 'expired';
  return e.status;
}

export type EventView = Omit<BreakglassEvent, 'status'> & { status: EffectiveEventStatus };

export function eventView(e: BreakglassEvent, now: Date): EventView {
  return { ...e, status: effectiveEventStatus(e, now) };
}

// --- the lock and the quota slots -------------------------------------------------------------------------------

const USER = '[A-Za-z0-9]{1,64}';
const PROFILE = '[A-Za-z0-9_.@+/-]{1,128}';

export interface BreakglassLock {
  id: string; // lock#<invoker>#<profile>
  updated_at: string;
  /** The invoker's latest event on the profile. */
  event_id: string;
  /** Its expires_at: until then (unless it was closed) no second event may open. */
  active_until: string;
  /** No new event before this (the longest cooldown of the rate_limits entries in force at invocation). */
  cooldown_until: string;
  ttl: number;
}

export const LOCK_ID = new RegExp(`^lock#${USER}#${PROFILE}$`);

export function lockId(invoker: string, profile: string): string {
  return `lock#${invoker}#${profile}`;
}

const unknownItem = (noun: string) => (id: string) =>
  new SentinelError('NotFound', `no break-glass ${noun} ${id}`, { details: { id } });
const noTransitions = (noun: string) => (id: string, from: string, to: string) =>
  new SentinelError('Conflict', `break-glass ${noun} ${id} cannot go from ${from} to ${to}`, { details: { id } });

export const LOCK_KIND: RecordKind<BreakglassLock> = {
  noun: 'break-glass lock',
  table: BREAKGLASS_TABLE,
  idPattern: LOCK_ID,
  fields: {
    id: 'string',
    updated_at: 'string',
    event_id: 'string',
    active_until: 'string',
    cooldown_until: 'string',
    ttl: 'number',
  },
  required: ['id', 'updated_at', 'event_id', 'active_until', 'cooldown_until', 'ttl'],
  check(r) {
    if (!isTime(r.active_until) || !isTime(r.cooldown_until)) return undefined;
    if (!isHex16(r.event_id)) return undefined;
    return r as unknown as BreakglassLock;
  },
  unknown: unknownItem('lock'),
  illegalTransition: noTransitions('lock'),
};

export interface QuotaSlot {
  id: string; // rl#<rule>#u#<user>#<n> | rl#<rule>#p#<profile>#<n>
  updated_at: string;
  /** The event that holds it. */
  event_id: string;
  taken_at: string;
  /** When it counts no more (taken_at + quota_window), or when it was given back. */
  freed_at: string;
  ttl: number;
}

// The rule name may hold any printable character, `#` included; the parts after it cannot, so the id stays unique.
// eslint-disable-next-line no-control-regex
export const SLOT_ID = new RegExp(`^rl#[^\\x00-\\x1f\\x7f]{1,128}#(?:u#${USER}|p#${PROFILE})#\\d{1,3}$`);

export function slotId(rule: string, scope: 'u' | 'p', who: string, n: number): string {
  return `rl#${rule}#${scope}#${who}#${n}`;
}

export const SLOT_KIND: RecordKind<QuotaSlot> = {
  noun: 'rate-limit slot',
  table: BREAKGLASS_TABLE,
  idPattern: SLOT_ID,
  fields: {
    id: 'string',
    updated_at: 'string',
    event_id: 'string',
    taken_at: 'string',
    freed_at: 'string',
    ttl: 'number',
  },
  required: ['id', 'updated_at', 'event_id', 'taken_at', 'freed_at', 'ttl'],
  check(r) {
    if (!isTime(r.taken_at) || !isTime(r.freed_at)) return undefined;
    return r as unknown as QuotaSlot;
  },
  unknown: unknownItem('slot'),
  illegalTransition: noTransitions('slot'),
};

/** The three stores over one table. */
export interface BreakglassStores {
  events: import('../records/store.js').RecordStore<BreakglassEvent>;
  locks: import('../records/store.js').RecordStore<BreakglassLock>;
  slots: import('../records/store.js').RecordStore<QuotaSlot>;
}
