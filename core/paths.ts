// Where Sentinel's files live (DESIGN §2). Pure functions of the environment so that the CLI, the daemon and the
// tests agree without sharing state. Dependency-free: the light CLI path imports it.
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type Env = Record<string, string | undefined>;

function home(env: Env): string {
  return env.HOME && env.HOME.length > 0 ? env.HOME : homedir();
}

/** Expands a leading `~` or `~/` the way a shell would; other paths are made absolute. */
export function expandHome(p: string, env: Env = process.env): string {
  if (p === '~') return home(env);
  if (p.startsWith('~/')) return join(home(env), p.slice(2));
  return resolve(p);
}

export function configHome(env: Env = process.env): string {
  return env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home(env), '.config');
}

export function cacheHome(env: Env = process.env): string {
  return env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(home(env), '.cache');
}

export function stateHome(env: Env = process.env): string {
  return env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/')
    ? env.XDG_STATE_HOME
    : join(home(env), '.local', 'state');
}

export function configDir(env: Env = process.env): string {
  return join(configHome(env), 'sentinel');
}

/** `--config` wins, then SENTINEL_CONFIG, then the XDG default. */
export function configFile(env: Env = process.env, flag?: string): string {
  if (flag) return expandHome(flag, env);
  if (env.SENTINEL_CONFIG) return expandHome(env.SENTINEL_CONFIG, env);
  return join(configDir(env), 'config.yaml');
}

export function defaultPolicyFile(env: Env = process.env): string {
  return join(configDir(env), 'policy.yaml');
}

export function stateDir(env: Env = process.env): string {
  return join(stateHome(env), 'sentinel');
}

export function defaultDecisionLog(env: Env = process.env): string {
  return join(stateDir(env), 'decisions.log');
}

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** `$XDG_RUNTIME_DIR/sentinel`, else `${TMPDIR:-/tmp}/sentinel-$UID`; config `runtime_dir` overrides both. */
export function runtimeDir(env: Env = process.env, configured?: string | null): string {
  if (configured) return expandHome(configured, env);
  if (env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.startsWith('/')) return join(env.XDG_RUNTIME_DIR, 'sentinel');
  const tmp = env.TMPDIR && env.TMPDIR.startsWith('/') ? env.TMPDIR : tmpdir();
  return join(tmp, `sentinel-${uid()}`);
}

/** `--socket` wins, then SENTINEL_SOCKET, then `<runtime dir>/sentinel.sock`. */
export function socketPath(env: Env = process.env, configuredRuntimeDir?: string | null, flag?: string): string {
  if (flag) return expandHome(flag, env);
  if (env.SENTINEL_SOCKET) return expandHome(env.SENTINEL_SOCKET, env);
  return join(runtimeDir(env, configuredRuntimeDir), 'sentinel.sock');
}

export function daemonStateFile(dir: string): string {
  return join(dir, 'daemon.json');
}

/** The loopback port the last daemon of this runtime directory listened on (kept after it stops). */
export function lastPortFile(dir: string): string {
  return join(dir, 'last-port');
}

export function lockFile(dir: string): string {
  return join(dir, 'sentinel.lock');
}
