import { isSentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import type { SessionStore } from '../../core/sessions/types.js';

/** What the start-up check found, for `daemon status`: when, and what was wrong (null: the table answered). */
export interface SessionTableCheck {
  checked_at: string;
  code: string | null;
  problem: string | null;
}

/**
 * Registration of this daemon with a shared table: its server_instance_id is stamped on every session it creates
 * (gsi-server-instance lists them) and reported in /v1/status and the logs. At start, one query of its own (still
 * empty) index partition proves the table, the index and the daemon's AWS access, and says so in the log. It does not
 * hold the start: every credential request reads the table anyway and fails closed while it cannot.
 */
export async function checkSessionTable(
  store: SessionStore,
  table: string,
  serverInstanceId: string,
  log: OpLogger,
): Promise<SessionTableCheck> {
  try {
    await store.list({ server_instance_id: serverInstanceId, limit: 1 });
    log.info({ event: 'session_store_ready', table, server_instance_id: serverInstanceId }, 'session table reachable');
    return { checked_at: new Date().toISOString(), code: null, problem: null };
  } catch (e) {
    const code = isSentinelError(e) ? e.code : 'InternalError';
    // SentinelError messages from the store carry no AWS error text (sessions/store-errors.ts).
    const problem = isSentinelError(e) ? e.message : 'unexpected error';
    log.warn(
      { event: 'session_store_unavailable', table, server_instance_id: serverInstanceId, code, problem },
      'the session table cannot be read; credential requests are refused (503) until it can',
    );
    return { checked_at: new Date().toISOString(), code, problem };
  }
}
