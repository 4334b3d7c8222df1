// A decision-log entry as every front end starts one (DESIGN §7): a deny until something allows it, with only what is
// known so far. authorize() fills in the policy, the override and the credentials; a front end that refuses before
// authorize() (peer, token, session read) writes the same shape.
import type { DecisionEntry } from '../audit/types.js';
import { SentinelError, isSentinelError, type ErrorCode } from '../errors.js';
import type { Mode } from '../types.js';
import type { DecisionEvent, DecisionSink } from './types.js';

export interface EntryStart {
  event: DecisionEvent;
  at: Date;
  requestId: string;
  profile?: string | null;
  mode?: Mode | null;
  user?: string | null;
  sessionId?: string | null;
  peer?: { pid: number | null; uid: number | null };
}

/** The last timestamp formatted: a busy daemon decides many times within one millisecond, and toISOString is the
 * dearest step of starting an entry. */
let lastMs = NaN;
let lastIso = '';
function isoOf(at: Date): string {
  const ms = at.getTime();
  if (ms !== lastMs) {
    lastIso = at.toISOString();
    lastMs = ms;
  }
  return lastIso;
}

export function decisionEntry(start: EntryStart): DecisionEntry {
  return {
    timestamp: isoOf(start.at),
    event: start.event,
    outcome: 'deny',
    user: start.user ?? null,
    profile: start.profile ?? null,
    effect: null,
    rule: null,
    rule_index: null,
    reason: null,
    policy_source: null,
    policy_version: null,
    mode: start.mode ?? null,
    session_id: start.sessionId ?? null,
    request_id: start.requestId,
    source_identity: null,
    role_arn: null,
    duration_seconds: null,
    peer_pid: start.peer?.pid ?? null,
    peer_uid: start.peer?.uid ?? null,
  };
}

/** Refusals of one peer that is not the front end's user, counted instead of written one by one (the daemon's bound on
 * what another local user can make it write, daemon/server/peer-refusals.ts). */
export interface RefusalCount {
  transport: 'unix' | 'tcp';
  /** null: the owner of the connections could not be found. */
  uid: number | null;
  count: number;
  first: Date;
  last: Date;
}

/** The one line a RefusalCount becomes: a deny with PeerNotAllowed, like each of the refusals it stands for; its
 * request_id names this line, not any of those requests. */
export function refusalCountEntry(counted: RefusalCount, at: Date, requestId: string): DecisionEntry {
  const entry = refused(
    decisionEntry({ event: 'peer_refusals', at, requestId, peer: { pid: null, uid: counted.uid } }),
    new SentinelError('PeerNotAllowed'),
  );
  entry.transport = counted.transport;
  entry.count = counted.count;
  entry.first_timestamp = counted.first.toISOString();
  entry.last_timestamp = counted.last.toISOString();
  return entry;
}

/** The catalogue code a refusal is logged with; anything that is not a SentinelError is an internal error. */
export function errorCodeOf(e: unknown): ErrorCode {
  return isSentinelError(e) ? e.code : 'InternalError';
}

/** Runs a step of a front end before or after authorize(); if it throws, the entry is written refused with its code
 * (authorize() writes its own). */
export async function refusing<T>(sink: DecisionSink, entry: DecisionEntry, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    sink.write(refused(entry, e));
    throw e;
  }
}

/** Marks an entry refused with the error's code. */
export function refused(entry: DecisionEntry, error: unknown): DecisionEntry {
  entry.outcome = 'deny';
  entry.error_code = errorCodeOf(error);
  return entry;
}
