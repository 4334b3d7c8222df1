// Shared plumbing for the local AWS emulators: a loopback HTTP server that reads bounded bodies, SigV4 Authorization
// header parsing, fault injection (failNext / setFailure / setDelay) and the AWS JSON 1.1 protocol used by SSM and KMS.
// The emulators are strict on purpose: a request the real service would refuse must be refused here too, with the
// error code the real service uses, so that code under test meets AWS's rules before it meets AWS.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';

/** The account the emulators pretend to run in (AWS's documentation account). */
export const EMULATOR_ACCOUNT = '111122223333';
/** Bodies above this are refused with RequestEntityTooLarge (413) and never buffered. */
export const MAX_BODY_BYTES = 64 * 1024;
/** A client that keeps sending past this after being refused is disconnected instead of drained. */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

/** An error the emulator answers with, in the service's own vocabulary. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface FailureSpec {
  code: string;
  status?: number;
  message?: string;
}

/**
 * Canned failures per action: one-shot (`failNext`, consumed in order) take precedence over a persistent one
 * (`setFailure`). A spec without a status gets the one the service sends for that code (`statusByCode`), else 400.
 */
export class FaultInjector {
  private readonly queued = new Map<string, FailureSpec[]>();
  private readonly persistent = new Map<string, FailureSpec>();

  constructor(private readonly statusByCode: Readonly<Record<string, number>> = {}) {}

  failNext(action: string, spec: FailureSpec, times = 1): void {
    if (!Number.isInteger(times) || times < 1)
      throw new Error(`failNext: times must be a positive integer, got ${times}`);
    const queue = this.queued.get(action) ?? [];
    for (let i = 0; i < times; i++) queue.push({ ...spec });
    this.queued.set(action, queue);
  }

  setFailure(action: string, spec: FailureSpec | null): void {
    if (spec) this.persistent.set(action, { ...spec });
    else this.persistent.delete(action);
  }

  /** The failure to answer this call of `action` with, if any (consumes a one-shot failure). */
  take(action: string): AwsServiceError | undefined {
    const queue = this.queued.get(action);
    const spec = queue?.shift() ?? this.persistent.get(action);
    if (queue && queue.length === 0) this.queued.delete(action);
    if (!spec) return undefined;
    const status = spec.status ?? this.statusByCode[spec.code] ?? 400;
    return new AwsServiceError(spec.code, spec.message ?? `Injected ${spec.code} by the test emulator`, status);
  }

  clear(): void {
    this.queued.clear();
    this.persistent.clear();
  }
}

