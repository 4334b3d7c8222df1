// A small client for the daemon's control API over its Unix socket (DESIGN §3.3). node:http with a fresh connection
// per request (no keep-alive pool to go stale across daemon restarts). Light: no AWS SDK, no fastify.
import { request as httpRequest } from 'node:http';
import { connect as connectUnix, type Socket } from 'node:net';
import { SentinelError, fromBody } from '../core/errors.js';
import { assertOwnDaemon, assertOwnSocket } from './socket-trust.js';
import { startWaitingIndicator, waitingPhrase } from './waiting-indicator.js';

export interface ClientOptions {
  socketPath: string;
  /** Milliseconds before giving up on an answer (default 45 s: longer than the daemon's own budgets, so a slow
   * upstream ends as the daemon's answer — StsUnavailable, BaseCredentialsUnavailable — not as a client timeout). */
  timeoutMs?: number;
  /** Say on stderr what a call that takes more than a second waits for (a terminal, not --json). Default false. */
  progress?: boolean;
  /** The socket was named explicitly (--socket, SENTINEL_SOCKET): its directory need not be 0700, only closed to
   * writes by others. Default false: the runtime dir, which must be private. */
  explicitSocket?: boolean;
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 45_000;
/** How long the indicator's question about what is awaited may take. */
const STATUS_QUESTION_MS = 2_000;

export class DaemonClient {
  constructor(private readonly options: ClientOptions) {}

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** Sends one request; resolves with the parsed JSON body of a 2xx answer, throws SentinelError otherwise. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    assertOwnSocket(this.options.socketPath, { privateDir: !this.options.explicitSocket });
    if (!this.options.progress) return this.send<T>(method, path, payload, headers);
    const quiet = new DaemonClient({ ...this.options, progress: false, timeoutMs: STATUS_QUESTION_MS });
    const indicator = startWaitingIndicator({
      stream: process.stderr,
      ask: async () => waitingPhrase(await quiet.get('/v1/status')),
    });
    try {
      return await this.send<T>(method, path, payload, headers);
    } finally {
      indicator.stop();
    }
  }

  private send<T>(method: string, path: string, payload: Buffer | undefined, headers: Record<string, string>) {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // The timeout outlasts every bound the daemon keeps on its own upstreams, so reaching it means the daemon took
    // the connection and then went quiet (stopped, stuck, swapping) — a state of the daemon, not a bug in this call.
    const timedOut = () =>
      new SentinelError(
        'DaemonNotRunning',
        `the Sentinel daemon on ${this.options.socketPath} did not answer within ${timeoutMs / 1000}s`,
        {
          hint: 'It may be stopped (SIGSTOP, a suspended terminal job) or stuck: `sentinel daemon status` says which process holds the socket; `sentinel daemon restart` replaces it.',
          cause: Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' }),
        },
      );
    return new Promise<T>((resolve, reject) => {
      const req = httpRequest(
        {
          // No agent and no socketPath: the request gets a socket only from ownDaemonConnection, once the kernel has
          // said who listens (an agent — `agent: false` included — would ignore createConnection and connect itself).
          createConnection: (_options, oncreate) =>
            ownDaemonConnection(this.options.socketPath, timeoutMs, timedOut, oncreate),
          path,
          method,
          headers: {
            host: 'localhost',
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...headers,
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new SentinelError('InternalError', 'the daemon sent an oversized answer'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text.length ? JSON.parse(text) : undefined;
            } catch {
              reject(
                new SentinelError(
                  'InternalError',
                  `the daemon answered ${res.statusCode} with a body that is not JSON`,
                ),
              );
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(parsed as T);
            else reject(fromBody(parsed));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(timedOut()));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof SentinelError) return reject(err);
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
          reject(
            new SentinelError(
              'DaemonNotRunning',
              `the Sentinel daemon is not running (no answer on ${this.options.socketPath})`,
            ),
          );
        } else if (err.code === 'EACCES' || err.code === 'EPERM') {
          reject(
            new SentinelError('PeerNotAllowed', `cannot connect to ${this.options.socketPath} (${err.code})`, {
              hint: 'The socket belongs to another user; start your own daemon with `sentinel daemon start`.',
            }),
          );
        } else {
          reject(
            new SentinelError('InternalError', `cannot talk to the daemon: ${err.code ?? err.message}`, { cause: err }),
          );
        }
      });
      if (payload) req.write(payload);
      req.end();
    });
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete<T = unknown>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }
}

