// The CloudWatch Logs forwarder off the credential event loop (issue 15, "Measure": the credential path must not
// notice forwarding). The forwarder runs in a worker thread (forwarder-worker.ts) that owns the file reads, the
// batching, the CloudWatch client and the cursor; this side implements the Forwarder interface from what the worker
// posts, so refusal() and status() stay field reads with no I/O (gate.ts relies on that) and kick() is one message.
//
// A worker that throws or exits on its own is reported in the operational log and in status (`last_error`); while
// none runs, `required` refuses credentials (fail closed: a stopped forwarder is a lag that only grows). It is
// started again after a backoff (1 s doubling to a minute), and the new one resumes at the persisted cursor.
import { Worker } from 'node:worker_threads';
import type { OpLogger } from '../log.js';
import type { Forwarder, ForwarderOptions, ForwarderStatus } from './forwarder.js';
import { describeCause } from './redact.js';

export type ForwarderTuning = Partial<
  Pick<ForwarderOptions, 'pollMs' | 'maxLagLines' | 'maxLagMs' | 'backoffBaseMs' | 'backoffMaxMs'>
>;

/** What the worker is started with: plain data (no functions, no secrets). */
export interface ForwarderWorkerData {
  file: string;
  cursorFile: string;
  logGroup: string;
  /** Null: `<host>-<policy user>`, found by the worker (one GetCallerIdentity). */
  logStream: string | null;
  region: string | null;
  profile: string | null;
  trustedSessionRoles: readonly string[];
  required: boolean;
  tuning: ForwarderTuning;
}

export type ToWorker = { type: 'kick' } | { type: 'close' };
export type FromWorker =
  | { type: 'status'; status: ForwarderStatus; oldestPendingAt: number | null }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string };

export interface ForwarderThreadOptions extends ForwarderWorkerData {
  log: OpLogger;
  /** Test hook: another worker module (one that fails on purpose). */
  workerUrl?: URL;
}

// Run from the sources (tests, through the TypeScript loader the worker inherits) or from dist/: same folder, same
// extension as this module (as core/policy/parse-off-thread.ts does).
const WORKER_URL = new URL(`./forwarder-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** The worker holds one batch (1 MiB of lines, read and as events) and the SDK: a runaway cannot take the daemon's memory. */
const WORKER_HEAP_MB = 128;
/** How long close() waits for the worker to finish its batch and persist the cursor before it is stopped. */
const CLOSE_WAIT_MS = 3000;
const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 60_000;

export function startForwarderThread(options: ForwarderThreadOptions): Forwarder {
  const { log, workerUrl, ...data } = options;
  let status: ForwarderStatus = {
    log_group: data.logGroup,
    log_stream: data.logStream,
    required: data.required,
    pending_lines: 0,
    lag_seconds: 0,
    forwarded_lines: 0,
    resent_events: 0,
    rejected_events: 0,
    oversized_lines: 0,
    last_success_at: null,
    last_error: null,
    cursor_error: null,
    refusing: null,
  };
  let oldestPendingAt: number | null = null;
  /** Counters of the workers before this one (a restarted worker counts from zero). */
  let carried = { forwarded: 0, resent: 0, rejected: 0, oversized: 0 };
  let worker: Worker | null = null;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let closing: Promise<void> | null = null;

  function spawn(): void {
    const startedAt = Date.now();
    const w = new Worker(workerUrl ?? WORKER_URL, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    w.unref();
    worker = w;
    w.on('message', (m: FromWorker) => {
      if (m.type === 'status') {
        status = {
          ...m.status,
          forwarded_lines: carried.forwarded + m.status.forwarded_lines,
          resent_events: carried.resent + m.status.resent_events,
          rejected_events: carried.rejected + m.status.rejected_events,
          oversized_lines: carried.oversized + m.status.oversized_lines,
        };
        oldestPendingAt = m.oldestPendingAt;
      } else if (m.type === 'log') log[m.level](m.fields, m.msg);
    });
    let failure: Error | null = null;
    w.on('error', (e) => {
      failure = e;
    });
    w.on('exit', (code) => {
      if (worker !== w) return;
      worker = null;
      if (!closing) failed(failure, code, startedAt);
    });
  }

  /** Not asked to stop: it threw, ran out of memory, or exited. Keep what it had done, report, fail closed, retry. */
  function failed(failure: Error | null, code: number | null, startedAt: number): void {
    carried = {
      forwarded: status.forwarded_lines,
      resent: status.resent_events,
      rejected: status.rejected_events,
      oversized: status.oversized_lines,
    };
    // One that ran a good while before it stopped starts again soon; one that keeps stopping, ever later.
    failures = Date.now() - startedAt > RESTART_MAX_MS ? 1 : failures + 1;
    const cause = failure ? describeCause(failure) : { exit_code: code };
    const why = failure ? `${String(cause.name ?? 'Error')}: ${String(cause.message ?? '')}` : `exit code ${code}`;
    const stopped = `the CloudWatch Logs forwarder stopped (${why})`;
    const wait = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(failures - 1, 16));
    status = {
      ...status,
      last_error: stopped,
      refusing: data.required ? `${stopped}; credentials are refused until it runs again` : null,
    };
    log.error(
      { event: 'forwarding_stopped', cause, restart_in_ms: wait },
      'the CloudWatch Logs forwarder stopped; it is started again after a pause',
    );
    restartTimer = setTimeout(() => {
      restartTimer = null;
      if (!closing) restart();
    }, wait);
    restartTimer.unref();
  }

  /** A worker that cannot even be created is a worker that stopped: reported, refused under required, retried. */
  function restart(): void {
    try {
      spawn();
    } catch (e) {
      worker = null;
      failed(e instanceof Error ? e : new Error(String(e)), null, Date.now());
    }
  }

  return {
    start: spawn,
    kick() {
      worker?.postMessage({ type: 'kick' } satisfies ToWorker);
    },
    refusal: () => status.refusing,
    status: () => ({
      ...status,
      lag_seconds: oldestPendingAt === null ? 0 : Math.round(Math.max(0, Date.now() - oldestPendingAt) / 1000),
    }),
    close() {
      closing ??= (async () => {
        if (restartTimer) clearTimeout(restartTimer);
        const w = worker;
        if (!w) return;
        const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        w.postMessage({ type: 'close' } satisfies ToWorker);
        // The worker persists its cursor and ends its own thread (forwarder-worker.ts); only one still running after
        // the bound is stopped.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
        await w.terminate();
      })();
      return closing;
    },
  };
}
