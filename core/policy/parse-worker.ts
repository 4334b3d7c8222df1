// Runs in a worker thread (parse-off-thread.ts): parses and validates one policy's bytes and posts the result back.
// The result is plain data (the policy, its problems or warnings), so it survives the structured clone.
import { parentPort, workerData } from 'node:worker_threads';
import { parsePolicy, type ParseOptions } from './load.js';

const { bytes, options } = workerData as { bytes: Uint8Array; options: ParseOptions };
parentPort!.postMessage(parsePolicy(bytes, options));
