// Every answer that is not a success goes through here: a SentinelError is sent with its catalogue status and body;
// fastify's own errors (body parsing, limits) are mapped onto the catalogue; anything else is a 500 InternalError
// whose details stay in the operational log, never in the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SentinelError, isSentinelError } from '../../core/errors.js';
import type { OpLogger } from '../../core/log.js';

const JSON_TYPE = 'application/json';

/** An error's catalogue answer: status, headers and body bytes. A Buffer keeps the content-type exactly
 * `application/json` (fastify appends a charset to strings); Go's SDK parses an error body only under exactly that type. */
export function errorAnswer(error: SentinelError): { status: number; headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = { 'content-type': JSON_TYPE };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter)));
  return { status: error.status, headers, body: Buffer.from(JSON.stringify(error.toBody())) };
}

export function sendError(reply: FastifyReply, error: SentinelError): FastifyReply {
  const answer = errorAnswer(error);
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/** What an error thrown by a handler becomes: itself when it is in the catalogue; otherwise InternalError, with the
 * details only in the operational log. */
export function internalErrorFor(
  error: unknown,
  log: OpLogger,
  method: string,
  url: string | undefined,
): SentinelError {
  const mapped = toSentinelError(error);
  if (mapped.code === 'InternalError' && !isSentinelError(error)) {
    const e = error as Error;
    log.error(
      { event: 'internal_error', method, url, err: { name: e?.name, message: e?.message, stack: e?.stack } },
      'request failed',
    );
  }
  return mapped;
}

/** Maps what fastify throws for malformed input onto the catalogue; unknown errors become InternalError. */
export function toSentinelError(error: unknown): SentinelError {
  if (isSentinelError(error)) return error;
  const e = error as Partial<FastifyError> | undefined;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SentinelError('PayloadTooLarge', 'the request body is larger than the daemon accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SentinelError('BadRequest', 'request bodies must be JSON (content-type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SentinelError('BadRequest', 'the request declares a JSON body but sends none');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new SentinelError('BadRequest', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SentinelError('BadRequest', 'the content-length does not match the body');
  }
  if (status === 413) return new SentinelError('PayloadTooLarge');
  if (status === 404) return new SentinelError('NotFound');
  if (status >= 400 && status < 500) return new SentinelError('BadRequest');
  return new SentinelError('InternalError');
}

export function errorHandler(log: OpLogger) {
  return function handle(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    return sendError(reply, internalErrorFor(error, log, request.method, request.routeOptions.url));
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, new SentinelError('NotFound', `no endpoint ${request.method} ${pathOnly(request.url)}`));
}

/** fastify's `frameworkErrors`: what its router refuses before any route or hook runs. */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      sendError(reply, new SentinelError('BadRequest', 'a path parameter is longer than any valid value'));
      return;
    case 'FST_ERR_BAD_URL':
      sendError(reply, new SentinelError('BadRequest', 'the request path is not a valid URL'));
      return;
    default:
      sendError(reply, new SentinelError('InternalError'));
  }
}

/** An `Expect` other than 100-continue, which node would otherwise refuse with an empty 417. */
export function expectationHandler(_request: IncomingMessage, response: ServerResponse): void {
  const error = new SentinelError('BadRequest', 'the daemon supports no Expect header but 100-continue');
  const body = JSON.stringify(error.toBody());
  response.writeHead(error.status, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}

function pathOnly(url: string): string {
  const path = url.split('?')[0] ?? '';
  // The path is echoed back to the caller; keep it short and printable.
  return path.length > 128 ? `${path.slice(0, 128)}…` : path.replace(/[^\x20-\x7e]/g, '?');
}

/** Requests node's parser refuses before fastify sees them (oversized headers, garbage, timeouts): a catalogue body,
 * then the connection is closed. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let sentinel: SentinelError;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    sentinel = new SentinelError('PayloadTooLarge', 'the request headers are larger than the daemon accepts');
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    sentinel = new SentinelError('BadRequest', 'the request was not received in time');
  } else {
    sentinel = new SentinelError('BadRequest', 'the request is not valid HTTP');
  }
  if (socket.writable) {
    const body = JSON.stringify(sentinel.toBody());
    socket.write(
      `HTTP/1.1 ${sentinel.status} ${sentinel.status === 413 ? 'Payload Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
