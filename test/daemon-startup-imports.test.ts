// Start-up loads only what the configuration needs (docs/daemon.md, "Performance"): with the default file policy and
// memory store, READY=1 comes before any AWS SDK client is imported; client-sts and credential-providers follow in
// the background shortly after (or with the first session), and client-ssm, client-kms and client-dynamodb never.
// The daemon runs in a child process, so this test's own imports do not count; the SDK packages are CommonJS, so the
// child can list them in require.cache.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BASE_ACCESS_KEY, BASE_ARN, ROOT, prepareHome } from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import { rmSync } from 'node:fs';
import { typescriptLoaderArgs } from './support/ts-loader.js';

const CHILD = `
import { createRequire } from 'node:module';
import { runDaemon } from ${JSON.stringify(join(ROOT, 'daemon', 'run.ts'))};
import { createLogger } from ${JSON.stringify(join(ROOT, 'core', 'log.ts'))};
const cache = createRequire(import.meta.url).cache;
const packages = ['@aws-sdk/client-sts', '@aws-sdk/credential-providers', '@aws-sdk/client-ssm', '@aws-sdk/client-kms', '@aws-sdk/client-dynamodb'];
const loaded = () => packages.filter((p) => Object.keys(cache).some((k) => k.includes('/node_modules/' + p + '/')));
const report = (what) => process.stdout.write(JSON.stringify({ what, loaded: loaded() }) + '\\n');
const d = await runDaemon({ env: process.env, log: createLogger({ level: 'warn' }) });
report('ready');
for (let i = 0; i < 300 && loaded().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
report('idle');
await d.sessions.openSession({ profile: 'dev', mode: 'server' }, { transport: 'unix', pid: process.pid, uid: process.getuid() });
report('session');
await d.close();
`;

t.test('a default daemon is READY before any AWS SDK client loads; only STS follows', async (t) => {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const prepared = prepareHome({}, sts.url);
  t.teardown(() => rmSync(prepared.home, { recursive: true, force: true }));

  const child = spawn(process.execPath, [...typescriptLoaderArgs(), '--input-type=module', '-e', CHILD], {
    cwd: ROOT,
    env: { ...prepared.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const reports: Record<string, string[]> = {};
  for await (const line of createInterface({ input: child.stdout })) {
    const r = JSON.parse(line) as { what: string; loaded: string[] };
    reports[r.what] = r.loaded;
  }
  const code = await new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', r),
  );
  t.equal(code, 0, `the child daemon ran and stopped cleanly ${stderr.slice(0, 500)}`);
  t.same(reports.ready, [], 'no AWS SDK client was imported before READY');
  t.same(
    reports.idle,
    ['@aws-sdk/client-sts', '@aws-sdk/credential-providers'],
    'STS and the credential providers load in the background',
  );
  t.same(
    reports.session,
    ['@aws-sdk/client-sts', '@aws-sdk/credential-providers'],
    'a session needs nothing more; SSM, KMS and DynamoDB never load',
  );
});
