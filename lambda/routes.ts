// The vendor's routes (DESIGN §17), mirroring the daemon's (§3.2, §3.3): every body and query is validated before
// anything is read, with the schemas the daemon uses too (core/api/bodies.ts) where a route has a daemon twin. The
// caller is the principal the handler resolved from API Gateway's verified identity; no route reads a user from
// anywhere else.
import { z } from 'zod';
import {
  breakglassCloseBody,
  breakglassInvokeBody,
  breakglassListQuery,
  parse,
  profileName,
  requestCreateBody,
  requestListQuery,
  revokeBody,
  ttl,
  ttlMs,
  writtenText,
} from '../core/api/bodies.js';
import { REQUEST_ID } from '../core/approvals/record.js';
import { EVENT_ID } from '../core/breakglass/record.js';
import { COMMENT_MAX } from '../core/approvals/service.js';
import type { Principal } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';
import { SESSION_ID } from '../core/sessions/types.js';
import { VERSION } from '../core/version.js';
import type { VendorBreakglass } from './breakglass.js';
import type { VendorRequest } from './events.js';
import type { VendorParts } from './parts.js';
import { listProfiles } from './profiles.js';
import type { VendorRequests } from './requests.js';
import type { VendorSessions } from './sessions.js';

export interface Reply {
  status: number;
  body: unknown;
  /** Credentials: never cached by anything between the vendor and the SDK. */
  noStore?: boolean;
}

export interface RouteContext {
  parts: VendorParts;
  sessions: VendorSessions;
  requests: VendorRequests;
  breakglass: VendorBreakglass;
}

type Handler = (ctx: RouteContext, principal: Principal, req: VendorRequest, id: string) => Promise<Reply>;

const ok = (body: unknown, status = 200): Reply => ({ status, body });

const credentialsQuery = z
  .object({
    profile: profileName.optional(),
    session: z.string().regex(SESSION_ID, 'expected a session id (16 lowercase hex characters)').optional(),
  })
  .strict()
  .refine((q) => (q.profile === undefined) !== (q.session === undefined), 'give exactly one of profile or session');

const openBody = z
  .object({ profile: profileName, mode: z.enum(['server', 'cli']).default('server'), ttl: ttl.optional() })
  .strict();
const emptyBody = z.object({}).strict();
const emptyQuery = z.object({}).strict();
const commentBody = z
  .object({
    comment: writtenText(COMMENT_MAX).optional(),
  })
  .strict();
const requestRevokeBody = z.object({ reason: writtenText(COMMENT_MAX) }).strict();

function json(req: VendorRequest): unknown {
  if (req.body === null) return undefined;
  try {
    return JSON.parse(req.body);
  } catch {
    throw new SentinelError('BadRequest', 'the request body is not valid JSON');
  }
}

