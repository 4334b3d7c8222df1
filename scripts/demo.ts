// `npm run demo`: Sentinel end to end with no AWS account. A throwaway HOME gets an AWS config (a base profile with
// keys, role profiles dev, prod and blocked), a policy and an empty config.yaml; the STS emulator the tests use
// (test/support/sts-emulator.ts: AssumeRole with SourceIdentity, GetCallerIdentity, SigV4 checked) stands in for AWS on
// loopback, named by AWS_ENDPOINT_URL_STS for the daemon's SDK (and, in the shell, for `aws sts`: older AWS CLIs ignore
// that variable). The built daemon runs in that HOME, and an interactive bash opens in it with `sentinel` on its PATH
// and the shell integration loaded.
// Leaving the shell stops the daemon and the emulator and removes the HOME: nothing is written anywhere else.
//
// `npm run demo -- --run '<bash commands>'` runs the commands in that shell instead of an interactive one (its exit
// status is the demo's); test/demo.test.ts drives it that way. Needs `npm run build` (npm install does it).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quote } from '../cli/shell-emit.js';
import { BASE_ACCESS_KEY, BASE_ARN, CLI_MAIN, prepareHome, removeHome } from '../test/support/daemon.js';
import { startSts } from '../test/support/sts-emulator.js';

const args = process.argv.slice(2);
const script = args[0] === '--run' ? args[1] : undefined;
if ((args.length > 0 && script === undefined) || args.length > 2) {
  process.stderr.write("usage: npm run demo [-- --run '<bash commands>']\n");
  process.exit(2);
}
if (!existsSync(CLI_MAIN)) {
  process.stderr.write(`${CLI_MAIN} is missing: run \`npm run build\` (npm install does) first\n`);
  process.exit(1);
}
const bash = ['/usr/bin/bash', '/bin/bash'].find(existsSync);
if (!bash) {
  process.stderr.write('the demo shell is bash, and none is installed at /usr/bin/bash or /bin/bash\n');
  process.exit(1);
}

const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
const home = prepareHome({}, sts.url);
let code = 1;
try {
  // `sentinel` on the shell's PATH: this checkout's build, with the Node that runs the demo.
  const bin = join(home.home, 'bin');
  mkdirSync(bin, { mode: 0o700 });
  writeFileSync(
    join(bin, 'sentinel'),
    `#!/bin/sh\nexec ${quote('bash', process.execPath)} ${quote('bash', CLI_MAIN)} "$@"\n`,
    { mode: 0o700 },
  );
  // Older AWS CLIs (Debian 12's 2.9 among them) ignore AWS_ENDPOINT_URL_STS: an `aws` first on the PATH names the
  // emulator on every `aws sts …` call, typed in the demo shell or run by `sentinel exec dev -- aws sts …` alike (a
  // shell function would not reach exec's child, which then asked the real STS and could not connect).
  const outerPath = process.env.PATH ?? '/usr/bin:/bin';
  writeFileSync(
    join(bin, 'aws'),
    `#!/bin/sh
PATH=${quote('bash', outerPath)}
if [ "\${1-}" = sts ]; then exec aws "$@" --endpoint-url "$AWS_ENDPOINT_URL_STS"; else exec aws "$@"; fi
`,
    { mode: 0o700 },
  );
  const env: Record<string, string> = {
    ...home.env,
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    TERM: process.env.TERM ?? 'dumb',
    SENTINEL_LOG_LEVEL: 'warn',
  };
  const started = spawnSync(join(bin, 'sentinel'), ['daemon', 'start'], { env, encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`the daemon did not start:\n${started.stderr}`);

  const rc = join(home.home, '.demo-bashrc');
  writeFileSync(
    rc,
    `eval "$(sentinel shell init bash)"
PS1='$(sentinel_prompt)(sentinel demo) \\w \\$ '
${
  script === undefined
    ? `cat <<'EOF'

Sentinel demo: a throwaway HOME (${home.home}) with an AWS config (~/.aws/config: profiles base,
dev, prod, blocked), a policy (~/.config/sentinel/policy.yaml) and a local STS emulator standing in for AWS
(${sts.url}; \`aws sts …\` run here is sent there). The daemon is running. Try:

  sentinel use dev && aws sts get-caller-identity     # the AWS CLI gets credentials through the daemon
  sentinel server sessions                            # the session, its user and its SourceIdentity
  sentinel server revoke "$SENTINEL_SESSION" --reason demo && aws sts get-caller-identity   # refused now
  sentinel use --off
  sentinel exec dev -- aws sts get-caller-identity       # one command in a session of its own
  sentinel exec blocked -- aws sts get-caller-identity   # the policy says no, and why
  sentinel exec --env prod -- true                       # prod only through a session, never as raw keys
  tail -n 3 ~/.local/state/sentinel/decisions.log        # every decision, allowed or not

\`exit\` leaves the demo and removes everything it made.

EOF`
    : ''
}`,
    { mode: 0o600 },
  );
  const shell =
    script === undefined
      ? spawn(bash, ['--rcfile', rc, '-i'], { env, stdio: 'inherit', cwd: home.home })
      : spawn(bash, ['-c', `. ${quote('bash', rc)}\n${script}`], { env, stdio: 'inherit', cwd: home.home });
  // Ctrl-C belongs to the shell and what runs in it, not to the demo that waits for it.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  code = await new Promise<number>((resolve) => shell.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.off('SIGINT', ignore);
  spawnSync(join(bin, 'sentinel'), ['daemon', 'stop'], { env, stdio: 'ignore' });
} catch (e) {
  process.stderr.write(`demo: ${(e as Error).message}\n`);
} finally {
  removeHome(home);
  await sts.close();
}
if (script === undefined) process.stderr.write(`demo: stopped the daemon and removed ${home.home}\n`);
process.exit(code);
