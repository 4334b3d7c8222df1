// Conditions for conditional writes beyond create-if-new and the optimistic lock: a rate-limit slot is taken when it
// does not exist OR was freed before now (`attribute_not_exists(id) OR freed_at < :now`, DESIGN §11). A small tree,
// evaluated in code by the memory store and compiled to a ConditionExpression by the DynamoDB store, so both decide
// the same way. Comparisons follow DynamoDB: an absent attribute satisfies no comparison.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SentinelError } from '../errors.js';

export type Scalar = string | number | boolean;

export type Condition =
  | { notExists: true }
  | { field: string; equals: Scalar }
  | { field: string; lessThan: string | number }
  | { anyOf: readonly Condition[] }
  | { allOf: readonly Condition[] };

export const NOT_EXISTS: Condition = { notExists: true };

function compare(a: unknown, b: Scalar, op: 'eq' | 'lt'): boolean {
  if (typeof a !== typeof b) return false;
  if (op === 'eq') return a === b;
  // DynamoDB compares strings by their UTF-8 bytes; for the ASCII this layer stores (timestamps, ids) that is the
  // same as JavaScript's code-unit order.
  return (a as string | number) < (b as string | number);
}

/** Whether a stored record (undefined = none with that id) satisfies the condition. */
export function holds(condition: Condition, stored: object | undefined): boolean {
  if ('notExists' in condition) return stored === undefined;
  if ('anyOf' in condition) return condition.anyOf.some((c) => holds(c, stored));
  if ('allOf' in condition) return condition.allOf.every((c) => holds(c, stored));
  if (stored === undefined) return false;
  const value = (stored as Record<string, unknown>)[condition.field];
  return 'equals' in condition ? compare(value, condition.equals, 'eq') : compare(value, condition.lessThan, 'lt');
}

export interface Expression {
  expression: string;
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
}

function scalar(v: Scalar): AttributeValue {
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  return { BOOL: v };
}

/** The ConditionExpression for a condition; `partitionKey` is what notExists tests. Placeholders are numbered so
 * they never collide with the caller's. */
export function compile(condition: Condition, partitionKey: string, prefix = 'c'): Expression {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  let n = 0;
  const name = (field: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(field)) throw new SentinelError('InternalError', 'bad condition field');
    const key = `#${prefix}${n++}`;
    names[key] = field;
    return key;
  };
  const value = (v: Scalar) => {
    const key = `:${prefix}${n++}`;
    values[key] = scalar(v);
    return key;
  };
  const walk = (c: Condition): string => {
    if ('notExists' in c) return `attribute_not_exists(${name(partitionKey)})`;
    if ('anyOf' in c || 'allOf' in c) {
      const parts = 'anyOf' in c ? c.anyOf : c.allOf;
      if (parts.length === 0) throw new SentinelError('InternalError', 'an empty condition list');
      return `(${parts.map(walk).join('anyOf' in c ? ' OR ' : ' AND ')})`;
    }
    if ('equals' in c) return `${name(c.field)} = ${value(c.equals)}`;
    return `${name(c.field)} < ${value(c.lessThan)}`;
  };
  return { expression: walk(condition), names, values };
}
