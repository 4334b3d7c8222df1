// DNS rebinding (DESIGN §3.1): a web page can make a browser send requests to 127.0.0.1 under a name it controls. The
// browser then sends that name in `Host`, so a TCP request is served only when its `Host` names the listener itself:
// the address and port it arrived on, or `localhost` with that port. A Unix socket has no name to rebind.
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { SentinelError } from '../../core/errors.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Per connection: its local address is fixed, and a keep-alive client asks many times. */
const hostsBySocket = new WeakMap<Socket, string[]>();

/** The `Host` values that name the listener a socket arrived on. */
function listenerHosts(socket: Socket): string[] {
  let hosts = hostsBySocket.get(socket);
  if (hosts) return hosts;
  const address = socket.localAddress ?? '';
  const port = socket.localPort;
  const named = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  hosts = LOOPBACK.has(address) ? [named, `localhost:${port}`] : [named];
  // An unconnected socket has no address yet: nothing to keep.
  if (address !== '') hostsBySocket.set(socket, hosts);
  return hosts;
}

/** Whether a `Host` value fails to name the listener `socket` arrived on (a missing one included). */
export function foreignHostOf(host: string | undefined, socket: Socket): boolean {
  return !(typeof host === 'string' && listenerHosts(socket).includes(host.toLowerCase()));
}

/** null when the request's `Host` names the listener; PeerNotAllowed otherwise (a missing `Host` included). */
export function foreignHost(request: FastifyRequest): SentinelError | null {
  if (!foreignHostOf(request.headers.host, request.raw.socket)) return null;
  return new SentinelError(
    'PeerNotAllowed',
    'the Host header does not name this listener, so the request may come from a web page (DNS rebinding)',
    {
      hint: 'Send requests to the URL in AWS_CONTAINER_CREDENTIALS_FULL_URI (http://127.0.0.1:<port>/...) unchanged.',
    },
  );
}
