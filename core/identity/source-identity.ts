// SourceIdentity and RoleSessionName (DESIGN §4). One SourceIdentity per session (`sentinel-<user>-<marker>-<session
// id>`), so CloudTrail ties every call to its session and one pattern revokes all of it in AWS; the request id of the
// decision that caused an AssumeRole goes into its RoleSessionName. STS accepts only [A-Za-z0-9_+=,.@-] in both, 2–64 characters;
// the original Sentinel put a colon in its SourceIdentity and every AssumeRole failed. The user part is reduced to its
// policy user name (ASCII letters and digits, ≤ 20) — a no-op for names that came from parseCallerArn — so the
// stamped value is always legal and always splits back unambiguously on '-'.
import { randomBytes } from 'node:crypto';
import { SentinelError } from '../errors.js';
import type { Marker } from '../issuer/types.js';
import { policyNameOf } from './arn.js';
import { isHex16 } from '../text/hex-id.js';

export const MARKERS: readonly Marker[] = ['direct', 'approved', 'breakglass'];

/** What STS enforces for SourceIdentity and RoleSessionName. */
export const STS_NAME = /^[\w+=,.@-]{2,64}$/;

const SOURCE_IDENTITY = /^sentinel-([A-Za-z0-9]{1,20})-(direct|approved|breakglass)-([0-9a-f]{16})$/;

/** 16 lowercase hex characters from the CSPRNG: correlates a decision-log line with CloudTrail. */
export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

export function isRequestId(value: unknown): value is string {
  return isHex16(value);
}

function userPart(user: unknown): string {
  const name = typeof user === 'string' ? policyNameOf(user) : '';
  if (name.length === 0) {
    throw new SentinelError(
      'BadRequest',
      'the user name has no ASCII letters or digits to stamp into a SourceIdentity',
    );
  }
  return name;
}

function hex16Part(value: unknown, what: 'request id' | 'session id'): string {
  if (!isHex16(value)) throw new SentinelError('BadRequest', `the ${what} must be 16 lowercase hex characters`);
  return value;
}

function checked(value: string, what: string): string {
  // Unreachable with the parts validated above; kept so a future format change cannot send STS something it rejects.
  if (!STS_NAME.test(value) || value.includes(':')) {
    throw new SentinelError('InternalError', `the ${what} built for STS is not valid`);
  }
  return value;
}

/** `sentinel-<user>-<marker>-<session id>`, at most 57 characters: the same for every credential of one session. */
export function buildSourceIdentity(user: string, marker: Marker, sessionId: string): string {
  if (!MARKERS.includes(marker)) throw new SentinelError('BadRequest', 'unknown SourceIdentity marker');
  return checked(`sentinel-${userPart(user)}-${marker}-${hex16Part(sessionId, 'session id')}`, 'SourceIdentity');
}

export interface ParsedSourceIdentity {
  user: string;
  marker: Marker;
  sessionId: string;
}

/** The parts of a Sentinel SourceIdentity, or null for anything Sentinel did not build. */
export function parseSourceIdentity(value: unknown): ParsedSourceIdentity | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const m = SOURCE_IDENTITY.exec(value);
  if (!m) return null;
  return { user: m[1]!, marker: m[2] as Marker, sessionId: m[3]! };
}

/** `sentinel-<user>-<request id>`, at most 46 characters: ties one AssumeRole to one decision-log line. */
export function roleSessionName(user: string, requestId: string): string {
  return checked(`sentinel-${userPart(user)}-${hex16Part(requestId, 'request id')}`, 'RoleSessionName');
}
