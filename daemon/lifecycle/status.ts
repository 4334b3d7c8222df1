// The daemon's answer to GET /v1/status (DESIGN §3.3).
import { VERSION } from '../../core/version.js';
import type { LiveDaemon } from './live.js';

export const credentialUrl = (live: LiveDaemon): string => `http://127.0.0.1:${live.port}/v1/credentials`;

export function daemonStatus(live: LiveDaemon) {
  const { broker, config } = live;
  return {
    version: VERSION,
    pid: process.pid,
    started_at: broker.startedAt.toISOString(),
    uptime_seconds: Math.floor((Date.now() - broker.startedAt.getTime()) / 1000),
    server_instance_id: broker.serverInstanceId,
    listeners: {
      unix: live.socketPath,
      socket_activated: live.fd !== undefined,
      tcp: { host: config.http.host, port: live.port },
      url: credentialUrl(live),
    },
    policy: broker.policyProvider.status(),
    store: broker.storeKind,
    session_table: live.store.kind === 'dynamodb' ? config.sessions.table : null,
    sessions: { active: broker.activeTokens },
    counters: { ...broker.counters, reloads: live.reloads },
  };
}
