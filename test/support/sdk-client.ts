// Real AWS SDK clients pointed straight at a local emulator, and what a refused call looked like to the SDK.
import type { HasTeardown } from './aws-env.js';

export interface EmulatorClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

/**
 * Starts an emulator and a real SDK client talking to it; both are stopped in the test's teardown. One attempt per
 * call: the SDK's own retries are not what these tests are about, and they would only slow them down (a test about
 * retries builds its own client).
 */
export async function emulatorWithClient<
  E extends { url: string; close(): Promise<void> },
  C extends { destroy(): void },
>(
  t: HasTeardown,
  start: () => Promise<E>,
  makeClient: (config: EmulatorClientConfig) => C,
  credentials: EmulatorClientConfig['credentials'],
): Promise<{ emulator: E; client: C }> {
  const emulator = await start();
  t.teardown(() => emulator.close());
  const client = makeClient({ endpoint: emulator.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  t.teardown(() => client.destroy());
  return { emulator, client };
}

export interface Rejection {
  /** The AWS error code, as the SDK names the exception. */
  name: string;
  message: string;
  status: number | undefined;
  /** How many attempts the SDK made (each one is a call the emulator counted). */
  attempts: number | undefined;
}

/** Awaits a call that must fail and describes the failure; a call that succeeds fails the test. */
export async function rejection(p: Promise<unknown>): Promise<Rejection> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number; attempts?: number } };
    return {
      name: err.name,
      message: err.message,
      status: err.$metadata?.httpStatusCode,
      attempts: err.$metadata?.attempts,
    };
  }
  throw new Error('expected the call to be rejected');
}
