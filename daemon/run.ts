// `sentinel daemon run` (DESIGN §3): composes the decision core and the two listeners, and owns the lifecycle —
// private runtime dir, one daemon per dir, TCP first and the Unix socket last (an answer on the socket means the
// daemon is fully up), sd_notify, SIGHUP reload, and a bounded graceful stop.
import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { DecisionLog } from '../core/audit/types.js';
import { loadConfig, type Config } from '../core/config.js';
import { SentinelError, isSentinelError } from '../core/errors.js';
import type { Vendor } from '../core/issuer/types.js';
import { createLogger, type OpLogger } from '../core/log.js';
import { logSkippedItems } from '../core/records/skipped.js';
import type { PolicyProvider } from '../core/policy/types.js';
import type { SessionStore } from '../core/sessions/types.js';
import { VERSION } from '../core/version.js';
import { LocalSessions } from './sessions/local-sessions.js';
import { BridgeSessions } from './sessions/bridge-sessions.js';
import type { DaemonSessions } from './sessions/types.js';
import { bridgeBreakglass, bridgeRequests } from './bridge-services.js';
import { createDaemonApprovals } from './approvals.js';
import { createDaemonBreakglass } from './breakglass.js';
import type { MfaSessions } from '../core/breakglass/mfa.js';
import { composeOverrides } from '../core/authorize/overrides.js';
import { claimRuntime, type RuntimeClaim } from './lifecycle/claim.js';
import { listenTcp, listenUnix, tcpPeerLookup } from './lifecycle/listeners.js';
import { serviceManager } from './lifecycle/service-manager.js';
import { notifier, startWatchdog, statusLine, type LiveDaemon, type LocalParts } from './lifecycle/live.js';
import { createReload, type ReloadResult } from './lifecycle/reload.js';
import { checkSessionTable } from './lifecycle/session-table.js';
import { handleSignals, type HangupAction } from './lifecycle/signals.js';
import { credentialUrl, daemonStatus } from './lifecycle/status.js';
import { createStop } from './lifecycle/stop.js';
import { resolveParts, type DaemonParts } from './parts.js';
import { writeDaemonState, removeDaemonState, readLastPort, writeLastPort } from './runtime/daemon-state.js';
import { createApp } from './server/app.js';
import { FailureLimiter } from './server/auth.js';
import { PeerRefusals } from './server/peer-refusals.js';
import { DEFAULT_LIMITS, type Limits, type ServerContext } from './server/context.js';
import { TokenRegistry } from './tokens.js';

export type { DaemonParts } from './parts.js';

export interface RunOptions {
  /** Environment for config, paths, AWS config and NOTIFY_SOCKET (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A ready config; otherwise loaded (and reloaded on SIGHUP) from --config / SENTINEL_CONFIG / XDG. */
  config?: Config;
  configFlag?: string;
  socketFlag?: string;
  log?: OpLogger;
  /** SIGTERM/SIGINT stop, SIGHUP does `hangup`. The CLI sets this; in-process tests do not. */
  handleSignals?: boolean;
  /** What SIGHUP does (default reload): the CLI says stop when the daemon runs in the foreground of a terminal. */
  hangup?: HangupAction;
  limits?: Partial<Limits>;
  parts?: Partial<DaemonParts>;
  /** How long a stop waits for requests in flight before closing their connections. */
  drainMs?: number;
  /** How often session owners' pids are checked. */
  pidPollMs?: number;
  /** How often coalesced last_access_at/request_count updates are written (default by store kind). */
  touchFlushMs?: number;
  /** The clock decisions and sessions go by (default the system's): tests stand on a given weekday and hour. */
  now?: () => Date;
}

