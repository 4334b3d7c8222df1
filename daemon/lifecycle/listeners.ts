// The two listeners (DESIGN §3): TCP first, the Unix socket last, so an answer on the socket means the daemon is up.
import { chmodSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { OpLogger } from '../../core/log.js';
import { clearStaleSocket } from '../runtime/lock.js';

/** Listens on the loopback credential endpoint; resolves to the port (config port 0 = a free one). */
export async function listenTcp(app: FastifyInstance, host: string, port: number, log: OpLogger): Promise<number> {
  await app.listen({ host, port });
  const bound = (app.server.address() as AddressInfo).port;
  log.info({ event: 'listening', transport: 'tcp', host, port: bound }, 'credential endpoint listening');
  return bound;
}

/** Listens on the systemd-passed fd, or binds the socket path with mode 0600 from the first instant. */
export async function listenUnix(
  app: FastifyInstance,
  where: { fd: number | undefined; socketPath: string; uid: number },
  log: OpLogger,
): Promise<void> {
  const { fd, socketPath, uid } = where;
  if (fd !== undefined) {
    // fastify's listen() cannot describe an fd-only server, so the node server listens on the fd directly; fastify's
    // close() still closes it.
    await app.ready();
    await new Promise<void>((resolveListen, rejectListen) => {
      app.server.once('error', rejectListen);
      app.server.listen({ fd }, () => {
        app.server.off('error', rejectListen);
        resolveListen();
      });
    });
    log.info(
      { event: 'listening', transport: 'unix', fd, socket_activated: true },
      'control socket listening (socket activation)',
    );
    return;
  }
  await clearStaleSocket(socketPath, log, uid);
  // A restrictive umask while binding, so the socket is never reachable by others even for an instant.
  const umask = process.umask(0o177);
  try {
    await app.listen({ path: socketPath });
  } finally {
    process.umask(umask);
  }
  chmodSync(socketPath, 0o600);
  log.info({ event: 'listening', transport: 'unix', path: socketPath }, 'control socket listening');
}
