// The decision log and, with audit.cloudwatch, its forwarder: what the daemon composes as its `decisions` part. The
// credential path asks unavailable() — the log cannot be written, or forwarding is required and too far behind — and
// /v1/status shows status().
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { createLogsClient, defaultLogStream } from './cloudwatch-client.js';
import { createDecisionLog, type DecisionLogDeps } from './decision-log.js';
import { createForwarder, type ForwarderOptions, type ForwarderStatus } from './forwarder.js';
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
  forwarder?: Partial<Pick<ForwarderOptions, 'pollMs' | 'maxLagLines' | 'maxLagMs' | 'backoffBaseMs' | 'backoffMaxMs'>>;
}

/** Where the forwarder keeps its place: beside the decision log, in the state directory. */
export const cursorFileFor = (logFile: string) => join(dirname(logFile), 'cloudwatch-cursor.json');

export function createAuditTrail(config: Config, deps: AuditTrailDeps): AuditTrail {
  const decisions = createDecisionLog(config, deps);
  const cw = config.audit.cloudwatch;
  const aws = { region: cw?.region ?? config.region, profile: config.awsProfile };
  const forwarder = cw
    ? createForwarder({
        file: config.audit.file,
        cursorFile: cursorFileFor(config.audit.file),
        logGroup: cw.logGroup,
        logStream:
          cw.logStream ??
          (() => defaultLogStream({ ...aws, trustedSessionRoles: config.identity.trustedSessionRoles })),
        client: () => createLogsClient({ ...aws, maxAttempts: 1 }),
        log: deps.log,
        required: cw.required,
        ...deps.forwarder,
      })
    : null;
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
