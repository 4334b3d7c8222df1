// Runs a Node script as another uid/gid (root only), so peer-identification tests face a real second user rather
// than a mocked one. The script goes into its own temp dir (0755, file 0644) because the target uid must be able to
// read it; the dir is removed when the child exits.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export const SETPRIV = '/usr/bin/setpriv';
export const NOBODY = 65534;

/** The message a test fails with when it cannot switch uid; it must fail, never skip. */
export const NEEDS_ROOT =
  'this test must run as root: it switches to another uid (setpriv) to prove the peer check sees a different user';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Starts `scriptText` (an ES module) under `node` as uid/gid with no supplementary groups. The environment is PATH
 * plus `env` (nothing else leaks from the test process). The caller owns the returned child: kill it in t.teardown.
 */
export function runAsUser(
  uid: number,
  gid: number,
  scriptText: string,
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  if (!isRoot()) throw new Error(NEEDS_ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-as-user-'));
  chmodSync(dir, 0o755);
  const script = join(dir, 'script.mjs');
  writeFileSync(script, scriptText, { mode: 0o644 });
  chmodSync(script, 0o644); // the umask may have narrowed `mode`
  const child = spawn(SETPRIV, [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', process.execPath, script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    cwd: dir,
    stdio: 'pipe',
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  child.once('exit', cleanup);
  child.once('error', cleanup);
  return child;
}

/** The uid and gid of a local account, e.g. walker2: the second user the attack tests act as. */
export function accountIds(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs `scriptText` as the account `name` to its end, asserting that it exited 0 (its stderr in the message). */
export async function runScriptAs(t: Test, name: string, scriptText: string): Promise<void> {
  const { uid, gid } = accountIds(name);
  const child = runAsUser(uid, gid, scriptText);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0, `${name}'s script ran: ${stderr}`);
}

/**
 * A stand-in for /tmp that the second user can reach: a directory of root's (the suite runs as root), sticky and
 * world-writable, inside a 0755 one; removed when `t` ends. What she creates in it first is what the tests attack with.
 */
export function sharedTmp(t: Test, prefix: string): string {
  const outer = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(outer, { recursive: true, force: true }));
  chmodSync(outer, 0o755);
  const shared = join(outer, 'tmp');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  return shared;
}

/** A Unix socket listener run as another uid (listenAs): what it saw, from its own reports. */
export interface ForeignListener {
  /** Connections it accepted. */
  connections(): number;
  /** Bytes it received, over all connections. */
  bytes(): number;
  /** Its pid (the setpriv child execs node, so the listening process has this pid). */
  pid: number;
}

/**
 * Listens on `socket` as uid/gid (root only) and reports every connection and every byte it receives. With `answer`,
 * it answers each complete HTTP request with `200` and that JSON, as a daemon would; without, it answers nothing.
 * The socket is made mode `mode` (default 0600). Stopped when `t` ends.
 */
export async function listenAs(
  t: Test,
  account: { uid: number; gid: number },
  socket: string,
  options: { answer?: unknown; mode?: number } = {},
): Promise<ForeignListener> {
  const child = runAsUser(
    account.uid,
    account.gid,
    `import { createServer } from 'node:net';
import { chmodSync } from 'node:fs';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const answer = process.env.ANSWER;
const server = createServer((conn) => {
  say({ event: 'connection' });
  let text = '';
  conn.on('error', () => undefined);
  conn.on('data', (d) => {
    say({ event: 'bytes', n: d.length });
    if (answer === undefined) return;
    text += d.toString('latin1');
    const head = text.indexOf('\\r\\n\\r\\n');
    if (head < 0) return;
    const length = Number(/content-length: *(\\d+)/i.exec(text.slice(0, head))?.[1] ?? 0);
    if (text.length - head - 4 < length) return;
    conn.end('HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + Buffer.byteLength(answer) +
      '\\r\\nconnection: close\\r\\n\\r\\n' + answer);
  });
});
server.listen(process.env.SOCKET, () => {
  chmodSync(process.env.SOCKET, Number(process.env.MODE));
  say({ event: 'listening' });
});`,
    {
      SOCKET: socket,
      MODE: String(options.mode ?? 0o600),
      ...(options.answer === undefined ? {} : { ANSWER: JSON.stringify(options.answer) }),
    },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let connections = 0;
  let bytes = 0;
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const report = JSON.parse(buffered.slice(0, nl)) as { event: string; n?: number };
        buffered = buffered.slice(nl + 1);
        if (report.event === 'listening') resolve();
        else if (report.event === 'connection') connections++;
        else if (report.event === 'bytes') bytes += report.n ?? 0;
      }
    });
    child.once('exit', (code) => reject(new Error(`the listener as uid ${account.uid} exited (${code}): ${stderr}`)));
  });
  return { connections: () => connections, bytes: () => bytes, pid: child.pid! };
}
