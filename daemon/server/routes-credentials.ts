// The credential endpoint SDKs call (DESIGN §3.2), on both listeners. The request has already passed the peer check
// (onRequest); here it proves its session with the token, then the local session manager runs session read →
// authorize() → touch (DESIGN §3.4 steps 2–5) and this route answers (step 6).
import type { FastifyInstance } from 'fastify';
import { serializedBody } from '../../core/issuer/credentials-body.js';
import type { ServerContext } from './context.js';
import { requireSessionToken, type TokenCheck } from './auth.js';

/** `/get-credentials` is the path aws-vault's ECS server used; some users' scripts still call it. */
export const CREDENTIAL_PATHS = ['/v1/credentials', '/get-credentials'] as const;

export function registerCredentialRoutes(app: FastifyInstance, ctx: ServerContext, tokens: TokenCheck): void {
  const authenticateToken = requireSessionToken(ctx.sessions, tokens, ctx.limiter, ctx.log);
  for (const url of CREDENTIAL_PATHS) {
    app.get(url, { preHandler: authenticateToken, config: { decision: 'credentials' } }, async (request, reply) => {
      const body = await ctx.sessions.credentials(request.token!, request.peer);
      // Exactly `application/json` (a Buffer: fastify would append a charset to a string).
      reply.header('content-type', 'application/json').header('cache-control', 'no-store');
      return serializedBody(body);
    });
  }
}
