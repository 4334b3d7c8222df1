// Sessions opened with a pid end when that process is gone (the shell of `use`, the child of `exec`). The owners are
// polled: a Unix process gives no portable exit notification to an unrelated process. A pid alone does not name a
// process for long: pids are reused (pid_max is 32768 on many systems), and another local user who forks until she
// holds the pid of a shell that exited would otherwise keep its session, and its token, alive until the session's
// ttl. So the owner is the pid together with its start time (Linux: /proc/<pid>/stat), read when the watch begins.
import { processStartTime } from '../runtime/pid.js';

interface Owner {
  pid: number;
  /** null where the start time cannot be read (not Linux): then the pid alone decides. */
  start: string | null;
}

export class OwnerWatch {
  /** session id → owner. */
  private readonly owners = new Map<string, Owner>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly isAlive: (pid: number) => boolean,
    private readonly pollMs: number,
    private readonly onGone: (id: string, pid: number) => Promise<void>,
    private readonly startOf: (pid: number) => string | null = processStartTime,
  ) {}

  watch(id: string, pid: number): void {
    this.owners.set(id, { pid, start: this.startOf(pid) });
    this.timer ??= setInterval(() => void this.check(), this.pollMs).unref();
  }

  forget(id: string): void {
    this.owners.delete(id);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The same process as when the watch began: alive, and (where it can be read) started at the same time. */
  private stillThere(owner: Owner): boolean {
    return this.isAlive(owner.pid) && (owner.start === null || this.startOf(owner.pid) === owner.start);
  }

  private async check(): Promise<void> {
    for (const [id, owner] of [...this.owners]) {
      if (this.stillThere(owner)) continue;
      this.owners.delete(id);
      await this.onGone(id, owner.pid);
    }
    if (this.owners.size === 0) this.stop();
  }
}
