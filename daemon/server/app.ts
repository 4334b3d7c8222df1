// The two listeners (DESIGN §3): one fastify instance per transport, sharing one routes plugin. The Unix instance
// serves the control API and the credential endpoint; the loopback TCP instance serves only the credential endpoint.
// Both are bounded against slow and oversized clients, accept only JSON bodies, and answer every failure, including
// unknown routes and malformed HTTP, with a catalogue error body.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { SentinelError } from '../../core/errors.js';
import { peerAuthenticator, peerCheck, tokenCheck, type TokenCheck, type Transport } from './auth.js';
import { credentialFastPath } from './credentials-fast-path.js';
import type { ServerContext } from './context.js';
import {
  clientErrorHandler,
  errorHandler,
  expectationHandler,
  frameworkErrorHandler,
  notFoundHandler,
} from './errors.js';
import { foreignHost } from './listener-host.js';
import { registerControlRoutes } from './routes-control.js';
import { registerCredentialRoutes } from './routes-credentials.js';
import { registerRequestRoutes } from './routes-requests.js';
import { registerBreakglassRoutes } from './routes-breakglass.js';

export interface RoutesOptions {
  transport: Transport;
  ctx: ServerContext;
  /** The listener's token check, shared with its fast path (one per-connection digest cache). */
  tokens: TokenCheck;
}

/** The one routes plugin both listeners register; only the Unix one gets the control API. */
export async function routes(app: FastifyInstance, options: RoutesOptions): Promise<void> {
  registerCredentialRoutes(app, options.ctx, options.tokens);
  if (options.transport === 'unix') {
    registerControlRoutes(app, options.ctx);
    registerRequestRoutes(app, options.ctx);
    registerBreakglassRoutes(app, options.ctx);
  }
}

export function createApp(transport: Transport, ctx: ServerContext): FastifyInstance {
  const { limits } = ctx;
  // Our own server (fastify's serverFactory) so the credential fast path sees requests first; the settings fastify
  // would apply to a server it created are applied here.
  let fastPath: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  // Connections whose peer was refused: the refusal is answered with Connection: close, and requests pipelined behind
  // it get nothing, not even a refusal to count, so a flood costs its sender a connection per refusal.
  const refusedConnections = new WeakSet<Socket>();
  const http = {
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.timeoutCheckMs,
    // Node would answer a request without Host with an empty 400; the admission hook answers it instead.
    requireHostHeader: false,
  };
  const app = Fastify({
    serverFactory(handler) {
      const server = createServer(http, (req, res) => {
        // The fast path answers admitted peers only, so a refused connection's requests always fall through to here:
        // the check costs the warm fetches nothing.
        if (fastPath?.(req, res)) return;
        if (!refusedConnections.has(req.socket)) handler(req, res);
      });
      server.keepAliveTimeout = limits.keepAliveTimeoutMs;
      server.requestTimeout = limits.requestTimeoutMs;
      server.setTimeout(limits.idleTimeoutMs);
      return server;
    },
    logger: false,
    bodyLimit: limits.bodyLimit,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    clientErrorHandler,
    // Router refusals (a parameter longer than maxParamLength, a malformed URL) skip every hook: they get the
    // catalogue's body here, not fastify's own.
    frameworkErrors: frameworkErrorHandler,
    // In-flight requests finish at stop; a request that arrives meanwhile on a busy connection is still answered by
    // the session manager (which refuses to open sessions once stopping) rather than with a body outside the catalogue.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 64 },
    // No route declares a JSON schema (bodies are checked with zod in the handlers), so fastify's ajv validator and
    // fast-json-stringify serializer are never built: not loading them is about a fifth of the daemon's start-up.
    // A route that did declare one would fail at ready() with this message rather than go unchecked.
    schemaController: {
      compilersFactory: {
        buildValidator: noSchemaCompilers,
        buildSerializer: noSchemaCompilers,
      },
    },
  });

  // Only JSON bodies: the text/plain parser fastify registers by default is removed, so anything else is a 400.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler(ctx.log));
  app.setNotFoundHandler(notFoundHandler);
  app.server.on('checkExpectation', expectationHandler);
  const peers = peerCheck(app.server, {
    transport,
    daemonUid: ctx.daemonUid,
    sources: ctx.sources,
    tcpUidCheck: transport === 'tcp' && ctx.tcpUidCheck,
  });
  const tokens = tokenCheck(ctx.sessions);
  const authenticatePeer = peerAuthenticator(app, peers, {
    sessions: ctx.sessions,
    refusals: ctx.refusals,
    log: ctx.log,
  });
  fastPath = credentialFastPath({ transport, peers, tokens, sessions: ctx.sessions, log: ctx.log });
  // One hook for both admission checks: each hook is a step of fastify's pipeline on every request.
  app.addHook('onRequest', function admit(request, reply, done) {
    let refused = authenticatePeer(request);
    if (refused) {
      // Refused for who is calling, which nothing later on this connection can change.
      reply.header('connection', 'close');
      refusedConnections.add(request.raw.socket);
    } else if (transport === 'tcp') {
      refused = foreignHost(request);
      const event = request.routeOptions.config?.decision;
      if (refused && event) ctx.sessions.recordRefusal(event, request.peer, refused);
    }
    refused ??= unexpectedBody(request);
    if (refused) done(refused);
    else done();
  });
  app.register(routes, { transport, ctx, tokens });
  return app;
}

/** fastify ignores a body on GET/DELETE, but node would still read it; a request that sends one is refused instead. */
function unexpectedBody(request: FastifyRequest): SentinelError | null {
  if (request.method === 'GET' || request.method === 'DELETE') {
    const length = request.headers['content-length'];
    if ((length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined) {
      return new SentinelError('BadRequest', `${request.method} requests take no body`);
    }
  }
  return null;
}

function noSchemaCompilers(): never {
  throw new Error('Sentinel routes declare no JSON schemas; validate with zod in the handler');
}
