// `/v1/breakglass` (DESIGN §3.3, §11): the caller invokes, lists, shows and closes break-glass events. The invoker is
// the identity this daemon serves for the profile; ids and bodies are validated before anything is read, and the
// service answers each refusal with the check that failed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SentinelError } from '../../core/errors.js';
import { EVENT_ID } from '../../core/breakglass/record.js';
import { CLOSE_REASON_MAX, JUSTIFICATION_MAX } from '../../core/breakglass/service.js';
import type { ServerContext } from './context.js';
import { parse, profileName } from './routes-control.js';

// Lengths and characters are checked by the service, with the message a user can act on; these only bound them.
export const invokeBody = z
  .object({
    profile: profileName,
    reason_code: z.string().max(32),
    justification: z.string().max(JUSTIFICATION_MAX * 4),
    duration: z.number().optional(),
    mfa_code: z.string().max(16).optional(),
    /** Answer what would happen (entry, MFA, who is told) without acting. */
    dry_run: z.boolean().optional(),
  })
  .strict();
const idParams = z
  .object({ id: z.string().regex(EVENT_ID, 'expected a break-glass event id (16 lowercase hex characters)') })
  .strict();
export const listQuery = z
  .object({
    mine: z.string().max(8).optional(),
    status: z.enum(['active', 'closed', 'expired']).optional(),
    profile: profileName.optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();
export const closeBody = z.object({ reason: z.string().max(CLOSE_REASON_MAX * 4) }).strict();

export function registerBreakglassRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = () => {
    if (!ctx.breakglass) throw new SentinelError('NotFound', 'this daemon does not serve break-glass');
    return ctx.breakglass;
  };
  const body = (request: FastifyRequest) => request.body;

  app.post('/v1/breakglass', async (request, reply) => {
    const { dry_run, ...input } = parse(invokeBody, body(request), 'break-glass invocation');
    if (dry_run) return api().preview(input);
    const created = await api().invoke(input);
    reply.code(201);
    return created;
  });

  app.get('/v1/breakglass', async (request) => {
    const q = parse(listQuery, request.query, 'query');
    return { events: await api().list({ ...q, mine: q.mine !== undefined }) };
  });

  app.get('/v1/breakglass/:id', async (request) => {
    const { id } = parse(idParams, request.params, 'event id');
    return api().show(id);
  });

  app.post('/v1/breakglass/:id/close', async (request) => {
    const { id } = parse(idParams, request.params, 'event id');
    const { reason } = parse(closeBody, body(request), 'close request');
    return api().close(id, reason);
  });
}
