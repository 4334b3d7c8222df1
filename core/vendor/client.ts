// Calls to the server-side vendor (DESIGN §17): SigV4-signed (service execute-api) with the caller's own AWS
// credentials, because the API's IAM authorization is what makes the vendor's caller a verified identity. Every call
// is bounded (VENDOR_ATTEMPT_MS per attempt, at most VENDOR_ATTEMPTS attempts) and ends as the vendor's own catalogue
// answer or as VendorUnavailable — never a hang, never a fallback to anything local.
// The SDK's own SHA-256 (what every SDK v3 client signs with); @smithy/core comes with the SDK clients.
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { SentinelError, describe, isErrorCode, type ErrorCode } from '../errors.js';
import { replaceControls } from '../text/printable.js';

/** Per attempt, connecting through the whole answer: an API Gateway + Lambda answer takes well under a second warm and
 * a few seconds cold. */
export const VENDOR_ATTEMPT_MS = 5_000;
/** One attempt and two retries (DESIGN §3.4's bound for AWS calls). */
export const VENDOR_ATTEMPTS = 3;
/** Vendor answers are small JSON documents; anything larger is not one. */
export const MAX_VENDOR_ANSWER_BYTES = 1024 * 1024;

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface VendorClientOptions {
  /** vendor.url: the API's invoke URL, stage included. */
  url: string;
  region: string;
  /** The caller's credentials; asked on every call (the provider caches). */
  credentials: () => Promise<SigningCredentials>;
  attemptMs?: number;
  attempts?: number;
  /** Pause before a retry (doubled each time). */
  backoffMs?: number;
}

export interface VendorCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** A route of the vendor, e.g. `/v1/credentials`; appended to the URL's stage path. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

export interface VendorClient {
  readonly url: string;
  readonly region: string;
  /** The answer's JSON on 2xx; otherwise throws the vendor's catalogue error or VendorUnavailable. */
  call(request: VendorCall): Promise<unknown>;
}

/** SigV4's query escaping (RFC 3986 unreserved characters only), so the query sent is the query signed. */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Why an attempt failed, and whether trying again can help. */
class AttemptFailed extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
  }
}

export function createVendorClient(options: VendorClientOptions): VendorClient {
  const base = new URL(options.url);
  const stagePath = base.pathname.replace(/\/+$/, '');
  const attemptMs = options.attemptMs ?? VENDOR_ATTEMPT_MS;
  const attempts = options.attempts ?? VENDOR_ATTEMPTS;
  const backoffMs = options.backoffMs ?? 100;
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: () => options.credentials(),
    sha256: Sha256,
  });

  /** The credentials are the caller's: when they cannot be had, no call is made and the caller learns why. */
  async function sign(request: Parameters<SignatureV4['sign']>[0]) {
    try {
      return await signer.sign(request);
    } catch (e) {
      if (e instanceof SentinelError) throw e;
      throw new SentinelError(
        'BaseCredentialsUnavailable',
        'no AWS credentials to sign the request to the vendor with',
        {
          hint: 'Check vendor.profile in config.yaml (or the default AWS credentials): `aws sts get-caller-identity`.',
          cause: e,
        },
      );
    }
  }

  async function attempt(call: VendorCall): Promise<{ status: number; headers: Headers; text: string }> {
    const query = call.query ?? {};
    const queryText = Object.entries(query)
      .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
      .join('&');
    const path = stagePath + call.path;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const signed = await sign({
      method: call.method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path,
      query,
      headers: {
        host: base.host,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    });
    const { host: _host, ...headers } = signed.headers;
    const target = `${base.origin}${path}${queryText ? `?${queryText}` : ''}`;
    const abort = AbortSignal.timeout(attemptMs);
    let response: Response;
    try {
      response = await fetch(target, { method: call.method, headers, body, signal: abort, redirect: 'manual' });
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code;
      const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      throw new AttemptFailed(
        abort.aborted ? `no answer within ${attemptMs} ms` : `cannot connect (${code ?? 'network error'})`,
        !refused,
      );
    }
    try {
      return { status: response.status, headers: response.headers, text: await boundedText(response) };
    } catch (e) {
      throw new AttemptFailed(abort.aborted ? `no answer within ${attemptMs} ms` : (e as Error).message, true);
    }
  }

  return {
    url: options.url,
    region: options.region,
    async call(request) {
      // A POST that reached the vendor may have taken effect (a session opened, a request filed): only a connection
      // that was never made is retried. Reads and deletes are safe to repeat.
      const idempotent = request.method !== 'POST';
      let last = 'no attempt';
      let sentOnce = false;
      for (let i = 0; i < attempts; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (i - 1)));
        try {
          const answer = await attempt(request);
          const outcome = interpret(answer);
          if (outcome instanceof AttemptFailed) {
            last = outcome.message;
            sentOnce = true;
            if (!idempotent) break;
            continue;
          }
          return outcome.value;
        } catch (e) {
          if (!(e instanceof AttemptFailed)) throw e;
          last = e.message;
          sentOnce ||= e.sent;
          if (e.sent && !idempotent) break;
        }
      }
      throw new SentinelError('VendorUnavailable', `the Sentinel vendor at ${options.url} did not answer: ${last}`, {
        // A POST that reached the vendor may have opened, filed, invoked or decided something: say so, so nobody
        // concludes it did not happen (or repeats it blindly).
        ...(sentOnce && !idempotent ? { hint: mayHaveTakenEffect(request) } : {}),
      });
    },
  };
}

