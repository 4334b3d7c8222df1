// Who is calling (DESIGN §3.1), as the first steps of every request's hook pipeline:
//   onRequest   authenticatePeer   — Unix: kernel peer credentials, read once per connection; TCP (Linux): the uid
//                                    owning the client's end, asked of the kernel's socket table (sock_diag) or,
//                                    where it cannot be asked, found in /proc/net/tcp{,6}; once per connection
//                                    (app.ts runs it as the first check of its one onRequest hook).
//   preHandler  requireSessionToken — credential routes: `Authorization` → the session it is bound to.
// Anything doubtful is refused: unreadable credentials, another uid, an unknown token.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { DaemonSessions, Peer } from '../sessions/types.js';
import type { DecisionEntry } from '../../core/audit/types.js';
import { SentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';
import type { TcpPeerMethod } from './tcp-peer.js';
import { tokenFromAuthorization, type TokenMatch } from '../tokens.js';
import type { PeerRefusals } from './peer-refusals.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Where peer identities come from: the native addon (Unix; TCP on Linux, with /proc/net/tcp as its fallback). */
export interface PeerSources {
  /** null = no credentials on this socket; throws on a syscall error. */
  peerOf(socket: Socket): PeerCredentials | null;
  /** The uid owning the client end of a loopback TCP connection, or null when it cannot be found; may throw. */
  tcpPeerUid(socket: Socket): number | null;
  /** Which lookup tcpPeerUid uses here (said once at start and in the status). */
  tcpPeerMethod(): TcpPeerMethod;
}

export type Transport = 'unix' | 'tcp';

/** A refusal's operational-log line: written with the refusal when the peer's budget records it (peer-refusals.ts). */
interface Notice {
  fields: Record<string, unknown>;
  message: string;
}

type PeerRecord = { ok: true; peer: Peer } | { ok: false; error: SentinelError; peer: Peer; notice: Notice };

declare module 'fastify' {
  interface FastifyRequest {
    peer: Peer;
    token?: TokenMatch;
  }
  interface FastifyContextConfig {
    /** The decision-log event a refusal on this route is recorded as. */
    decision?: DecisionEntry['event'];
  }
}

export interface PeerAuthOptions {
  transport: Transport;
  daemonUid: number;
  sources: PeerSources;
  /** Resolve TCP peers' uids (Linux); elsewhere the token is the only proof. */
  tcpUidCheck: boolean;
}

/** Fails closed: the reason is for the operational log and the caller, never more than the uid and pid. */
function refused(message: string, peer: Peer, notice: Notice): PeerRecord {
  return { ok: false, error: new SentinelError('PeerNotAllowed', message), peer, notice };
}

function readUnixPeer(socket: Socket, options: PeerAuthOptions): PeerRecord {
  let creds: PeerCredentials | null;
  try {
    creds = options.sources.peerOf(socket);
  } catch (e) {
    return refused(
      'the daemon could not read the credentials of the connecting process',
      { transport: 'unix', pid: null, uid: null },
      {
        fields: { event: 'peer_unreadable', transport: 'unix', errno: (e as NodeJS.ErrnoException).code },
        message: 'could not read peer credentials; refusing the connection',
      },
    );
  }
  if (!creds) {
    return refused(
      'the daemon could not read the credentials of the connecting process',
      { transport: 'unix', pid: null, uid: null },
      {
        fields: { event: 'peer_unreadable', transport: 'unix' },
        message: 'connection without peer credentials; refusing it',
      },
    );
  }
  if (creds.uid !== options.daemonUid) {
    return refused(
      `uid ${creds.uid} may not use the daemon of uid ${options.daemonUid}`,
      { transport: 'unix', pid: creds.pid, uid: creds.uid },
      {
        fields: { event: 'peer_refused', transport: 'unix', peer_uid: creds.uid, peer_pid: creds.pid },
        message: 'refused a connection from another user',
      },
    );
  }
  return { ok: true, peer: { transport: 'unix', pid: creds.pid, uid: creds.uid } };
}

function readTcpPeer(socket: Socket, options: PeerAuthOptions): PeerRecord {
  if (!options.tcpUidCheck) return { ok: true, peer: { transport: 'tcp', pid: null, uid: null } };
  let uid: number | null;
  let failure: string | undefined;
  try {
    uid = options.sources.tcpPeerUid(socket);
  } catch (e) {
    uid = null;
    failure = (e as NodeJS.ErrnoException).code ?? 'error';
  }
  if (uid === null) {
    return refused(
      'the daemon could not determine which user owns this connection',
      { transport: 'tcp', pid: null, uid: null },
      {
        fields: {
          event: 'peer_unreadable',
          transport: 'tcp',
          remote_port: socket.remotePort,
          ...(failure && { error: failure }),
        },
        message: 'could not find the owner of a TCP connection; refusing it',
      },
    );
  }
  if (uid !== options.daemonUid) {
    return refused(
      `uid ${uid} may not use the daemon of uid ${options.daemonUid}`,
      { transport: 'tcp', pid: null, uid },
      {
        fields: { event: 'peer_refused', transport: 'tcp', peer_uid: uid, remote_port: socket.remotePort },
        message: 'refused a connection from another user',
      },
    );
  }
  return { ok: true, peer: { transport: 'tcp', pid: null, uid } };
}

/** The admitted peer of a connection, or why it is refused. Credentials are kept with the socket: they are fixed at
 * connect. Shared by the onRequest hook and the credential fast path (credentials-fast-path.ts). */
export type PeerCheck = (socket: Socket) => PeerRecord;

export function peerCheck(server: Server, options: PeerAuthOptions): PeerCheck {
  const records = new WeakMap<Socket, PeerRecord>();
  const read = options.transport === 'unix' ? readUnixPeer : readTcpPeer;
  if (options.transport === 'unix') {
    // SO_PEERCRED is fixed at connect(), so reading it when the connection arrives is exact and costs one syscall.
    server.on('connection', (socket: Socket) => records.set(socket, read(socket, options)));
  }
  return (socket) => {
    let record = records.get(socket);
    if (!record) {
      record = read(socket, options);
      records.set(socket, record);
    }
    return record;
  };
}

export interface PeerRefusalOptions {
  sessions: DaemonSessions;
  /** The budget of each refused peer: which refusals are recorded in full and which only counted. */
  refusals: PeerRefusals;
  log: OpLogger;
}

/** The peer check of an instance, for its onRequest hook (app.ts): sets request.peer, or returns the refusal. Within
 * the peer's budget a refusal is an operational-log line and, on credential routes, a decision; beyond it, a count. */
export function peerAuthenticator(
  app: FastifyInstance,
  check: PeerCheck,
  options: PeerRefusalOptions,
): (request: FastifyRequest) => SentinelError | null {
  const { sessions, refusals, log } = options;
  // Declared up front so every request object has the same shape (fastify's advice for per-request properties).
  app.decorateRequest('peer', null as unknown as Peer);
  app.decorateRequest('token', undefined);
  return function authenticatePeer(request) {
    const record = check(request.raw.socket);
    if (!record.ok) {
      if (refusals.admit(record.peer)) {
        log.warn(record.notice.fields, record.notice.message);
        const event = request.routeOptions.config?.decision;
        if (event) sessions.recordRefusal(event, record.peer, record.error);
      }
      return record.error;
    }
    request.peer = record.peer;
    return null;
  };
}

/** Failed token attempts per peer: after `max` failures in `windowMs`, every token attempt waits out the window. */
export class FailureLimiter {
  private readonly entries: LRUCache<string, { count: number; resetAt: number }>;

  constructor(
    private readonly max = 20,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new LRUCache({ max: 10_000 });
  }

  /** Seconds to wait, or 0 when the peer may try. */
  retryAfter(key: string): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    const now = this.now();
    if (entry.resetAt <= now) {
      this.entries.delete(key);
      return 0;
    }
    return entry.count >= this.max ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  /** Records a failure; true when this failure reached the limit. */
  fail(key: string): boolean {
    const now = this.now();
    let entry = this.entries.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + this.windowMs };
      this.entries.set(key, entry);
    }
    entry.count += 1;
    return entry.count === this.max;
  }
}