export interface SigV4Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type SigV4Parse =
  | { ok: true; credential: SigV4Credential }
  | { ok: false; reason: 'missing' | 'malformed' | 'wrong-service' | 'no-date'; message: string };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,=]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request, ?SignedHeaders=([a-z0-9;_.-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Checks the SigV4 `Authorization` header's shape and credential scope. The signature bytes are not verified: the
 * emulators do not know the secrets of identities registered by access key only.
 */
export function parseSigV4(req: IncomingMessage, expectedService: string): SigV4Parse {
  const header = req.headers.authorization;
  if (header === undefined || header === '') {
    return { ok: false, reason: 'missing', message: 'Request is missing Authentication Token' };
  }
  const m = AUTHORIZATION.exec(header);
  if (!m) {
    return {
      ok: false,
      reason: 'malformed',
      message:
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters in the " +
        'AWS4-HMAC-SHA256 form.',
    };
  }
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const headers = signedHeaders!.split(';');
  if (!headers.includes('host')) {
    return { ok: false, reason: 'malformed', message: "'Host' must be a 'SignedHeader' in the AWS Authorization." };
  }
  if (req.headers['x-amz-date'] === undefined && req.headers.date === undefined) {
    return {
      ok: false,
      reason: 'no-date',
      message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  }
  if (service !== expectedService) {
    return {
      ok: false,
      reason: 'wrong-service',
      message: `Credential should be scoped to correct service: '${expectedService}'.`,
    };
  }
  return {
    ok: true,
    credential: {
      accessKeyId: accessKeyId!,
      date: date!,
      region: region!,
      service: service!,
      signedHeaders: headers,
      signature: signature!,
    },
  };
}

export type BodyRead = { ok: true; body: Buffer } | { ok: false; tooLarge: true };

/** Reads a request body, refusing (without buffering) anything over `limit` bytes. */
export async function readBoundedBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_DRAIN_BYTES) {
    req.socket.destroy();
    return { ok: false, tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number.isFinite(declared) && declared > limit;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    // Drain (not buffer) a refused body so the client reads our error instead of a connection reset.
    if (tooLarge) {
      if (size > MAX_DRAIN_BYTES) {
        req.socket.destroy();
        break;
      }
      continue;
    }
    chunks.push(chunk);
  }
  return tooLarge ? { ok: false, tooLarge: true } : { ok: true, body: Buffer.concat(chunks) };
}

export interface LoopbackServer {
  url: string;
  port: number;
  server: Server;
  /** Aborted when the server closes, so pending delays end with it. */
  signal: AbortSignal;
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 with an ephemeral port. `close()` drops every open connection (keep-alive included), so a
 * test's teardown never waits on an SDK's connection pool, and is idempotent.
 */
export async function startLoopbackServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A handler bug must still answer, or the SDK waits for its socket timeout.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`emulator error: ${String(err)}`);
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Garbage on the wire (not HTTP at all) gets a 400 and a closed socket, never an unhandled error.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    signal: closing.signal,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

/** Waits `ms` unless the server closes first (then resolves false and the request is dropped). */
export async function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !signal.aborted;
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function requestId(): string {
  return randomUUID();
}

/** AWS's model-validation message style, e.g. "1 validation error detected: Value '1' at 'x' failed to ...". */
export class ValidationCollector {
  private readonly problems: string[] = [];

  add(value: unknown, member: string, constraint: string): void {
    const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
    this.problems.push(`Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`);
  }

  /** For members AWS marks sensitive: the message names the member but never shows the value. */
  addSensitive(member: string, constraint: string): void {
    this.problems.push(`Value at '${member}' failed to satisfy constraint: ${constraint}`);
  }

  /** Adds the usual length/pattern checks for a string member. */
  checkString(
    value: string | undefined,
    member: string,
    opts: { min?: number; max?: number; pattern?: RegExp; patternText?: string; required?: boolean },
  ): void {
    if (value === undefined) {
      if (opts.required) this.add(undefined, member, 'Member must not be null');
      return;
    }
    if (opts.min !== undefined && value.length < opts.min) {
      this.add(value, member, `Member must have length greater than or equal to ${opts.min}`);
    }
    if (opts.max !== undefined && value.length > opts.max) {
      this.add(value, member, `Member must have length less than or equal to ${opts.max}`);
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      this.add(
        value,
        member,
        `Member must satisfy regular expression pattern: ${opts.patternText ?? opts.pattern.source}`,
      );
    }
  }

  checkRange(value: number | undefined, member: string, min: number, max: number): void {
    if (value === undefined) return;
    if (value < min) this.add(value, member, `Member must have value greater than or equal to ${min}`);
    else if (value > max) this.add(value, member, `Member must have value less than or equal to ${max}`);
  }

  /** Throws the collected problems as one error, in AWS's "N validation errors detected: a; b" form. */
  throwIfAny(code: string): void {
    const n = this.problems.length;
    if (n === 0) return;
    throw new AwsServiceError(
      code,
      `${n} validation error${n === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`,
      400,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// AWS JSON 1.1 (SSM, KMS): POST /, X-Amz-Target: <Prefix>.<Operation>, JSON in and out, errors {"__type","message"}.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export interface JsonCallContext {
  accessKeyId: string;
  region: string;
}

export type JsonOperation = (input: JsonObject, ctx: JsonCallContext) => JsonObject | Promise<JsonObject>;

export interface JsonServiceOptions {
  /** The SigV4 credential-scope service name (`ssm`, `kms`). */
  signingName: string;
  /** The X-Amz-Target prefix (`AmazonSSM`, `TrentService`), or each prefix the service accepts. */
  targetPrefix: string | readonly string[];
  operations: Record<string, JsonOperation>;
  faults: FaultInjector;
  /** Filled with a zero for every operation, then counted in place. */
  calls: Record<string, number>;
  getDelay(): number;
  /** Bodies above this are refused (default MAX_BODY_BYTES); CloudWatch Logs takes batches of 1 MiB. */
  maxBodyBytes?: number;
  /** While true, every connection is dropped without an answer: the service is unreachable. */
  isDown?(): boolean;
  /** Told of every request as it arrives, before any delay: a test can tell a call in flight from one not yet made. */
  onArrival?(): void;
}

export interface JsonService extends LoopbackServer {}

export async function startJsonService(opts: JsonServiceOptions): Promise<JsonService> {
  for (const op of Object.keys(opts.operations)) opts.calls[op] ??= 0;
  const server: LoopbackServer = await startLoopbackServer(async (req, res) => {
    const id = requestId();
    const reply = (status: number, body: JsonObject) => {
      if (res.destroyed) return;
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': id,
      });
      res.end(text);
    };
    const fail = (e: AwsServiceError) => reply(e.status, { __type: e.code, message: e.message });

    opts.onArrival?.();
    if (opts.isDown?.()) {
      req.socket.destroy();
      return;
    }
    const read = await readBoundedBody(req, opts.maxBodyBytes);
    if (!(await delay(opts.getDelay(), server.signal))) return;
    if (!read.ok) {
      if (!res.destroyed) fail(new AwsServiceError('RequestEntityTooLarge', 'Request body is too large', 413));
      return;
    }
    try {
      const result = await dispatchJson(req, read.body, opts);
      reply(200, result);
    } catch (err) {
      if (err instanceof AwsServiceError) fail(err);
      else throw err;
    }
  });
  return server;
}

async function dispatchJson(req: IncomingMessage, body: Buffer, opts: JsonServiceOptions): Promise<JsonObject> {
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    throw new AwsServiceError('UnknownOperationException', '', 404);
  }
  const auth = parseSigV4(req, opts.signingName);
  if (!auth.ok) {
    if (auth.reason === 'missing') throw new AwsServiceError('MissingAuthenticationTokenException', auth.message, 400);
    if (auth.reason === 'wrong-service') throw new AwsServiceError('InvalidSignatureException', auth.message, 400);
    throw new AwsServiceError('IncompleteSignatureException', auth.message, 400);
  }
  const target = String(req.headers['x-amz-target'] ?? '');
  // The prefix may itself contain dots (CloudTrail: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101).
  const dot = target.lastIndexOf('.');
  const prefixes: readonly string[] = typeof opts.targetPrefix === 'string' ? [opts.targetPrefix] : opts.targetPrefix;
  const operation = dot > 0 && prefixes.includes(target.slice(0, dot)) ? target.slice(dot + 1) : '';
  const handler = Object.hasOwn(opts.operations, operation) ? opts.operations[operation] : undefined;
  if (!handler) throw new AwsServiceError('UnknownOperationException', '', 400);

  opts.calls[operation] = (opts.calls[operation] ?? 0) + 1;
  const injected = opts.faults.take(operation);
  if (injected) throw injected;

  const contentType = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/x-amz-json-1.1') {
    throw new AwsServiceError('SerializationException', `Unexpected content-type '${contentType}'`, 400);
  }
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsServiceError('SerializationException', 'Start of structure or map found where not expected.', 400);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AwsServiceError('SerializationException', 'Start of structure or map found where not expected.', 400);
  }
  return handler(input as JsonObject, { accessKeyId: auth.credential.accessKeyId, region: auth.credential.region });
}

