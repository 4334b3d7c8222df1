// A decision-log entry as every front end starts one (DESIGN §7): a deny until something allows it, with only what is
// known so far. authorize() fills in the policy, the override and the credentials; a front end that refuses before
// authorize() (peer, token, session read) writes the same shape.
import type { DecisionEntry } from '../audit/types.js';
import { isSentinelError, type ErrorCode } from '../errors.js';
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
