// At most one upstream call per key: callers that arrive while a call is in flight wait for it and share its result or
// its error. Nothing is remembered afterwards — caching is the caller's business, and an error is never cached, so
// the next caller after a failure starts exactly one new call. A flight with a deadline ends at it whatever the call
// does (DESIGN §3.4): its waiters get the deadline's error and the key is free at once, so a call that hangs cannot
// wedge every later request of its session behind it.

export interface FlightDeadline {
  ms: number;
  error: () => Error;
}

export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  run(key: string, call: () => Promise<V>, deadline?: FlightDeadline): Promise<V> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    let timer: NodeJS.Timeout | undefined;
    const attempt = (async () => call())();
    const bounded = deadline
      ? Promise.race([
          attempt,
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(deadline.error()), deadline.ms);
            timer.unref();
          }),
        ])
      : attempt;
    // A call abandoned at its deadline may still fail later; nobody is waiting for that answer any more.
    if (deadline) attempt.catch(() => undefined);
    const started = bounded.finally(() => {
      if (timer) clearTimeout(timer);
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    });
    this.inFlight.set(key, started);
    return started;
  }

  get size(): number {
    return this.inFlight.size;
  }
}
