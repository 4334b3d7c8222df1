// The CloudWatch Logs emulator in a process of its own, for bench/audit.ts (in the measuring process, its work on each
// 1 MiB batch would stall autocannon and count against the daemon that forwards) and for tests that block their own
// event loop (an emulator in the blocked process could not answer). The child prints its URL, answers a line
// `count <group> <stream>` on stdin with the number of events in that stream and `events <group> <stream>` with their
// JSON (message, timestamp, ingestionTime: when the child received them), and exits when stdin closes.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startLogs, type LogsOptions, type StoredEvent } from './logs-emulator.js';
import { typescriptLoaderArgs } from './ts-loader.js';

const SELF = fileURLToPath(import.meta.url);
const COUNT_ONLY = '--count-only';

export interface LogsProcess {
  url: string;
  pid: number;
  count(group: string, stream: string): Promise<number>;
  events(group: string, stream: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/** `keepEvents: false`: the emulator counts what it accepts without keeping it (logs-emulator.ts); `events` is empty. */
export async function spawnLogsProcess(options: LogsOptions = {}): Promise<LogsProcess> {
  const args = [...typescriptLoaderArgs(), SELF, ...(options.keepEvents === false ? [COUNT_ONLY] : [])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  // One question at a time: answers come back in order.
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (question: string) => {
    const next = queue.then(async () => {
      if (question) child.stdin!.write(`${question}\n`);
      const { value, done } = await answers.next();
      if (done) throw new Error('the logs emulator process exited');
      return String(value);
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const url = await ask('');
  return {
    url,
    pid: child.pid!,
    count: async (group, stream) => Number(await ask(`count ${group} ${stream}`)),
    events: async (group, stream) => JSON.parse(await ask(`events ${group} ${stream}`)) as StoredEvent[],
    async close() {
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

if (process.argv[1] === SELF) {
  const logs = await startLogs({ keepEvents: process.argv[2] !== COUNT_ONLY });
  process.stdout.write(`${logs.url}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [verb, group, stream] = line.split(' ');
    let events: StoredEvent[] = [];
    let count = 0;
    try {
      events = logs.events(group!, stream!);
      count = logs.count(group!, stream!);
    } catch {
      // no such stream yet
    }
    if (verb === 'count') process.stdout.write(`${count}\n`);
    else if (verb === 'events') process.stdout.write(`${JSON.stringify(events)}\n`);
  }
  await logs.close();
}
