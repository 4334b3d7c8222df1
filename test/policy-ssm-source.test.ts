// The SSM source against the local SSM (and KMS) emulators, through the real AWS SDK clients: load with pagination,
// reload after PutParameter, a profile without a parameter, throttling and invalid parameters keeping the last good
// policy, SSM never called per decision, the refresh timer, and signed policies verified with the KMS public key.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { KMSClient } from '@aws-sdk/client-kms';
import { resolveConfig } from '../core/config.js';
import { silentLogger } from '../core/log.js';
import { createPolicyProvider } from '../core/policy/provider.js';
import { signPolicy } from '../core/policy/signature.js';
import type { DecisionRequest, PolicyProvider } from '../core/policy/types.js';
import { startSsm } from './support/ssm-emulator.js';
import { startKms } from './support/kms-emulator.js';
import { emulatorWithClient } from './support/sdk-client.js';
import { until } from './support/wait.js';

const credentials = { accessKeyId: 'AKIAPOLICYTEST000001', secretAccessKey: 'not-a-secret' };
const ROOT = '/sentinel/policies';

const policy = (profile: string, effect = 'allow') => `version: "1"
rules:
  - name: ${profile}-rule
    effect: ${effect}
    conditions: { profiles: [${profile}] }
`;

const req = (profile: string, mode: DecisionRequest['mode'] = 'server'): DecisionRequest => ({
  user: 'alice',
  profile,
  time: new Date(),
  mode,
  sessionStore: 'memory',
});

async function ssmFixture(t: Test) {
  const { emulator: ssm, client } = await emulatorWithClient(
    t,
    startSsm,
    (config) => new SSMClient(config),
    credentials,
  );
  return { ssm, client };
}

function provider(
  t: Test,
  client: SSMClient,
  opts: { refresh?: string; signingKey?: string; kms?: KMSClient; root?: string; firstLoadRetryMs?: number } = {},
): PolicyProvider {
  const config = resolveConfig(
    {
      policy: {
        source: 'ssm',
        ssm_root: opts.root ?? ROOT,
        refresh: opts.refresh ?? '1h',
        signing_key: opts.signingKey ?? null,
      },
    },
    '/nonexistent/config.yaml',
    { HOME: '/nonexistent' },
  );
  const stateDir = mkdtempSync(join(tmpdir(), 'sentinel-serials-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const p = createPolicyProvider(config, {
    log: silentLogger(),
    stateDir,
    ssm: () => client,
    ...(opts.kms ? { kms: () => opts.kms! } : {}),
    ...(opts.firstLoadRetryMs !== undefined ? { firstLoadRetryMs: opts.firstLoadRetryMs } : {}),
  });
  t.teardown(() => p.close());
  return p;
}

t.test(
  'loads every parameter under the root (paginated), decides per profile, and reloads after PutParameter',
  async (t) => {
    const { ssm, client } = await ssmFixture(t);
    for (let i = 0; i < 23; i++)
      ssm.put(`${ROOT}/team-${String(i).padStart(2, '0')}`, policy(`team-${String(i).padStart(2, '0')}`));
    ssm.put(`${ROOT}/prod`, policy('prod', 'require_server'), { type: 'SecureString' });
    ssm.put('/elsewhere/prod', policy('prod', 'deny'));
    const p = provider(t, client);
    await p.start();

    const s = p.status();
    t.equal(s.source, 'ssm');
    t.equal(s.location, ROOT);
    t.equal(s.rules, 24, '24 parameters, one rule each');
    t.equal(s.lastError, null);
    t.ok(ssm.calls.GetParametersByPath >= 3, 'more than one page was read');

    const d = p.decide(req('prod'));
    t.equal(d.allowed, true, 'the SecureString policy was decrypted and used');
    t.equal(d.policySource, `ssm:${ROOT}/prod`);
    t.equal(d.policyVersion, 'v1');
    t.equal(p.decide(req('prod', 'cli')).errorCode, 'ServerModeRequired');
    t.equal(p.decide(req('team-17')).allowed, true);

    ssm.put(`${ROOT}/prod`, policy('prod', 'deny'), { overwrite: true });
    t.equal(p.decide(req('prod')).policyVersion, 'v1', 'nothing changes until a refresh');
    const s2 = await p.reload();
    t.not(s2.version, s.version, 'the snapshot version changed');
    const d2 = p.decide(req('prod'));
    t.equal(d2.policyVersion, 'v2');
    t.equal(d2.allowed, false);
    t.equal(d2.errorCode, 'PolicyDenied');
  },
);

