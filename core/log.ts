// Operational log (not decisions): JSON lines on stderr, which journald and launchd capture. Secret-bearing fields
// are censored here, by path, once; call sites never have to remember.
import pino, { type Logger, type DestinationStream } from 'pino';

export type OpLogger = Logger;

export const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'credentials',
  '*.credentials',
  'SecretAccessKey',
  '*.SecretAccessKey',
  'secretAccessKey',
  '*.secretAccessKey',
  'SessionToken',
  '*.SessionToken',
  'sessionToken',
  '*.sessionToken',
  'Token',
  '*.Token',
  'AccessKeyId',
  '*.AccessKeyId',
];

export function createLogger(
  options: { level?: string; destination?: DestinationStream; name?: string } = {},
): OpLogger {
  return pino(
    {
      name: options.name ?? 'sentinel',
      level: options.level ?? process.env.SENTINEL_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** A logger that drops everything (for library callers that do not want operational logs). */
export function silentLogger(): OpLogger {
  return pino({ level: 'silent' });
}
