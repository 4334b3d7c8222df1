// The forwarder's options from the plain data a worker is started with (forwarder-thread.ts): one place for how the
// stream name and the CloudWatch client are found, used by the worker and by the in-thread forwarder tests run.
import type { OpLogger } from '../log.js';
import { createLogsClient, defaultLogStream } from './cloudwatch-client.js';
import type { ForwarderOptions } from './forwarder.js';
import type { ForwarderWorkerData } from './forwarder-thread.js';

export function forwarderOptions(
  data: ForwarderWorkerData,
  log: OpLogger,
  onUpdate?: ForwarderOptions['onUpdate'],
): ForwarderOptions {
  const aws = { region: data.region, profile: data.profile };
  return {
    file: data.file,
    cursorFile: data.cursorFile,
    logGroup: data.logGroup,
    logStream: data.logStream ?? (() => defaultLogStream({ ...aws, trustedSessionRoles: data.trustedSessionRoles })),
    client: () => createLogsClient({ ...aws, maxAttempts: 1 }),
    log,
    required: data.required,
    ...data.tuning,
    ...(onUpdate ? { onUpdate } : {}),
  };
}
