import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { notify, sdNotify } from '../native/index.js';
import { startNotifyReceiver } from './support/notify-receiver.js';
import { tempDir } from './support/temp-dir.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const uid = process.geteuid!();
const SUN_PATH = 108; // Linux sizeof(sockaddr_un.sun_path)

async function receiver(t: Test, options: Parameters<typeof startNotifyReceiver>[0] = {}) {
  const r = await startNotifyReceiver(options);
  t.teardown(() => r.close());
  return r;
}

function caught(
  fn: () => unknown,
): { code?: unknown; errno?: unknown; syscall?: unknown; message?: string } | undefined {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof Error)) return { message: `non-Error thrown: ${String(error)}` };
    return error as Error & { code?: unknown };
  }
  return undefined;
}

function expectCode(t: Test, what: string, fn: () => unknown, code: string, errno?: number) {
  const e = caught(fn);
  t.equal(e?.code, code, `${what}: ${code}`);
  if (errno !== undefined) {
    t.equal(e?.errno, errno, `${what}: errno`);
    t.equal(e?.syscall, 'sendto', `${what}: syscall`);
  }
}

const abstractName = () => `@sentinel-t-${randomBytes(6).toString('hex')}`;

for (const abstract of [false, true]) {
  const form = abstract ? 'an abstract @name' : 'a filesystem path';
  t.test(`sdNotify delivers to ${form}, and the kernel names us as the sender`, async (t) => {
    const r = await receiver(t, { abstract });
    t.equal(r.address.startsWith('@'), abstract, 'address form');
    sdNotify(r.address, 'READY=1\nSTATUS=serving');
    const got = await r.waitFor((m) => m.data.startsWith('READY=1'));
    t.same(got, { data: 'READY=1\nSTATUS=serving', pid: process.pid, uid, gid: process.getegid!() });

    for (const message of ['STATUS=ünïcode ✓', 'WATCHDOG=1', 'STOPPING=1']) sdNotify(r.address, message);
    await r.waitFor((m) => m.data === 'STOPPING=1');
    t.same(
      r.messages.map((m) => m.data),
      ['READY=1\nSTATUS=serving', 'STATUS=ünïcode ✓', 'WATCHDOG=1', 'STOPPING=1'],
      'every datagram, in order, byte-exact',
    );
  });
}

