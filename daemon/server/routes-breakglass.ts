// `/v1/breakglass` (DESIGN §3.3, §11): the caller invokes, lists, shows and closes break-glass events. The invoker is
// the identity this daemon serves for the profile; ids and bodies are validated before anything is read, and the
// service answers each refusal with the check that failed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SentinelError } from '../../core/errors.js';
import { EVENT_ID } from '../../core/breakglass/record.js';
import type { ServerContext } from './context.js';
import { breakglassCloseBody, breakglassInvokeBody, breakglassListQuery, parse } from '../../core/api/bodies.js';

const idParams = z
  .object({ id: z.string().regex(EVENT_ID, 'expected a break-glass event id (16 lowercase hex characters)') })
  .strict();

export function registerBreakglassRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = () => {
    if (!ctx.breakglass) throw new SentinelError('NotFound', 'this daemon does not serve break-glass');
    return ctx.breakglass;
  };
  const body = (request: FastifyRequest) => request.body;

  app.post('/v1/breakglass', async (request, reply) => {
    const { dry_run, ...input } = parse(breakglassInvokeBody, body(request), 'break-glass invocation');
    if (dry_run) return api().preview(input);
    const created = await api().invoke(input);
    reply.code(201);
    return created;
  });

  app.get('/v1/breakglass', async (request) => {
    const q = parse(breakglassListQuery, request.query, 'query');
    return { events: await api().list({ ...q, mine: q.mine !== undefined }) };
  });

  app.get('/v1/breakglass/:id', async (request) => {
    const { id } = parse(idParams, request.params, 'event id');
    return api().show(id);
  });

  app.post('/v1/breakglass/:id/close', async (request) => {
    const { id } = parse(idParams, request.params, 'event id');
    const { reason } = parse(breakglassCloseBody, body(request), 'close request');
    return api().close(id, reason);
  });
}
