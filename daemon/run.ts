// `sentinel daemon run` (DESIGN §3): composes the decision core and the two listeners, and owns the lifecycle —
// private runtime dir, one daemon per dir, TCP first and the Unix socket last (an answer on the socket means the
// daemon is fully up), sd_notify, SIGHUP reload, and a bounded graceful stop.
import { chmodSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { DecisionLog } from '../core/audit/types.js';
import { Broker, pooledRequestIds } from './broker.js';
import { loadConfig, type Config } from '../core/config.js';
import { SentinelError, isSentinelError } from '../core/errors.js';
import { createLogger, type OpLogger } from '../core/log.js';
import type { PolicyProvider, PolicyStatus } from '../core/policy/types.js';
import { writeDaemonState, removeDaemonState } from './runtime/daemon-state.js';
import { acquireLock, clearStaleSocket, type Lock } from './runtime/lock.js';
import { currentUid, ensurePrivateDir, ensureSocketDir } from './runtime/runtime-dir.js';
import { activatedCount, activatedFd, clearActivationEnv } from './runtime/socket-activation.js';
import { createApp } from './server/app.js';
import { FailureLimiter, type PeerSources } from './server/auth.js';
import { DEFAULT_LIMITS, type Limits, type ServerContext } from './server/context.js';
import type { SessionStore } from '../core/sessions/types.js';
import { TokenRegistry } from './tokens.js';
import type { Vendor } from '../core/issuer/types.js';
import { VERSION } from '../core/version.js';

/** The parts the daemon is composed of; each has a real default and may be replaced (tests, a server-side vendor). */
export interface DaemonParts {
  policy(config: Config, log: OpLogger): PolicyProvider | Promise<PolicyProvider>;
  store(config: Config, log: OpLogger): SessionStore | Promise<SessionStore>;
  vendor(config: Config, log: OpLogger, env: NodeJS.ProcessEnv): Vendor | Promise<Vendor>;
  decisions(config: Config, log: OpLogger): DecisionLog | Promise<DecisionLog>;
  peers: PeerSources;
  /** sd_notify; false when there is no NOTIFY_SOCKET. */
  notify(message: string, env: NodeJS.ProcessEnv): boolean;
  newRequestId(): string;
}

export interface RunOptions {
  /** Environment for config, paths, AWS config and NOTIFY_SOCKET (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A ready config; otherwise loaded (and reloaded on SIGHUP) from --config / SENTINEL_CONFIG / XDG. */
  config?: Config;
  configFlag?: string;
  socketFlag?: string;
  log?: OpLogger;
  /** SIGTERM/SIGINT stop, SIGHUP reloads. The CLI sets this; in-process tests do not. */
  handleSignals?: boolean;
  limits?: Partial<Limits>;
  parts?: Partial<DaemonParts>;
  /** How long a stop waits for requests in flight before closing their connections. */
  drainMs?: number;
  /** How often session owners' pids are checked. */
  pidPollMs?: number;
  /** How often coalesced last_access_at/request_count updates are written (default by store kind). */
  touchFlushMs?: number;
}

export interface RunningDaemon {
  readonly config: Config;
  readonly socketPath: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>/v1/credentials` */
  readonly url: string;
  readonly socketActivated: boolean;
  readonly broker: Broker;
  readonly parts: { policy: PolicyProvider; store: SessionStore; vendor: Vendor; decisions: DecisionLog };
  /** Resolves once the daemon has stopped (by close(), a signal or POST /v1/shutdown). */
  readonly closed: Promise<void>;
  close(reason?: string): Promise<void>;
  /** What SIGHUP does: config, policy and AWS config again. */
  reload(): Promise<void>;
}

async function defaultParts(): Promise<DaemonParts> {
  const [native, tcpPeer, policy, vending, audit] = await Promise.all([
    import('../native/index.js'),
    import('./server/tcp-peer.js'),
    import('../core/policy/provider.js'),
    import('./vending/vendor.js'),
    import('../core/audit/decision-log.js'),
  ]);
  native.loadNative(); // fail at start, not at the first connection
  return {
    policy: (config, log) => policy.createPolicyProvider(config, { log }),
    // The DynamoDB client is loaded only for the DynamoDB store: the memory store needs none of it.
    store: async (config) =>
      config.sessions.store === 'memory'
        ? new (await import('../core/sessions/memory.js')).MemorySessionStore()
        : (await import('../core/sessions/factory.js')).createSessionStore(config),
    vendor: (config, log, env) => vending.createVendor(config, { log, env }),
    decisions: (config, log) => audit.createDecisionLog(config, { log }),
    peers: { peerOf: native.peerOf, tcpPeerUid: tcpPeer.tcpPeerUid },
    notify: native.notify,
    newRequestId: pooledRequestIds(),
  };
}

async function resolveParts(given: Partial<DaemonParts> | undefined): Promise<DaemonParts> {
  const keys: Array<keyof DaemonParts> = ['policy', 'store', 'vendor', 'decisions', 'peers', 'notify', 'newRequestId'];
  if (given && keys.every((k) => given[k] !== undefined)) return given as DaemonParts;
  return { ...(await defaultParts()), ...given };
}

/** Which config changes a reload can apply; the rest need a restart. */
function restartOnly(a: Config, b: Config): string[] {
  const changed: string[] = [];
  if (a.runtimeDir !== b.runtimeDir) changed.push('runtime_dir');
  if (a.socketPath !== b.socketPath) changed.push('socket');
  if (a.http.host !== b.http.host || a.http.port !== b.http.port) changed.push('http');
  if (a.sessions.store !== b.sessions.store || a.sessions.table !== b.sessions.table) changed.push('sessions.store');
  if (a.audit.file !== b.audit.file || a.audit.hmacKeyFile !== b.audit.hmacKeyFile) changed.push('audit');
  return changed;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Registration of this daemon with a shared table: its server_instance_id is stamped on every session it creates
 * (gsi-server-instance lists them) and reported in /v1/status and the logs. At start, one query of its own (still
 * empty) index partition proves the table, the index and the daemon's AWS access, and says so in the log. It does not
 * hold the start: every credential request reads the table anyway and fails closed while it cannot.
 */
async function checkSessionTable(
  store: SessionStore,
  table: string,
  serverInstanceId: string,
  log: OpLogger,
): Promise<void> {
  try {
    await store.list({ server_instance_id: serverInstanceId, limit: 1 });
    log.info({ event: 'session_store_ready', table, server_instance_id: serverInstanceId }, 'session table reachable');
  } catch (e) {
    const code = isSentinelError(e) ? e.code : 'InternalError';
    // SentinelError messages from the store carry no AWS error text (sessions/store-errors.ts).
    const problem = isSentinelError(e) ? e.message : 'unexpected error';
    log.warn(
      { event: 'session_store_unavailable', table, server_instance_id: serverInstanceId, code, problem },
      'the session table cannot be read; credential requests are refused (503) until it can',
    );
  }
}

export async function runDaemon(options: RunOptions = {}): Promise<RunningDaemon> {
  const env = options.env ?? process.env;
  const loadCurrentConfig = () =>
    options.config ?? loadConfig({ env, configFlag: options.configFlag, socketFlag: options.socketFlag });
  let config = loadCurrentConfig();
  const log = options.log ?? createLogger();
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const uid = currentUid();

  const fd = activatedFd(env);
  if (fd !== undefined) {
    if (activatedCount(env) > 1)
      log.warn(
        { event: 'socket_activation', fds: activatedCount(env) },
        'systemd passed several sockets; serving only the first',
      );
    clearActivationEnv(env);
  }
  const socketPath = resolve(config.socketPath);
  ensurePrivateDir(config.runtimeDir, uid);
  if (fd === undefined && dirname(socketPath) !== resolve(config.runtimeDir)) ensureSocketDir(dirname(socketPath), uid);
  const lock: Lock = acquireLock(config.runtimeDir, log);

  // Everything started so far, stopped in reverse if the start fails half-way.
  const undo: Array<() => Promise<void> | void> = [() => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        // best effort: the original error is what the caller needs
      }
    }
  };

  try {
    const parts = await resolveParts(options.parts);
    const decisions = await parts.decisions(config, log);
    undo.push(() => decisions.close());
    let policy = await parts.policy(config, log);
    undo.push(() => policy.close());
    await policy.start();
    const policyStatus = policy.status();
    if (policyStatus.lastError) {
      log.warn(
        { event: 'policy_unavailable', location: policyStatus.location, problem: policyStatus.lastError },
        'no valid policy loaded; every request is denied until one is',
      );
    }
    const store = await parts.store(config, log);
    undo.push(() => store.close());
    let vendor = await parts.vendor(config, log, env);
    undo.push(() => vendor.close());

    const tokens = new TokenRegistry();
    const broker = new Broker({
      config,
      policy,
      store,
      vendor,
      decisions,
      tokens,
      log,
      newRequestId: parts.newRequestId,
      pidPollMs: options.pidPollMs,
      touchFlushMs: options.touchFlushMs,
    });
    undo.push(() => broker.stop());

    let port = 0;
    let reloads = 0;
    let stopping: Promise<void> | undefined;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const url = () => `http://127.0.0.1:${port}/v1/credentials`;
    const sendNotify = (message: string) => {
      try {
        parts.notify(message, env);
      } catch (e) {
        log.warn(
          { event: 'notify_failed', code: (e as NodeJS.ErrnoException).code },
          'could not notify the service manager',
        );
      }
    };

    const ctx: ServerContext = {
      broker,
      log,
      daemonUid: uid,
      sources: parts.peers,
      tcpUidCheck: process.platform === 'linux',
      limiter: new FailureLimiter(),
      limits,
      control: {
        status: () => ({
          version: VERSION,
          pid: process.pid,
          started_at: broker.startedAt.toISOString(),
          uptime_seconds: Math.floor((Date.now() - broker.startedAt.getTime()) / 1000),
          server_instance_id: broker.serverInstanceId,
          listeners: {
            unix: socketPath,
            socket_activated: fd !== undefined,
            tcp: { host: config.http.host, port },
            url: url(),
          },
          policy: broker.policyProvider.status(),
          store: broker.storeKind,
          session_table: store.kind === 'dynamodb' ? config.sessions.table : null,
          sessions: { active: broker.activeTokens },
          counters: { ...broker.counters, reloads },
        }),
        reloadPolicy: () => broker.policyProvider.reload(),
        shutdown: () => void stop('shutdown requested'),
        credentialUrl: url,
      },
    };

    const tcpApp: FastifyInstance = createApp('tcp', ctx);
    const unixApp: FastifyInstance = createApp('unix', ctx);
    undo.push(() => tcpApp.close());
    undo.push(() => unixApp.close());

    await tcpApp.listen({ host: config.http.host, port: config.http.port });
    port = (tcpApp.server.address() as AddressInfo).port;
    log.info({ event: 'listening', transport: 'tcp', host: config.http.host, port }, 'credential endpoint listening');

    // daemon.json goes out before the socket answers, so anyone who reached the socket can also find the port.
    const startedAt = broker.startedAt.toISOString();
    writeDaemonState(config.runtimeDir, {
      pid: process.pid,
      port,
      version: VERSION,
      socket: socketPath,
      started_at: startedAt,
    });
    undo.push(() => removeDaemonState(config.runtimeDir));

    if (fd !== undefined) {
      // fastify's listen() cannot describe an fd-only server, so the node server listens on the fd directly; fastify's
      // close() still closes it.
      await unixApp.ready();
      await new Promise<void>((resolveListen, rejectListen) => {
        unixApp.server.once('error', rejectListen);
        unixApp.server.listen({ fd }, () => {
          unixApp.server.off('error', rejectListen);
          resolveListen();
        });
      });
      log.info(
        { event: 'listening', transport: 'unix', fd, socket_activated: true },
        'control socket listening (socket activation)',
      );
    } else {
      await clearStaleSocket(socketPath, log, uid);
      // A restrictive umask while binding, so the socket is never reachable by others even for an instant.
      const umask = process.umask(0o177);
      try {
        await unixApp.listen({ path: socketPath });
      } finally {
        process.umask(umask);
      }
      chmodSync(socketPath, 0o600);
      undo.push(() => rmSync(socketPath, { force: true }));
      log.info({ event: 'listening', transport: 'unix', path: socketPath }, 'control socket listening');
    }

    const statusLine = () =>
      `STATUS=serving on ${fd !== undefined ? 'fd 3' : socketPath} and ${config.http.host}:${port}`;
    sendNotify(`READY=1\n${statusLine()}\nMAINPID=${process.pid}`);

    let watchdog: NodeJS.Timeout | undefined;
    const watchdogUsec = Number(env.WATCHDOG_USEC);
    if (
      Number.isFinite(watchdogUsec) &&
      watchdogUsec > 0 &&
      (!env.WATCHDOG_PID || env.WATCHDOG_PID === String(process.pid))
    ) {
      const everyMs = Math.max(1, Math.floor(watchdogUsec / 2000));
      watchdog = setInterval(() => sendNotify('WATCHDOG=1'), everyMs);
      watchdog.unref();
    }

    const reload = async (): Promise<void> => {
      reloads += 1;
      sendNotify('RELOADING=1\nSTATUS=reloading');
      try {
        let next: Config;
        try {
          next = loadCurrentConfig();
        } catch (e) {
          log.error(
            {
              event: 'reload_failed',
              code: isSentinelError(e) ? e.code : 'InternalError',
              problem: (e as Error).message,
            },
            'config reload failed; the running config stays in force',
          );
          next = config;
        }
        const needRestart = restartOnly(config, next);
        if (needRestart.length > 0)
          log.warn({ event: 'reload_partial', keys: needRestart }, 'these settings take effect at the next restart');
        if (!same(config.policy, next.policy)) {
          const fresh = await parts.policy(next, log);
          await fresh.start();
          const old = policy;
          policy = fresh;
          broker.replaceParts({ policy: fresh });
          await old.close();
        } else {
          await policy.reload();
        }
        if (
          !same(config.credentials, next.credentials) ||
          config.awsProfile !== next.awsProfile ||
          config.region !== next.region
        ) {
          const fresh = await parts.vendor(next, log, env);
          const old = vendor;
          vendor = fresh;
          broker.replaceParts({ vendor: fresh });
          old.close();
        } else {
          vendor.reload();
        }
        config = {
          ...next,
          runtimeDir: config.runtimeDir,
          socketPath: config.socketPath,
          http: config.http,
          sessions: { ...next.sessions, store: config.sessions.store, table: config.sessions.table },
          audit: config.audit,
        };
        broker.replaceParts({ config });
        const status: PolicyStatus = policy.status();
        log.info(
          { event: 'reloaded', policy_version: status.version, policy_error: status.lastError },
          'reloaded config, policy and AWS config',
        );
      } finally {
        sendNotify(`READY=1\n${statusLine()}`);
      }
    };

    const onTerm = (signal: NodeJS.Signals) => void stop(`received ${signal}`);
    const onHup = () => {
      reload().catch((e: unknown) =>
        log.error({ event: 'reload_failed', problem: (e as Error).message }, 'reload failed'),
      );
    };
    if (options.handleSignals) {
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onTerm);
      process.on('SIGHUP', onHup);
    }

    const drainMs = options.drainMs ?? 5000;
    const stop = (reason: string): Promise<void> => {
      stopping ??= (async () => {
        log.info({ event: 'stopping', reason }, 'stopping');
        sendNotify('STOPPING=1\nSTATUS=stopping');
        if (watchdog) clearInterval(watchdog);
        // Stop accepting; requests in flight finish, bounded by drainMs.
        const drained = Promise.all([unixApp.close(), tcpApp.close()]);
        const force = setTimeout(() => {
          log.warn(
            { event: 'drain_timeout', ms: drainMs },
            'requests still in flight at the stop deadline; closing their connections',
          );
          unixApp.server.closeAllConnections();
          tcpApp.server.closeAllConnections();
        }, drainMs);
        try {
          await drained;
        } finally {
          clearTimeout(force);
        }
        const steps: Array<[string, () => Promise<void> | void]> = [
          ['sessions', () => broker.stop()],
          [
            'decision log',
            async () => {
              await decisions.flush();
              await decisions.close();
            },
          ],
          ['policy', () => policy.close()],
          ['vendor', () => vendor.close()],
          ['session store', () => store.close()],
          [
            'socket',
            () => {
              if (fd === undefined) rmSync(socketPath, { force: true });
            },
          ],
          ['daemon.json', () => removeDaemonState(config.runtimeDir)],
          ['lock', () => lock.release()],
        ];
        for (const [what, step] of steps) {
          try {
            await step();
          } catch (e) {
            log.warn({ event: 'stop_step_failed', step: what, problem: (e as Error).message }, 'a stop step failed');
          }
        }
        if (options.handleSignals) {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onTerm);
          process.off('SIGHUP', onHup);
        }
        log.info({ event: 'stopped' }, 'stopped');
        resolveClosed();
      })();
      return stopping;
    };

    log.info(
      {
        event: 'ready',
        version: VERSION,
        pid: process.pid,
        socket: socketPath,
        port,
        policy: policyStatus.location,
        store: store.kind,
        server_instance_id: broker.serverInstanceId,
      },
      'sentinel daemon ready',
    );
    if (store.kind === 'dynamodb') void checkSessionTable(store, config.sessions.table, broker.serverInstanceId, log);

    return {
      get config() {
        return config;
      },
      socketPath,
      port,
      url: url(),
      socketActivated: fd !== undefined,
      broker,
      get parts() {
        return { policy, store, vendor, decisions };
      },
      closed,
      close: (reason = 'closed') => stop(reason),
      reload,
    };
  } catch (e) {
    await unwind();
    if (isSentinelError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new SentinelError('DaemonAlreadyRunning', `the address is already in use (${(e as Error).message})`, {
        cause: e,
      });
    throw e;
  }
}
