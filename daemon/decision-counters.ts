// The decision counters `daemon status` shows, kept by the sink every decision passes through on its way to the log.
import type { DecisionEntry, DecisionLog } from '../core/audit/types.js';
import type { DecisionSink } from '../core/authorize/types.js';
import type { ErrorCode } from '../core/errors.js';

export interface DecisionCounters {
  sessions_opened: number;
  credential_requests: number;
  credential_process_requests: number;
  allowed: number;
  denied: number;
  /** Refusals by catalogue code (denials and upstream failures alike). */
  refusals: Partial<Record<ErrorCode, number>>;
}

export function newCounters(): DecisionCounters {
  return {
    sessions_opened: 0,
    credential_requests: 0,
    credential_process_requests: 0,
    allowed: 0,
    denied: 0,
    refusals: {},
  };
}

/** Counts each entry's outcome, then hands it to the log. A count of refusals (peer_refusals) counts as the refusals it
 * stands for: each was refused as surely as one with a line of its own. */
export function countingSink(counters: DecisionCounters, log: () => DecisionLog): DecisionSink {
  return {
    write(entry: DecisionEntry) {
      if (entry.outcome === 'allow') {
        counters.allowed += 1;
      } else {
        const code = entry.error_code ?? 'InternalError';
        const n = entry.count ?? 1;
        counters.denied += n;
        counters.refusals[code] = (counters.refusals[code] ?? 0) + n;
      }
      log().write(entry);
    },
    unavailable: () => log().unavailable?.() ?? null,
  };
}
