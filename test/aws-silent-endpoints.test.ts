// Every AWS client Sentinel builds ends each attempt at its budget when the endpoint accepts the connection and never
// answers (DESIGN §3.4's rule for STS and DynamoDB, applied to the rest): the SDK takes `requestTimeout` only as the
// threshold of a console warning unless told to throw, so without the budget these calls hung for as long as the
// socket lived — `audit verify-logs --against-cloudwatch` for minutes, the forwarder and the policy refresh for good.
// The real SDK clients, through Sentinel's own factories, against a loopback endpoint that reads and never answers; the
// budgets here are shortened through the factories' options, and the last test runs the shipped command as it is.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultLogStream, createLogsClient, streamEvents } from '../core/audit/cloudwatch-client.js';
import { lookupEvents } from '../core/cloudtrail/lookup.js';
import { resolveConfig } from '../core/config.js';
import { createIamAdmin } from '../core/enforcement/iam.js';
import { silentLogger } from '../core/log.js';
import { awsNotifierPorts } from '../core/notify/aws-ports.js';
import { createPolicyProvider } from '../core/policy/provider.js';
import { createAwsConfig } from '../daemon/vending/aws-config.js';
import { createBaseCredentialResolver } from '../daemon/vending/base-credentials.js';
import { createStsClients } from '../core/issuer/sts-clients.js';
import { cleanEnv, sentinel, tempDir } from './support/cli.js';
import { CLI_MAIN, DEFAULT_POLICY, prepareHome, removeHome, runProcess } from './support/daemon.js';
import { withEnv } from './support/aws-env.js';
import { startSilentEndpoint, type SilentEndpoint } from './support/silent-endpoint.js';
import { startSsm } from './support/ssm-emulator.js';
import { startSts } from './support/sts-emulator.js';
import { until } from './support/wait.js';

const ATTEMPT_MS = 300;
/** The SDK's backoff between attempts (under a second for three) and a shared 2-core machine. */
const SLACK_MS = 3_000;

// In-process clients read their endpoint and credentials from the environment, as they do in the daemon.
const saved = { ...process.env };
t.teardown(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});
Object.assign(process.env, {
  AWS_ACCESS_KEY_ID: 'AKIASILENTTEST000001',
  AWS_SECRET_ACCESS_KEY: 'not-a-secret',
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent/config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
});
delete process.env.AWS_PROFILE;

async function silent(t: Test, service: string): Promise<SilentEndpoint> {
  const endpoint = await startSilentEndpoint();
  t.teardown(() => endpoint.close());
  withEnv(t, { [`AWS_ENDPOINT_URL_${service}`]: endpoint.url });
  return endpoint;
}

