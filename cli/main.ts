#!/usr/bin/env node
// The `sentinel` binary (package.json bin). Everything lives in program.ts so tests can run commands in-process.
import { main } from './program.js';
import { reportError } from './output.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
