// The attack on the /proc/net/tcp scan, reproduced: pad this network namespace's TCP table with TIME_WAIT sockets, as
// any local user can. Only ever in a network namespace of its own (ownNetworkNamespace): the sockets outlive the
// process by the TIME_WAIT period (60 s), and in a shared namespace they would pad the table every other process on the
// machine reads — other tests' and other daemons' TCP peer checks included.
import { readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import net from 'node:net';
import { typescriptLoaderArgs } from './ts-loader.js';

const PARENT_NETNS = 'SENTINEL_TEST_PARENT_NETNS';

/** True in the child ownNetworkNamespace() started: a namespace that is not the one its parent runs in. */
export function inOwnNetworkNamespace(): boolean {
  const parent = process.env[PARENT_NETNS];
  return parent !== undefined && parent !== readlinkSync('/proc/self/ns/net');
}

/**
 * The command that runs `script` (TypeScript, under the loader the tests run with) again in a new network namespace
 * whose loopback is up: unshare(1), which needs root (or CAP_SYS_ADMIN).
 */
export function ownNetworkNamespace(script: string): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    command: '/usr/bin/unshare',
    args: [
      '--net',
      '--',
      '/bin/sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      ...typescriptLoaderArgs(),
      script,
    ],
    env: { ...process.env, [PARENT_NETNS]: readlinkSync('/proc/self/ns/net') },
  };
}

/**
 * Opens and closes `connections` loopback connections to throwaway listeners that hang up first, so each leaves one
 * TIME_WAIT socket (one /proc/net/tcp row, 150 bytes) for 60 s: what another local user can do without keeping a
 * process or a descriptor. Several listeners, because connect() draws its ports (the even ones, about 14,000) per
 * destination, and a port reused towards the same listener recycles its TIME_WAIT socket instead of adding one.
 * Resolves to the milliseconds it took.
 */
export async function padWithTimeWait(connections: number, listeners = 8, concurrency = 400): Promise<number> {
  if (!inOwnNetworkNamespace()) throw new Error('padWithTimeWait pads only a network namespace of its own');
  const servers = await Promise.all(
    Array.from({ length: listeners }, async () => {
      const server = net.createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const started = Date.now();
  try {
    let next = 0;
    const worker = async () => {
      while (next < connections) {
        const { port } = servers[next++ % listeners]!.address() as net.AddressInfo;
        await new Promise<void>((resolve) => {
          const client = net.connect(port, '127.0.0.1');
          client.on('error', () => {});
          client.on('close', () => resolve());
          client.resume();
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return Date.now() - started;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** The size of /proc/net/tcp as a reader sees it (the file reports size 0, so it is read to the end). */
export function procNetTcpBytes(): number {
  const fd = openSync('/proc/net/tcp', 'r');
  try {
    const buffer = Buffer.alloc(1 << 16);
    let total = 0;
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) total += n;
    return total;
  } finally {
    closeSync(fd);
  }
}
