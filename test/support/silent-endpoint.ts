// An AWS endpoint that accepts every connection, reads what it is sent and never answers: the upstream that hangs
// (a stalled proxy, a black-holed route behind a load balancer). A client without a per-attempt budget waits on it for
// as long as the socket lives; tests point an `AWS_ENDPOINT_URL_<SERVICE>` or an `endpoint` at it and count attempts.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SilentEndpoint {
  url: string;
  /** Connections accepted so far (one per attempt: a timed-out attempt's socket is destroyed, not reused). */
  readonly connections: number;
  /** Bytes received so far (proof that requests, not just connections, arrived). */
  readonly bytes: number;
  /** Connections still open: a client that gave up on an attempt without closing its socket leaves one here. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startSilentEndpoint(): Promise<SilentEndpoint> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytes = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('data', (chunk) => (bytes += chunk.length));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get bytes() {
      return bytes;
    },
    get open() {
      return sockets.size;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
