// Processes as Linux's /proc shows them, for tests that check what a command left behind. A zombie (exited, waiting
// for its parent to reap it) counts as gone: it runs nothing and holds nothing but its table entry.
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** State, parent and process group of `/proc/<pid>/stat` (after the command name, which may hold spaces). */
function statOf(pid: number | 'self'): { state: string; group: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const [state, , group] = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return { state: state!, group: Number(group) };
}

export const alive = (pid: number): boolean =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** The process group of this test process (a command run without a group of its own stays in it). */
export const ownProcessGroup = (): number => statOf('self')!.group;

/** Whether a process of group `pgid` still runs. */
export function groupAlive(pgid: number): boolean {
  return readdirSync('/proc').some((entry) => {
    const stat = /^\d+$/.test(entry) ? statOf(Number(entry)) : undefined;
    return stat !== undefined && stat.group === pgid && stat.state !== 'Z';
  });
}
