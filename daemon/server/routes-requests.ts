// `/v1/requests` (DESIGN §3.3, §10): the caller files, lists, shows and cancels their own approval requests. The
// requester is the identity this daemon serves for the profile; ids and bodies are validated before anything is read.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SentinelError } from '../../core/errors.js';
import { REQUEST_ID } from '../../core/approvals/record.js';
import type { ServerContext } from './context.js';
import { parse, requestCreateBody, requestListQuery } from '../../core/api/bodies.js';

const idParams = z
  .object({ id: z.string().regex(REQUEST_ID, 'expected a request id (16 lowercase hex characters)') })
  .strict();
const emptyBody = z.object({}).strict();

export function registerRequestRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = () => {
    if (!ctx.requests) throw new SentinelError('NotFound', 'this daemon does not serve approval requests');
    return ctx.requests;
  };
  const body = (request: FastifyRequest) => request.body;

  app.post('/v1/requests', async (request, reply) => {
    const input = parse(requestCreateBody, body(request), 'approval request');
    const created = await api().create(input);
    reply.code(201);
    return created;
  });

  app.get('/v1/requests', async (request) => {
    parse(requestListQuery, request.query, 'query');
    return { requests: await api().mine() };
  });

  app.get('/v1/requests/:id', async (request) => {
    const { id } = parse(idParams, request.params, 'request id');
    return api().show(id);
  });

  app.post('/v1/requests/:id/cancel', async (request) => {
    const { id } = parse(idParams, request.params, 'request id');
    parse(emptyBody, body(request), 'cancel request');
    return api().cancel(id);
  });
}
