// DynamoDB for tests: dynalite (DynamoDB on LevelDB) in this process, on loopback. In memory by default; with
// `path` it keeps its data on disk so a test can stop and restart it on the same port without losing the table.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';

export interface Dynalite {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDynalite(options: { port?: number; path?: string } = {}): Promise<Dynalite> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections?.();
      // dynalite's close() also closes its LevelDB, so a restarted instance can reopen the same path.
      await new Promise<void>((resolve, reject) => server.close((e: Error | undefined) => (e ? reject(e) : resolve())));
    },
  };
}