/** Runs `call`, which must fail; returns its error and how long it took. */
async function failing(call: () => Promise<unknown>): Promise<{ error: any; ms: number }> {
  const started = Date.now();
  try {
    await call();
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('the call against a silent endpoint succeeded');
}

t.test('CloudWatch Logs (forwarder, verify-logs): each attempt ends at its budget', async (t) => {
  const endpoint = await silent(t, 'CLOUDWATCH_LOGS');
  const client = await createLogsClient({ region: 'us-east-1', timeoutMs: ATTEMPT_MS, maxAttempts: 2 });
  t.teardown(() => client.destroy());
  const { error, ms } = await failing(async () => {
    for await (const _ of streamEvents(client, 'group', 'stream')) t.fail('an event from nowhere');
  });
  t.equal(error.name, 'TimeoutError', 'the attempt timed out');
  t.ok(ms < 2 * ATTEMPT_MS + SLACK_MS, `two attempts, then failed (${ms} ms)`);
  t.equal(endpoint.connections, 2, 'one connection per attempt');
  t.ok(endpoint.bytes > 0, 'the requests reached the endpoint');
});

t.test("the forwarder's stream name (STS GetCallerIdentity) fails at its budget", async (t) => {
  const endpoint = await silent(t, 'STS');
  const { error, ms } = await failing(() =>
    defaultLogStream({ region: 'us-east-1', timeoutMs: ATTEMPT_MS, maxAttempts: 1 }),
  );
  t.equal(error.name, 'TimeoutError');
  t.ok(ms < ATTEMPT_MS + SLACK_MS, `failed after one attempt (${ms} ms)`);
  t.equal(endpoint.connections, 1);
});

t.test('IAM (enforce, revoke --aws): IamUnavailable at the budget', async (t) => {
  const endpoint = await silent(t, 'IAM');
  const iam = await createIamAdmin({ region: 'us-east-1', timeoutMs: ATTEMPT_MS });
  t.teardown(() => iam.close());
  const { error, ms } = await failing(() => iam.getRole('developer'));
  t.equal(error.code, 'IamUnavailable');
  t.match(error.message, /GetRole on role developer failed \(TimeoutError\)/);
  t.ok(ms < 3 * ATTEMPT_MS + SLACK_MS, `three attempts, then failed (${ms} ms)`);
  t.equal(endpoint.connections, 3);
});

t.test('CloudTrail (audit cloudtrail, untracked-sessions): CloudTrailUnavailable at the budget', async (t) => {
  const endpoint = await silent(t, 'CLOUDTRAIL');
  const { error, ms } = await failing(async () => {
    const events = lookupEvents(
      { region: 'us-east-1', start: new Date(Date.now() - 3_600_000), end: new Date() },
      { timeoutMs: ATTEMPT_MS, maxAttempts: 2 },
    );
    for await (const _ of events) t.fail('an event from nowhere');
  });
  t.equal(error.code, 'CloudTrailUnavailable');
  t.ok(ms < 2 * ATTEMPT_MS + SLACK_MS, `two attempts, then failed (${ms} ms)`);
  t.equal(endpoint.connections, 2);
});

t.test('notifications: SNS Publish and the webhook secret read (SSM) fail at the budget', async (t) => {
  const sns = await silent(t, 'SNS');
  const ssm = await silent(t, 'SSM');
  const ports = awsNotifierPorts({ region: 'us-east-1', timeoutMs: ATTEMPT_MS });
  t.teardown(() => ports.destroy());
  const published = await failing(() =>
    ports.publish({
      topicArn: 'arn:aws:sns:us-east-1:123456789012:sentinel',
      subject: 'subject',
      message: '{}',
      eventType: 'request.created',
    }),
  );
  t.equal(published.error.name, 'TimeoutError');
  t.ok(published.ms < 3 * ATTEMPT_MS + SLACK_MS, `publish failed within its attempts (${published.ms} ms)`);
  t.ok(sns.connections >= 1 && sns.connections <= 3, `at most three attempts (${sns.connections})`);
  const secret = await failing(() => ports.secret('/sentinel/webhook-secret'));
  t.equal(secret.error.name, 'TimeoutError');
  t.ok(secret.ms < 3 * ATTEMPT_MS + SLACK_MS, `the secret read failed within its attempts (${secret.ms} ms)`);
  t.ok(ssm.connections >= 1 && ssm.connections <= 3);
});

t.test("base credentials through a source_profile chain: the chain's own STS call ends at its budget", async (t) => {
  const endpoint = await silent(t, 'STS');
  const dir = tempDir(t);
  const files = { configFile: join(dir, 'config'), credentialsFile: join(dir, 'credentials') };
  writeFileSync(
    files.configFile,
    '[profile base]\nregion = us-east-1\n\n[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/middle\nsource_profile = base\n\n' +
      '[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = chained\n',
  );
  writeFileSync(files.credentialsFile, '[base]\naws_access_key_id = AKIASILENTTEST000002\naws_secret_access_key = x\n');
  const log = silentLogger();
  const awsConfig = createAwsConfig(files, log);
  const sts = createStsClients({ requestTimeoutMs: ATTEMPT_MS });
  t.teardown(() => sts.close());
  const resolver = createBaseCredentialResolver({
    awsConfig,
    sts,
    env: process.env,
    log,
    now: Date.now,
    region: 'us-east-1',
  });
  const { error, ms } = await failing(async () => resolver.resolve(await awsConfig.profile('top')));
  t.equal(error.code, 'BaseCredentialsUnavailable');
  t.ok(ms < 3 * ATTEMPT_MS + SLACK_MS, `at the attempts' budget, not the resolve's 30 s (${ms} ms)`);
  t.ok(endpoint.connections >= 1, 'the chain did call STS');
  await until(
    () => endpoint.open,
    (n) => n === 0,
    2_000,
  );
  t.pass('and no socket is left open on the endpoint that never answered');
});

t.test('a policy from SSM: the first load ends with an error instead of holding the daemon', async (t) => {
  const endpoint = await silent(t, 'SSM');
  const dir = tempDir(t);
  const config = resolveConfig(
    { region: 'us-east-1', policy: { source: 'ssm', ssm_root: '/sentinel/policies', refresh: '1h' } },
    '/nonexistent/config.yaml',
    { HOME: '/nonexistent' },
  );
  const provider = createPolicyProvider(config, { log: silentLogger(), stateDir: dir, awsAttemptMs: ATTEMPT_MS });
  t.teardown(() => provider.close());
  const started = Date.now();
  await provider.start();
  const ms = Date.now() - started;
  t.ok(ms < 3 * ATTEMPT_MS + SLACK_MS, `start() returned (${ms} ms)`);
  t.match(provider.status().lastError, /TimeoutError/, 'the status says why no policy is loaded');
  const d = provider.decide({
    user: 'alice',
    profile: 'dev',
    time: new Date(),
    mode: 'server',
    sessionStore: 'memory',
  });
  t.equal(d.effect, 'default_deny', 'and every request is denied meanwhile (fail closed)');
  t.match(d.reason, /no valid policy is loaded: .*TimeoutError/, 'saying why');
  t.ok(endpoint.connections >= 1);
});

for (const source of ['file', 'ssm'] as const) {
  t.test(`a signed ${source} policy with a KMS that never answers: close() ends the key fetch at once`, async (t) => {
    const kms = await silent(t, 'KMS');
    const dir = tempDir(t);
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, DEFAULT_POLICY, { mode: 0o600 });
    writeFileSync(`${file}.sig`, '{"signature":"x","metadata":{}}', { mode: 0o600 });
    if (source === 'ssm') {
      const ssm = await startSsm();
      t.teardown(() => ssm.close());
      withEnv(t, { AWS_ENDPOINT_URL_SSM: ssm.url });
    }
    const config = resolveConfig(
      {
        region: 'us-east-1',
        policy: { source, ...(source === 'file' ? { file } : {}), signing_key: 'alias/sentinel-policy', refresh: '1h' },
      },
      '/nonexistent/config.yaml',
      { HOME: '/nonexistent' },
    );
    // The shipped budget: three attempts of 5 s, which close() used to wait out.
    const provider = createPolicyProvider(config, { log: silentLogger(), stateDir: dir, startWaitMs: 100 });
    const starting = provider.start().catch(() => undefined);
    await until(
      () => kms.connections,
      (n) => n >= 1,
      10_000,
    );
    const closing = Date.now();
    await provider.close();
    const ms = Date.now() - closing;
    t.ok(ms < 2_000, `close() did not wait for KMS (${ms} ms)`);
    await starting;
    await until(
      () => kms.open,
      (n) => n === 0,
      2_000,
    );
    t.pass('and left no socket open on it');
  });
}