function limiterKey(peer: Peer, socket: Socket): string {
  return peer.uid !== null
    ? `${peer.transport}:uid:${peer.uid}`
    : `${peer.transport}:addr:${socket.remoteAddress ?? '?'}`;
}

/** What a keep-alive connection's requests share: its limiter key, and the digest of the last token it sent. */
interface ConnectionTokenState {
  limiterKey: string;
  header?: string;
  digest?: Buffer;
  /** The digest in hex: the registry's map key. */
  key?: string;
}

/** The session a request's token (raw, as SDKs send it, or `Bearer <token>`) is bound to, or undefined. A keep-alive
 * client sends the same header on every request, so its digest (and the peer's limiter key) is kept with the
 * connection and not computed again; the lookup (and with it revocation) still happens every time. Shared by the
 * preHandler below and the credential fast path. */
export interface TokenCheck {
  match(socket: Socket, peer: Peer, header: string | undefined): TokenMatch | undefined;
  limiterKey(socket: Socket, peer: Peer): string;
}

export function tokenCheck(sessions: DaemonSessions): TokenCheck {
  const tokens = sessions.tokenRegistry;
  const connections = new WeakMap<Socket, ConnectionTokenState>();
  const state = (socket: Socket, peer: Peer) => {
    let found = connections.get(socket);
    if (!found) {
      // The peer (and with it the key) is fixed for the connection's life.
      found = { limiterKey: limiterKey(peer, socket) };
      connections.set(socket, found);
    }
    return found;
  };
  return {
    match(socket, peer, header) {
      const s = state(socket, peer);
      if (s.digest !== undefined && s.header === header) return tokens.lookup(s.digest, s.key);
      const digest = tokens.digest(tokenFromAuthorization(header));
      if (!digest) return undefined;
      const key = digest.toString('hex');
      if (typeof header === 'string') {
        s.header = header;
        s.digest = digest;
        s.key = key;
      }
      return tokens.lookup(digest, key);
    },
    limiterKey: (socket, peer) => state(socket, peer).limiterKey,
  };
}

