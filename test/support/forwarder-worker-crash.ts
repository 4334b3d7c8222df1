// A CloudWatch Logs forwarder worker that fails on purpose, for test/audit-forwarding-thread.test.ts: the real worker,
// plus an uncaught exception 300 ms after it starts when the file named by FORWARDER_CRASH_MARKER exists. The file is
// removed first, so the worker started after the crash runs normally.
import { existsSync, unlinkSync } from 'node:fs';
import '../../core/audit/forwarder-worker.js';

const marker = process.env.FORWARDER_CRASH_MARKER;
if (marker && existsSync(marker)) {
  unlinkSync(marker);
  setTimeout(() => {
    throw new Error('forwarder test crash');
  }, 300);
}
