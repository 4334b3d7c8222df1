// At most one upstream call per key: callers that arrive while a call is in flight wait for it and share its result or
// its error. Nothing is remembered afterwards — caching is the caller's business, and an error is never cached, so
// the next caller after a failure starts exactly one new call.

export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  run(key: string, call: () => Promise<V>): Promise<V> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const started = (async () => call())().finally(() => {
      this.inFlight.delete(key);
    });
    this.inFlight.set(key, started);
    return started;
  }

  get size(): number {
    return this.inFlight.size;
  }
}