// Typed member readers for JSON inputs: a member of the wrong JSON type is a SerializationException, as in AWS.

function wrongType(member: string, expected: string): AwsServiceError {
  return new AwsServiceError('SerializationException', `Member '${member}' must be ${expected}`, 400);
}

export function optString(input: JsonObject, member: string): string | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw wrongType(member, 'a string');
  return v;
}

export function optBoolean(input: JsonObject, member: string): boolean | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw wrongType(member, 'a boolean');
  return v;
}

export function optInteger(input: JsonObject, member: string): number | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw wrongType(member, 'an integer');
  return v;
}

export function optStringList(input: JsonObject, member: string): string[] | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw wrongType(member, 'a list of strings');
  return v as string[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A blob member: base64 on the wire. Anything that is not canonical base64 is a SerializationException. */
export function optBlob(input: JsonObject, member: string): Buffer | undefined {
  const v = optString(input, member);
  if (v === undefined) return undefined;
  if (!BASE64.test(v)) throw wrongType(member, 'base64-encoded binary data');
  return Buffer.from(v, 'base64');
}

// ---------------------------------------------------------------------------------------------------------------
// AWS Query protocol (STS, IAM): form-encoded POST (or GET with a query string), XML replies.

/** Form decoding that refuses what AWS refuses: broken percent-escapes are a MalformedQueryString error. */
export function parseForm(text: string): URLSearchParams {
  const params = new URLSearchParams();
  if (text === '') return params;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
      // The first occurrence wins; a repeated parameter does not override what validation saw.
      if (!params.has(key)) params.append(key, value);
    } catch {
      throw new AwsServiceError('MalformedQueryString', 'The query string is malformed', 404);
    }
  }
  return params;
}

export function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

