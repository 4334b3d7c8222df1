// Parsing and validating a large policy takes seconds (a 2 MiB, 10,000-rule document: 3–6 s of YAML and schema work),
// and the event loop that serves credential requests must not wait for it (issue 10 item 7). Large policies are parsed
// in a worker thread, one per parse, so nothing stays resident between reloads; the daemon keeps serving with the
// policy in force and swaps only when the new one is valid. Small policies are parsed inline: a worker's start-up
// (tens of milliseconds) would cost more than the parse.
import { Worker } from 'node:worker_threads';
import { parsePolicy, type ParseOptions, type ParseResult } from './load.js';

/** Below this many bytes a policy is parsed on the calling thread. */
export const OFF_THREAD_MIN_BYTES = 64 * 1024;
/** A parse that takes longer than this is abandoned and the policy refused (the last good one stays). */
export const PARSE_TIMEOUT_MS = 60_000;
/** The worker's heap: a hostile document cannot take the daemon's memory with it. */
const WORKER_HEAP_MB = 512;

// Run from the sources (tests, through the TypeScript loader the worker inherits) or from dist/: same folder, same
// extension as this module.
const WORKER_URL = new URL(`./parse-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export function parsePolicyOffThread(
  bytes: Uint8Array,
  minBytes = OFF_THREAD_MIN_BYTES,
  options: ParseOptions = {},
): Promise<ParseResult> {
  if (bytes.length < minBytes) return Promise.resolve(parsePolicy(bytes, options));
  return new Promise<ParseResult>((resolve) => {
    let settled = false;
    const finish = (result: ParseResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const refused = (message: string): ParseResult => ({ ok: false, problems: [{ message }] });
    const worker = new Worker(WORKER_URL, {
      workerData: { bytes, options },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    const timer = setTimeout(
      () => finish(refused(`the policy could not be parsed within ${PARSE_TIMEOUT_MS / 1000} s`)),
      PARSE_TIMEOUT_MS,
    );
    timer.unref();
    worker.once('message', (result: ParseResult) => finish(result));
    worker.once('error', (e) => finish(refused(`the policy could not be parsed: ${e.message}`)));
    worker.once('exit', (code) => finish(refused(`the policy parser stopped (exit code ${code})`)));
  });
}
