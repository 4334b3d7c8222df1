// Waiting for something a test cannot await directly (a file watcher, a refresh timer): poll, and fail loudly with the
// last value seen instead of hanging until tap's timeout.

/** Polls `probe` every `everyMs` until `ok` holds and returns that value; throws after `limitMs`. */
export async function until<T>(
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  limitMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline)
      throw new Error(`never matched within ${limitMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    value = await probe();
  }
  return value;
}
