// What a running daemon holds and what a reload may swap: the lifecycle steps share this one object, so each reads
// the parts in force now rather than the ones it was started with.
import type { ServiceManager } from './service-manager.js';
import type { SessionTableCheck } from './session-table.js';
import type { DecisionLog } from '../../core/audit/types.js';
import type { Config } from '../../core/config.js';
import type { Vendor } from '../../core/issuer/types.js';
import type { OpLogger } from '../../core/log.js';
import type { PolicyProvider } from '../../core/policy/types.js';
import type { SessionStore } from '../../core/sessions/types.js';
import type { DaemonApprovals } from '../approvals.js';
import type { DaemonBreakglass } from '../breakglass.js';
import type { RequesterApi } from '../../core/approvals/requester.js';
import type { BreakglassService } from '../../core/breakglass/service.js';
import type { LocalSessions } from '../sessions/local-sessions.js';
import type { DaemonSessions } from '../sessions/types.js';
import type { DaemonParts } from '../parts.js';
import type { TcpPeerLookup } from './listeners.js';

/** What decides here when no server-side vendor does; a reload may swap the policy and the credential vendor. */
export interface LocalParts {
  policy: PolicyProvider;
  vendor: Vendor;
  readonly store: SessionStore;
  readonly approvals: DaemonApprovals;
  readonly breakglass: DaemonBreakglass;
  readonly sessions: LocalSessions;
}

export interface LiveDaemon {
  config: Config;
  /** null in vendor mode (DESIGN §17): the daemon reads no policy and calls no STS of its own. */
  readonly local: LocalParts | null;
  readonly decisions: DecisionLog;
  readonly sessions: DaemonSessions;
  /** `/v1/requests` and `/v1/breakglass`: the tables here, or the vendor's routes. */
  readonly requests: RequesterApi;
  readonly breakglass: BreakglassService;
  readonly parts: DaemonParts;
  readonly log: OpLogger;
  readonly env: NodeJS.ProcessEnv;
  readonly socketPath: string;
  /** The systemd-passed fd of the control socket, when socket-activated. */
  readonly fd: number | undefined;
  port: number;
  /** How the TCP listener finds a connection's owner (set when it starts listening). */
  tcpPeerLookup: TcpPeerLookup;
  reloads: number;
  /** The start-up check of a DynamoDB session table; null until it has answered, or with another store. */
  sessionTableCheck: SessionTableCheck | null;
  /** Which service manager started this daemon (null: started by hand, `daemon start` or a test). */
  readonly serviceManager: ServiceManager | null;
}

/** sd_notify that never throws: a service manager that went away must not take the daemon with it. */
export function notifier(live: Pick<LiveDaemon, 'parts' | 'env' | 'log'>): (message: string) => void {
  return (message) => {
    try {
      live.parts.notify(message, live.env);
    } catch (e) {
      live.log.warn(
        { event: 'notify_failed', code: (e as NodeJS.ErrnoException).code },
        'could not notify the service manager',
      );
    }
  };
}

export const statusLine = (live: LiveDaemon): string =>
  `STATUS=serving on ${live.fd !== undefined ? 'fd 3' : live.socketPath} and ${live.config.http.host}:${live.port}`;

/** systemd's watchdog: pinged at half the interval it asked for, only when it asked this pid. */
export function startWatchdog(env: NodeJS.ProcessEnv, send: (message: string) => void): NodeJS.Timeout | undefined {
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(watchdogUsec) || watchdogUsec <= 0) return undefined;
  if (env.WATCHDOG_PID && env.WATCHDOG_PID !== String(process.pid)) return undefined;
  const timer = setInterval(() => send('WATCHDOG=1'), Math.max(1, Math.floor(watchdogUsec / 2000)));
  timer.unref();
  return timer;
}