t.test('the receiver reports the real sender: a child process has its own pid', async (t) => {
  const r = await receiver(t, { abstract: true });
  const addon = join(root, 'build', 'Release', 'sentinel_native.node');
  const child = spawn(
    process.execPath,
    ['-e', 'require(process.env.ADDON).sdNotify(process.env.NOTIFY_SOCKET, "READY=1")'],
    {
      env: { ...process.env, ADDON: addon, NOTIFY_SOCKET: r.address },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = await once(child, 'exit');
  t.equal(code, 0, stderr);
  const got = await r.waitFor((m) => m.data === 'READY=1');
  t.equal(got.pid, child.pid);
  t.not(got.pid, process.pid);
});

t.test('addresses at the sun_path limit work; one byte more is refused before any syscall', async (t) => {
  const dir = tempDir(t, 'sentinel-notify-t-');
  const longest = join(dir, 'n'.repeat(SUN_PATH - 1 - dir.length - 1)); // 107 bytes + the terminating NUL
  t.equal(longest.length, SUN_PATH - 1);
  const byPath = await receiver(t, { address: longest });
  sdNotify(byPath.address, 'READY=1');
  t.equal((await byPath.waitFor((m) => m.data === 'READY=1')).pid, process.pid, 'longest path');
  expectCode(t, 'path of 108 bytes', () => sdNotify(longest + 'x', 'READY=1'), 'ERR_NOTIFY_ADDRESS');

  const name = '@' + 'a'.repeat(SUN_PATH - 1 - 12) + randomBytes(6).toString('hex'); // 107 bytes after the NUL
  t.equal(name.length - 1, SUN_PATH - 1);
  const byName = await receiver(t, { address: name });
  sdNotify(byName.address, 'READY=1');
  t.equal((await byName.waitFor((m) => m.data === 'READY=1')).pid, process.pid, 'longest abstract name');
  expectCode(t, 'abstract name of 108 bytes', () => sdNotify(name + 'x', 'READY=1'), 'ERR_NOTIFY_ADDRESS');
});

t.test('abstract names match exactly: a prefix or an extension of the name is a different socket', async (t) => {
  const r = await receiver(t, { address: abstractName() });
  const refused = constants.errno.ECONNREFUSED;
  expectCode(t, 'prefix', () => sdNotify(r.address.slice(0, -1), 'READY=1'), 'ERR_NOTIFY_SEND', refused);
  expectCode(t, 'extension', () => sdNotify(r.address + 'z', 'READY=1'), 'ERR_NOTIFY_SEND', refused);
  sdNotify(r.address, 'READY=1');
  await r.waitFor((m) => m.data === 'READY=1');
  t.equal(r.messages.length, 1, 'only the exact name was delivered');
});

t.test('nobody listening: a clean error with code and errno', async (t) => {
  const dir = tempDir(t, 'sentinel-notify-t-');
  const { ENOENT, ECONNREFUSED, EPROTOTYPE } = constants.errno;
  expectCode(t, 'missing path', () => sdNotify(join(dir, 'absent.sock'), 'READY=1'), 'ERR_NOTIFY_SEND', ENOENT);
  expectCode(t, 'unbound abstract name', () => sdNotify(abstractName(), 'READY=1'), 'ERR_NOTIFY_SEND', ECONNREFUSED);

  const file = join(dir, 'plain-file');
  writeFileSync(file, '');
  expectCode(t, 'regular file', () => sdNotify(file, 'READY=1'), 'ERR_NOTIFY_SEND', ECONNREFUSED);

  const streamPath = join(dir, 'stream.sock');
  const stream = net.createServer();
  stream.listen(streamPath);
  await once(stream, 'listening');
  t.teardown(() => new Promise<void>((resolve) => stream.close(() => resolve())));
  expectCode(t, 'stream socket', () => sdNotify(streamPath, 'READY=1'), 'ERR_NOTIFY_SEND', EPROTOTYPE);

  const gone = await startNotifyReceiver();
  await gone.close();
  await gone.close(); // idempotent
  t.notOk(existsSync(gone.address), 'a closed receiver leaves no socket file');
  expectCode(t, 'closed receiver (path)', () => sdNotify(gone.address, 'READY=1'), 'ERR_NOTIFY_SEND', ENOENT);
  const goneAbstract = await startNotifyReceiver({ abstract: true });
  await goneAbstract.close();
  expectCode(
    t,
    'closed receiver (abstract)',
    () => sdNotify(goneAbstract.address, 'READY=1'),
    'ERR_NOTIFY_SEND',
    ECONNREFUSED,
  );
});

t.test('hostile arguments are refused with a stable code', async (t) => {
  const r = await receiver(t, { abstract: true });
  for (const address of ['', 'relative/notify.sock', 'notify.sock', '@', 'vsock:2:1234', '/tmp/a\0b', '@a\0b']) {
    expectCode(t, `address ${JSON.stringify(address)}`, () => sdNotify(address, 'READY=1'), 'ERR_NOTIFY_ADDRESS');
  }
  expectCode(t, 'long path', () => sdNotify('/' + 'p'.repeat(4096), 'READY=1'), 'ERR_NOTIFY_ADDRESS');
  expectCode(t, 'empty message', () => sdNotify(r.address, ''), 'ERR_NOTIFY_MESSAGE');
  const untyped = sdNotify as (...args: unknown[]) => void;
  for (const args of [
    [],
    [r.address],
    [r.address, 1],
    [1, 'READY=1'],
    [null, 'READY=1'],
    [r.address, Buffer.from('x')],
  ]) {
    expectCode(t, `args ${args.length}`, () => untyped(...args), 'ERR_INVALID_ARG_TYPE');
  }
  expectCode(
    t,
    'datagram too large',
    () => sdNotify(r.address, 'X'.repeat(4 * 1024 * 1024)),
    'ERR_NOTIFY_SEND',
    constants.errno.EMSGSIZE,
  );
  t.equal(r.messages.length, 0, 'nothing reached the receiver');
});

t.test('notify() reads NOTIFY_SOCKET from the environment it is given', async (t) => {
  const r = await receiver(t);
  t.equal(notify('READY=1', {}), false, 'unset: not under systemd');
  t.equal(notify('READY=1', { NOTIFY_SOCKET: '' }), false, 'empty: not under systemd');
  t.equal(notify('READY=1', { NOTIFY_SOCKET: r.address }), true);
  t.equal((await r.waitFor((m) => m.data === 'READY=1')).pid, process.pid);
  t.equal(
    caught(() => notify('READY=1', { NOTIFY_SOCKET: abstractName() }))?.code,
    'ERR_NOTIFY_SEND',
    'a failed send throws',
  );
  t.equal(caught(() => notify('READY=1', { NOTIFY_SOCKET: 'relative' }))?.code, 'ERR_NOTIFY_ADDRESS');
});

t.test('waitFor rejects on timeout and names what did arrive', async (t) => {
  const r = await receiver(t, { abstract: true });
  sdNotify(r.address, 'STATUS=one');
  await r.waitFor((m) => m.data === 'STATUS=one');
  await t.rejects(
    r.waitFor((m) => m.data === 'READY=1', 100),
    /STATUS=one/,
  );
  await r.close();
  await t.rejects(
    r.waitFor((m) => m.data === 'READY=1', 1000),
    /exited/,
    'a stopped receiver fails waiters at once',
  );
});
