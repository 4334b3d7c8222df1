// Runs in a worker thread (forwarder-thread.ts): the CloudWatch Logs forwarder itself — file reads, batching, the
// SDK's serialisation and signing of each batch, the cursor — on an event loop of its own, so none of it waits in
// line with the daemon's credential requests. It posts its status after every round and poll, and its operational log
// lines, to the daemon's thread, which keeps the last status for refusal() and status() and writes the lines with the
// daemon's logger (one destination, one redaction). Everything it gets is plain data; it resolves the AWS credentials
// itself, through the SDK's default chain and the same profile and region as before, so no secret crosses threads.
import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { OpLogger } from '../log.js';
import { createForwarder } from './forwarder.js';
import { forwarderOptions } from './forwarder-options.js';
import type { ForwarderWorkerData, FromWorker, ToWorker } from './forwarder-thread.js';

const data = workerData as ForwarderWorkerData;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

type Level = 'debug' | 'info' | 'warn' | 'error';
/** Plain data only crosses threads (a value the structured clone refuses would throw here). */
const plain = (fields: object): Record<string, unknown> => {
  try {
    return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const line =
  (level: Level) =>
  (fields: object, msg?: string): void =>
    post({ type: 'log', level, fields: plain(fields), msg: msg ?? '' });
// The forwarder logs with (fields, message) only; this is the part of a pino logger it uses.
const log = {
  debug: line('debug'),
  info: line('info'),
  warn: line('warn'),
  error: line('error'),
} as unknown as OpLogger;

// The forwarder gives way. On Linux a nice value belongs to each thread and setpriority(2) on pid 0 names the calling
// thread, so this thread alone drops to nice 19: when it and the thread that answers credentials (or anything else the
// user runs) want the same core, the scheduler gives the core to them, and the forwarder works in the time left over,
// which at a developer's few decisions a second is plenty. On other platforms pid 0 is the whole process, daemon
// included, so the priority is left alone there. A refusal (a sandbox that forbids it) costs only this.
if (process.platform === 'linux') {
  try {
    setPriority(constants.priority.PRIORITY_LOW);
  } catch (error) {
    log.warn(
      { event: 'forwarding_priority', error: String(error) },
      'the CloudWatch Logs forwarder runs at normal priority: lowering it failed',
    );
  }
}

const forwarder = createForwarder(
  forwarderOptions(data, log, (status, oldestPendingAt) => post({ type: 'status', status, oldestPendingAt })),
);

port.on('message', (message: ToWorker) => {
  if (message.type === 'kick') forwarder.kick();
  // In a worker, process.exit() ends this thread only: at once, whatever handle the SDK or a loader still holds, and
  // through the normal exit path, which also writes what V8 gathered for the thread (the tests' coverage) where the
  // daemon's terminate() would discard it.
  else if (message.type === 'close') void forwarder.close().then(() => process.exit(0));
});
forwarder.start();
