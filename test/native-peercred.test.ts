import t, { type Test } from 'tap';
import Fastify from 'fastify';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { peerCredentials, peerOf, type PeerCredentials } from '../native/index.js';
import { isRoot, NEEDS_ROOT, NOBODY, runAsUser } from './support/as-user.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const self: PeerCredentials = { pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() };

/** A temp dir any uid can traverse, so a client run as nobody can reach sockets in it. */
function openDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-peer-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A Unix-socket server that records peerOf() of every connection, then says bye so the client can leave. */
async function unixServer(t: Test) {
  const path = join(openDir(t), 'peer.sock');
  const seen: Array<PeerCredentials | null> = [];
  const server = net.createServer((socket) => {
    seen.push(peerOf(socket));
    socket.on('error', () => {});
    socket.end('bye');
  });
  server.listen(path);
  await once(server, 'listening');
  chmodSync(path, 0o666);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, path, seen };
}

function killOnTeardown(t: Test, child: ChildProcess): void {
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

const CONNECT_SCRIPT = `
import net from 'node:net';
const s = net.connect(process.env.SOCK);
s.on('data', () => s.end());
s.on('error', (e) => { console.error(e.message); process.exit(2); });
`;

const HTTP_SCRIPT = `
import http from 'node:http';
http.get({ socketPath: process.env.SOCK, path: '/peer', agent: false }, (res) => {
  let body = '';
  res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => process.stdout.write(body));
}).on('error', (e) => { console.error(e.message); process.exit(2); });
`;

function nodeChild(script: string, sock: string): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SOCK: sock } });
}

function getPeer(sock: string): Promise<{ peer: PeerCredentials | null }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: sock, path: '/peer', agent: false }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (body += d))
          .on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

function expectCode(t: Test, fn: () => unknown, code: string, errno?: number, message?: string) {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  t.ok(thrown instanceof Error, `${message ?? code}: throws an Error`);
  const e = thrown as { code?: unknown; errno?: unknown };
  t.equal(e?.code, code, `${message ?? code}: code`);
  if (errno !== undefined) t.equal(e?.errno, errno, `${message ?? code}: errno`);
}

async function fastifyOnSocket(t: Test) {
  const sock = join(openDir(t), 'api.sock');
  const app = Fastify();
  app.get('/peer', async (request) => ({ peer: peerOf(request.raw.socket) }));
  await app.listen({ path: sock });
  chmodSync(sock, 0o666);
  t.teardown(() => app.close());
  return { app, sock };
}

t.test('net server: an in-process client is this process', async (t) => {
  const { path, seen } = await unixServer(t);
  const client = net.connect(path);
  client.on('error', () => {});
  client.resume();
  await once(client, 'close');
  t.same(seen, [self]);
});

t.test('net server: a child process is reported with its own pid', async (t) => {
  const { path, seen } = await unixServer(t);
  const child = nodeChild(CONNECT_SCRIPT, path);
  killOnTeardown(t, child);
  const { code, stderr } = await exitOf(child);
  t.equal(code, 0, stderr);
  t.same(seen, [{ pid: child.pid, uid: self.uid, gid: self.gid }]);
  t.not(child.pid, process.pid);
});

t.test('net server: a client running as another uid is reported with that uid and its pid', async (t) => {
  if (!isRoot()) return t.fail(NEEDS_ROOT);
  const { path, seen } = await unixServer(t);
  const child = runAsUser(NOBODY, NOBODY, CONNECT_SCRIPT, { SOCK: path });
  killOnTeardown(t, child);
  const { code, stderr } = await exitOf(child);
  t.equal(code, 0, stderr);
  t.same(seen, [{ pid: child.pid, uid: NOBODY, gid: NOBODY }]);
});

t.test('fastify on a Unix socket: request.raw.socket gives the caller', async (t) => {
  const { app, sock } = await fastifyOnSocket(t);

  t.same(await getPeer(sock), { peer: self }, 'in-process client');

  const child = nodeChild(HTTP_SCRIPT, sock);
  killOnTeardown(t, child);
  const local = await exitOf(child);
  t.equal(local.code, 0, local.stderr);
  t.same(JSON.parse(local.stdout), { peer: { pid: child.pid, uid: self.uid, gid: self.gid } }, 'child process');

  if (!isRoot()) {
    t.fail(NEEDS_ROOT);
  } else {
    const nobody = runAsUser(NOBODY, NOBODY, HTTP_SCRIPT, { SOCK: sock });
    killOnTeardown(t, nobody);
    const other = await exitOf(nobody);
    t.equal(other.code, 0, other.stderr);
    t.same(JSON.parse(other.stdout), { peer: { pid: nobody.pid, uid: NOBODY, gid: NOBODY } }, 'child as nobody');
  }

  const injected = await app.inject({ method: 'GET', url: '/peer' });
  t.same(injected.json(), { peer: null }, 'inject() has no socket handle, so no credentials');
});

t.test('peerCredentials refuses bad file descriptors with a stable code', async (t) => {
  for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53, '3', undefined, null, {}, [3], 3n]) {
    expectCode(
      t,
      () => (peerCredentials as (fd: unknown) => unknown)(bad),
      'ERR_INVALID_FD',
      undefined,
      `fd ${String(bad)}`,
    );
  }
  expectCode(t, () => (peerCredentials as () => unknown)(), 'ERR_INVALID_FD', undefined, 'no argument');

  const file = openSync(fileURLToPath(import.meta.url), 'r');
  try {
    expectCode(t, () => peerCredentials(file), 'ERR_PEERCRED_SYSCALL', constants.errno.ENOTSOCK, 'regular file');
  } finally {
    closeSync(file);
  }
  // Checked in the same tick as the close, so nothing can have reused the number.
  expectCode(t, () => peerCredentials(file), 'ERR_PEERCRED_SYSCALL', constants.errno.EBADF, 'closed fd');
  expectCode(t, () => peerCredentials(2 ** 31 - 1), 'ERR_PEERCRED_SYSCALL', constants.errno.EBADF, 'never-opened fd');
});

