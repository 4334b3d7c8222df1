// The daemon as the SigV4 bridge to the server-side vendor, end to end: daemon → API Gateway stand-in (IAM
// authorization) → the real Lambda handler → STS emulator. The AWS CLI and botocore get credentials under
// `sentinel exec` and through credential_process; the AssumeRole is the vendor's, stamped with the SourceIdentity of
// the vendor's session, and the user's own keys make no AssumeRole at all; a policy "no" arrives with its message;
// a revocation at the vendor takes effect at the next request; the daemon reads no local policy.
import t, { type Test as Tap } from 'tap';
import { appendFileSync } from 'node:fs';
import { ALICE, CAROL, startBridge } from './support/bridge.js';
import { ENTRY, requireBuild, sentinel, userEnv, type Run } from './support/cli.js';
import { runProcess } from './support/daemon.js';
import { DEV_ROLE, VENDOR_KEY } from './support/vendor.js';
import type { SentinelError } from '../core/errors.js';

const BOTOCORE_CONTAINER = `import json, botocore.session
f = botocore.session.Session().get_credentials().get_frozen_credentials()
print(json.dumps({"AccessKeyId": f.access_key, "Token": f.token}))`;

const BOTOCORE_PROFILE = `import json, sys, botocore.session
f = botocore.session.Session(profile=sys.argv[1]).get_credentials().get_frozen_credentials()
print(json.dumps({"AccessKeyId": f.access_key, "Token": f.token}))`;