/** A daemon's SSM policy provider (root /sentinel/policies, us-east-1) with 2 s attempts and a 200 ms start wait. */
function ssmPolicyProvider(t: Test, policy: Record<string, unknown>) {
  const config = resolveConfig(
    { region: 'us-east-1', policy: { source: 'ssm', ssm_root: '/sentinel/policies', refresh: '1h', ...policy } },
    '/nonexistent/config.yaml',
    { HOME: '/nonexistent' },
  );
  const provider = createPolicyProvider(config, {
    log: silentLogger(),
    stateDir: tempDir(t),
    awsAttemptMs: 2_000,
    startWaitMs: 200,
  });
  t.teardown(() => provider.close());
  return provider;
}

t.test(
  "a daemon's policy from SSM: start waits at most startWaitMs, then denies saying why until SSM answers",
  async (t) => {
    await silent(t, 'SSM');
    const provider = ssmPolicyProvider(t, {});
    const started = Date.now();
    await provider.start();
    const ms = Date.now() - started;
    t.ok(ms < 200 + SLACK_MS, `start() returned before the listing ended (${ms} ms)`);
    t.match(
      provider.status().lastError,
      /^SSM has not answered GetParametersByPath on \/sentinel\/policies within 0\.2 s; still trying$/,
    );
    const request = {
      user: 'alice',
      profile: 'dev',
      time: new Date(),
      mode: 'server' as const,
      sessionStore: 'memory' as const,
    };
    const d = provider.decide(request);
    t.equal(d.effect, 'default_deny', 'denied meanwhile');
    t.match(d.reason, /not loaded yet|has not answered/);
    await until(
      () => provider.status().lastError,
      (e) => /TimeoutError/.test(e ?? ''),
      3 * 2_000 + SLACK_MS + 2_000,
    );
    t.pass('the listing went on and ended at its budget; the status says so');
  },
);

t.test(
  'a signed SSM policy whose KMS never answers: the start names KMS GetPublicKey, not SSM, as the silent call',
  async (t) => {
    const ssm = await startSsm();
    t.teardown(() => ssm.close());
    ssm.put('/sentinel/policies/dev', DEFAULT_POLICY);
    withEnv(t, { AWS_ENDPOINT_URL_SSM: ssm.url });
    const kms = await silent(t, 'KMS');
    const provider = ssmPolicyProvider(t, { signing_key: 'alias/sentinel-policy' });
    await provider.start();
    t.match(
      provider.status().lastError,
      /^KMS has not answered GetPublicKey for the signing key alias\/sentinel-policy within 0\.2 s; still trying$/,
    );
    t.ok(ssm.calls.GetParametersByPath >= 1, 'SSM did answer the listing');
    t.ok(kms.connections >= 1, 'the daemon is waiting on KMS');
    await until(
      () => provider.status().lastError,
      (e) => /TimeoutError/.test(e ?? ''),
      3 * 2_000 + SLACK_MS + 2_000,
    );
    t.match(
      provider.status().lastError,
      /^KMS GetPublicKey for the signing key failed \(TimeoutError\); no policy has loaded yet$/,
      'no "last good policies" are claimed when none ever loaded',
    );
  },
);

