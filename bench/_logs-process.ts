// The CloudWatch Logs emulator in a process of its own, for bench/audit.ts: in the measuring process, its work on each
// 1 MiB batch would stall autocannon's event loop and be counted against the daemon that forwards. Prints its URL;
// answers a line `count <group> <stream>` on stdin with the number of events in that stream; exits when stdin closes.
import { createInterface } from 'node:readline';
import { startLogs } from '../test/support/logs-emulator.js';

const logs = await startLogs();
process.stdout.write(`${logs.url}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [verb, group, stream] = line.split(' ');
  if (verb !== 'count') continue;
  let n = 0;
  try {
    n = logs.events(group!, stream!).length;
  } catch {
    n = 0; // no such stream yet
  }
  process.stdout.write(`${n}\n`);
}
await logs.close();
