#!/usr/bin/env node
// The `sentinel` binary (package.json bin). Everything lives in program.ts so tests can run commands in-process.
// `credentials` runs before every AWS CLI call (credential_process), so its plain form skips loading commander and
// the command groups (cli/credentials.ts, runFast), and neither does the plain `daemon run` the service managers spawn
// (cli/daemon.ts, runDaemonFast); any other form takes the full parser.
import { enableCompileCache } from './compile-cache.js';
import { reportError } from './output.js';
import { silenceSdkNodeWarning } from './sdk-warning.js';

enableCompileCache();

// Before anything loads the AWS SDK (every command loads it lazily, the daemon included: `sentinel daemon run` starts
// here too): the SDK's Node 20 deprecation warning is noise for Sentinel's users (sdk-warning.ts says why).
silenceSdkNodeWarning();

async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'credentials') {
    const code = await (await import('./credentials.js')).runFast(argv.slice(1));
    if (code !== undefined) return code;
  }
  if (argv.includes('daemon')) {
    const code = await (await import('./daemon.js')).runDaemonFast(argv);
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
