// Sessions past their expires_at are let go even when nobody asks for them again. A session is otherwise released
// only when it is asked for, ended, or its owner process exits; one that nobody asks for after it expired (an API
// client that never ends its sessions, an implicit session of a profile no longer used) would keep its token, its
// opener and its cached credentials for the daemon's whole life — weeks for a user service — and count as active in
// `daemon status`. The local daemon and the vendor bridge both hold sessions, so both watch them here.

/** How often the sessions a daemon holds are checked for expiry. */
export const EXPIRY_SWEEP_MS = 60_000;

export class ExpiryWatch {
  /** session id → its expires_at, in epoch ms. */
  private readonly expiries = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nowMs: () => number,
    private readonly sweepMs: number,
    /** Told, once per sweep that finds any, the sessions past their expiry; they are no longer watched. */
    private readonly onExpired: (ids: string[]) => void,
  ) {}

  watch(id: string, expiresAt: string): void {
    this.expiries.set(id, Date.parse(expiresAt));
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  forget(id: string): void {
    this.expiries.delete(id);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const now = this.nowMs();
    const expired: string[] = [];
    for (const [id, at] of this.expiries) if (at <= now) expired.push(id);
    for (const id of expired) this.expiries.delete(id);
    if (expired.length > 0) this.onExpired(expired);
    if (this.expiries.size === 0) this.stop();
  }
}
