// The flags of `sentinel server sessions | session | revoke`, checked before anything is asked of the daemon or AWS:
// a bad value is a usage error (exit 2) that says what is wrong and what to write instead.
import { parseDuration } from '../core/duration.js';
import { SESSION_ID, SESSION_STATUSES, type SessionQuery, type SessionStatus } from '../core/sessions/types.js';
import { isPrintableText } from '../core/text/printable.js';
import { checkOneLine, usageError } from './output.js';
import type { TableFlags } from './table-flags.js';

export interface ListFlags extends TableFlags {
  status?: string;
  user?: string;
  forProfile?: string;
  serverInstance?: string;
  since?: string;
  limit?: string;
  cursor?: string;
  output?: string;
  json?: boolean;
}

export interface ShowFlags extends TableFlags {
  output?: string;
  json?: boolean;
}

export interface RevokeFlags extends TableFlags {
  reason: string;
  aws?: boolean;
  json?: boolean;
}

export type Format = 'human' | 'json' | 'csv';

const MAX_REASON = 1024;
export const MAX_LIMIT = 1000;

// --- flag checks (usage errors, exit 2) -------------------------------------------------------------------------------

export function checkId(id: string): string {
  if (!SESSION_ID.test(id)) {
    throw usageError(
      `${JSON.stringify(id.slice(0, 40))} is not a session id (16 lowercase hexadecimal characters)`,
      'Copy the id from `sentinel server sessions`.',
    );
  }
  return id;
}

export function checkReason(reason: string | undefined): string {
  if (typeof reason !== 'string' || reason.trim().length === 0)
    throw usageError('--reason is required and must not be empty', 'Say why, e.g. --reason "laptop reported stolen".');
  // The rule the daemon, vendor and table apply to a revocation reason (core/text/one-line.ts), refused before asking.
  return checkOneLine(reason, '--reason', 1, MAX_REASON);
}

function checkStatus(status: string): SessionStatus {
  if (!(SESSION_STATUSES as readonly string[]).includes(status)) {
    throw usageError(
      `unknown status ${JSON.stringify(status.slice(0, 40))}`,
      `Use one of: ${SESSION_STATUSES.join(', ')}.`,
    );
  }
  return status as SessionStatus;
}

/** `7d`, `24h`, `30m` back from now, or an RFC 3339 timestamp; returned as RFC 3339 UTC. */
export function parseSince(text: string, now: number = Date.now()): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now - ms).toISOString();
  if (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text) &&
    !Number.isNaN(Date.parse(text))
  ) {
    return new Date(Date.parse(text)).toISOString();
  }
  throw usageError(
    `--since ${JSON.stringify(text.slice(0, 40))} is neither a duration nor a timestamp`,
    'Use a duration back from now (7d, 24h, 30m) or an RFC 3339 time (2026-01-31T09:00:00Z).',
  );
}

function checkLimit(text: string): number {
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT))
    throw usageError(`--limit ${JSON.stringify(text.slice(0, 20))} is not a number from 1 to ${MAX_LIMIT}`);
  return n;
}

function checkText(value: string, flag: string): string {
  if (!isPrintableText(value, 256)) throw usageError(`${flag} must be 1-256 printable characters`);
  return value;
}

export function checkFormat(flags: { output?: string; json?: boolean }, allowed: readonly Format[]): Format {
  if (flags.output !== undefined && !(allowed as readonly string[]).includes(flags.output)) {
    throw usageError(`--output ${JSON.stringify(flags.output.slice(0, 20))} is not one of ${allowed.join(', ')}`);
  }
  if (flags.json && flags.output !== undefined && flags.output !== 'json')
    throw usageError(`--json contradicts --output ${flags.output}`);
  return flags.json ? 'json' : ((flags.output as Format | undefined) ?? 'human');
}

export function buildQuery(flags: ListFlags, now: number = Date.now()): SessionQuery {
  const q: SessionQuery = {};
  if (flags.status !== undefined) q.status = checkStatus(flags.status);
  if (flags.user !== undefined) q.user = checkText(flags.user, '--user');
  if (flags.forProfile !== undefined) q.profile = checkText(flags.forProfile, '--for-profile');
  if (flags.serverInstance !== undefined) q.server_instance_id = checkText(flags.serverInstance, '--server-instance');
  if (flags.since !== undefined) q.since = parseSince(flags.since, now);
  q.limit = flags.limit !== undefined ? checkLimit(flags.limit) : 100;
  if (flags.cursor !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,8192}$/.test(flags.cursor))
      throw usageError('--cursor is not a cursor printed by an earlier page');
    q.cursor = flags.cursor;
  }
  return q;
}
