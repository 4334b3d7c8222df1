// End to end with clients no one here wrote: the JS SDK v3 default chain, Debian's botocore and AWS CLI fetch
// credentials from a real daemon through AWS_CONTAINER_CREDENTIALS_FULL_URI, and are refused with a code and a
// message when policy says no.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { ROLE_ARNS, fetchWithClient, startDaemon, type ClientName, type DaemonHarness } from './support/daemon.js';

const POLICY = `version: "1"
rules:
  - name: dev-for-alice
    effect: allow
    conditions: { profiles: [dev], users: [alice] }
    reason: alice develops on dev
  - name: prod-through-daemon
    effect: require_server
    conditions: { profiles: [prod] }
    reason: prod only through sentinel use/exec
    max_server_duration: 20m
`;

const CLIENT_NAMES: ClientName[] = ['js-sdk', 'botocore', 'aws-cli'];

async function daemon(t: Test): Promise<DaemonHarness> {
  return startDaemon(t, { policy: POLICY, config: 'credentials: { duration: 30m }\n' });
}

t.test('JS SDK default chain, botocore and the AWS CLI get the credentials STS issued for the session', async (t) => {
  const d = await daemon(t);
  const session = await d.openSession('dev');
  t.match(session, {
    id: /^[0-9a-f]{16}$/,
    url: `http://127.0.0.1:${d.port}/v1/credentials`,
    region: 'eu-west-1',
    profile: 'dev',
  });

  const results = await Promise.all(CLIENT_NAMES.map((name) => fetchWithClient(name, session.url, session.token)));
  t.equal(d.sts.calls.AssumeRole, 1, 'one AssumeRole for the session, however many clients fetch');
  const issued = d.sts.issued.at(-1)!;
  results.forEach((r, i) => {
    const name = CLIENT_NAMES[i]!;
    t.equal(r.code, 0, `${name} exits 0`);
    t.same(
      r.credentials,
      { AccessKeyId: issued.accessKeyId, SecretAccessKey: issued.secretAccessKey, Token: issued.sessionToken },
      `${name} got exactly the STS-issued credentials`,
    );
  });

  const direct = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(direct.headers['content-type'], 'application/json', 'exactly application/json');
  t.same(
    Object.keys(direct.json),
    ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration', 'AccountId'],
    'exactly the container-credentials fields',
  );
  t.match(direct.json.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'Expiration in UTC with Z, second precision');
  t.equal(direct.json.AccountId, '111111111111');

  const call = d.sts.assumeRoleRequests.at(-1)!;
  t.equal(call.RoleArn, ROLE_ARNS.dev);
  t.equal(
    call.SourceIdentity,
    `sentinel-alice-direct-${session.id}`,
    'SourceIdentity is sentinel-<user>-<marker>-<session id>',
  );
  t.equal(call.DurationSeconds, 1800, 'DurationSeconds from config credentials.duration (30m)');
  t.equal(call.accessKeyId, 'AKIASENTINELTESTBASE', 'assumed with the base credentials of the source profile');

  const lines = (await d.decisions()).filter((l) => l.session_id === session.id);
  t.ok(lines.length >= 1 + CLIENT_NAMES.length, 'a decision line for the open and for every fetch');
  t.ok(
    lines.every((l) => l.outcome === 'allow' && l.source_identity === call.SourceIdentity),
    'each line carries the SourceIdentity CloudTrail will show',
  );
  const opening = lines.find((l) => l.event === 'session_open')!;
  t.equal(
    call.RoleSessionName,
    `sentinel-alice-${opening.request_id}`,
    'RoleSessionName carries the request id of the decision that caused the AssumeRole',
  );
  const record = await d.client.get<Record<string, unknown>>(`/v1/sessions/${session.id}`);
  t.match(
    record,
    {
      source_identity: call.SourceIdentity,
      role_arn: ROLE_ARNS.dev,
      credentials_valid_until: issued.expiration.toISOString(),
    },
    'the session record names its SourceIdentity, role and how long its credentials live',
  );

  const prod = await d.openSession('prod');
  t.equal(prod.region, 'eu-central-1');
  t.equal(
    d.sts.assumeRoleRequests.at(-1)!.DurationSeconds,
    1200,
    'the rule max_server_duration (20m) caps the 30m default',
  );
});

