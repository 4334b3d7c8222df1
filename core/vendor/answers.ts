// What the vendor answers, checked before anyone uses it (DESIGN §17): the client already refuses what is not a JSON
// object; these refuse a JSON object that is not the record a route promises. A vendor (or something posing as it)
// that answers nonsense is no answer: VendorUnavailable, never a crash or a half-printed record.
import { SentinelError } from '../errors.js';

/** `what` with its article: "a session", "an approval request". */
export function notA(what: string): SentinelError {
  return new SentinelError('VendorUnavailable', `the Sentinel vendor answered with something that is not ${what}`);
}

/** A JSON object (not an array, not null). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function objectAnswer(value: unknown, what = 'an answer'): Record<string, any> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw notA(what);
  return value as Record<string, unknown>;
}

/** A record of a route that answers one (a session, a request, an event): it has a string id and a string status;
 * with `id`, the id asked about. */
export function recordAnswer<T>(value: unknown, what: string, id?: string): T {
  const r = objectAnswer(value, what);
  if (typeof r.id !== 'string' || typeof r.status !== 'string' || (id !== undefined && r.id !== id)) throw notA(what);
  return r as T;
}

/** `{<key>: [record, ...]}`. */
export function listAnswer<T>(value: unknown, key: string, what: string): T[] {
  const list = objectAnswer(value, 'a list')[key];
  if (!Array.isArray(list)) throw notA('a list');
  return list.map((v) => recordAnswer<T>(v, what));
}
