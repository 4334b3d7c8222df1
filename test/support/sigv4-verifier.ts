// SigV4 verification as an AWS front door does it, written from the specification (not with the SDK's signer, which
// the tests use to prove it): the canonical request is rebuilt from the request as received — method, path, query,
// the signed headers' values and the body's own hash — and the signature recomputed with the caller's secret.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** How far X-Amz-Date may be from now, either way (AWS: 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface ReceivedRequest {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SigningSecrets {
  /** The secret for an access key (with its session token for temporary keys); undefined when unknown. */
  secretOf(accessKeyId: string, sessionToken: string | undefined): string | undefined;
}

export type Verification =
  | { ok: true; accessKeyId: string; sessionToken: string | undefined }
  | { ok: false; kind: VerificationFailure; message: string };

/** API Gateway's x-amzn-ErrorType for each way a signature fails. */
export type VerificationFailure =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]{16,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request, ?SignedHeaders=([a-z0-9;_.-]{1,2048}), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
  'and signing method. Consult the service documentation for details.';

export function verifySigV4(
  req: ReceivedRequest,
  scope: { service: string; region: string },
  secrets: SigningSecrets,
  now = Date.now(),
): Verification {
  const fail = (kind: VerificationFailure, message: string): Verification => ({ ok: false, kind, message });
  const header = req.headers.authorization;
  if (header === undefined || header === '')
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTHORIZATION.exec(header);
  if (!m) {
    return fail(
      'IncompleteSignatureException',
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters in the AWS4-HMAC-SHA256 form.",
    );
  }
  const [, accessKeyId, day, region, service, signedList, signature] = m as unknown as string[];
  const signed = signedList!.split(';');
  if (!signed.includes('host'))
    return fail('IncompleteSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const amzDate = single(req.headers['x-amz-date']);
  if (amzDate === undefined || !signed.includes('x-amz-date')) {
    return fail(
      'IncompleteSignatureException',
      "Authorization header requires existence of a signed 'X-Amz-Date' header.",
    );
  }
  const at = parseAmzDate(amzDate);
  if (at === undefined)
    return fail(
      'IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${amzDate.slice(0, 32)}'.`,
    );
  if (Math.abs(now - at) > MAX_CLOCK_SKEW_MS) {
    return fail(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${basicDate(now - MAX_CLOCK_SKEW_MS)} (${basicDate(now)} - 5 min.)`,
    );
  }
  if (day !== amzDate.slice(0, 8))
    return fail('InvalidSignatureException', 'Credential should be scoped to a valid date.');
  if (region !== scope.region)
    return fail('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'.`);
  if (service !== scope.service)
    return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${scope.service}'.`);
  const sessionToken = single(req.headers['x-amz-security-token']);
  if (sessionToken !== undefined && !signed.includes('x-amz-security-token')) {
    return fail('IncompleteSignatureException', "'X-Amz-Security-Token' must be a 'SignedHeader' when it is sent.");
  }
  const secret = secrets.secretOf(accessKeyId!, sessionToken);
  if (secret === undefined)
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');

  const canonical = canonicalRequest(req, signed);
  if (canonical === undefined) return fail('InvalidSignatureException', MISMATCH);
  const credentialScope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${secret}`, day!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) return fail('InvalidSignatureException', MISMATCH);
  return { ok: true, accessKeyId: accessKeyId!, sessionToken };
}

/** The canonical request, or undefined when a signed header is absent (then nothing can match). */
function canonicalRequest(req: ReceivedRequest, signed: string[]): string | undefined {
  const q = req.url.indexOf('?');
  const rawPath = q === -1 ? req.url : req.url.slice(0, q);
  const rawQuery = q === -1 ? '' : req.url.slice(q + 1);
  const lines: string[] = [];
  for (const name of [...signed].sort()) {
    const value = req.headers[name];
    if (value === undefined) return undefined;
    const text = Array.isArray(value) ? value.join(',') : value;
    lines.push(`${name}:${text.trim().replace(/\s+/g, ' ')}\n`);
  }
  return [
    req.method,
    canonicalPath(rawPath),
    canonicalQuery(rawQuery),
    lines.join(''),
    [...signed].sort().join(';'),
    sha256Hex(req.body),
  ].join('\n');
}

/** Non-S3 services: dot segments resolved, empty ones dropped, then the (already encoded) path encoded once more. */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return uriEscape(`/${segments.join('/')}${trailing}`).replace(/%2F/g, '/');
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const [k, v] = eq === -1 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
      return `${uriEscape(decode(k))}=${uriEscape(decode(v))}`;
    });
  return pairs.sort().join('&');
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** RFC 3986 unreserved characters stay; everything else is %XX (encodeURIComponent leaves !'()* alone, SigV4 not). */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseAmzDate(text: string): number | undefined {
  const m = AMZ_DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  return Number.isNaN(ms) ? undefined : ms;
}

function basicDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