/** preHandler of the credential routes: the session token, or a refusal that is counted and recorded. */
export function requireSessionToken(
  sessions: DaemonSessions,
  check: TokenCheck,
  limiter: FailureLimiter,
  log: OpLogger,
) {
  return function authenticateToken(
    request: FastifyRequest,
    _reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    const header = request.headers.authorization;
    const match = check.match(request.raw.socket, request.peer, header);
    if (!match) {
      done(
        refuseToken(
          request,
          check.limiterKey(request.raw.socket, request.peer),
          tokenFromAuthorization(header) !== undefined,
        ),
      );
      return;
    }
    request.token = match;
    done();
  };

  /** A token that matches nothing: refused, and counted. The limit only slows a guesser (a 256-bit token cannot be
   * guessed anyway); it never stands between a client and a valid token, which an old client retrying with a token
   * from before a daemon restart would otherwise cause. Every refusal, 429 included, is a decision. */
  function refuseToken(request: FastifyRequest, key: string, tokenSent: boolean): SentinelError {
    const wait = limiter.retryAfter(key);
    let error: SentinelError;
    if (wait > 0) {
      error = new SentinelError(
        'RateLimited',
        `too many invalid session tokens from this peer; try again in ${wait}s`,
        {
          retryAfter: wait,
        },
      );
    } else {
      error = new SentinelError(
        'TokenInvalid',
        tokenSent ? 'the session token is not valid' : 'no session token in the Authorization header',
      );
      // A missing token is a misconfigured client, not a guess; only wrong tokens count towards the limit.
      if (tokenSent && limiter.fail(key)) {
        log.warn(
          { event: 'token_rate_limited', transport: request.peer.transport, peer_uid: request.peer.uid },
          'too many invalid session tokens; rate limiting this peer',
        );
      }
    }
    sessions.recordRefusal(request.routeOptions.config?.decision ?? 'credentials', request.peer, error);
    return error;
  }
}
