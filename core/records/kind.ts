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

/** Where a malformed item was found: the table's name (undefined for the memory store) and the item's id when it
 * reads as an id of the kind. */
export interface ItemOrigin {
  table?: string;
  id?: string;
}

/** The shell-quoted `--key` of an item, for the aws CLI commands in hints. */
function awsKey(kind: RecordKind<StoredRecord>, id: string): string {
  return `'${JSON.stringify({ [kind.table.partitionKey]: { S: id } })}'`;
}

export function malformed<R extends StoredRecord>(
  kind: RecordKind<R>,
  origin: ItemOrigin = {},
  reason?: string,
): SentinelError {
  // Fail closed: a record that does not parse proves nothing (a session that might be revoked, an approval that
  // might have been withdrawn). The message names the table and the item, so that it can be found and removed.
  const where = origin.table
    ? `the ${kind.table.noun} table ${origin.table}`
    : `the ${kind.table.noun} table (in memory)`;
  const which = origin.id !== undefined ? ` ${origin.id}` : ' with no readable id';
  const why = reason ? ` (${reason})` : '';
  const k = kind as unknown as RecordKind<StoredRecord>;
  const hint =
    origin.table && origin.id !== undefined
      ? `It was not written by Sentinel or was edited by hand. Inspect it with \`aws dynamodb get-item --table-name ${origin.table} --key ${awsKey(k, origin.id)}\`; if it does not belong there, remove it with \`aws dynamodb delete-item --table-name ${origin.table} --key ${awsKey(k, origin.id)}\`.`
      : origin.table
        ? `It was not written by Sentinel or was edited by hand. Find it with \`aws dynamodb scan --table-name ${origin.table}\` (its ${kind.table.partitionKey} is not a valid ${kind.noun} id) and remove it with \`aws dynamodb delete-item\`.`
        : 'It was not written by Sentinel or was edited by hand.';
  return new SentinelError(kind.table.unavailable, `${where} holds a malformed ${kind.noun} record${which}${why}`, {
    hint,
    details: {
      ...(origin.table ? { table: origin.table } : {}),
      ...(origin.id !== undefined ? { id: origin.id } : {}),
    },
  });
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

/** The outcome of reading an item as a record of a kind: the record, or why it is not one (field names only: a
 * value from the table is never repeated, it may be anything). */
export type Parsed<R> = { record: R } | { id?: string; reason: string };

/** The item's id when it is a valid id of the kind (safe to print), else undefined. */
export function itemId<R extends StoredRecord>(kind: RecordKind<R>, item: Item): string | undefined {
  const id = item[kind.table.partitionKey]?.S;
  return typeof id === 'string' && kind.idPattern.test(id) ? id : undefined;
}

export function parseItem<R extends StoredRecord>(kind: RecordKind<R>, item: Item): Parsed<R> {
  const id = itemId(kind, item);
  const bad = (reason: string): Parsed<R> => (id !== undefined ? { id, reason } : { reason });
  const out: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(kind.fields) as [string, FieldType][]) {
    const v = item[field];
    if (v === undefined) continue;
    const value = fromValue(type, v);
    if (value === undefined)
      return bad(`field ${field} is not stored as ${type === 'json' ? 'JSON text' : `a ${type}`}`);
    out[field] = value;
  }
  const missing = kind.required.filter((f) => out[f] === undefined);
  if (missing.length) return bad(`missing required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (typeof out.id !== 'string' || !kind.idPattern.test(out.id)) return bad(`not a valid ${kind.noun} id`);
  if (typeof out.updated_at !== 'string' || Number.isNaN(Date.parse(out.updated_at))) {
    return bad('updated_at is not a date');
  }
  if (kind.status) {
    const s = out[kind.status.field];
    if (typeof s !== 'string' || !(s in kind.status.transitions))
      return bad(`${kind.status.field} is not a known status`);
  }
  const checked = kind.check ? kind.check(out) : (out as unknown as R);
  if (!checked) return bad(`a field holds a value a ${kind.noun} cannot have`);
  return { record: checked };
}

/** The record an item holds; attributes the kind does not declare are ignored, and anything malformed fails closed
 * (with the table, when given, and the id in the error). */
export function fromItem<R extends StoredRecord>(kind: RecordKind<R>, item: Item, table?: string): R {
  const parsed = parseItem(kind, item);
  if ('record' in parsed) return parsed.record;
  throw malformed(
    kind,
    { ...(table ? { table } : {}), ...(parsed.id !== undefined ? { id: parsed.id } : {}) },
    parsed.reason,
  );
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
