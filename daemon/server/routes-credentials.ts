// The credential endpoint SDKs call (DESIGN §3.2), on both listeners. The request has already passed the peer check
// (onRequest); here it proves its session with the token, then the local session manager runs session read →
// authorize() → touch (DESIGN §3.4 steps 2–5) and this route answers (step 6).
import type { FastifyInstance } from 'fastify';
import type { CredentialsBody } from './credentials-body.js';
import type { ServerContext } from './context.js';
import { requireSessionToken } from './auth.js';

/** `/get-credentials` is the path aws-vault's ECS server used; some users' scripts still call it. */
export const CREDENTIAL_PATHS = ['/v1/credentials', '/get-credentials'] as const;

export function registerCredentialRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const authenticateToken = requireSessionToken(ctx.sessions, ctx.limiter, ctx.log);
  // One body object per issued set of credentials (credentials-body.ts); it is serialised once.
  const serialized = new WeakMap<CredentialsBody, Buffer>();
  for (const url of CREDENTIAL_PATHS) {
    app.get(url, { preHandler: authenticateToken, config: { decision: 'credentials' } }, async (request, reply) => {
      const body = await ctx.sessions.credentials(request.token!, request.peer);
      // Exactly `application/json` (a Buffer: fastify would append a charset to a string), serialised here so nothing
      // reorders or adds fields.
      let bytes = serialized.get(body);
      if (!bytes) {
        bytes = Buffer.from(JSON.stringify(body));
        serialized.set(body, bytes);
      }
      reply.header('content-type', 'application/json').header('cache-control', 'no-store');
      return bytes;
    });
  }
}
