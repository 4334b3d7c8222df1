// Before anything listens (DESIGN §2): the private runtime dir, the socket's directory and the one-daemon lock.
import { dirname, resolve } from 'node:path';
import type { Config } from '../../core/config.js';
import type { OpLogger } from '../../core/log.js';
import { acquireLock, type Lock } from '../runtime/lock.js';
import { currentUid, ensurePrivateDir, ensureSocketDir } from '../runtime/runtime-dir.js';
import { activatedCount, activatedFd, clearActivationEnv } from '../runtime/socket-activation.js';

export interface RuntimeClaim {
  uid: number;
  /** The systemd-passed fd of the control socket, when socket-activated. */
  fd: number | undefined;
  socketPath: string;
  lock: Lock;
}

export function claimRuntime(config: Config, env: NodeJS.ProcessEnv, log: OpLogger): RuntimeClaim {
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
  return { uid, fd, socketPath, lock: acquireLock(config.runtimeDir, log) };
}
