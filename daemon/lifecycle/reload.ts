// What SIGHUP and `daemon reload` do: config, policy and AWS config again. Settings that shape the listeners, the
// store or the decision log keep their running values until a restart, and the log says which.
import { isSentinelError } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import type { PolicyStatus } from '../../core/policy/types.js';
import { notifier, statusLine, type LiveDaemon, type LocalParts } from './live.js';

/** Which config changes a reload can apply; the rest need a restart. */
export function restartOnly(a: Config, b: Config): string[] {
  const changed: string[] = [];
  if (a.runtimeDir !== b.runtimeDir) changed.push('runtime_dir');
  if (a.socketPath !== b.socketPath) changed.push('socket');
  if (a.http.host !== b.http.host || a.http.port !== b.http.port) changed.push('http');
  if (a.sessions.store !== b.sessions.store || a.sessions.table !== b.sessions.table) changed.push('sessions.store');
  if (JSON.stringify(a.audit) !== JSON.stringify(b.audit)) changed.push('audit');
  // A daemon bridges to one vendor or decides itself for its whole life: its sessions live on one side.
  if (JSON.stringify(a.vendor) !== JSON.stringify(b.vendor)) changed.push('vendor');
  return changed;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a reload did, for `sentinel daemon reload` (POST /v1/reload): a config that did not load, and the policy state. */
export interface ReloadResult {
  config: { file: string; error: { code: string; message: string } | null };
  policy: PolicyStatus;
}

export function createReload(live: LiveDaemon, loadConfig: () => Config): () => Promise<ReloadResult> {
  const send = notifier(live);
  const { log, parts, env } = live;
  return async () => {
    live.reloads += 1;
    send('RELOADING=1\nSTATUS=reloading');
    try {
      const { config } = live;
      let next: Config;
      let configError: ReloadResult['config']['error'] = null;
      try {
        next = loadConfig();
      } catch (e) {
        configError = { code: isSentinelError(e) ? e.code : 'InternalError', message: (e as Error).message };
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
      if (live.local) await reloadLocal(live.local, config, next, live);
      live.config = {
        ...next,
        runtimeDir: config.runtimeDir,
        socketPath: config.socketPath,
        http: config.http,
        sessions: { ...next.sessions, store: config.sessions.store, table: config.sessions.table },
        audit: config.audit,
        vendor: config.vendor,
      };
      live.local?.sessions.replaceParts({ config: live.config });
      const status: PolicyStatus = live.sessions.status().policy;
      log.info(
        { event: 'reloaded', policy_version: status.version, policy_error: status.lastError },
        'reloaded config, policy and AWS config',
      );
      return { config: { file: live.config.file, error: configError }, policy: status };
    } finally {
      send(`READY=1\n${statusLine(live)}`);
    }
  };
}

/** The policy and the credential vendor of a daemon that decides itself: replaced when their settings changed,
 * otherwise reloaded in place. */
async function reloadLocal(
  local: LocalParts,
  config: Config,
  next: Config,
  at: Pick<LiveDaemon, 'parts' | 'log' | 'env'>,
): Promise<void> {
  const { parts, log, env } = at;
  if (!same(config.policy, next.policy)) {
    const fresh = await parts.policy(next, log);
    await fresh.start();
    const old = local.policy;
    local.policy = fresh;
    local.sessions.replaceParts({ policy: fresh });
    await old.close();
  } else {
    await local.policy.reload();
  }
  if (
    !same(config.credentials, next.credentials) ||
    config.awsProfile !== next.awsProfile ||
    config.region !== next.region
  ) {
    const fresh = await parts.vendor(next, log, env);
    const old = local.vendor;
    local.vendor = fresh;
    local.sessions.replaceParts({ vendor: fresh });
    old.close();
  } else {
    local.vendor.reload();
  }
}
