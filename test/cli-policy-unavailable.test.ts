// Every "no policy" error names the policy file and its first problem with line:column (issue 9 item 10): `use`,
// `exec`, `credentials` and the daemon's credential answer; `daemon start` says the policy is not loaded and why.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  CLI_MAIN,
  prepareHome,
  removeHome,
  runProcess,
  startDaemon,
} from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import { requireBuild, sentinel, userEnv } from './support/cli.js';
import { until } from './support/wait.js';

// Line 4, column 13: the effect.
const BROKEN = 'version: "1"\nrules:\n  - name: broken\n    effect: sometimes\n    conditions: { profiles: [dev] }\n';

t.test('an invalid policy: every refusal names the file and the line:column of its first problem', async (t) => {
  requireBuild();
  const d = await startDaemon(t, { policy: BROKEN });
  const env = userEnv(d);
  const file = d.policyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = new RegExp(`no valid policy is loaded: ${file}:4:\\d+: .*effect`);
  const hint = new RegExp(`^Hint: Fix it \\(\`sentinel policy validate ${file}\` lists every problem\\), then`, 'm');

  const endpoint = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/credentials',
    body: { profile: 'dev' },
  });
  t.equal(endpoint.status, 503);
  t.equal(endpoint.json.Code, 'PolicyUnavailable');
  t.match(endpoint.json.Message, named, 'the credential answer');

  const [credentials, exec, use] = await Promise.all([
    sentinel(t, ['credentials', '--profile', 'dev'], { env }),
    sentinel(t, ['exec', 'dev', '--', '/bin/true'], { env }),
    sentinel(t, ['use', 'dev', '--shell', 'bash', '--shell-pid', String(process.pid)], { env }),
  ]);
  for (const [name, r] of Object.entries({ credentials, exec, use })) {
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.stderr, new RegExp(`^Error: ${named.source}`, 'm'), `${name}: names the file and the problem`);
    t.match(r.stderr, hint, `${name}: the hint names the real file`);
  }
  t.equal(credentials.stdout, '', 'credential_process gets nothing on stdout');
});

t.test('daemon start with a missing policy says so, and that every request is denied', async (t) => {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const home = prepareHome({ policy: null }, sts.url);
  const run = (...args: string[]) =>
    runProcess(process.execPath, [CLI_MAIN, ...args], { env: home.env, timeoutMs: 60_000 });
  // Whatever happened above, no daemon outlives the test.
  t.teardown(() => removeHome(home));
  const started = await run('daemon', 'start');
  t.equal(started.code, 0, started.stderr);
  t.match(
    started.stdout,
    /^policy: NOT LOADED from file:(\S+): \1 does not exist.*; every request is denied$/m,
    'start names the file and the problem',
  );
  t.notMatch(started.stdout, /\.;/, 'one sentence runs into the next without ".;"');
  const refused = await run('credentials', '--profile', 'dev');
  t.equal(refused.code, 1);
  t.match(
    refused.stderr,
    /^Error: no valid policy is loaded: \S+ does not exist\. Create it .*sentinel daemon reload/m,
  );
  t.equal(refused.stderr.split('sentinel daemon reload').length, 2, 'what to do is said once, not again in the hint');
  t.match(refused.stderr, /^Hint: The daemon keeps running and refuses every request until a policy loads/m);
  t.equal((await run('daemon', 'stop')).code, 0);
});

t.test('daemon status after a broken edit says the last good policy is still in force', async (t) => {
  requireBuild();
  const d = await startDaemon(t);
  const env = userEnv(d);
  const before = await sentinel(t, ['daemon', 'status', '--json'], { env });
  const good = JSON.parse(before.stdout).policy as { version: string; rules: number };
  writeFileSync(d.policyFile, BROKEN);
  const status = await until(
    () => sentinel(t, ['daemon', 'status'], { env }),
    (r) => /NOT LOADED/.test(r.stdout),
    20_000,
    200,
  );
  t.equal(status.code, 0);
  t.match(
    status.stdout,
    new RegExp(
      `^policy: .* — NOT LOADED: .*; the last good policy \\(version ${good.version}, ${good.rules} rules\\) is kept$`,
      'm',
    ),
    'names the policy still served',
  );
  const served = await sentinel(t, ['credentials', '--profile', 'dev'], { env });
  t.equal(served.code, 0, 'and it is served');
});
