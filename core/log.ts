// Operational log (not decisions): JSON lines on stderr, which journald and launchd capture, or pino-pretty's text for
// a person at a terminal (DESIGN §3). Secret-bearing fields are censored here, by path, once; call sites never have to
// remember.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
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

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  name?: string;
  /** Readable text instead of JSON lines (the daemon in the foreground on a terminal). */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): OpLogger {
  return pino(
    {
      name: options.name ?? 'sentinel',
      level: options.level ?? process.env.SENTINEL_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? fdDestination(2, { pretty: options.pretty }),
  );
}

/** How long one line may wait for a full pipe (EAGAIN) before it is dropped: a stuck reader must not stall requests. */
const BUSY_LIMIT_MS = 1000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Lines written straight to `fd`, synchronously and in order. A write that fails for any reason other than a full
 * pipe (EIO from a terminal that was closed, EPIPE, EBADF) ends the logging for good: it is never fatal and never
 * retried (pino's own stream retries such a write every 100 ms for ever, and throws when nobody listens for its
 * errors).
 */
export function fdDestination(fd: number, options: { pretty?: boolean } = {}): DestinationStream {
  const format = options.pretty ? prettyFormatter() : (line: string) => line;
  let broken = false;
  return {
    write(line: string) {
      if (broken) return;
      let buf = Buffer.from(format(line));
      const deadline = Date.now() + BUSY_LIMIT_MS;
      while (buf.length > 0) {
        try {
          buf = buf.subarray(writeSync(fd, buf));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) {
            broken = (e as NodeJS.ErrnoException).code !== 'EAGAIN';
            return;
          }
          Atomics.wait(pause, 0, 0, 5);
        }
      }
    },
  };
}

/** pino-pretty, loaded only when a person reads the log: nothing else pays for it. */
function prettyFormatter(): (line: string) => string {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' });
}

/** A logger that drops everything (for library callers that do not want operational logs). */
export function silentLogger(): OpLogger {
  return pino({ level: 'silent' });
}
