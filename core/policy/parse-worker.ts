// Runs in a worker thread (parse-off-thread.ts): parses and validates one policy's bytes and posts the result back.
// The result is plain data (the policy, its problems or warnings), so it survives the structured clone.
import { parentPort, workerData } from 'node:worker_threads';
import { parsePolicy } from './load.js';

parentPort!.postMessage(parsePolicy(workerData as Uint8Array));
