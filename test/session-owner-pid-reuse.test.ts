// Found by attacking as a second local user: a session opened by `sentinel use` (or `exec`) ends when its process is
// gone, and "gone" was `kill(pid, 0)` failing — which it never does once another process has the pid, and EPERM (a
// process of another user) counted as alive. With pid_max at 32768, walker2 can fork until she holds the pid of a shell
// that exited, and its session and token then stay active until the session's ttl (12 h by default). The owner is now
// the pid and its start time.
import t from 'tap';
import { spawn } from 'node:child_process';
import { OwnerWatch } from '../daemon/sessions/owners.js';
import { pidAlive } from '../daemon/runtime/pid.js';

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('an owner whose pid now belongs to a process started later is gone', async (t) => {
  const gone: Array<[string, number]> = [];
  let start = '1000';
  // kill(pid, 0) keeps succeeding (or answering EPERM): some process has the pid all along.
  const watch = new OwnerWatch(
    () => true,
    POLL_MS,
    async (id, pid) => void gone.push([id, pid]),
    () => start,
  );
  t.teardown(() => watch.stop());
  watch.watch('0123456789abcdef', 4242);
  await sleep(POLL_MS * 5);
  t.same(gone, [], 'the same process (same start time): the session stays');
  start = '2000'; // the shell exited and walker2's process took its pid
  await sleep(POLL_MS * 5);
  t.same(gone, [['0123456789abcdef', 4242]], 'the session of the shell that exited ends');
});

t.test('a real owner: kept while it runs, gone once it exits', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  const gone: number[] = [];
  const watch = new OwnerWatch(pidAlive, POLL_MS, async (_id, pid) => void gone.push(pid));
  t.teardown(() => watch.stop());
  watch.watch('fedcba9876543210', child.pid!);
  await sleep(POLL_MS * 5);
  t.same(gone, [], 'its start time reads the same on every poll');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await sleep(POLL_MS * 5);
  t.same(gone, [child.pid], 'ended when it exits');
});
