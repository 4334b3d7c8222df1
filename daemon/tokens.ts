// Session tokens (DESIGN §3.1): 32 random bytes, base64url, minted only over the Unix socket, bound to one session and
// revoked with it. Only a SHA-256 digest of each token is kept, so a heap dump does not hand out live tokens. Lookup
// goes by digest (its timing reveals nothing about the token itself); the final comparison is constant-time anyway.
// A revoked token is remembered (bounded) as retired: it never grants anything again, but its caller is told why
// (SessionRevoked, SessionEnded) instead of being treated as a guesser.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

const TOKEN_BYTES = 32;
/** 32 bytes in base64url without padding are exactly 43 characters. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const RETIRED_MAX = 10_000;

interface Entry {
  digest: Buffer;
  sessionId: string;
  /** What lookup() answers, built once: a keep-alive client asks with the same token on every request. */
  live: TokenMatch;
  retired: TokenMatch;
}

export interface TokenMatch {
  readonly sessionId: string;
  /** The session was revoked or ended: the token proves who is asking, and grants nothing. */
  readonly retired: boolean;
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class TokenRegistry {
  private readonly live = new Map<string, Entry>();
  private readonly bySession = new Map<string, string>();
  private readonly retired = new LRUCache<string, Entry>({ max: RETIRED_MAX });

  /** A new token for the session; a session holds one token at a time, so minting again retires the old one. */
  mint(sessionId: string): string {
    this.revoke(sessionId);
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const digest = digestOf(token);
    const key = digest.toString('hex');
    this.live.set(key, {
      digest,
      sessionId,
      live: Object.freeze({ sessionId, retired: false }),
      retired: Object.freeze({ sessionId, retired: true }),
    });
    this.bySession.set(sessionId, key);
    return token;
  }

  /** The session a token is bound to, or undefined for anything malformed or never minted here. */
  resolve(token: string | undefined): TokenMatch | undefined {
    const digest = this.digest(token);
    return digest === undefined ? undefined : this.lookup(digest);
  }

  /** The SHA-256 of a well-formed token; undefined for anything that cannot be a token. */
  digest(token: string | undefined): Buffer | undefined {
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined;
    return digestOf(token);
  }

  /** The session behind a digest from digest(); a caller may keep a digest (and its hex `key`) rather than hash the
   * same token again. */
  lookup(digest: Buffer, key: string = digest.toString('hex')): TokenMatch | undefined {
    const live = this.live.get(key);
    if (live && timingSafeEqual(live.digest, digest)) return live.live;
    const retired = this.retired.get(key);
    if (retired && timingSafeEqual(retired.digest, digest)) return retired.retired;
    return undefined;
  }

  revoke(sessionId: string): void {
    const key = this.bySession.get(sessionId);
    if (key === undefined) return;
    const entry = this.live.get(key);
    this.live.delete(key);
    this.bySession.delete(sessionId);
    if (entry) this.retired.set(key, entry);
  }

  /** Live tokens (one per active session opened here). */
  get size(): number {
    return this.bySession.size;
  }
}

/** The token from an `Authorization` header: the raw value (what AWS SDKs send) or `Bearer <token>`. */
export function tokenFromAuthorization(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  const bearer = /^bearer\s+(\S+)$/i.exec(value);
  return bearer ? bearer[1] : value;
}
