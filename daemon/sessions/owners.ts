// Sessions opened with a pid end when that process is gone (the shell of `use`, the child of `exec`). The owners are
// polled: a Unix process gives no portable exit notification to an unrelated process.
export class OwnerWatch {
  /** session id → owner pid. */
  private readonly owners = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly isAlive: (pid: number) => boolean,
    private readonly pollMs: number,
    private readonly onGone: (id: string, pid: number) => Promise<void>,
  ) {}

  watch(id: string, pid: number): void {
    this.owners.set(id, pid);
    this.timer ??= setInterval(() => void this.check(), this.pollMs).unref();
  }

  forget(id: string): void {
    this.owners.delete(id);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    for (const [id, pid] of [...this.owners]) {
      if (this.isAlive(pid)) continue;
      this.owners.delete(id);
      await this.onGone(id, pid);
    }
    if (this.owners.size === 0) this.stop();
  }
}
