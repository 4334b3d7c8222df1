// The decision log and, with audit.cloudwatch, its forwarder: what the daemon composes as its `decisions` part. The
// credential path asks unavailable() — the log cannot be written, or forwarding is required and too far behind — and
// /v1/status shows status().
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { createDecisionLog, type DecisionLogDeps } from './decision-log.js';
import { createForwarder, type ForwarderStatus } from './forwarder.js';
import { forwarderOptions } from './forwarder-options.js';
import { startForwarderThread, type ForwarderTuning, type ForwarderWorkerData } from './forwarder-thread.js';
import type { DecisionLog } from './types.js';

export interface AuditStatus {
  file: string;
  signed: boolean;
  /** Null while every decision is recorded; otherwise why credentials are refused. */
  unavailable: string | null;
  cloudwatch: ForwarderStatus | null;
}

export interface AuditTrail extends DecisionLog {
  unavailable(): string | null;
  status(): AuditStatus;
}

export interface AuditTrailDeps extends DecisionLogDeps {
  /** Test hooks: poll interval, lag bounds, backoff. */
  forwarder?: ForwarderTuning;
  /** Test hook: the forwarder's worker module. */
  forwarderWorker?: URL;
  /** Test hook: the forwarder on this thread, as the worker runs it (tests of its batching, retries and lag rules,
   * whose coverage a worker thread's would not report; the worker itself is tested in audit-forwarding-thread). */
  forwarderInThread?: boolean;
}

/** Where the forwarder keeps its place: beside the decision log, in the state directory. */
export const cursorFileFor = (logFile: string) => join(dirname(logFile), 'cloudwatch-cursor.json');

export function createAuditTrail(config: Config, deps: AuditTrailDeps): AuditTrail {
  const decisions = createDecisionLog(config, deps);
  const cw = config.audit.cloudwatch;
  const data: ForwarderWorkerData | null = cw
    ? {
        file: config.audit.file,
        cursorFile: cursorFileFor(config.audit.file),
        logGroup: cw.logGroup,
        logStream: cw.logStream,
        region: cw.region ?? config.region,
        profile: config.awsProfile,
        trustedSessionRoles: config.identity.trustedSessionRoles,
        required: cw.required,
        tuning: deps.forwarder ?? {},
      }
    : null;
  const forwarder = !data
    ? null
    : deps.forwarderInThread
      ? createForwarder(forwarderOptions(data, deps.log))
      : startForwarderThread({
          ...data,
          log: deps.log,
          ...(deps.forwarderWorker ? { workerUrl: deps.forwarderWorker } : {}),
        });
  forwarder?.start();
  const unavailable = () => decisions.unavailable!() ?? forwarder?.refusal() ?? null;
  return {
    write: decisions.write,
    flush: decisions.flush,
    async close() {
      await decisions.close();
      await forwarder?.close();
    },
    unavailable,
    status: () => ({
      file: config.audit.file,
      signed: config.audit.hmacKeyFile !== null,
      unavailable: unavailable(),
      cloudwatch: forwarder?.status() ?? null,
    }),
  };
}
