// A record kind, declared once: the table it lives in, its id, its fields and how each is stored, and the status
// transitions it allows. Both stores (memory, DynamoDB) work from the declaration, so a new kind of record (an
// approval request, a break-glass event, a rate-limit slot) is a declaration, not a new store.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../errors.js';
import type { TableShape } from './shape.js';

export type Item = Record<string, AttributeValue>;

/** How a field is stored: string → S, number → N (safe integers), boolean → BOOL, json → S holding JSON text. */
export type FieldType = 'string' | 'number' | 'boolean' | 'json';

/** Every record has an id (the partition key) and an `updated_at` that each write moves strictly forward: the token
 * of the optimistic lock. */
export interface StoredRecord {
  id: string;
  updated_at: string;
}

export interface RecordKind<R extends StoredRecord> {
  /** What one record is called in messages ("session"). */
  noun: string;
  table: TableShape;
  /** Ids of this kind; anything else is refused before it reaches the table. */
  idPattern: RegExp;
  fields: { readonly [K in keyof Required<R> & string]: FieldType };
  required: readonly (keyof R & string)[];
  /** Checks that types alone cannot make (known statuses, parseable dates) and fills defaults; undefined = malformed. */
  check?(record: Record<string, unknown>): R | undefined;
  /** The status field and its legal transitions (from → allowed targets); a status missing as a key is final. */
  status?: { field: keyof R & string; transitions: Readonly<Record<string, readonly string[]>> };
  /** The error for an update of a record that does not exist. */
  unknown(id: string): SentinelError;
  /** The error for a transition the kind does not allow (the current state is in details.status). */
  illegalTransition(id: string, from: string, to: string): SentinelError;
}

export function canTransition<R extends StoredRecord>(kind: RecordKind<R>, from: string, to: string): boolean {
  return kind.status?.transitions[from]?.includes(to) ?? false;
}

export function assertId<R extends StoredRecord>(kind: RecordKind<R>, id: unknown): asserts id is string {
  if (typeof id !== 'string' || !kind.idPattern.test(id)) {
    throw new SentinelError('BadRequest', `not a valid ${kind.noun} id`);
  }
}

/** One field's stored value, or undefined when it is absent (an empty string is absent: DynamoDB refuses empty
 * strings in index keys, and a missing key simply keeps the item out of that index). */
export function toValue(type: FieldType, field: string, value: unknown): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value.length > 0 ? { S: value } : undefined;
      break;
    case 'number':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return { N: String(value) };
      break;
    case 'boolean':
      if (typeof value === 'boolean') return { BOOL: value };
      break;
    case 'json':
      return { S: JSON.stringify(value) };
  }
  throw new SentinelError('InternalError', `cannot store ${field} as ${type}`);
}

export function toItem<R extends StoredRecord>(kind: RecordKind<R>, record: Partial<R>): Item {
  const item: Item = {};
  for (const [field, type] of Object.entries(kind.fields) as [string, FieldType][]) {
    const value = toValue(type, field, (record as Record<string, unknown>)[field]);
    if (value) item[field] = value;
  }
  return item;
}

export function malformed<R extends StoredRecord>(kind: RecordKind<R>): SentinelError {
  // Fail closed: a record that does not parse proves nothing (a session that might be revoked, an approval that
  // might have been withdrawn).
  return new SentinelError(
    kind.table.unavailable,
    `the ${kind.table.noun} table holds a malformed ${kind.noun} record`,
    {
      hint: 'Inspect the record in the table; it was not written by Sentinel or was edited by hand.',
    },
  );
}

function fromValue(type: FieldType, v: AttributeValue): unknown {
  switch (type) {
    case 'string':
      return typeof v.S === 'string' ? v.S : undefined;
    case 'number': {
      const n = typeof v.N === 'string' ? Number(v.N) : NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'boolean':
      return typeof v.BOOL === 'boolean' ? v.BOOL : undefined;
    case 'json':
      if (typeof v.S !== 'string') return undefined;
      try {
        return JSON.parse(v.S);
      } catch {
        return undefined;
      }
  }
}

/** The record an item holds; attributes the kind does not declare are ignored, and anything malformed fails closed. */
export function fromItem<R extends StoredRecord>(kind: RecordKind<R>, item: Item): R {
  const out: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(kind.fields) as [string, FieldType][]) {
    const v = item[field];
    if (v === undefined) continue;
    const value = fromValue(type, v);
    if (value === undefined) throw malformed(kind);
    out[field] = value;
  }
  for (const f of kind.required) if (out[f] === undefined) throw malformed(kind);
  if (typeof out.id !== 'string' || !kind.idPattern.test(out.id)) throw malformed(kind);
  if (typeof out.updated_at !== 'string' || Number.isNaN(Date.parse(out.updated_at))) throw malformed(kind);
  if (kind.status) {
    const s = out[kind.status.field];
    if (typeof s !== 'string' || !(s in kind.status.transitions)) throw malformed(kind);
  }
  const checked = kind.check ? kind.check(out) : (out as unknown as R);
  if (!checked) throw malformed(kind);
  return checked;
}

/** A record exactly as the table would hand it back (absent and empty values dropped): what the memory store keeps,
 * so that both stores answer alike. */
export function asStored<R extends StoredRecord>(kind: RecordKind<R>, record: R): R {
  return fromItem(kind, toItem(kind, record));
}

/**
 * The `updated_at` of the next write. It must differ from the one read, or two writers in the same millisecond
 * would both pass the optimistic-lock condition; so it is strictly later even when the clock is not (skew between
 * machines, or a clock stepped back).
 */
export function nextUpdatedAt(previous: string, now: Date): string {
  const prev = Date.parse(previous);
  const t = Number.isNaN(prev) ? now.getTime() : Math.max(now.getTime(), prev + 1);
  return new Date(t).toISOString();
}

export function duplicate<R extends StoredRecord>(kind: RecordKind<R>, id: string): SentinelError {
  return new SentinelError('Conflict', `a ${kind.noun} with id ${id} already exists`, { details: { id } });
}

/** The record changed after it was read: the optimistic lock refused the write. */
export function changedSinceRead<R extends StoredRecord>(kind: RecordKind<R>, id: string): SentinelError {
  return new SentinelError('Conflict', `${kind.noun} ${id} changed after it was read`, { details: { id } });
}

export function keptChanging<R extends StoredRecord>(kind: RecordKind<R>, id: string): SentinelError {
  return new SentinelError('Conflict', `${kind.noun} ${id} kept changing while it was being updated`, {
    details: { id },
  });
}

export function storeClosed<R extends StoredRecord>(kind: RecordKind<R>): SentinelError {
  return new SentinelError(kind.table.unavailable, `the ${kind.noun} store is closed`);
}
