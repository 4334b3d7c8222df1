// Running the built `sentinel` binary (dist/cli/main.js, built by `npm test` before tap runs) as a real subprocess, and a
// throwaway control-API stand-in on a Unix socket for testing the CLI's own process behaviour (exec's signal and
// status handling, credential_process output) without a daemon. End-to-end tests use the real daemon instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, type HasTeardown } from './temp-dir.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENTRY = join(ROOT, 'dist', 'cli', 'main.js');

export function requireBuild(): void {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (npm test does)`);
}

export { tempDir, type HasTeardown };

let privateRuntimeDir: string | undefined;
/** One runtime directory per test process, removed when it exits. Without XDG_RUNTIME_DIR the CLI would use
 * `${TMPDIR:-/tmp}/sentinel-<uid>`: the real runtime directory of whoever runs the tests, where `use` and `exec` leave
 * their copies of the AWS config and a daemon of theirs may listen. */
function testRuntimeDir(): string {
  if (!privateRuntimeDir) {
    const dir = mkdtempSync(join(tmpdir(), 'sentinel-test-run-'));
    chmodSync(dir, 0o700);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    privateRuntimeDir = dir;
  }
  return privateRuntimeDir;
}

/** An environment with nothing of the caller's AWS or Sentinel settings in it, and a runtime directory of the test
 * process's own (pass `XDG_RUNTIME_DIR: undefined` for the fallback under TMPDIR). */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      k.startsWith('AWS_') ||
      k.startsWith('SENTINEL_') ||
      k.startsWith('XDG_') ||
      k === 'NODE_OPTIONS' ||
      k.startsWith('TAP')
    )
      continue;
    env[k] = v;
  }
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  env.NO_COLOR = '1';
  env.XDG_RUNTIME_DIR = testRuntimeDir();
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; the child is killed in teardown if a test gives up on it. */
export function run(
  t: HasTeardown,
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const child = spawn(file, args, {
    env: options.env ?? cleanEnv(),
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(t, child, options.input, options.timeoutMs);
}

export function collect(t: HasTeardown, child: ChildProcess, input?: string, timeoutMs = 60_000): Promise<Run> {
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  // A child that exits without reading its stdin (fish often does) makes our end() fail with EPIPE; that is not the
  // child's failure, and its exit status and output still say what happened. Any other stdin error is real.
  child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') child.emit('error', err);
  });
  child.stdin?.end(input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms; stderr so far: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `node dist/cli/main.js <args>`. */
export function sentinel(
  t: HasTeardown,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  requireBuild();
  return run(t, process.execPath, [ENTRY, ...args], options);
}

let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * `sentinel <args>` in this process, through main() of cli/program.ts, capturing what it writes; with `env`, that is
 * the whole of process.env meanwhile (the AWS SDK reads it there). For checking what a command prints and decides
 * without a Node start each time: the binary's own exit path (exit codes, a stdout that carries nothing else) is proven
 * with real subprocesses (`sentinel`). Calls run one at a time, since process.env and the streams are shared; do not
 * mix with an in-process daemon, whose SDK clients read process.env too.
 */
export function sentinelInProcess(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const result = inProcessQueue.then(() => runMain(args, options.env));
  inProcessQueue = result.catch(() => undefined);
  return result;
}

async function runMain(args: string[], env: NodeJS.ProcessEnv | undefined): Promise<Run> {
  // Loaded on first use, so test files that only spawn the binary do not compile the whole CLI.
  const { main } = await import('../../cli/program.js');
  let stdout = '';
  let stderr = '';
  const capture = (append: (text: string) => void) =>
    ((chunk: string | Uint8Array, encodingOrDone?: unknown, done?: unknown) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = typeof encodingOrDone === 'function' ? encodingOrDone : done;
      if (typeof callback === 'function') queueMicrotask(() => callback());
      return true;
    }) as typeof process.stdout.write;
  const saved = { out: process.stdout.write, err: process.stderr.write, env: process.env };
  process.stdout.write = capture((text) => (stdout += text));
  process.stderr.write = capture((text) => (stderr += text));
  if (env) process.env = { ...env };
  process.exitCode = undefined;
  try {
    const code = await main(args);
    return { code, signal: null, stdout, stderr };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.env = saved.env;
    process.exitCode = undefined;
  }
}

// ---- a control-API stand-in ---------------------------------------------------------------------------------------

export interface StubRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type StubHandler = (
  req: StubRequest,
) => { status: number; body: unknown } | Promise<{ status: number; body: unknown }>;

export interface StubDaemon {
  socket: string;
  requests: StubRequest[];
  close(): Promise<void>;
}

/** Answers the control API from `handler` on a Unix socket in a fresh directory; records every request. */
export async function startStubDaemon(t: HasTeardown, handler: StubHandler): Promise<StubDaemon> {
  const dir = tempDir(t, 'sentinel-stub-');
  const socket = join(dir, 'sentinel.sock');
  const requests: StubRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const record: StubRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      requests.push(record);
      const answer = await handler(record);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { socket, requests, close };
}

/** A session answer in the shape of DESIGN §3.3. */
export function sessionAnswer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '0123456789abcdef',
    token: 'T'.repeat(43),
    url: 'http://127.0.0.1:45678/v1/credentials',
    region: 'eu-west-1',
    expires_at: '2030-01-01T00:00:00.000Z',
    profile: 'dev',
    ...overrides,
  };
}

/** A catalogue error body as the daemon sends it. */
export function errorBody(code: string, message: string, hint = 'a hint'): Record<string, unknown> {
  return { Code: code, Message: message, code, message, hint };
}

/**
 * Reads a child environment written by `env -0 > file` from inside a shell (the environment a program started by that
 * shell sees): the AWS_*, SENTINEL_* and __sentinel* entries. `env -0` keeps values with newlines intact and costs
 * no Node start.
 */
export function readEnvDump(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readFileSync(path, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (name.startsWith('AWS_') || name.startsWith('SENTINEL_') || name.toLowerCase().startsWith('__sentinel'))
      out[name] = entry.slice(eq + 1);
  }
  return out;
}

/** What userEnv needs of a daemon harness (test/support/daemon.ts). */
export interface DaemonHome {
  home: string;
  env: Record<string, string>;
}

/** A user's shell next to a test daemon: its XDG dirs (so the CLI finds the socket), its AWS config with
 * AWS_PROFILE=base (static keys that would win if Sentinel did not clear them), and nothing else of the caller's. */
export function userEnv(d: DaemonHome, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    HOME: d.home,
    XDG_CONFIG_HOME: d.env.XDG_CONFIG_HOME,
    XDG_STATE_HOME: d.env.XDG_STATE_HOME,
    XDG_RUNTIME_DIR: d.env.XDG_RUNTIME_DIR,
    AWS_CONFIG_FILE: d.env.AWS_CONFIG_FILE,
    AWS_SHARED_CREDENTIALS_FILE: d.env.AWS_SHARED_CREDENTIALS_FILE,
    AWS_PROFILE: 'base',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });
}
