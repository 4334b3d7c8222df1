// The container-credentials body every SDK reads (DESIGN §3.2), built once per issued set of credentials: a cache
// hit returns the same credentials object again, so its body (and, in the route, its bytes) are reused.
import type { IssuedCredentials } from './types.js';

export interface CredentialsBody {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
  AccountId?: string;
}

/** `Expiration` exactly as SDKs parse it: UTC, second precision, `Z` (JS fromHttp accepts nothing else). */
export function formatExpiration(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const bodies = new WeakMap<IssuedCredentials, CredentialsBody>();

export function credentialsBody(c: IssuedCredentials): CredentialsBody {
  let body = bodies.get(c);
  if (!body) {
    body = {
      AccessKeyId: c.AccessKeyId,
      SecretAccessKey: c.SecretAccessKey,
      Token: c.Token,
      Expiration: formatExpiration(c.Expiration),
      ...(c.AccountId ? { AccountId: c.AccountId } : {}),
    };
    bodies.set(c, body);
  }
  return body;
}

const serialized = new WeakMap<CredentialsBody, Buffer>();

/** The body's bytes, serialised once per body so nothing reorders or adds fields between fetches. */
export function serializedBody(body: CredentialsBody): Buffer {
  let bytes = serialized.get(body);
  if (!bytes) {
    bytes = Buffer.from(JSON.stringify(body));
    serialized.set(body, bytes);
  }
  return bytes;
}