/** The hint for a POST that reached the vendor but got no usable answer. */
function mayHaveTakenEffect(request: VendorCall): string {
  const look = request.path.startsWith('/v1/breakglass')
    ? ' (`sentinel breakglass list --mine`)'
    : request.path.startsWith('/v1/requests')
      ? ' (`sentinel requests --mine`)'
      : '';
  return `The request reached the vendor and is never sent twice, so ${request.method} ${request.path} may have taken effect: look before trying again${look}.`;
}

async function boundedText(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_VENDOR_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new Error('the answer is larger than a vendor answer can be');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > MAX_VENDOR_ANSWER_BYTES) throw new Error('the answer is larger than a vendor answer can be');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short, one-line, printable excerpt of a text from outside, for a message. */
function excerpt(text: unknown): string {
  if (typeof text !== 'string') return '';
  const flat = text.slice(0, 200);
  return replaceControls(flat, ' ');
}

/** API Gateway's own refusals (before the vendor ran), by x-amzn-ErrorType. */
const GATEWAY_REFUSALS: Record<string, ErrorCode> = {
  AccessDeniedException: 'AwsAccessDenied',
  UnrecognizedClientException: 'BaseCredentialsUnavailable',
  InvalidSignatureException: 'BaseCredentialsUnavailable',
  IncompleteSignatureException: 'BaseCredentialsUnavailable',
  ExpiredTokenException: 'BaseCredentialsUnavailable',
  MissingAuthenticationTokenException: 'VendorUnavailable',
};

function interpret(answer: { status: number; headers: Headers; text: string }): { value: unknown } | AttemptFailed {
  const body = parseJson(answer.text);
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  if (answer.status >= 200 && answer.status < 300) {
    return isObject ? { value: body } : new AttemptFailed(`answered ${answer.status} without a JSON object`, true);
  }
  if (isObject) {
    const b = body as Record<string, unknown>;
    const code = b.Code ?? b.code;
    // The vendor's own refusals keep their code, message and hint; its internal failures are no answer.
    if (isErrorCode(code) && code !== 'InternalError' && describe(code).status === answer.status) {
      const retryAfter = Number(answer.headers.get('retry-after'));
      throw new SentinelError(code, excerpt(b.Message ?? b.message) || undefined, {
        ...(typeof b.hint === 'string' ? { hint: excerpt(b.hint) } : {}),
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
      });
    }
    const gateway = GATEWAY_REFUSALS[answer.headers.get('x-amzn-errortype')?.split(':')[0] ?? ''];
    if (gateway && answer.status === 403 && typeof b.message === 'string') {
      throw new SentinelError(gateway, `the vendor's API refused the request: ${excerpt(b.message)}`, {
        hint:
          gateway === 'AwsAccessDenied'
            ? 'Your AWS identity needs execute-api:Invoke on the vendor API (docs/vendor.md).'
            : gateway === 'VendorUnavailable'
              ? 'Check vendor.url in config.yaml: it is the API URL the vendor stack outputs, stage included.'
              : 'Check the credentials of vendor.profile (`aws sts get-caller-identity --profile <it>`).',
      });
    }
  }
  return new AttemptFailed(`answered ${answer.status}${isObject ? '' : ' without a JSON body'}`, true);
}
