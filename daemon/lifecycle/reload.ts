// What SIGHUP and `daemon reload` do: config, policy and AWS config again. Settings that shape the listeners, the
// store or the decision log keep their running values until a restart, and the log says which.
import { isSentinelError } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import type { PolicyStatus } from '../../core/policy/types.js';
import { notifier, statusLine, type LiveDaemon } from './live.js';

/** Which config changes a reload can apply; the rest need a restart. */
export function restartOnly(a: Config, b: Config): string[] {
  const changed: string[] = [];
  if (a.runtimeDir !== b.runtimeDir) changed.push('runtime_dir');
  if (a.socketPath !== b.socketPath) changed.push('socket');
  if (a.http.host !== b.http.host || a.http.port !== b.http.port) changed.push('http');
  if (a.sessions.store !== b.sessions.store || a.sessions.table !== b.sessions.table) changed.push('sessions.store');
  if (JSON.stringify(a.audit) !== JSON.stringify(b.audit)) changed.push('audit');
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
  const { log, parts, sessions, env } = live;
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
      if (!same(config.policy, next.policy)) {
        const fresh = await parts.policy(next, log);
        await fresh.start();
        const old = live.policy;
        live.policy = fresh;
        sessions.replaceParts({ policy: fresh });
        await old.close();
      } else {
        await live.policy.reload();
      }
      if (
        !same(config.credentials, next.credentials) ||
        config.awsProfile !== next.awsProfile ||
        config.region !== next.region
      ) {
        const fresh = await parts.vendor(next, log, env);
        const old = live.vendor;
        live.vendor = fresh;
        sessions.replaceParts({ vendor: fresh });
        old.close();
      } else {
        live.vendor.reload();
      }
      live.config = {
        ...next,
        runtimeDir: config.runtimeDir,
        socketPath: config.socketPath,
        http: config.http,
        sessions: { ...next.sessions, store: config.sessions.store, table: config.sessions.table },
        audit: config.audit,
      };
      sessions.replaceParts({ config: live.config });
      const status: PolicyStatus = live.policy.status();
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