t.test(
  '`sentinel daemon start` with an SSM that never answers: started within its wait, policy NOT LOADED',
  async (t) => {
    const endpoint = await startSilentEndpoint();
    t.teardown(() => endpoint.close());
    const sts = await startSts();
    t.teardown(() => sts.close());
    const home = prepareHome(
      {
        policy: null,
        config: 'aws_profile: base\nregion: us-east-1\npolicy:\n  source: ssm\n  ssm_root: /sentinel/policies\n',
        env: { AWS_ENDPOINT_URL_SSM: endpoint.url },
      },
      sts.url,
    );
    t.teardown(() => removeHome(home));
    const run = (...args: string[]) =>
      runProcess(process.execPath, [CLI_MAIN, ...args], { env: home.env, timeoutMs: 60_000 });
    const started = Date.now();
    const r = await run('daemon', 'start');
    const ms = Date.now() - started;
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stdout,
      /^policy: NOT LOADED from ssm:\/sentinel\/policies: SSM has not answered GetParametersByPath on \/sentinel\/policies within 5 s; still trying; every request is denied$/m,
    );
    t.ok(ms < 15_000, `started before daemon start gives up (${ms} ms)`);
    t.ok(endpoint.connections >= 1, 'the daemon did ask SSM');
    const stopping = Date.now();
    t.equal((await run('daemon', 'stop')).code, 0, 'and stops cleanly with the listing still in flight');
    const stopMs = Date.now() - stopping;
    t.ok(stopMs < 6_000, `without waiting out the listing (three attempts of 5 s) (${stopMs} ms)`);
  },
);

t.test(
  '`sentinel audit verify-logs --against-cloudwatch`, as shipped: exit 2 with a clear error, not a hang',
  async (t) => {
    const endpoint = await startSilentEndpoint();
    t.teardown(() => endpoint.close());
    const dir = tempDir(t);
    const key = join(dir, 'audit.key');
    writeFileSync(key, Buffer.alloc(32, 7), { mode: 0o600 });
    const log = join(dir, 'decisions.log');
    writeFileSync(log, '');
    const started = Date.now();
    const r = await sentinel(
      t,
      ['audit', 'verify-logs', log, '--key-file', key, '--against-cloudwatch', '--log-group', 'g', '--log-stream', 's'],
      {
        env: cleanEnv({
          HOME: dir,
          AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint.url,
          AWS_ACCESS_KEY_ID: 'AKIASILENTTEST000001',
          AWS_SECRET_ACCESS_KEY: 'not-a-secret',
          AWS_REGION: 'us-east-1',
        }),
        timeoutMs: 90_000,
      },
    );
    const ms = Date.now() - started;
    t.equal(r.code, 2, 'could not check');
    t.match(r.stderr, /CloudWatch Logs did not answer \(TimeoutError\)/);
    t.match(r.stderr, /Hint: Check network access to CloudWatch Logs/);
    t.notMatch(r.stderr, /WARN|requestTimeout/, 'no SDK warning as plain text');
    t.ok(ms < 3 * 10_000 + 2 * SLACK_MS + 5_000, `three attempts of 10 s at most (${ms} ms)`);
    t.equal(endpoint.connections, 3, 'one connection per attempt');
    t.equal(readFileSync(log, 'utf8'), '', 'the log is untouched');

    // Nothing listening at all: the same answer at once, naming the network error.
    const refused = await sentinel(
      t,
      ['audit', 'verify-logs', log, '--key-file', key, '--against-cloudwatch', '--log-group', 'g', '--log-stream', 's'],
      {
        env: cleanEnv({
          HOME: dir,
          AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://127.0.0.1:1',
          AWS_ACCESS_KEY_ID: 'AKIASILENTTEST000001',
          AWS_SECRET_ACCESS_KEY: 'not-a-secret',
          AWS_REGION: 'us-east-1',
        }),
        timeoutMs: 60_000,
      },
    );
    t.equal(refused.code, 2);
    t.match(refused.stderr, /CloudWatch Logs did not answer \(ECONNREFUSED\)/);
  },
);