t.test('a profile without a parameter is denied with a message naming the parameter; a deleted one too', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  ssm.put(`${ROOT}/dev`, policy('dev'));
  const p = provider(t, client);
  await p.start();
  const d = p.decide(req('staging'));
  t.equal(d.allowed, false);
  t.equal(d.errorCode, 'PolicyDenied');
  t.equal(d.ruleIndex, -1);
  t.equal(d.policySource, `ssm:${ROOT}/staging`);
  t.equal(d.reason, `no policy for profile "staging": SSM parameter ${ROOT}/staging does not exist`);

  t.equal(p.decide(req('dev')).allowed, true);
  await client.send(new DeleteParameterCommand({ Name: `${ROOT}/dev` }));
  await p.reload();
  const gone = p.decide(req('dev'));
  t.equal(gone.allowed, false, 'a deleted parameter is a policy that is gone');
  t.match(gone.reason, /SSM parameter \/sentinel\/policies\/dev does not exist/);
});

t.test('a first load that fails is tried again soon, not at the next refresh an hour later', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  ssm.put(`${ROOT}/prod`, policy('prod'));
  ssm.setFailure('GetParametersByPath', { code: 'InternalServerError' });
  const p = provider(t, client, { refresh: '1h', firstLoadRetryMs: 300 });
  await p.start();
  t.match(p.status().lastError, /failed \(InternalServerError\); no policy has loaded yet/);
  t.equal(p.decide(req('prod')).errorCode, 'PolicyUnavailable');
  ssm.setFailure('GetParametersByPath', null);
  await until(
    () => p.status().lastError,
    (e) => e === null,
    5_000,
  );
  t.equal(p.decide(req('prod')).allowed, true, 'served once SSM answered, without a reload');
  // Once loaded, the refresh interval applies again: no listing every 300 ms.
  const calls = ssm.calls.GetParametersByPath;
  await new Promise((r) => setTimeout(r, 1_000));
  t.equal(ssm.calls.GetParametersByPath, calls, 'no retry after a successful load');
});

t.test('throttling and network errors keep the last good policies; SSM is never called per decision', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  ssm.put(`${ROOT}/prod`, policy('prod'));
  const p = provider(t, client);
  await p.start();
  const before = p.status();

  ssm.put(`${ROOT}/prod`, policy('prod', 'deny'), { overwrite: true });
  ssm.setFailure('GetParametersByPath', { code: 'ThrottlingException', message: 'Rate exceeded' });
  const s = await p.reload();
  t.match(
    s.lastError,
    /GetParametersByPath on \/sentinel\/policies failed \(ThrottlingException\); keeping the last good policies/,
  );
  t.notMatch(s.lastError, /Rate exceeded/, 'the raw AWS message is not repeated');
  t.equal(s.version, before.version);
  t.equal(p.decide(req('prod')).allowed, true, 'the last good policy still decides');

  ssm.setFailure('GetParametersByPath', { code: 'InternalServerError' });
  t.match((await p.reload()).lastError, /InternalServerError/);
  t.equal(p.decide(req('prod')).policyVersion, 'v1');

  ssm.setFailure('GetParametersByPath', null);
  const calls = ssm.calls.GetParametersByPath;
  for (let i = 0; i < 1000; i++) p.decide(req(i % 2 ? 'prod' : 'other'));
  t.equal(ssm.calls.GetParametersByPath, calls, '1000 decisions, no SSM call');
  t.equal(ssm.calls.GetParameter ?? 0, 0);

  const fixed = await p.reload();
  t.equal(fixed.lastError, null);
  t.equal(p.decide(req('prod')).allowed, false, 'the new version applies once SSM answers');
});

t.test('SSM down at start: every request is PolicyUnavailable until a refresh succeeds', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  ssm.put(`${ROOT}/prod`, policy('prod'));
  ssm.setFailure('GetParametersByPath', { code: 'ThrottlingException' });
  const p = provider(t, client);
  await p.start();
  const d = p.decide(req('prod'));
  t.equal(d.allowed, false);
  t.equal(d.errorCode, 'PolicyUnavailable');
  t.match(d.reason, /ThrottlingException/);
  ssm.setFailure('GetParametersByPath', null);
  await p.reload();
  t.equal(p.decide(req('prod')).allowed, true);
});

