// Signed decision logs for the audit tests (hmac-chain, verify-logs): an HMAC key file, numbered entries, a log written
// through the real decision log, and its lines read and written back as text (to tamper with them).
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createDecisionLog } from '../../core/audit/decision-log.js';
import type { DecisionEntry } from '../../core/audit/types.js';
import { resolveConfig } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';

/** A key file in `dir` (default: 32 random bytes as hex, mode 0600, named audit.key). */
export function auditKeyFile(
  dir: string,
  options: { name?: string; content?: string | Buffer; mode?: number } = {},
): string {
  const file = join(dir, options.name ?? 'audit.key');
  const mode = options.mode ?? 0o600;
  writeFileSync(file, options.content ?? randomBytes(32).toString('hex') + '\n', { mode });
  chmodSync(file, mode);
  return file;
}

/** The config of a decision log at `file` signed with the key in `hmacKeyFile`. */
export const signedLogConfig = (file: string, hmacKeyFile: string) =>
  resolveConfig({ audit: { file, hmac_key_file: hmacKeyFile } }, 'test-config.yaml', { HOME: '/nonexistent' });

/** Entry number `i`: distinct rule, request id and (one a second) timestamp. */
export const numberedEntry = (i: number): DecisionEntry => ({
  timestamp: `2026-11-29T12:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`,
  event: 'credentials',
  outcome: i % 3 === 0 ? 'deny' : 'allow',
  user: 'alice',
  profile: 'prod',
  effect: 'allow',
  rule: `rule-${i}`,
  rule_index: i,
  reason: 'test',
  policy_source: 'file:/p.yaml',
  policy_version: 'abc',
  mode: 'server',
  session_id: '0123456789abcdef',
  request_id: i.toString(16).padStart(16, '0'),
  source_identity: null,
  role_arn: null,
  duration_seconds: 900,
  peer_pid: 1,
  peer_uid: 1000,
});

/** A credential decision as the daemon logs one (the forwarding tests' and bench's lines: realistic size and fields). */
export const credentialEntry = (i: number, at: Date = new Date()): DecisionEntry => ({
  timestamp: at.toISOString(),
  event: 'credentials',
  outcome: i % 7 === 0 ? 'deny' : 'allow',
  user: 'alice',
  profile: 'prod',
  effect: 'allow',
  rule: 'prod-oncall',
  rule_index: 0,
  reason: 'on-call may use prod',
  policy_source: 'file:/home/alice/.config/sentinel/policy.yaml',
  policy_version: '3f2a9c1e0b7d4a65',
  mode: 'server',
  session_id: '0123456789abcdef',
  request_id: i.toString(16).padStart(16, '0'),
  source_identity: 'sentinel-alice-direct-0123456789abcdef',
  role_arn: 'arn:aws:iam::123456789012:role/prod-admin',
  duration_seconds: 900,
  peer_pid: 4242,
  peer_uid: 1000,
});

/** Appends entries from..from+count-1 to `file` through the real decision log, signed with `key`. */
export async function writeSigned(file: string, key: string, from: number, count: number): Promise<void> {
  const log = createDecisionLog(signedLogConfig(file, key), { log: silentLogger() });
  for (let i = from; i < from + count; i++) log.write(numberedEntry(i));
  await log.close();
}

export const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);

export const writeLines = (file: string, lines: string[]) => writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