t.test('a policy denial reaches every client as a 403 with a code and a message that says why', async (t) => {
  const d = await daemon(t);
  const session = await d.openSession('dev');
  writeFileSync(
    d.policyFile,
    POLICY.replace('effect: allow', 'effect: deny').replace('alice develops on dev', 'dev is frozen for the audit'),
  );
  const reloaded = await d.client.post<{ policy: { lastError: string | null } }>('/v1/policy/reload', {});
  t.equal(reloaded.policy.lastError, null);

  const direct = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(direct.status, 403);
  t.equal(direct.headers['content-type'], 'application/json');
  t.match(direct.json, { Code: 'PolicyDenied', code: 'PolicyDenied' });
  t.equal(direct.json.Message, direct.json.message);
  t.match(
    direct.json.Message,
    /dev-for-alice.*dev is frozen for the audit/,
    'the message names the rule and its reason',
  );
  t.match(direct.json.hint, /sentinel policy test/, 'and says what to do next');

  const before = d.sts.calls.AssumeRole;
  const [jsChain, jsHttp, botocore, cli] = await Promise.all(
    (['js-sdk', 'js-from-http', 'botocore', 'aws-cli'] as const).map((name) =>
      fetchWithClient(name, session.url, session.token),
    ),
  );
  for (const [name, r] of [
    ['js-sdk', jsChain],
    ['js-from-http', jsHttp],
    ['botocore', botocore],
    ['aws-cli', cli],
  ] as const) {
    t.not(r.code, 0, `${name} fails`);
    t.equal(r.credentials, undefined, `${name} got no credentials`);
  }
  const httpError = JSON.parse(jsHttp!.stderr) as { Code?: string; Message?: string };
  t.equal(httpError.Code, 'PolicyDenied', 'the JS container provider surfaces the code');
  t.match(httpError.Message, /dev is frozen for the audit/);
  t.match(
    botocore!.stderr,
    /\(403\).*"Code":"PolicyDenied".*dev is frozen for the audit/,
    'botocore shows the status, code and reason',
  );
  t.match(
    cli!.stderr,
    /\(403\).*"Code":"PolicyDenied".*dev is frozen for the audit/,
    'the AWS CLI shows the status, code and reason',
  );
  t.equal(d.sts.calls.AssumeRole, before, 'a denial never reaches STS');

  const denials = (await d.decisions()).filter((l) => l.session_id === session.id && l.outcome === 'deny');
  t.ok(denials.length >= 4, 'every refused fetch is a decision-log line');
  t.ok(denials.every((l) => l.error_code === 'PolicyDenied' && l.rule === 'dev-for-alice' && l.effect === 'deny'));
});

t.test('require_server allows the server mode and refuses credential_process and raw-credential modes', async (t) => {
  const d = await daemon(t);
  const session = await d.openSession('prod');
  const fetched = await fetchWithClient('js-sdk', session.url, session.token);
  t.equal(fetched.code, 0, 'a server-mode session of prod serves the SDK');

  const viaProcess = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/credentials',
    body: { profile: 'prod' },
  });
  t.equal(viaProcess.status, 403);
  t.equal(viaProcess.json.Code, 'ServerModeRequired');
  t.match(viaProcess.json.Message, /prod-through-daemon.*credential_process/);
  t.match(viaProcess.json.hint, /sentinel use/);

  const cliMode = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/sessions',
    body: { profile: 'prod', mode: 'cli' },
  });
  t.equal(cliMode.status, 403);
  t.equal(cliMode.json.Code, 'ServerModeRequired');

  const viaDevProcess = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/credentials',
    body: { profile: 'dev' },
  });
  t.equal(viaDevProcess.status, 200, 'credential_process works where the rule allows it');
  t.same(Object.keys(viaDevProcess.json).sort(), [
    'AccessKeyId',
    'AccountId',
    'Expiration',
    'SecretAccessKey',
    'Token',
  ]);

  const lines = await d.decisions();
  t.ok(
    lines.some(
      (l) =>
        l.event === 'credential_process' &&
        l.outcome === 'deny' &&
        l.error_code === 'ServerModeRequired' &&
        l.effect === 'require_server',
    ),
  );
  t.ok(lines.some((l) => l.event === 'session_open' && l.mode === 'cli' && l.error_code === 'ServerModeRequired'));
});