const routes: Array<{ method: string; pattern: RegExp; handle: Handler }> = [
  {
    method: 'GET',
    pattern: /^\/v1\/credentials$/,
    async handle(ctx, principal, req) {
      const q = parse(credentialsQuery, req.query, 'query');
      const body = q.session
        ? await ctx.sessions.credentials(principal, q.session)
        : await ctx.sessions.implicit(principal, q.profile!);
      return { status: 200, body, noStore: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/sessions$/,
    async handle(ctx, principal, req) {
      const b = parse(openBody, json(req), 'session request');
      const { session, region } = await ctx.sessions.open(principal, {
        profile: b.profile,
        mode: b.mode,
        ttlMs: ttlMs(b.ttl),
      });
      return ok(
        {
          id: session.id,
          region,
          expires_at: session.expires_at,
          profile: session.profile,
          mode: session.mode,
          source_identity: session.source_identity ?? null,
        },
        201,
      );
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/sessions\/([^/]+)$/,
    handle: async (ctx, principal, req, id) => {
      parse(emptyQuery, req.query, 'query');
      return ok(await ctx.sessions.get(principal, sessionId(id)));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/sessions\/([^/]+)\/revoke$/,
    async handle(ctx, principal, req, id) {
      const checked = sessionId(id);
      const { reason } = parse(revokeBody, json(req), 'revoke request');
      return ok(await ctx.sessions.revoke(principal, checked, reason));
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/sessions\/([^/]+)$/,
    async handle(ctx, principal, req, id) {
      const checked = sessionId(id);
      parse(emptyQuery, req.query, 'query');
      return ok(await ctx.sessions.end(principal, checked));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/requests$/,
    async handle(ctx, principal, req) {
      const b = parse(requestCreateBody, json(req), 'approval request');
      return ok(await ctx.requests.create(principal, b), 201);
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/requests$/,
    async handle(ctx, principal, req) {
      parse(requestListQuery, req.query, 'query');
      return ok({ requests: await ctx.requests.mine(principal) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/requests\/([^/]+)$/,
    async handle(ctx, principal, req, id) {
      const checked = requestId(id);
      parse(emptyQuery, req.query, 'query');
      return ok(await ctx.requests.show(principal, checked));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/requests\/([^/]+)\/cancel$/,
    async handle(ctx, principal, req, id) {
      const checked = requestId(id);
      parse(emptyBody, json(req), 'cancel request');
      return ok(await ctx.requests.cancel(principal, checked));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/requests\/([^/]+)\/(approve|deny)$/,
    async handle(ctx, principal, req, id) {
      const checked = requestId(id);
      const decision = req.path.endsWith('/approve') ? 'approve' : 'deny';
      const { comment } = parse(commentBody, json(req), `${decision} request`);
      return ok(await ctx.requests.decide(principal, checked, decision, comment));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/requests\/([^/]+)\/revoke$/,
    async handle(ctx, principal, req, id) {
      const checked = requestId(id);
      const { reason } = parse(requestRevokeBody, json(req), 'revoke request');
      return ok(await ctx.requests.revoke(principal, checked, reason));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/breakglass$/,
    async handle(ctx, principal, req) {
      const { dry_run, ...input } = parse(breakglassInvokeBody, json(req), 'break-glass invocation');
      if (dry_run) return ok(await ctx.breakglass.preview(principal, input));
      return ok(await ctx.breakglass.invoke(principal, input), 201);
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/breakglass$/,
    async handle(ctx, principal, req) {
      const q = parse(breakglassListQuery, req.query, 'query');
      return ok({ events: await ctx.breakglass.list(principal, { ...q, mine: q.mine !== undefined }) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/breakglass\/([^/]+)$/,
    async handle(ctx, principal, req, id) {
      const checked = eventId(id);
      parse(emptyQuery, req.query, 'query');
      return ok(await ctx.breakglass.show(principal, checked));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/breakglass\/([^/]+)\/close$/,
    async handle(ctx, principal, req, id) {
      const checked = eventId(id);
      const { reason } = parse(breakglassCloseBody, json(req), 'close request');
      return ok(await ctx.breakglass.close(principal, checked, reason));
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/profiles$/,
    async handle(ctx, _principal, req) {
      parse(emptyQuery, req.query, 'query');
      return ok({
        profiles: listProfiles(ctx.parts.policy).map((p) => ({
          name: p.name,
          region: p.region,
          role_arn: p.role_arn,
          source_profile: null,
          stampable: true,
        })),
      });
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/status$/,
    async handle(ctx, principal, req) {
      parse(emptyQuery, req.query, 'query');
      const { parts } = ctx;
      return ok({
        version: VERSION,
        kind: 'vendor',
        instance_id: parts.instanceId,
        started_at: parts.startedAt.toISOString(),
        caller: { arn: principal.arn, user: principal.user },
        policy: parts.policy.status(),
        store: 'dynamodb',
        tables: {
          sessions: parts.config.sessions.table,
          requests: parts.config.requests.table,
          breakglass: parts.config.breakglass.table,
        },
      });
    },
  },
];

function sessionId(id: string): string {
  if (!SESSION_ID.test(id))
    throw new SentinelError('BadRequest', 'invalid session id: expected 16 lowercase hex characters');
  return id;
}

function eventId(id: string): string {
  if (!EVENT_ID.test(id))
    throw new SentinelError('BadRequest', 'invalid break-glass event id: expected 16 lowercase hex characters');
  return id;
}

function requestId(id: string): string {
  if (!REQUEST_ID.test(id))
    throw new SentinelError('BadRequest', 'invalid request id: expected 16 lowercase hex characters');
  return id;
}

/** The route for a request, or NotFound (an unknown path and a known path with another method alike). */
export function route(req: VendorRequest): { handle: Handler; id: string } {
  for (const r of routes) {
    if (r.method !== req.method) continue;
    const m = r.pattern.exec(req.path);
    if (m) return { handle: r.handle, id: m[1] ?? '' };
  }
  throw new SentinelError('NotFound', `no endpoint ${req.method} ${printablePath(req.path)}`);
}

function printablePath(path: string): string {
  return path.length > 128 ? `${path.slice(0, 128)}…` : path;
}
