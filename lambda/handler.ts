// The server-side vendor's Lambda entry point (DESIGN §17): API Gateway proxy event → verified caller → route →
// answer, with the daemon's bodies and the catalogue's errors. Everything a container needs (config, policy, stores,
// clients) is built once, on the first event (cold start), and reused by every later one; a failed start is retried
// on the next event rather than cached. No answer ever carries a stack trace or an AWS error text.
import { SentinelError, isSentinelError } from '../core/errors.js';
import { readEvent, type APIGatewayProxyEvent, type APIGatewayProxyEventV2 } from './events.js';
import { createVendorBreakglass } from './breakglass.js';
import { createVendorParts, type VendorOptions, type VendorParts } from './parts.js';
import { principalOf } from './principal.js';
import { createVendorRequests } from './requests.js';
import { route, type Reply, type RouteContext } from './routes.js';
import { createVendorSessions } from './sessions.js';

export type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from './events.js';

export interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export type VendorHandler = ((event: APIGatewayProxyEvent | APIGatewayProxyEventV2) => Promise<ProxyResult>) & {
  /** Releases the container's clients (tests; Lambda never calls it). */
  close(): Promise<void>;
};

function respond(reply: Reply): ProxyResult {
  return {
    statusCode: reply.status,
    // Exactly `application/json`: Go's SDK parses an error body only under that type.
    headers: { 'content-type': 'application/json', ...(reply.noStore ? { 'cache-control': 'no-store' } : {}) },
    body: JSON.stringify(reply.body),
  };
}

function respondError(error: SentinelError): ProxyResult {
  return {
    statusCode: error.status,
    headers: {
      'content-type': 'application/json',
      ...(error.retryAfter !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfter))) } : {}),
    },
    body: JSON.stringify(error.toBody()),
  };
}

export function createHandler(options: VendorOptions = {}): VendorHandler {
  let starting: Promise<RouteContext> | undefined;
  let parts: VendorParts | undefined;

  const context = (): Promise<RouteContext> =>
    (starting ??= createVendorParts(options).then(
      (made) => {
        parts = made;
        const breakglass = createVendorBreakglass({
          stores: made.breakglass,
          policy: made.policy,
          notifier: made.notifier,
          log: made.log,
          trustedSessionRoles: made.config.identity.trustedSessionRoles,
          now: made.now,
        });
        return { parts: made, sessions: createVendorSessions(made), requests: createVendorRequests(made), breakglass };
      },
      (e: unknown) => {
        starting = undefined;
        throw e;
      },
    ));

  const handle = async (event: APIGatewayProxyEvent | APIGatewayProxyEventV2): Promise<ProxyResult> => {
    try {
      const request = readEvent(event);
      const ctx = await context();
      const principal = principalOf(request.callerArn, ctx.parts.config.identity.trustedSessionRoles);
      const { handle: run, id } = route(request);
      return respond(await run(ctx, principal, request, id));
    } catch (e) {
      if (isSentinelError(e)) return respondError(e);
      const err = e as Error | undefined;
      // Details stay in the operational log (stderr → CloudWatch Logs), never in the answer.
      (parts?.log ?? console).error?.(
        { event: 'internal_error', err: { name: err?.name, message: err?.message, stack: err?.stack } },
        'request failed',
      );
      return respondError(new SentinelError('InternalError'));
    }
  };
  return Object.assign(handle, {
    async close() {
      const p = starting;
      starting = undefined;
      if (p) await (await p.catch(() => undefined))?.parts.close();
    },
  });
}

/** Lambda's entry point: configured from the environment (SENTINEL_CONFIG_YAML or SENTINEL_CONFIG, AWS_*). */
export const handler = createHandler();