export interface RunningDaemon {
  readonly config: Config;
  readonly socketPath: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>/v1/credentials` */
  readonly url: string;
  readonly socketActivated: boolean;
  readonly sessions: DaemonSessions;
  /** The local parts are absent in vendor mode. */
  readonly parts: { policy?: PolicyProvider; store?: SessionStore; vendor?: Vendor; decisions: DecisionLog };
  /** Resolves once the daemon has stopped (by close(), a signal or POST /v1/shutdown). */
  readonly closed: Promise<void>;
  close(reason?: string): Promise<void>;
  /** What SIGHUP does: config, policy and AWS config again. */
  reload(): Promise<ReloadResult>;
}

export async function runDaemon(options: RunOptions = {}): Promise<RunningDaemon> {
  const env = options.env ?? process.env;
  const loadCurrentConfig = () =>
    options.config ?? loadConfig({ env, configFlag: options.configFlag, socketFlag: options.socketFlag });
  const config = loadCurrentConfig();
  const log = options.log ?? createLogger();
  const claim = claimRuntime(config, env, log);
  // Everything started so far, stopped in reverse if the start fails half-way.
  const undo: Undo = [() => claim.lock.release()];
  try {
    const live = await compose(config, options, { env, log, claim }, undo);
    return await serve(live, options, claim, undo, loadCurrentConfig);
  } catch (e) {
    await unwind(undo);
    if (isSentinelError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new SentinelError('DaemonAlreadyRunning', `the address is already in use (${(e as Error).message})`, {
        cause: e,
      });
    throw e;
  }
}

type Undo = Array<() => Promise<void> | void>;

/** The session side: decided here (decision log, policy, store, STS), or through the server-side vendor. */
async function compose(
  config: Config,
  options: RunOptions,
  at: { env: NodeJS.ProcessEnv; log: OpLogger; claim: RuntimeClaim },
  undo: Undo,
): Promise<LiveDaemon> {
  const { env, log, claim } = at;
  // Items the record layer's queries skip (malformed, or not written by Sentinel) are warn lines of this log.
  undo.push(logSkippedItems(log));
  const parts = await resolveParts(options.parts);
  const decisions = await parts.decisions(config, log);
  undo.push(() => decisions.close());
  const common = {
    config,
    decisions,
    parts,
    log,
    env,
    socketPath: claim.socketPath,
    fd: claim.fd,
    port: 0,
    tcpPeerLookup: 'off' as const,
    reloads: 0,
    sessionTableCheck: null,
    serviceManager: serviceManager(env),
  };
  if (config.vendor) {
    // Vendor mode (DESIGN §17): no local policy, store or STS; every decision is the vendor's.
    const client = await parts.vendorClient(config.vendor);
    const sessions = new BridgeSessions({
      ...{ vendor: config.vendor, client, decisions, log, tokens: new TokenRegistry() },
      newRequestId: parts.newRequestId,
      pidPollMs: options.pidPollMs,
    });
    undo.push(() => sessions.stop());
    return {
      ...{ ...common, local: null, sessions },
      ...{ requests: bridgeRequests(client), breakglass: bridgeBreakglass(client) },
    };
  }
  const local = await composeLocal(config, options, { parts, decisions, env, log }, undo);
  return {
    ...{ ...common, local, sessions: local.sessions },
    ...{ requests: local.approvals.api(local.sessions), breakglass: local.breakglass.api(local.sessions) },
  };
}

/** A daemon that decides itself: policy, session store, credential vendor, approvals and the local session manager. */
async function composeLocal(
  config: Config,
  options: RunOptions,
  at: { parts: DaemonParts; decisions: DecisionLog; env: NodeJS.ProcessEnv; log: OpLogger },
  undo: Undo,
): Promise<LocalParts> {
  const { parts, decisions, env, log } = at;
  const policy = await parts.policy(config, log);
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
  const vendor = await parts.vendor(config, log, env);
  undo.push(() => vendor.close());
  let current: LocalSessions | undefined;
  const policyNow = () => current?.policyProvider ?? policy;
  const approvals = await createDaemonApprovals(config, policyNow, log, store);
  undo.push(() => approvals.close());
  // Through the vendor in force: a reload that replaces it (new credentials settings) drops its MFA sessions, as a
  // restart would, and break-glass then answers MfaRequired.
  let vendorNow = () => vendor;
  const mfa: MfaSessions = {
    verify: (profile, code, now) => vendorNow().mfa.verify(profile, code, now),
    holds: (profile, now) => vendorNow().mfa.holds(profile, now),
    assertVerifiable: async (profile) => vendorNow().mfa.assertVerifiable?.(profile),
  };
  const breakglass = await createDaemonBreakglass(config, policyNow, log, mfa, store);
  undo.push(() => breakglass.close());
  const sessions = new LocalSessions({
    ...{ config, policy, store, vendor, decisions, log, tokens: new TokenRegistry() },
    // An approved request first (it is the narrower grant), then an active break-glass event.
    overrides: composeOverrides(approvals.overrides, breakglass.overrides),
    newRequestId: parts.newRequestId,
    pidPollMs: options.pidPollMs,
    touchFlushMs: options.touchFlushMs,
    ...(options.now ? { now: options.now } : {}),
  });
  current = sessions;
  undo.push(() => sessions.stop());
  const local: LocalParts = { policy, store, vendor, approvals, breakglass, sessions };
  vendorNow = () => local.vendor;
  return local;
}

/** The listeners, daemon.json, sd_notify, signals and the handle the caller stops it with. */
async function serve(
  live: LiveDaemon,
  options: RunOptions,
  claim: RuntimeClaim,
  undo: Undo,
  loadCurrentConfig: () => Config,
): Promise<RunningDaemon> {
  const { config, sessions, log, decisions } = live;
  const { fd, socketPath, uid } = claim;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const reload = createReload(live, loadCurrentConfig);
  const tcpUidCheck = process.platform === 'linux';
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const refusals = new PeerRefusals({
    record: (counted) => sessions.recordCountedRefusals(counted),
    log,
    recordedPerWindow: limits.refusalsRecordedPerPeer,
    windowMs: limits.refusalWindowMs,
  });
  undo.push(() => refusals.close());
  const ctx: ServerContext = {
    ...{ sessions, log, daemonUid: uid, sources: live.parts.peers, tcpUidCheck },
    requests: live.requests,
    breakglass: live.breakglass,
    limiter: new FailureLimiter(),
    refusals,
    limits,
    control: {
      status: () => daemonStatus(live),
      reloadPolicy: async () => (live.local ? live.local.policy.reload() : sessions.status().policy),
      reload,
      shutdown: () => void stop('shutdown requested'),
      credentialUrl: () => credentialUrl(live),
    },
  };
  const tcpApp: FastifyInstance = createApp('tcp', ctx);
  const unixApp: FastifyInstance = createApp('unix', ctx);
  undo.push(() => tcpApp.close());
  undo.push(() => unixApp.close());

  live.tcpPeerLookup = tcpPeerLookup(live.parts.peers, tcpUidCheck, log);
  const { host, port } = config.http;
  const lastPort = port === 0 ? readLastPort(config.runtimeDir) : undefined;
  live.port = await listenTcp(tcpApp, { host, port, lastPort, peerLookup: live.tcpPeerLookup }, log);
  const unwritten = port === 0 ? writeLastPort(config.runtimeDir, live.port) : undefined;
  if (unwritten !== undefined)
    log.warn(
      { event: 'last_port_unwritten', port: live.port, error: unwritten },
      `the credential endpoint's port could not be kept in the runtime dir's last-port (${unwritten}): the next ` +
        'daemon will listen on another port, and shells from before it will not reach it',
    );
  // daemon.json goes out before the socket answers, so anyone who reached the socket can also find the port.
  const startedAt = sessions.startedAt.toISOString();
  writeDaemonState(config.runtimeDir, {
    pid: process.pid,
    port: live.port,
    version: VERSION,
    socket: socketPath,
    started_at: startedAt,
  });
  undo.push(() => removeDaemonState(config.runtimeDir));
  await listenUnix(unixApp, { fd, socketPath, uid }, log);
  if (fd === undefined) undo.push(() => rmSync(socketPath, { force: true }));

  const send = notifier(live);
  send(`READY=1\n${statusLine(live)}\nMAINPID=${process.pid}`);
  const watchdog = startWatchdog(live.env, send);
  let unhandle: (() => void) | undefined;
  const stop = createStop(live, {
    ...{ apps: [unixApp, tcpApp], refusals, lock: claim.lock, drainMs: options.drainMs ?? 5000 },
    before: () => clearInterval(watchdog),
    after: () => {
      unhandle?.();
      resolveClosed();
    },
  });
  if (options.handleSignals)
    unhandle = handleSignals(stop, async () => void (await reload()), log, options.hangup ?? 'reload');

  const { policy: policyStatus, store, vendor } = sessions.status();
  const policy = policyStatus.location;
  const serverInstanceId = sessions.serverInstanceId;
  log.info(
    {
      event: 'ready',
      version: VERSION,
      pid: process.pid,
      socket: socketPath,
      port: live.port,
      policy,
      store,
      ...(vendor ? { vendor: vendor.url } : {}),
      server_instance_id: serverInstanceId,
    },
    'sentinel daemon ready',
  );
  const localStore = live.local?.store;
  if (localStore?.kind === 'dynamodb')
    void checkSessionTable(localStore, config.sessions.table, serverInstanceId, log).then((check) => {
      live.sessionTableCheck = check;
    });
  return {
    get config() {
      return live.config;
    },
    ...{ socketPath, port: live.port, url: credentialUrl(live), socketActivated: fd !== undefined, sessions, closed },
    get parts() {
      return { policy: live.local?.policy, store: live.local?.store, vendor: live.local?.vendor, decisions };
    },
    close: (reason = 'closed') => stop(reason),
    reload,
  };
}

/** Stops, in reverse, what a failed start had started; best effort: the original error is what the caller needs. */
async function unwind(undo: Undo): Promise<void> {
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch {
      // ignored: see above
    }
  }
}
