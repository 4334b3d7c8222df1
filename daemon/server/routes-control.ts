// The control API (DESIGN §3.3): Unix socket only, JSON in and out, every body and query validated with zod before it
// reaches the local session manager. Validation messages name the field and the rule, never echo the value.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { localActor } from '../runtime/local-actor.js';
import { parse, profileName, revokeBody, ttl, ttlMs } from '../../core/api/bodies.js';
import { parseDuration } from '../../core/duration.js';
import { SESSION_ID, SESSION_STATUSES, type Session } from '../../core/sessions/types.js';
import type { ProfileInfo } from '../../core/issuer/types.js';
import type { ServerContext } from './context.js';

const openSessionBody = z
  .object({
    profile: profileName,
    mode: z.enum(['server', 'cli']).default('server'),
    pid: z.number().int().min(1).max(4_194_304).optional(),
    ttl: ttl.optional(),
  })
  .strict();

const credentialProcessBody = z.object({ profile: profileName }).strict();
const emptyBody = z.object({}).strict();

const sessionParams = z
  .object({ id: z.string().regex(SESSION_ID, 'expected a session id (16 lowercase hex characters)') })
  .strict();

const listQuery = z
  .object({
    status: z.enum(SESSION_STATUSES as [Session['status'], ...Session['status'][]]).optional(),
    user: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9]+$/, 'expected a policy user name (letters and digits)')
      .optional(),
    profile: profileName.optional(),
    // Daemons stamp a 16-hex id; the bound is looser so a listing never depends on that format.
    server_instance_id: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9._:-]+$/, 'expected a server instance id (letters, digits and . _ : -)')
      .optional(),
    since: z
      .string()
      .max(40)
      .refine(
        (v) => parseDuration(v) !== undefined || !Number.isNaN(Date.parse(v)),
        'expected RFC 3339 or a duration such as 1h',
      )
      .optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().min(1).max(4096).optional(),
  })
  .strict();

function sinceToIso(since: string | undefined): string | undefined {
  if (since === undefined) return undefined;
  const ago = parseDuration(since);
  return ago !== undefined ? new Date(Date.now() - ago).toISOString() : new Date(Date.parse(since)).toISOString();
}

function profileView(p: ProfileInfo) {
  return {
    name: p.name,
    region: p.region ?? null,
    role_arn: p.roleArn ?? null,
    source_profile: p.sourceProfile ?? null,
    stampable: p.stampable,
  };
}

function json(request: FastifyRequest): unknown {
  return request.body;
}

export function registerControlRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { sessions, control } = ctx;

  app.get('/v1/status', async () => control.status());

  app.get('/v1/profiles', async () => ({ profiles: (await sessions.profiles()).map(profileView) }));

  app.post('/v1/sessions', { config: { decision: 'session_open' } }, async (request, reply) => {
    const body = parse(openSessionBody, json(request), 'session request');
    const opened = await sessions.openSession(
      { profile: body.profile, mode: body.mode, pid: body.pid, ttlMs: ttlMs(body.ttl) },
      request.peer,
    );
    reply.code(201);
    return {
      id: opened.session.id,
      token: opened.token,
      url: control.credentialUrl(),
      region: opened.region,
      expires_at: opened.session.expires_at,
      profile: opened.session.profile,
    };
  });

  app.get('/v1/sessions', async (request) => {
    const q = parse(listQuery, request.query, 'query');
    const page = await sessions.listSessions({
      status: q.status,
      user: q.user,
      profile: q.profile,
      server_instance_id: q.server_instance_id,
      since: sinceToIso(q.since),
      limit: q.limit,
      cursor: q.cursor,
    });
    return { sessions: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) };
  });

  app.get('/v1/sessions/:id', async (request) => {
    const { id } = parse(sessionParams, request.params, 'session id');
    return sessions.getSession(id);
  });

  app.post('/v1/sessions/:id/revoke', async (request) => {
    const { id } = parse(sessionParams, request.params, 'session id');
    const { reason } = parse(revokeBody, json(request), 'revoke request');
    return sessions.revoke(id, localActor(), reason);
  });

  app.delete('/v1/sessions/:id', async (request) => {
    const { id } = parse(sessionParams, request.params, 'session id');
    return sessions.end(id);
  });

  app.post('/v1/credentials', { config: { decision: 'credential_process' } }, async (request, reply) => {
    const { profile } = parse(credentialProcessBody, json(request), 'credentials request');
    const body = await sessions.credentialProcess(profile, request.peer);
    reply.header('content-type', 'application/json').header('cache-control', 'no-store');
    return Buffer.from(JSON.stringify(body));
  });

  app.post('/v1/policy/reload', async (request) => {
    parse(emptyBody, json(request), 'reload request');
    return { policy: await control.reloadPolicy() };
  });

  app.post('/v1/reload', async (request) => {
    parse(emptyBody, json(request), 'reload request');
    return control.reload();
  });

  app.post('/v1/shutdown', async (request, reply) => {
    parse(emptyBody, json(request), 'shutdown request');
    // Stop only once this answer is on its way, so the caller learns that the stop began.
    reply.raw.once('finish', () => control.shutdown());
    reply.code(202);
    return { status: 'stopping' };
  });
}
