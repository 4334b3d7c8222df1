// How sessions are shown: the human table, one session's details, CSV. Records may have been written by anyone with
// access to the table, so every cell is made visible (control characters escaped) before it reaches a terminal.
import type { Session } from '../core/sessions/types.js';
import { relativeTime, table } from './output.js';
import { visible } from '../core/text/printable.js';

const CSV_COLUMNS: readonly (keyof Session)[] = [
  'id',
  'user',
  'profile',
  'mode',
  'status',
  'started_at',
  'expires_at',
  'last_access_at',
  'request_count',
  'server_instance_id',
  'source_identity',
  'pid',
  'host',
  'revoked_by',
  'revoked_reason',
  'created_at',
  'updated_at',
  // Added after the first release of this format: at the end, so that scripts reading columns by position still work.
  'role_arn',
  'credentials_valid_until',
  'owner_arn',
];

function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? '' : visible(String(value), /[\n\r\t]/);
  // A reason typed by an admin must not become a formula when the file is opened in a spreadsheet.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(sessions: Session[]): string {
  return (
    [CSV_COLUMNS.join(','), ...sessions.map((s) => CSV_COLUMNS.map((c) => csvCell(s[c])).join(','))].join('\n') + '\n'
  );
}

function statusText(s: Session): string {
  return s.status === 'revoked' && s.revoked_by ? `revoked by ${s.revoked_by}` : s.status;
}

export function sessionsTable(sessions: Session[], now: number = Date.now()): string {
  return table(
    ['ID', 'USER', 'PROFILE', 'MODE', 'STATUS', 'CREATED', 'LAST ACCESS', 'EXPIRES', 'REQUESTS'],
    sessions.map((s) =>
      [
        s.id,
        s.user,
        s.profile,
        s.mode,
        statusText(s),
        relativeTime(s.created_at, now),
        relativeTime(s.last_access_at, now),
        relativeTime(s.expires_at, now),
        String(s.request_count),
      ].map((cell) => visible(String(cell))),
    ),
  );
}

export function sessionDetail(s: Session, now: number = Date.now()): string {
  const when = (iso?: string) => (iso ? `${iso} (${relativeTime(iso, now)})` : '-');
  const rows: Array<[string, string | undefined]> = [
    ['Session', s.id],
    ['Status', s.status],
    ['Revoked by', s.revoked_by],
    ['Reason', s.revoked_reason],
    ['User', s.user],
    ['Profile', s.profile],
    ['Mode', s.mode],
    ['Started', when(s.started_at)],
    ['Expires', when(s.expires_at)],
    ['Last access', when(s.last_access_at)],
    ['Requests', String(s.request_count)],
    ['Host', s.host],
    ['PID', s.pid === undefined ? undefined : String(s.pid)],
    ['Server', s.server_instance_id],
    ['Source identity', s.source_identity],
    // The role of the latest credentials issued: it follows the profile's role_arn (docs/sessions.md).
    ['Role', s.role_arn],
    ['Credentials to', s.credentials_valid_until === undefined ? undefined : when(s.credentials_valid_until)],
    ['Updated', when(s.updated_at)],
  ];
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(15)}  ${visible(String(v))}\n`)
    .join('');
}
