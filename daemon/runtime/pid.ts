// Whether a process is still there, for the lock (is its holder alive?) and for `sentinel daemon stop` (is the daemon
// gone?). Light: the CLI imports it.
import { readFileSync } from 'node:fs';

/** Signal 0 probes without sending anything. EPERM means it exists but belongs to someone else: still alive. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux: the start time of a process (clock ticks since boot), which changes when a pid is reused; null elsewhere. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall = index 19 after "state" (field 3)
  } catch {
    return null;
  }
}

/** Linux: whether a process is stopped (state T: SIGSTOP, or a job suspended from its terminal); false elsewhere. */
export function processStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}