t.test(
  "an invalid parameter keeps that profile's last good policy; with none, the profile is PolicyUnavailable",
  async (t) => {
    const { ssm, client } = await ssmFixture(t);
    ssm.put(`${ROOT}/prod`, policy('prod'));
    ssm.put(`${ROOT}/dev`, policy('dev'));
    const p = provider(t, client);
    await p.start();

    ssm.put(
      `${ROOT}/prod`,
      'version: "1"\nrules:\n  - name: x\n    effect: alow\n    conditions: { profiles: [prod] }\n',
      { overwrite: true },
    );
    ssm.put(`${ROOT}/staging`, 'version: "2"\nrules: []\n');
    ssm.put(`${ROOT}/dev`, policy('dev', 'deny'), { overwrite: true });
    const s = await p.reload();
    t.match(s.lastError, /\/sentinel\/policies\/prod \(v2\):4:13: rules\[0\]\.effect: unknown effect "alow"/);
    t.match(s.lastError, /\/sentinel\/policies\/staging \(v1\)/);
    const prod = p.decide(req('prod'));
    t.equal(prod.allowed, true, 'prod keeps v1');
    t.equal(prod.policyVersion, 'v1');
    const staging = p.decide(req('staging'));
    t.equal(staging.errorCode, 'PolicyUnavailable', 'staging never had a good policy');
    t.match(staging.reason, /\/sentinel\/policies\/staging \(v1\):1:10/);
    t.equal(p.decide(req('dev')).allowed, false, 'a valid change elsewhere still applies');
  },
);

t.test('the refresh timer picks up changes without a reload', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  ssm.put(`${ROOT}/prod`, policy('prod'));
  const p = provider(t, client, { refresh: '200ms' });
  await p.start();
  const first = p.status().version;
  ssm.put(`${ROOT}/prod`, policy('prod', 'deny'), { overwrite: true });
  await until(
    () => p.status(),
    (s) => s.version !== first,
  );
  t.equal(p.decide(req('prod')).policyVersion, 'v2');
});

t.test('a root of "/" works (profile = parameter name without the slash)', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  ssm.put('/prod', policy('prod'));
  const p = provider(t, client, { root: '/' });
  await p.start();
  const d = p.decide(req('prod'));
  t.equal(d.allowed, true);
  t.equal(d.policySource, 'ssm:/prod');
});

async function kmsFixture(t: Test) {
  const { emulator: kms, client } = await emulatorWithClient(
    t,
    startKms,
    (config) => new KMSClient(config),
    credentials,
  );
  return { kms, client, key: await kms.createRsaSigningKey() };
}

let signerKeyFetches = 0;

async function sign(
  client: KMSClient,
  keyRef: string,
  text: string,
  profile: string,
  serial = 1,
  tamper?: (metadata: Record<string, unknown>) => void,
): Promise<string> {
  signerKeyFetches += 1; // signPolicy reads the public key too, to name the key ARN and check what KMS made
  const signed = await signPolicy(client, keyRef, Buffer.from(text, 'utf8'), profile, serial);
  if (!tamper) return signed.text;
  const envelope = JSON.parse(signed.text) as { metadata: Record<string, unknown> };
  tamper(envelope.metadata);
  return JSON.stringify(envelope);
}