/** A leaf element: its text is escaped. */
export function el(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** An element wrapping already-built XML. */
export function node(name: string, inner: string): string {
  return `<${name}>${inner}</${name}>`;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

/** A deterministic IAM-style id suffix (base32 alphabet) derived from `seed`. */
export function stableId(seed: string, n: number): string {
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < n; i++) out += ID_ALPHABET[digest[i]! % 32];
  return out;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A Query API as its emulator serves it. */
export interface QueryApi<A extends string> {
  /** The XML namespace of its responses. */
  xmlns: string;
  version: string;
  actions: readonly A[];
  /** STS and IAM also take a GET with the parameters in the query string; SNS only a form-encoded POST. */
  allowGet: boolean;
}

/** The SigV4 check of a Query service, before it looks at anything else, with the error codes they share. */
export function querySigV4(req: IncomingMessage, service: string): SigV4Credential {
  const auth = parseSigV4(req, service);
  if (auth.ok) return auth.credential;
  if (auth.reason === 'missing') throw new AwsServiceError('MissingAuthenticationToken', auth.message, 403);
  if (auth.reason === 'wrong-service') throw new AwsServiceError('SignatureDoesNotMatch', auth.message, 403);
  throw new AwsServiceError('IncompleteSignature', auth.message, 400);
}

/**
 * A Query request, checked in AWS's order: the method, then who is calling (`authenticate`: an unsigned request is
 * refused whatever it asks for), then path `/`, a form-encoded body (or a GET's query string), and `Action` and
 * `Version` naming an action of this API.
 */
export function queryRequest<A extends string, C>(
  req: IncomingMessage,
  body: Buffer,
  api: QueryApi<A>,
  authenticate: () => C,
): { action: A; params: URLSearchParams; caller: C } {
  if (req.method !== 'POST' && !(api.allowGet && req.method === 'GET')) {
    throw new AwsServiceError('InvalidAction', 'Could not find operation for this request', 400);
  }
  const caller = authenticate();
  const [path, query] = splitUrl(req.url ?? '/');
  if (path !== '/') throw new AwsServiceError('InvalidAction', `Could not find operation for path ${path}`, 400);
  const contentType = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  // An empty POST is a Query request too where GET is one (its parameters may be in the URL); otherwise it is not.
  const needsForm = req.method === 'POST' && (body.length > 0 || !api.allowGet);
  if (needsForm && contentType !== 'application/x-www-form-urlencoded') {
    throw new AwsServiceError(
      'InvalidAction',
      'Could not find operation: the body is not a form-encoded Query request',
      400,
    );
  }
  const params = parseForm(req.method === 'GET' ? query : body.toString('utf8'));
  const action = params.get('Action');
  if (!action) throw new AwsServiceError('MissingAction', 'Missing Action', 400);
  const version = params.get('Version');
  if (!api.actions.includes(action as A) || version !== api.version) {
    throw new AwsServiceError(
      'InvalidAction',
      `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
      400,
    );
  }
  return { action: action as A, params, caller };
}

export interface QueryServerOptions<A extends string> {
  xmlns: string;
  /** Bodies above this are refused with RequestEntityTooLarge (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  getDelay(): number;
  /** The action's result XML (empty: the response has no <ActionResult> element); an AwsServiceError is answered as
   * AWS answers it. */
  dispatch(
    req: IncomingMessage,
    body: Buffer,
  ): { action: A; resultXml: string } | Promise<{ action: A; resultXml: string }>;
}

/** A Query-protocol emulator's server: bounded bodies, the test delay, the `<ActionResponse>` envelope with its
 * RequestId, and `<ErrorResponse>` (Sender, or Receiver for 5xx) for a refusal. */
export async function startQueryServer<A extends string>(opts: QueryServerOptions<A>): Promise<LoopbackServer> {
  let server: LoopbackServer | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const id = requestId();
    const send = (status: number, xml: string) => {
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'text/xml',
        'content-length': Buffer.byteLength(xml),
        'x-amzn-requestid': id,
      });
      res.end(xml);
    };
    const read = await readBoundedBody(req, opts.maxBodyBytes);
    if (!(await delay(opts.getDelay(), server!.signal))) return;
    try {
      if (!read.ok) throw new AwsServiceError('RequestEntityTooLarge', 'Request body is too large', 413);
      const { action, resultXml } = await opts.dispatch(req, read.body);
      const result = resultXml === '' ? '' : `<${action}Result>${resultXml}</${action}Result>`;
      send(
        200,
        `<${action}Response xmlns="${opts.xmlns}">${result}` +
          `<ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`,
      );
    } catch (err) {
      if (!(err instanceof AwsServiceError)) throw err;
      const type = err.status >= 500 ? 'Receiver' : 'Sender';
      send(
        err.status,
        `<ErrorResponse xmlns="${opts.xmlns}"><Error><Type>${type}</Type>${el('Code', err.code)}${el('Message', err.message)}` +
          `</Error><RequestId>${id}</RequestId></ErrorResponse>`,
      );
    }
  };
  server = await startLoopbackServer(handle);
  return server;
}
