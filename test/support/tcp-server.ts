// A TCP server for peer-identification tests: it hands each accepted socket to the test, and closes them all, and
// itself, when the test ends.
import { once } from 'node:events';
import net from 'node:net';
import { runAsUser } from './as-user.js';
import type { HasTeardown } from './temp-dir.js';

export interface TcpTestServer {
  server: net.Server;
  port: number;
  /** The next connection the server accepts. */
  accepted(): Promise<net.Socket>;
}

export async function tcpServer(t: HasTeardown, host: string): Promise<TcpTestServer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  server.listen(0, host);
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as net.AddressInfo).port;
  const accepted = () => once(server, 'connection').then(([s]) => s as net.Socket);
  return { server, port, accepted };
}

/** Connects a client to the server at `host`; resolves to both ends once both sides see the connection. */
export async function connectPair(
  t: HasTeardown,
  listening: TcpTestServer,
  host: string,
): Promise<{ client: net.Socket; socket: net.Socket }> {
  const next = listening.accepted();
  const client = net.connect(listening.port, host);
  client.on('error', () => {});
  t.teardown(() => {
    client.destroy();
  });
  const [socket] = await Promise.all([next, once(client, 'connect')]);
  return { client, socket };
}

const CLIENT_SCRIPT = `
import net from 'node:net';
const s = net.connect(Number(process.env.PORT), process.env.HOST);
s.on('data', () => s.end());
s.on('error', (e) => { console.error(e.message); process.exit(2); });
`;

/**
 * Connects to `port` on `host` from a child running as `uid` (root only: test/support/as-user.ts). Resolves to the
 * accepted socket and a `done()` that lets the client go (it leaves at the first byte it receives) and resolves to its
 * exit code.
 */
export async function connectAsUser(
  t: HasTeardown,
  uid: number,
  listening: TcpTestServer,
  host: string,
): Promise<{ socket: net.Socket; done(): Promise<{ code: number | null; stderr: string }> }> {
  const next = listening.accepted();
  const child = runAsUser(uid, uid, CLIENT_SCRIPT, { PORT: String(listening.port), HOST: host });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const socket = await Promise.race([
    next,
    exited.then(() => Promise.reject(new Error(`the client of uid ${uid} exited: ${stderr}`))),
  ]);
  return {
    socket,
    done: async () => {
      socket.end('bye');
      const [code] = (await exited) as [number | null];
      return { code, stderr };
    },
  };
}
