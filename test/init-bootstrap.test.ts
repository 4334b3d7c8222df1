// `sentinel init bootstrap` and `init status` on an empty account (the SSM emulator and dynalite, real SDK clients):
// it creates exactly what --plan listed, a second run changes nothing, the starting policy passes `policy validate`
// and denies, and bad input writes nothing.
import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSsm } from './support/ssm-emulator.js';
import { startDynalite } from './support/dynalite.js';
import { cleanEnv, sentinelInProcess, tempDir } from './support/cli.js';

/** A loopback port nothing listens on (connections are refused at once). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('bootstrap: plan, apply exactly the plan, a second run changes nothing; status lists it', async (t) => {
  const ssm = await startSsm();
  t.teardown(() => ssm.close());
  const dynalite = await startDynalite();
  t.teardown(() => dynalite.close());
  const dir = tempDir(t, 'sentinel-bootstrap-');
  const env = cleanEnv({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIABOOTSTRAPADMIN01',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.url,
  });
  const cli = (args: string[]) => sentinelInProcess(args, { env });

  const planned = await cli([
    'init',
    'bootstrap',
    'dev',
    'prod',
    '--with-sessions',
    '--with-approvals',
    '--plan',
    '--json',
  ]);
  t.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout);
  t.same(
    plan.plan.map((i: { kind: string; name: string; action: string }) => [i.kind, i.name, i.action]),
    [
      ['parameter', '/sentinel/policies/dev', 'create'],
      ['parameter', '/sentinel/policies/prod', 'create'],
      ['table', 'sentinel-sessions', 'create'],
      ['table', 'sentinel-requests', 'create'],
    ],
  );
  t.ok(plan.iam.daemon && plan.iam.admin && plan.iam.approver, 'IAM policies for the roles involved');
  t.equal(ssm.calls.PutParameter ?? 0, 0, '--plan wrote nothing');

  const refused = await cli(['init', 'bootstrap', 'dev', 'prod', '--with-sessions', '--with-approvals']);
  t.equal(refused.code, 2, 'no confirmation without a terminal');
  t.equal(ssm.calls.PutParameter ?? 0, 0);

  const applied = await cli([
    'init',
    'bootstrap',
    'dev',
    'prod',
    '--with-sessions',
    '--with-approvals',
    '-y',
    '--json',
  ]);
  t.equal(applied.code, 0, applied.stderr);
  const done = JSON.parse(applied.stdout).applied;
  t.same(
    done.map((i: { kind: string; name: string; result: string }) => [i.kind, i.name, i.result]),
    plan.plan.map((i: { kind: string; name: string }) => [i.kind, i.name, 'created']),
    'exactly what the plan listed was created',
  );
  t.equal(ssm.calls.PutParameter, 2);

  // The starting policy validates and denies.
  const file = join(dir, 'dev.yaml');
  writeFileSync(file, ssm.get('/sentinel/policies/dev')!.value);
  const validated = await cli(['policy', 'validate', file]);
  t.equal(validated.code, 0, validated.stdout + validated.stderr);
  const decided = await cli(['policy', 'test', file, '--profile', 'dev', '--user', 'alice']);
  t.equal(decided.code, 3, 'denied');

  const again = await cli(['init', 'bootstrap', 'dev', 'prod', '--with-sessions', '--with-approvals', '-y', '--json']);
  t.equal(again.code, 0);
  t.ok(
    JSON.parse(again.stdout).applied.every((i: { result: string }) => i.result === 'exists'),
    'a second run finds everything in place',
  );
  t.equal(ssm.calls.PutParameter, 2, 'and writes nothing');
  t.equal(ssm.get('/sentinel/policies/dev')!.version, 1);

  // An edited policy is never overwritten by bootstrap.
  ssm.put(
    '/sentinel/policies/prod',
    'version: "1"\nrules:\n  - { name: x, effect: allow, conditions: { profiles: [prod] } }\n',
    {
      overwrite: true,
    },
  );
  const third = await cli(['init', 'bootstrap', 'prod', 'staging', '-y', '--json']);
  t.same(
    JSON.parse(third.stdout).applied.map((i: { name: string; result: string }) => [i.name, i.result]),
    [
      ['/sentinel/policies/prod', 'exists'],
      ['/sentinel/policies/staging', 'created'],
    ],
  );
  t.match(ssm.get('/sentinel/policies/prod')!.value, /name: x/);

  const status = await cli(['init', 'status', '--json']);
  t.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  t.same(
    s.parameters.map((p: { profile: string; version: number; signature: unknown }) => [
      p.profile,
      p.version,
      p.signature,
    ]),
    [
      ['dev', 1, null],
      ['prod', 2, null],
      ['staging', 1, null],
    ],
  );
  t.same(
    s.tables.find((x: { of: string }) => x.of === 'sessions'),
    { of: 'sessions', name: 'sentinel-sessions', status: 'ACTIVE' },
  );
  const human = await cli(['init', 'status']);
  t.match(human.stdout, /dev\s+version 1\s+Standard\s+not signed/);

  // What is stored beside a policy is read, not verified (that needs the key): never called "signed", and a parameter
  // that holds no envelope is said to, not shown as "serial 0".
  const envelope = {
    signature: 'c2lnbmF0dXJl',
    metadata: {
      key_id: 'arn:aws:kms:eu-west-1:123456789012:key/k',
      algorithm: 'RSASSA_PSS_SHA_256',
      signed_at: '2026-12-07T10:00:00Z',
      policy_hash: '0'.repeat(64),
      profile: 'prod',
      serial: 7,
    },
  };
  ssm.put('/sentinel/signatures/prod', JSON.stringify(envelope));
  ssm.put('/sentinel/signatures/staging', 'garbage');
  const stored = await cli(['init', 'status']);
  t.match(stored.stdout, /prod\s+version 2\s+Standard\s+envelope serial 7 \(not verified: sentinel policy verify\)/);
  t.match(stored.stdout, /staging\s+version 1\s+Standard\s+signature parameter unreadable \(not an envelope\)/);
  t.notMatch(stored.stdout, /\bsigned, serial/);
  const storedJson = JSON.parse((await cli(['init', 'status', '--json'])).stdout) as {
    parameters: Array<{ profile: string; signature: unknown }>;
  };
  t.same(
    storedJson.parameters.map((p) => [p.profile, p.signature]),
    [
      ['dev', null],
      ['prod', { serial: 7 }],
      ['staging', { serial: null }],
    ],
  );

  // DynamoDB unreachable: the parameters are still listed, each table says it is unknown and why, exit 1 — and the
  // daemon's "credentials are refused until it answers" is not what an admin listing tables is told.
  const closed = `http://127.0.0.1:${await closedPort()}`;
  const unreachable = await sentinelInProcess(['init', 'status'], {
    env: { ...env, AWS_ENDPOINT_URL_DYNAMODB: closed },
  });
  t.equal(unreachable.code, 1);
  t.match(unreachable.stdout, /dev\s+version 1\s+Standard\s+not signed/);
  t.match(
    unreachable.stdout,
    /sessions\s+sentinel-sessions\s+unknown \(the session table sentinel-sessions cannot be reached\)/,
  );
  t.match(unreachable.stdout, /approvals\s+sentinel-requests\s+unknown/);
  t.match(
    unreachable.stderr,
    /^Error: DynamoDB did not describe sentinel-sessions, sentinel-requests, sentinel-breakglass: their state is unknown/,
  );
  t.notMatch(unreachable.stderr, /credentials are refused/);

  // Bad input: nothing written.
  const puts = ssm.calls.PutParameter;
  for (const [args, why] of [
    [['init', 'bootstrap', '../x', '-y'], /is not a profile name/],
    [['init', 'bootstrap', 'a\u001b[31m', '-y'], /is not a profile name/],
    [['init', 'bootstrap', 'dev', '-y', '--root', 'policies'], /not an SSM parameter path/],
    [['init', 'bootstrap', 'dev', '-y', '--with-nothing'], /unknown option/],
  ] as const) {
    const r = await cli([...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, why);
  }
  t.equal(ssm.calls.PutParameter, puts, 'nothing written');
});