/**
 * Connects to the daemon's socket and hands the connection to node:http (`oncreate`) only once assertOwnDaemon has
 * passed: until then the request's bytes — headers, session token, body — sit in the ClientRequest, so a listener of
 * another user receives none of them. The socket's idle timeout is `timeoutMs` from the start (node:http applies its
 * `timeout` only to connections it makes itself; it relays this socket's 'timeout' to the request once it has it).
 * Returns undefined: the socket, or an error, comes through `oncreate`.
 */
function ownDaemonConnection(
  socketPath: string,
  timeoutMs: number,
  timedOut: () => Error,
  oncreate: (err: Error | null, socket: Socket) => void,
): undefined {
  const socket = connectUnix({ path: socketPath, timeout: timeoutMs });
  const refuse = (err: Error) => {
    socket.destroy();
    oncreate(err, socket);
  };
  const failed = (err: Error) => oncreate(err, socket);
  const slow = () => refuse(timedOut());
  socket.once('error', failed);
  socket.once('timeout', slow);
  socket.once('connect', () => {
    socket.off('error', failed);
    socket.off('timeout', slow);
    try {
      assertOwnDaemon(socket, socketPath);
    } catch (e) {
      refuse(e as Error);
      return;
    }
    oncreate(null, socket);
  });
  return undefined;
}

/**
 * The socket a client command should use: --socket, SENTINEL_SOCKET, else the runtime dir rule, reading config.yaml
 * only when it might set runtime_dir (DESIGN §2). Reading YAML is lazy so the common path stays light.
 */
export async function resolveSocket(
  options: { socket?: string; config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const paths = await import('../core/paths.js');
  if (options.socket || env.SENTINEL_SOCKET) return paths.socketPath(env, null, options.socket);
  return paths.socketPath(env, await resolveRuntimeDir(options, env));
}

/** The runtime dir the daemon for these options locks (DESIGN §2), by the same rule as resolveSocket. */
export async function resolveRuntimeDir(
  options: { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const paths = await import('../core/paths.js');
  const { readConfigText } = await import('../core/config-file.js');
  const file = paths.configFile(env, options.config);
  // Only a config that sets runtime_dir needs the (heavier) parser; whatever sits at the path is read by the same
  // rules as the daemon's (a FIFO would hang every `sentinel credentials`, a directory is no config).
  const text = readConfigText(file, false);
  if (text !== undefined && /^runtime_dir\s*:/m.test(text)) {
    const { parseConfigText } = await import('../core/config.js');
    return paths.runtimeDir(env, parseConfigText(text, file, env).runtimeDir);
  }
  return paths.runtimeDir(env);
}

/** True when the socket is named explicitly rather than found in the runtime dir (DaemonClient's explicitSocket). */
export function socketNamed(options: { socket?: string }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(options.socket || env.SENTINEL_SOCKET);
}

/** A client for a command's globals; on a terminal (and without --json) it says what a slow call waits for. */
export async function connect(
  options: { socket?: string; config?: string; json?: boolean },
  timeoutMs?: number,
): Promise<DaemonClient> {
  return new DaemonClient({
    socketPath: await resolveSocket(options),
    timeoutMs,
    explicitSocket: socketNamed(options),
    progress: process.stderr.isTTY === true && !options.json,
  });
}

/** The socket-level reason a request to the daemon failed (`ETIMEDOUT` when it did not answer in time), if any. */
export function transportFailure(e: unknown): string | undefined {
  if (!(e instanceof SentinelError)) return undefined;
  const code = (e.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