t.test(
  'signed policies: verified locally with the KMS public key, fetched once; unsigned or badly signed ones refused',
  async (t) => {
    const { ssm, client } = await ssmFixture(t);
    const { kms, client: kmsClient, key } = await kmsFixture(t);
    const other = await kms.createRsaSigningKey();
    signerKeyFetches = 0;

    const prod = policy('prod');
    ssm.put(`${ROOT}/prod`, prod);
    ssm.put('/sentinel/signatures/prod', await sign(kmsClient, key.arn, prod, 'prod'));
    ssm.put(`${ROOT}/unsigned`, policy('unsigned'));
    const forged = policy('forged');
    ssm.put(`${ROOT}/forged`, forged);
    ssm.put(
      '/sentinel/signatures/forged',
      await sign(kmsClient, other.arn, forged, 'forged', 1, (m) => (m.key_id = key.arn)),
    );
    const hashed = policy('hashed');
    ssm.put(`${ROOT}/hashed`, hashed);
    ssm.put(
      '/sentinel/signatures/hashed',
      await sign(kmsClient, key.arn, hashed, 'hashed', 1, (m) => (m.policy_hash = 'a'.repeat(64))),
    );
    ssm.put(`${ROOT}/garbage`, policy('garbage'));
    ssm.put('/sentinel/signatures/garbage', 'not json');

    const p = provider(t, client, { signingKey: key.arn, kms: kmsClient });
    await p.start();
    t.equal(p.decide(req('prod')).allowed, true, 'a validly signed policy is used');
    for (const [profile, why] of [
      ['unsigned', /not signed/],
      ['forged', /does not verify/],
      ['hashed', /does not verify/],
      ['garbage', /not JSON/],
    ] as const) {
      const d = p.decide(req(profile));
      t.equal(d.allowed, false, `${profile}: refused`);
      t.equal(d.errorCode, 'PolicyUnavailable', `${profile}: no good policy`);
      t.match(d.reason, why, `${profile}: says why`);
    }

    // A change that is not re-signed keeps the last good (signed) policy.
    ssm.put(`${ROOT}/prod`, policy('prod', 'deny').replace('deny', 'allow\n    reason: tampered'), { overwrite: true });
    const s = await p.reload();
    t.match(s.lastError, /\/sentinel\/policies\/prod \(v2\): the signature is for other policy bytes/);
    t.equal(p.decide(req('prod')).policyVersion, 'v1');

    // Re-signed with a higher serial: accepted. Signing by the bare key id names the key ARN all the same.
    const v3 = policy('prod', 'require_server');
    ssm.put(`${ROOT}/prod`, v3, { overwrite: true });
    ssm.put('/sentinel/signatures/prod', await sign(kmsClient, key.keyId, v3, 'prod', 2), {
      overwrite: true,
    });
    await p.reload();
    t.equal(p.decide(req('prod')).policyVersion, 'v3');
    t.equal(kms.calls.GetPublicKey! - signerKeyFetches, 1, 'the daemon fetched the public key once');
    t.equal(kms.calls.Verify ?? 0, 0, 'verification is local');
  },
);

t.test('signing key configured but KMS unavailable: nothing unverified is ever used', async (t) => {
  const { ssm, client } = await ssmFixture(t);
  const { kms, client: kmsClient, key } = await kmsFixture(t);
  const prod = policy('prod');
  ssm.put(`${ROOT}/prod`, prod);
  ssm.put('/sentinel/signatures/prod', await sign(kmsClient, key.arn, prod, 'prod'));
  kms.setFailure('GetPublicKey', { code: 'KMSInternalException' });
  const p = provider(t, client, { signingKey: key.arn, kms: kmsClient });
  await p.start();
  const d = p.decide(req('prod'));
  t.equal(d.errorCode, 'PolicyUnavailable');
  t.match(p.status().lastError, /KMS GetPublicKey for the signing key failed \(KMSInternalException\)/);
  kms.setFailure('GetPublicKey', null);
  await p.reload();
  t.equal(p.decide(req('prod')).allowed, true, 'verified once KMS answers');
});

t.test('a signed policy file whose key KMS could not give at start is loaded once KMS answers, unasked', async (t) => {
  const { kms, client: kmsClient, key } = await kmsFixture(t);
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-file-kms-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  const text = policy('prod');
  writeFileSync(file, text, { mode: 0o600 });
  writeFileSync(`${file}.sig`, await sign(kmsClient, key.arn, text, '*'), { mode: 0o600 });
  kms.setFailure('GetPublicKey', { code: 'KMSInternalException' });
  const config = resolveConfig({ policy: { source: 'file', file, signing_key: key.arn } }, '/nonexistent/config.yaml', {
    HOME: '/nonexistent',
  });
  const stateDir = mkdtempSync(join(tmpdir(), 'sentinel-serials-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const p = createPolicyProvider(config, {
    log: silentLogger(),
    stateDir,
    kms: () => kmsClient,
    firstLoadRetryMs: 300,
  });
  t.teardown(() => p.close());
  await p.start();
  t.equal(p.decide(req('prod')).errorCode, 'PolicyUnavailable');
  t.match(p.status().lastError, /KMS GetPublicKey for the signing key failed \(KMSInternalException\); trying again/);
  // Nothing on disk changes when KMS comes back: no watch event, no reload; the source tries again by itself.
  kms.setFailure('GetPublicKey', null);
  await until(
    () => p.status().lastError,
    (e) => e === null,
    5_000,
  );
  t.equal(p.decide(req('prod')).allowed, true);
});
