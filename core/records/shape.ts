// A table's shape: its key, its global secondary indexes and its TTL attribute. One shape per table, shared by every
// record kind stored in it (a break-glass table holds events, locks and rate-limit slots), by the stores that read
// it and by `sentinel init <table>` that creates and checks it. Pure data: no SDK import.
import type { ErrorCode } from '../errors.js';

export interface IndexShape {
  name: string;
  hash: string;
  range: string;
}

export interface TableShape {
  /** What the table holds, in messages: "the session table sentinel-sessions cannot be reached". */
  noun: string;
  /** The `sentinel init` subcommand that creates it (its hint when the table is missing). */
  init: string;
  defaultName: string;
  /** Always a string attribute; the only key of the table. */
  partitionKey: string;
  indexes: readonly IndexShape[];
  /** Epoch seconds; DynamoDB's TTL reaps the item some time after it (the memory store, at once). */
  ttlAttribute: string;
  /** What a caller sees when the table cannot answer (fail closed). */
  unavailable: ErrorCode;
  /** Why the TTL is where it is, for `init --plan`. */
  ttlNote: string;
  /** The DynamoDB actions each role needs on the table and its indexes (printed by `init --plan`). */
  access: { daemon: readonly string[]; admin: readonly string[] };
}

/** "a session table", "an approval request table": the noun with its article, for messages. */
export const withArticle = (noun: string): string => (/^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`);

/** Every attribute a key schema (table or index) of the shape uses; all strings. */
export function keyAttributes(shape: TableShape): string[] {
  return [shape.partitionKey, ...new Set(shape.indexes.flatMap((i) => [i.hash, i.range]))].filter(
    (a, i, all) => all.indexOf(a) === i,
  );
}

/** DynamoDB's own rule for table names (and config.yaml's). */
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** What creating a table and turning on its protections takes (`sentinel init <table>`, `init bootstrap`). */
export const TABLE_SETUP_ACTIONS: readonly string[] = [
  'dynamodb:CreateTable',
  'dynamodb:DescribeTable',
  'dynamodb:UpdateTable',
  'dynamodb:DescribeTimeToLive',
  'dynamodb:UpdateTimeToLive',
  'dynamodb:DescribeContinuousBackups',
  'dynamodb:UpdateContinuousBackups',
];
