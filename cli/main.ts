#!/usr/bin/env node
// The `sentinel` binary (package.json bin). Everything lives in program.ts so tests can run commands in-process.
// `credentials` runs before every AWS CLI call (credential_process), so its plain form skips loading commander and
// the command groups (cli/credentials.ts, runFast); any other form takes the full parser.
import { reportError } from './output.js';

async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'credentials') {
    const code = await (await import('./credentials.js')).runFast(argv.slice(1));
    if (code !== undefined) return code;
  }
  const { main } = await import('./program.js');
  return main(argv);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