t.test('sockets that have no Unix peer are refused, never answered', async (t) => {
  const { server: unixListener } = await unixServer(t);
  expectCode(t, () => peerCredentials(fdOf(unixListener)), 'ERR_SOCKET_LISTENING', undefined, 'listening Unix socket');

  const tcp = net.createServer();
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  t.teardown(() => new Promise<void>((resolve) => tcp.close(() => resolve())));
  expectCode(t, () => peerCredentials(fdOf(tcp)), 'ERR_NOT_UNIX_STREAM', undefined, 'listening TCP socket');

  const accepted = once(tcp, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  t.teardown(() => client.destroy());
  const [serverSide] = await accepted;
  t.teardown(() => serverSide.destroy());

  t.equal(peerOf(serverSide), null, 'peerOf(TCP socket, server side) is null');
  t.equal(peerOf(client), null, 'peerOf(TCP socket, client side) is null');
  expectCode(t, () => peerCredentials(fdOf(serverSide)), 'ERR_NOT_UNIX_STREAM', undefined, 'connected TCP socket');
  // Even a handle that claims to be a Pipe cannot turn the kernel's TCP non-answer (pid 0) into credentials.
  const disguised = fakeSocket('Pipe', fdOf(serverSide));
  expectCode(t, () => peerOf(disguised), 'ERR_NOT_UNIX_STREAM', undefined, 'TCP fd behind a Pipe-named handle');
});

t.test('peerOf answers null when there are no credentials to read, and throws on a broken fd', async (t) => {
  t.equal(peerOf({ destroyed: false } as unknown as net.Socket), null, 'no _handle (inject)');
  t.equal(peerOf(fakeSocket(null, 3)), null, 'null handle (closed)');
  t.equal(peerOf(fakeSocket('TCP', 3)), null, 'TCP handle');
  t.equal(peerOf(fakeSocket('Pipe', -1)), null, 'fd -1');
  t.equal(peerOf(fakeSocket('Pipe', 2.5)), null, 'non-integer fd');
  t.equal(peerOf(fakeSocket('Pipe', '3')), null, 'string fd');
  t.equal(peerOf(fakeSocket('Pipe', undefined)), null, 'no fd');

  const { path } = await unixServer(t);
  const client = net.connect(path);
  client.on('error', () => {});
  await once(client, 'connect');
  t.same(peerOf(client), { pid: process.pid, uid: self.uid, gid: self.gid }, 'client side sees the listener (us)');
  client.destroy();
  t.equal(peerOf(client), null, 'destroyed socket');

  const file = openSync(fileURLToPath(import.meta.url), 'r');
  t.teardown(() => closeSync(file));
  expectCode(
    t,
    () => peerOf(fakeSocket('Pipe', file)),
    'ERR_PEERCRED_SYSCALL',
    constants.errno.ENOTSOCK,
    'Pipe over a file',
  );
});

t.test('the loader finds the addon from dist/native/index.js and names the fix when it is missing', async (t) => {
  const source = readFileSync(join(root, 'native', 'index.ts'), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const layout = (withBuild: boolean) => {
    const pkg = mkdtempSync(join(tmpdir(), 'sentinel-loader-'));
    t.teardown(() => rmSync(pkg, { recursive: true, force: true }));
    writeFileSync(join(pkg, 'package.json'), '{"type":"module"}');
    writeFileSync(join(pkg, 'binding.gyp'), '{}');
    mkdirSync(join(pkg, 'dist', 'native'), { recursive: true });
    writeFileSync(join(pkg, 'dist', 'native', 'index.js'), js);
    if (withBuild) {
      mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
      copyFileSync(
        join(root, 'build', 'Release', 'sentinel_native.node'),
        join(pkg, 'build', 'Release', 'sentinel_native.node'),
      );
    }
    return import(pathToFileURL(join(pkg, 'dist', 'native', 'index.js')).href) as Promise<
      typeof import('../native/index.js')
    >;
  };

  const built = await layout(true);
  expectCode(t, () => built.peerCredentials(-1), 'ERR_INVALID_FD', undefined, 'built: the addon answers');

  const missing = await layout(false);
  let error: (Error & { code?: string }) | undefined;
  try {
    missing.peerCredentials(0);
  } catch (e) {
    error = e as Error & { code?: string };
  }
  t.equal(error?.code, 'ERR_NATIVE_MISSING');
  t.match(error?.message, /npm rebuild/);
  t.match(error?.message, /npm run build:native/);
  t.equal(peerOfWithoutHandle(missing.peerOf), null, 'peerOf without a handle needs no addon');
});

function fdOf(thing: net.Server | net.Socket): number {
  const fd = (thing as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no fd on this handle');
  return fd;
}

function fakeSocket(handleClass: string | null, fd: unknown): net.Socket {
  if (handleClass === null) return { destroyed: false, _handle: null } as unknown as net.Socket;
  const Handle = { [handleClass]: class {} }[handleClass]!;
  const handle = Object.assign(new Handle(), { fd });
  return { destroyed: false, _handle: handle } as unknown as net.Socket;
}

function peerOfWithoutHandle(fn: typeof peerOf): PeerCredentials | null {
  return fn({ destroyed: false } as unknown as net.Socket);
}
