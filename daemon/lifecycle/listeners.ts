// The two listeners (DESIGN §3): TCP first, the Unix socket last, so an answer on the socket means the daemon is up.
import { chmodSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { OpLogger } from '../../core/log.js';
import { clearStaleSocket } from '../runtime/lock.js';
import type { PeerSources } from '../server/auth.js';
import type { TcpPeerMethod } from '../server/tcp-peer.js';

/** How the TCP listener learns who owns a connection; 'off' where it does not (the token is the only proof). */
export type TcpPeerLookup = TcpPeerMethod | 'off';

/**
 * Said at start and in the status because it matters: only the kernel's lookup (sock_diag) stays exact however many
 * sockets other users create; the /proc scan can be made to refuse the owner (docs/internals-native.md).
 */
export function tcpPeerLookup(sources: PeerSources, uidCheck: boolean, log: OpLogger): TcpPeerLookup {
  if (!uidCheck) return 'off';
  try {
    return sources.tcpPeerMethod();
  } catch (e) {
    // Each connection will ask the kernel too, and be refused when it fails the same way.
    log.warn(
      { event: 'peer_lookup_failing', transport: 'tcp', error: (e as NodeJS.ErrnoException).code },
      'the kernel cannot be asked who owns TCP connections; TCP requests will be refused',
    );
    return 'sock_diag';
  }
}

/**
 * Listens on the loopback credential endpoint; resolves to the port. Config port 0 is the port the last daemon of
 * this runtime directory listened on, when it is free, else a free one: the shells and `exec` children opened before
 * a restart hold that port in AWS_CONTAINER_CREDENTIALS_FULL_URI, and on it they reach this daemon, which tells them
 * to run `sentinel use` again, rather than a closed port that any local user could take and answer with credentials
 * of her choosing.
 */
export async function listenTcp(
  app: FastifyInstance,
  where: { host: string; port: number; lastPort?: number | undefined; peerLookup: TcpPeerLookup },
  log: OpLogger,
): Promise<number> {
  const { host, port, lastPort, peerLookup } = where;
  if (port === 0 && lastPort !== undefined) {
    try {
      await app.listen({ host, port: lastPort });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
      log.warn(
        { event: 'last_port_taken', port: lastPort, error: code },
        `the credential endpoint's last port ${lastPort} is taken, so it listens on another: shells and exec ` +
          `commands started before this daemon still send their requests to ${lastPort}, to whoever holds it ` +
          '(`sentinel use <profile>` again in each, or a new shell)',
      );
    }
  }
  if (!app.server.listening) await app.listen({ host, port });
  const bound = (app.server.address() as AddressInfo).port;
  log.info(
    { event: 'listening', transport: 'tcp', host, port: bound, peer_lookup: peerLookup },
    'credential endpoint listening',
  );
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