t.test('SDKs get credentials through daemon → stand-in → handler → STS', async (t) => {
  requireBuild();
  const b = await startBridge(t);
  const { daemon: d, vendor: v } = b;
  appendFileSync(
    d.awsConfigFile,
    `
[profile dev-sentinel]
credential_process = ${process.execPath} ${ENTRY} credentials --profile dev

[profile frozen-sentinel]
credential_process = ${process.execPath} ${ENTRY} credentials --profile frozen
`,
  );
  const env = userEnv(d, { AWS_REGION: 'us-east-1' }) as Record<string, string>;
  const issued = (id: string, token: string) =>
    v.sts.issued.some((c) => c.accessKeyId === id && c.sessionToken === token);
  /** The AWS CLI's export-credentials and the botocore script both printed credentials the STS emulator issued. */
  const bothIssued = (t: Tap, cli: Run, boto: Run) => {
    t.equal(cli.code, 0, cli.stderr);
    const c = JSON.parse(cli.stdout);
    t.ok(issued(c.AccessKeyId, c.SessionToken), 'AWS CLI: credentials the STS emulator issued');
    t.equal(boto.code, 0, boto.stderr);
    const bc = JSON.parse(boto.stdout);
    t.ok(issued(bc.AccessKeyId, bc.Token), 'botocore: credentials the STS emulator issued');
  };

  await t.test('daemon status names the vendor and no local policy', async (t) => {
    const status = await d.client.get<Record<string, any>>('/v1/status');
    t.same(status.vendor, { url: b.gw.url, region: 'us-east-1', profile: 'base' });
    t.equal(status.policy.source, 'vendor');
    t.equal(status.store, 'vendor');
    const r = await sentinel(t, ['daemon', 'status'], { env });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, `vendor:   ${b.gw.url} (us-east-1; signed as base)`);
    t.match(r.stdout, /policy: {3}decided by the vendor/);
  });

  await t.test('the AWS CLI and botocore under sentinel exec', async (t) => {
    const [cli, boto] = await Promise.all([
      sentinel(t, ['exec', 'dev', '--', '/usr/bin/aws', 'configure', 'export-credentials', '--format', 'process'], {
        env,
      }),
      sentinel(t, ['exec', 'dev', '--', '/usr/bin/python3', '-I', '-c', BOTOCORE_CONTAINER], { env }),
    ]);
    bothIssued(t, cli, boto);
    const assumed = v.sts.assumeRoleRequests.filter((r) => r.outcome === 'ok');
    t.ok(assumed.length >= 2, 'one AssumeRole per exec session');
    for (const r of assumed) {
      t.equal(r.accessKeyId, VENDOR_KEY, "made by the vendor's execution role");
      t.equal(r.RoleArn, DEV_ROLE);
      t.match(r.SourceIdentity, /^sentinel-alice-direct-[0-9a-f]{16}$/, 'carrying the SourceIdentity');
    }
    const sessionIds = new Set(v.decisions.filter((e) => e.event === 'session_open').map((e) => e.session_id));
    t.ok(
      assumed.every((r) => sessionIds.has(r.SourceIdentity!.slice(-16))),
      "the SourceIdentity names the vendor's session",
    );
  });

  await t.test('the AWS CLI and botocore through credential_process', async (t) => {
    const [cli, boto] = await Promise.all([
      runProcess(
        '/usr/bin/aws',
        ['configure', 'export-credentials', '--profile', 'dev-sentinel', '--format', 'process'],
        { env },
      ),
      runProcess('/usr/bin/python3', ['-I', '-c', BOTOCORE_PROFILE, 'dev-sentinel'], { env }),
    ]);
    bothIssued(t, cli, boto);
    t.equal(
      v.decisions.filter((e) => e.event === 'credential_process' && e.outcome === 'allow').at(-1)?.user,
      'alice',
      'the vendor decided for the verified caller',
    );
  });

  await t.test('a policy "no" arrives with its message, through every path', async (t) => {
    const before = v.sts.calls.AssumeRole;
    const viaProcess = await runProcess(
      '/usr/bin/aws',
      ['configure', 'export-credentials', '--profile', 'frozen-sentinel', '--format', 'process'],
      { env },
    );
    t.not(viaProcess.code, 0);
    const helper = await sentinel(t, ['credentials', '--profile', 'frozen'], { env });
    t.equal(helper.code, 3, 'denied: exit 3');
    t.match(helper.stderr, /frozen during the audit/);
    const exec = await sentinel(t, ['exec', 'frozen', '--', '/bin/true'], { env });
    t.equal(exec.code, 3);
    t.match(exec.stderr, /frozen during the audit/);
    const open = (await d.client.post('/v1/sessions', { profile: 'frozen' }).catch((e: unknown) => e)) as SentinelError;
    t.equal(open.code, 'PolicyDenied', "the vendor's code passes through");
    t.match(open.message, /frozen during the audit/);
    t.equal(v.sts.calls.AssumeRole, before, 'no AssumeRole for a denial');
  });

  await t.test('a revocation at the vendor takes effect at the next request', async (t) => {
    const s = await d.openSession('dev');
    const first = await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s.token });
    t.equal(first.status, 200, first.text);
    const carol = b.vendorAs(CAROL);
    const revoked = (await carol.call({
      method: 'POST',
      path: `/v1/sessions/${s.id}/revoke`,
      body: { reason: 'incident 42' },
    })) as Record<string, unknown>;
    t.equal(revoked.status, 'revoked', 'an approver revoked it at the vendor');
    const next = await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s.token });
    t.equal(next.status, 403);
    t.equal(next.json.Code, 'SessionRevoked');
    t.match(next.json.Message, /incident 42/);
    // Revoking through the daemon forwards too.
    const s2 = await d.openSession('dev');
    await d.client.post(`/v1/sessions/${s2.id}/revoke`, { reason: 'done here' });
    const after = await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s2.token });
    t.equal(after.status, 403);
    const record = (await b.vendorAs(ALICE).call({ method: 'GET', path: `/v1/sessions/${s2.id}` })) as Record<
      string,
      unknown
    >;
    t.equal(record.status, 'revoked', 'the record at the vendor says so');
  });

  await t.test("the user's own keys made no AssumeRole, and the stand-in refused nothing it should not", async (t) => {
    t.ok(v.sts.assumeRoleRequests.length > 0);
    t.equal(
      v.sts.assumeRoleRequests.filter((r) => r.accessKeyId === ALICE.accessKeyId).length,
      0,
      'no AssumeRole signed by the user',
    );
    t.same(b.gw.refused, {}, 'every request the daemon signed was accepted');
    t.ok(
      b.gw.events.every(
        (e) => e.requestContext.identity.userArn === ALICE.arn || e.requestContext.identity.userArn === CAROL.arn,
      ),
      'the vendor saw only verified callers',
    );
  });
});
