// The daemon's answer to GET /v1/status (DESIGN §3.3).
import { upstreamWaits } from '../../core/upstream-waits.js';
import { VERSION } from '../../core/version.js';
import type { LiveDaemon } from './live.js';

export const credentialUrl = (live: LiveDaemon): string => `http://127.0.0.1:${live.port}/v1/credentials`;

export function daemonStatus(live: LiveDaemon) {
  const { sessions, config } = live;
  return {
    version: VERSION,
    pid: process.pid,
    started_at: sessions.startedAt.toISOString(),
    uptime_seconds: Math.floor((Date.now() - sessions.startedAt.getTime()) / 1000),
    server_instance_id: sessions.serverInstanceId,
    /** Which service manager started it: `daemon restart` asks that manager to restart it. */
    service_manager: live.serviceManager,
    listeners: {
      unix: live.socketPath,
      socket_activated: live.fd !== undefined,
      tcp: { host: config.http.host, port: live.port, peer_lookup: live.tcpPeerLookup },
      url: credentialUrl(live),
    },
    ...sessions.status(),
    /** The start-up check of a DynamoDB session table (null: another store, or not answered yet). */
    session_table_check: live.sessionTableCheck,
    sessions: { active: sessions.activeTokens },
    counters: { ...sessions.counters, reloads: live.reloads },
    audit: live.decisions.status?.() ?? null,
    /** Upstream calls in flight, for a CLI that has waited more than a second. */
    waiting: upstreamWaits(),
  };
}
