// The team's policy workflow end to end (DESIGN §13): `policy push --sign` into the SSM emulator, a daemon with
// `source: ssm` and `signing_key` serving by it, `pull` byte for byte, `diff` 0/1/2, tiers by size, and the daemon
// refusing replays, copies, tampering and other keys while it keeps its last good policy. Real SDK clients, the
// strict SSM and KMS emulators; the CLI runs in this process (sentinelInProcess).
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSsm, type SsmEmulator } from './support/ssm-emulator.js';
import { startKms, type KmsEmulator } from './support/kms-emulator.js';
import { cleanEnv, sentinelInProcess, tempDir, userEnv } from './support/cli.js';
import { startDaemon, type DaemonHarness } from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import { BASE_ACCESS_KEY, BASE_ARN } from './support/daemon.js';

const ALIAS = 'alias/sentinel-policy';

const policyFor = (profile: string, effect = 'allow', extra = '') => `version: "1"
rules:
  - name: ${profile}-alice
    effect: ${effect}
    conditions: { profiles: [${profile}], users: [alice] }
    reason: ${profile} for alice${extra}
`;

interface Fixture {
  ssm: SsmEmulator;
  kms: KmsEmulator;
  key: { keyId: string; arn: string };
  dir: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[]): ReturnType<typeof sentinelInProcess>;
  write(name: string, text: string): string;
}

async function fixture(t: Test): Promise<Fixture> {
  const ssm = await startSsm();
  const kms = await startKms();
  t.teardown(() => ssm.close());
  t.teardown(() => kms.close());
  const key = await kms.createRsaSigningKey({ alias: ALIAS });
  const dir = tempDir(t, 'sentinel-policyflow-');
  const env = cleanEnv({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    XDG_STATE_HOME: join(dir, '.state'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAPOLICYADMIN00001',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
  });
  return {
    ssm,
    kms,
    key,
    dir,
    env,
    cli: (args) => sentinelInProcess(args, { env }),
    write(name, text) {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    },
  };
}

/** A daemon whose policy comes from the SSM emulator, signed by the key (given by alias, as a user would). */
async function signedDaemon(t: Test, f: Fixture): Promise<DaemonHarness> {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  return startDaemon(t, {
    sts,
    policy: null,
    config: `aws_profile: base\npolicy: { source: ssm, signing_key: ${ALIAS}, refresh: 1h }\n`,
    env: { AWS_ENDPOINT_URL_SSM: f.ssm.url, AWS_ENDPOINT_URL_KMS: f.kms.url },
  });
}

async function reload(d: DaemonHarness) {
  return (
    await d.client.post<{ policy: { lastError: string | null; version: string | null } }>('/v1/policy/reload', {})
  ).policy;
}

async function openError(d: DaemonHarness, profile: string): Promise<string> {
  try {
    await d.openSession(profile);
  } catch (e) {
    return (e as { code?: string }).code ?? 'unknown';
  }
  return 'opened';
}

t.test('round trip: push --sign, a signed daemon serves by it, pull is byte-exact, diff 0 then 1', async (t) => {
  const f = await fixture(t);
  // Comments and odd spacing survive: nothing is re-formatted on the way.
  const text = `# team policy for prod\nversion:   "1"\n${policyFor('prod').split('\n').slice(1).join('\n')}`;
  const file = f.write('prod.yaml', text);

  const pushed = await f.cli(['policy', 'push', 'prod', file, '--sign', '--key', ALIAS, '-y']);
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(
    pushed.stdout,
    /wrote \/sentinel\/policies\/prod version 1 \(Standard\); signed: \/sentinel\/signatures\/prod serial 1/,
  );
  t.match(pushed.stderr, /\+\+\+ .*prod\.yaml/, 'the diff was shown');
  t.equal(f.ssm.get('/sentinel/policies/prod')?.value, text);
  const envelope = JSON.parse(f.ssm.get('/sentinel/signatures/prod')!.value);
  t.same(
    { profile: envelope.metadata.profile, serial: envelope.metadata.serial, key_id: envelope.metadata.key_id },
    { profile: 'prod', serial: 1, key_id: f.key.arn },
    'the envelope binds profile, serial and the key ARN (not the alias)',
  );
  t.equal(f.kms.calls.Sign, 1);

  const d = await signedDaemon(t, f);
  const s = await d.openSession('prod');
  t.match(s.id, /^[0-9a-f]{16}$/, 'the daemon serves by the signed policy');

  const pulled = await f.cli(['policy', 'pull', 'prod', '-o', join(f.dir, 'pulled.yaml')]);
  t.equal(pulled.code, 0, pulled.stderr);
  t.ok(readFileSync(join(f.dir, 'pulled.yaml')).equals(Buffer.from(text)), 'pull -o: the same bytes');
  const toStdout = await f.cli(['policy', 'pull', 'prod']);
  t.equal(toStdout.stdout, text, 'pull to stdout: the same bytes');

  const same = await f.cli(['policy', 'diff', 'prod', file]);
  t.same([same.code, same.stdout], [0, '']);
  writeFileSync(file, text.replace('prod for alice', 'prod for alice and bob'));
  const changed = await f.cli(['policy', 'diff', 'prod', file]);
  t.equal(changed.code, 1);
  t.match(changed.stdout, /^--- ssm:\/sentinel\/policies\/prod\n\+\+\+ .*prod\.yaml\n@@ -\d+,\d+ \+\d+,\d+ @@\n/);
  t.match(changed.stdout, /\n-    reason: prod for alice\n\+    reason: prod for alice and bob\n/);
  const broken = await f.cli(['policy', 'diff', 'prod', join(f.dir, 'missing.yaml')]);
  t.equal(broken.code, 2, 'diff: an error is exit 2');
  t.match(broken.stderr, /^Error: .*missing\.yaml does not exist/);

  // Pushing the same bytes again writes nothing.
  writeFileSync(file, text);
  const again = await f.cli(['policy', 'push', 'prod', file, '-y']);
  t.equal(again.code, 0);
  t.equal(f.ssm.get('/sentinel/policies/prod')?.version, 1, 'unchanged');
});

t.test('replay, copy, tamper and another key: the running daemon keeps its last good policy', async (t) => {
  const f = await fixture(t);
  const v1 = f.write('v1.yaml', policyFor('prod'));
  t.equal((await f.cli(['policy', 'push', 'prod', v1, '--sign', '--key', ALIAS, '-y'])).code, 0);
  const v1Envelope = f.ssm.get('/sentinel/signatures/prod')!.value;
  const v2 = f.write('v2.yaml', policyFor('prod', 'allow', '\n    max_server_duration: 1h'));
  t.equal((await f.cli(['policy', 'push', 'prod', v2, '--sign', '--key', ALIAS, '-y'])).code, 0);
  t.equal(JSON.parse(f.ssm.get('/sentinel/signatures/prod')!.value).metadata.serial, 2, 'serial = stored + 1');
  const dev = f.write('dev.yaml', policyFor('dev'));
  t.equal((await f.cli(['policy', 'push', 'dev', dev, '--sign', '--key', ALIAS, '-y'])).code, 0);

  const d = await signedDaemon(t, f);
  t.equal((await reload(d)).version !== null, true);
  const goodVersion = (await d.client.get<any>('/v1/status')).policy.version;
  t.equal(await openError(d, 'prod'), 'opened');

  // Replay: the old policy with its old (valid) envelope.
  f.ssm.put('/sentinel/policies/prod', policyFor('prod'), { overwrite: true });
  f.ssm.put('/sentinel/signatures/prod', v1Envelope, { overwrite: true });
  let status = await reload(d);
  t.match(status.lastError, /\/sentinel\/policies\/prod \(v3\): the signature serial 1 is older than 2/);
  t.equal(status.version, goodVersion, 'last good kept');
  t.equal(await openError(d, 'prod'), 'opened');

  // Copy: dev's policy and envelope put under prod.
  f.ssm.put('/sentinel/policies/prod', readFileSync(dev, 'utf8'), { overwrite: true });
  f.ssm.put('/sentinel/signatures/prod', f.ssm.get('/sentinel/signatures/dev')!.value, { overwrite: true });
  status = await reload(d);
  t.match(status.lastError, /signature is for profile "dev", not "prod"/);
  t.equal(await openError(d, 'prod'), 'opened', 'still the last good policy');

  // Tamper: the parameter changed without re-signing.
  const tampered = policyFor('prod').replace('users: [alice]', 'users: [alice, mallory]');
  f.ssm.put('/sentinel/policies/prod', tampered, { overwrite: true });
  f.ssm.put('/sentinel/signatures/prod', f.ssm.get('/sentinel/signatures/prod')!.value, { overwrite: true });
  status = await reload(d);
  t.match(status.lastError, /\/sentinel\/policies\/prod \(v\d+\): the signature is for/);
  const shown = await d.client.get<any>('/v1/status');
  t.match(shown.policy.lastError, /signature/, '`daemon status` says why');
  t.equal(shown.policy.version, goodVersion);

  // Another key: a valid signature by a key that is not the configured one.
  const other = await f.kms.createRsaSigningKey({ alias: 'alias/someone-else' });
  const file = f.write('tampered.yaml', tampered);
  t.equal(
    (await f.cli(['policy', 'sign', 'prod', file, '--key', other.arn, '--serial', '9', '-o', `${file}.sig`])).code,
    0,
  );
  f.ssm.put('/sentinel/signatures/prod', readFileSync(`${file}.sig`, 'utf8'), { overwrite: true });
  status = await reload(d);
  t.match(status.lastError, /signed with another key/);

  // A fresh daemon with only the tampered parameter refuses every request for it.
  await d.stop();
  const fresh = await signedDaemon(t, f);
  t.equal(await openError(fresh, 'prod'), 'PolicyUnavailable');
  // The hint is for a policy in SSM: no local file to validate, a parameter someone publishes signed.
  const refusal = await fresh.fetch({
    transport: 'unix',
    method: 'POST',
    path: '/v1/credentials',
    body: { profile: 'prod' },
  });
  t.equal(refusal.json.Code, 'PolicyUnavailable');
  t.notMatch(refusal.json.hint, /policy validate/, 'no file to validate');
  t.match(
    refusal.json.hint,
    /sentinel daemon status.*sentinel policy push prod <file> --sign --key <kms key>.*sentinel daemon reload/,
  );
  t.equal(await openError(fresh, 'dev'), 'opened', 'other profiles are unaffected');
  t.equal(f.kms.calls.Verify ?? 0, 0, 'no daemon ever called KMS Verify');
});

t.test('one profile signed, another not: `daemon status` shows what is served and what was refused', async (t) => {
  const f = await fixture(t);
  t.equal(
    (await f.cli(['policy', 'push', 'prod', f.write('prod.yaml', policyFor('prod')), '--sign', '--key', ALIAS, '-y']))
      .code,
    0,
  );
  t.equal((await f.cli(['policy', 'push', 'dev', f.write('dev.yaml', policyFor('dev')), '-y'])).code, 0);
  const d = await signedDaemon(t, f);
  t.equal(await openError(d, 'prod'), 'opened', 'prod is served');
  t.equal(await openError(d, 'dev'), 'PolicyUnavailable');
  const status = await sentinelInProcess(['daemon', 'status'], { env: userEnv(d) });
  t.equal(status.code, 0, status.stderr);
  t.match(
    status.stdout,
    /^policy: +ssm:\/sentinel\/policies \(version [0-9a-f]{12}, 1 rule\); not loaded: \/sentinel\/policies\/dev \(v1\): the policy is not signed/m,
  );
  t.notMatch(status.stdout, /NOT LOADED/, 'not "NOT LOADED" while prod is in force');
  const reloaded = await sentinelInProcess(['daemon', 'reload'], { env: userEnv(d) });
  t.equal(reloaded.code, 1, 'reload still exits non-zero: a policy was refused');
  t.match(reloaded.stderr, /\/sentinel\/policies\/dev \(v1\): the policy is not signed/);

  // Whoever can write SSM writes what refusals quote: a key with terminal escapes (a window title, colours) is shown
  // escaped by status, reload and the refusal of a request, never sent to the developer's terminal.
  f.ssm.put(
    '/sentinel/policies/blocked',
    'version: "1"\nrules:\n  - name: x\n    effect: allow\n    conditions: { profiles: [blocked] }\n    "\\e]0;pwned\\a\\e[31m": 1\n', // YAML escapes: ESC, BEL
  );
  const outputs = [
    (await sentinelInProcess(['daemon', 'reload'], { env: userEnv(d) })).stderr,
    (await sentinelInProcess(['daemon', 'status'], { env: userEnv(d) })).stdout,
    (await sentinelInProcess(['credentials', '--profile', 'blocked'], { env: userEnv(d) })).stderr,
    // The admin's review of step 4: pull, then validate.
    await f
      .cli(['policy', 'pull', 'blocked', '-o', join(f.dir, 'blocked.yaml')])
      .then(async () => (await sentinelInProcess(['policy', 'validate', join(f.dir, 'blocked.yaml')])).stdout),
  ];
  // Raw control bytes in the parameter itself (SSM takes them; no policy may hold them): `policy diff` shows them.
  f.ssm.put('/sentinel/policies/blocked', 'version: "1"\n# \u001b]0;pwned\u0007\n', { overwrite: true });
  const diffed = await f.cli(['policy', 'diff', 'blocked', join(f.dir, 'blocked.yaml')]);
  t.equal(diffed.code, 1);
  t.match(diffed.stdout, /^-# \\u001b\]0;pwned\\u0007$/m);
  t.notOk(/[\u0000-\u0009\u000b-\u001f]/.test(diffed.stdout), 'the diff sends no control character');
  for (const out of outputs) {
    t.match(out, /unknown key "\\u001b\]0;pwned\\u0007\\u001b\[31m"/, 'shown escaped');
    t.notOk(/[\u0000-\u0009\u000b-\u001f]/.test(out), 'no control character but newlines reaches the terminal');
  }
});

t.test(
  'an envelope replaced by someone with SSM write only: push --sign refuses the serial, --serial recovers',
  async (t) => {
    const f = await fixture(t);
    const push = (file: string, ...extra: string[]) =>
      f.cli(['policy', 'push', 'prod', file, '--sign', '--key', ALIAS, '-y', ...extra]);
    t.equal((await push(f.write('v1.yaml', policyFor('prod')))).code, 0);
    t.equal((await push(f.write('v2.yaml', policyFor('prod', 'allow', '\n    max_server_duration: 1h')))).code, 0);
    const d = await signedDaemon(t, f);
    t.equal(await openError(d, 'prod'), 'opened', 'the daemon accepted serial 2');

    // The envelope is overwritten (or deleted): the stored serial would restart at 0, and serial 1 would be refused by
    // every daemon that accepted 2, so the policy in force (say, one that still lets mallory in) could not be changed.
    const tightened = f.write('v3.yaml', policyFor('prod', 'deny'));
    for (const replace of [
      () => f.ssm.put('/sentinel/signatures/prod', 'not an envelope', { overwrite: true }),
      () =>
        f.ssm.put(
          '/sentinel/signatures/prod',
          f.ssm.get('/sentinel/signatures/prod')!.value.replace('"serial":2', '"serial":0'),
          { overwrite: true },
        ),
    ]) {
      replace();
      const before = f.ssm.get('/sentinel/policies/prod')!.version;
      const refused = await push(tightened);
      t.equal(refused.code, 1, refused.stdout);
      t.match(
        refused.stderr,
        /^Error: \/sentinel\/signatures\/prod is not this key's signature of \/sentinel\/policies\/prod \(version 2\): .*its serial cannot be trusted.*nothing was written\nHint: Pass --serial/m,
      );
      t.equal(f.ssm.get('/sentinel/policies/prod')!.version, before, 'nothing was written');
    }

    const recovered = await push(tightened, '--serial', '10');
    t.equal(recovered.code, 0, recovered.stderr);
    t.match(recovered.stdout, /signed: \/sentinel\/signatures\/prod serial 10/);
    t.equal((await reload(d)).lastError, null, 'the daemon accepts serial 10');
    t.equal(await openError(d, 'prod'), 'PolicyDenied', 'and enforces the tightened policy');

    // With a trustworthy envelope stored again, the serial follows it.
    const next = await push(f.write('v4.yaml', policyFor('prod')));
    t.match(next.stdout, /serial 11/);
    t.equal(
      (await f.cli(['policy', 'push', 'prod', tightened, '--serial', '3', '-y'])).code,
      2,
      '--serial needs --sign',
    );
  },
);

t.test(
  'the policy written but not its signature: push says the policy is in SSM, unsigned, and how to finish',
  async (t) => {
    const f = await fixture(t);
    t.equal(
      (await f.cli(['policy', 'push', 'prod', f.write('v1.yaml', policyFor('prod')), '--sign', '--key', ALIAS, '-y']))
        .code,
      0,
    );
    // A signature parameter SSM will not take a new value for (an AllowedPattern stays with a parameter).
    const { SSMClient, PutParameterCommand } = await import('@aws-sdk/client-ssm');
    const ssm = new SSMClient({
      region: 'us-east-1',
      endpoint: f.ssm.url,
      credentials: { accessKeyId: 'AKIAPOLICYADMIN00001', secretAccessKey: 'not-a-secret' },
    });
    t.teardown(() => ssm.destroy());
    await ssm.send(
      new PutParameterCommand({
        Name: '/sentinel/signatures/prod',
        Value: f.ssm.get('/sentinel/signatures/prod')!.value,
        Overwrite: true,
        AllowedPattern: '^\\{"signature":"[A-Za-z0-9+/=]{340,350}".*"serial":1}}$',
      }),
    );
    const r = await f.cli([
      'policy',
      'push',
      'prod',
      f.write('v2.yaml', policyFor('prod', 'deny')),
      '--sign',
      '--key',
      ALIAS,
      '-y',
    ]);
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      /^Error: \/sentinel\/policies\/prod was written \(version 2\) but its signature was not: .*PutParameter \/sentinel\/signatures\/prod failed \(ParameterPatternMismatchException\); daemons with policy\.signing_key keep their last good policy for prod until it is\nHint: .*--sign --key alias\/sentinel-policy --serial 2/m,
    );
    t.equal(f.ssm.get('/sentinel/policies/prod')!.version, 2, 'the policy is in SSM, as the error says');
  },
);

t.test('no region, no credentials: pull says which, instead of "failed (Error)"', async (t) => {
  const f = await fixture(t);
  const env = { ...f.env };
  delete env.AWS_REGION;
  const noRegion = await sentinelInProcess(['policy', 'pull', 'prod'], { env });
  t.equal(noRegion.code, 1);
  t.match(
    noRegion.stderr,
    /^Error: SSM GetParameter \/sentinel\/policies\/prod: no AWS region was given and none is configured\nHint: Pass --region/,
  );
  const keyless = { ...f.env };
  delete keyless.AWS_ACCESS_KEY_ID;
  delete keyless.AWS_SECRET_ACCESS_KEY;
  const noCredentials = await sentinelInProcess(['policy', 'pull', 'prod', '--profile', 'nosuch'], { env: keyless });
  t.equal(noCredentials.code, 1);
  t.match(
    noCredentials.stderr,
    /^Error: SSM GetParameter \/sentinel\/policies\/prod: no AWS credentials could be found\nHint: Name a profile/,
  );
});

t.test('sizes: 6 KB goes Advanced and signs, 9 KB is refused before anything is written', async (t) => {
  const f = await fixture(t);
  const pad = (n: number) => `\n# ${'x'.repeat(n)}\n`;
  const six = f.write('six.yaml', policyFor('big') + pad(6 * 1024 - 200));
  const pushed = await f.cli(['policy', 'push', 'big', six, '--sign', '--key', f.key.keyId, '-y', '--json']);
  t.equal(pushed.code, 0, pushed.stderr);
  const out = JSON.parse(pushed.stdout);
  t.same([out.tier, out.written, out.signature.serial], ['Advanced', true, 1]);
  t.equal(f.ssm.get('/sentinel/policies/big')?.tier, 'Advanced');

  // Advanced stays Advanced: a small policy is written to the Advanced tier (the emulator refuses a downgrade).
  const small = f.write('small.yaml', policyFor('big', 'deny'));
  const shrunk = await f.cli(['policy', 'push', 'big', small, '-y', '--json']);
  t.equal(shrunk.code, 0, shrunk.stderr);
  t.equal(JSON.parse(shrunk.stdout).tier, 'Advanced');
  t.match(shrunk.stderr, /not signed/, 'an unsigned push says daemons with a signing key will refuse it');

  const puts = f.ssm.calls.PutParameter;
  const nine = f.write('nine.yaml', policyFor('huge') + pad(9 * 1024));
  const refused = await f.cli(['policy', 'push', 'huge', nine, '--sign', '--key', ALIAS, '-y']);
  t.equal(refused.code, 1);
  t.match(
    refused.stderr,
    /^Error: .*nine\.yaml is \d+ bytes; SSM parameters hold at most 8192 .*nothing was written\nHint: /,
  );
  t.equal(f.ssm.calls.PutParameter, puts, 'no PutParameter');
  t.equal(f.kms.calls.Sign, 1, 'nothing signed either');
  t.equal(f.ssm.get('/sentinel/policies/huge'), undefined);
});

t.test('sign and verify: local verification, never KMS Verify; a bad signature exits 1', async (t) => {
  const f = await fixture(t);
  const file = f.write('p.yaml', policyFor('prod'));
  const sig = `${file}.sig`;
  const signed = await f.cli(['policy', 'sign', 'prod', file, '--key', ALIAS, '-o', sig]);
  t.equal(signed.code, 0, signed.stderr);
  t.equal(JSON.parse(readFileSync(sig, 'utf8')).metadata.serial, 1);
  t.equal((await f.cli(['policy', 'sign', 'prod', file, '--key', ALIAS, '-o', sig])).code, 0);
  t.equal(JSON.parse(readFileSync(sig, 'utf8')).metadata.serial, 2, 're-signing into the same file moves forward');

  const ok = await f.cli(['policy', 'verify', file, '--signature', sig, '--key', ALIAS]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, new RegExp(`valid: .*p\\.yaml signed by ${f.key.arn} for profile prod, serial 2`));
  const json = await f.cli([
    'policy',
    'verify',
    file,
    '--signature',
    sig,
    '--key',
    f.key.arn,
    '--for',
    'prod',
    '--json',
  ]);
  t.same(JSON.parse(json.stdout).valid, true);

  writeFileSync(file, policyFor('prod', 'deny'));
  const bad = await f.cli(['policy', 'verify', file, '--signature', sig, '--key', ALIAS]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^Error: .*p\.yaml\.sig: the signature is for other policy bytes/);
  const wrongProfile = await f.cli(['policy', 'verify', file, '--signature', sig, '--key', ALIAS, '--for', 'dev']);
  t.equal(wrongProfile.code, 1);
  const notEnvelope = f.write('garbage.sig', '{"signature": "AAAA"}');
  const garbage = await f.cli(['policy', 'verify', file, '--signature', notEnvelope, '--key', ALIAS]);
  t.equal(garbage.code, 1);
  t.match(garbage.stderr, /not a Sentinel signature envelope/);
  t.equal(f.kms.calls.Verify ?? 0, 0, 'KMS Verify was never called');
});

t.test('bad input: clear errors, nothing written', async (t) => {
  const f = await fixture(t);
  const good = f.write('good.yaml', policyFor('prod'));
  const notYaml = f.write('bad.yaml', 'version: "1"\nrules: [\n  - {name: x\n');
  const control = f.write('ctl.yaml', 'version: "1"\u001b[31m\n');
  const cases: Array<[string, string[], number, RegExp]> = [
    ['profile with a slash', ['policy', 'push', '../etc', good, '-y'], 2, /is not a profile name/],
    ['profile with a space', ['policy', 'pull', 'a b'], 2, /is not a profile name/],
    ['profile with a newline', ['policy', 'diff', 'a\nb', good], 2, /is not a profile name/],
    ['an empty profile', ['policy', 'push', '', good, '-y'], 2, /is not a profile name/],
    ['an oversized profile', ['policy', 'push', 'p'.repeat(200), good, '-y'], 2, /is not a profile name/],
    ['root not a path', ['policy', 'push', 'prod', good, '-y', '--root', 'sentinel'], 2, /not an SSM parameter path/],
    ['root under /aws', ['policy', 'push', 'prod', good, '-y', '--root', '/aws/x'], 2, /not an SSM parameter path/],
    ['root with //', ['policy', 'pull', 'prod', '--root', '/a//b'], 2, /not an SSM parameter path/],
    ['not YAML', ['policy', 'push', 'prod', notYaml, '-y'], 1, /bad\.yaml is not a valid policy; nothing was written/],
    ['control characters', ['policy', 'push', 'prod', control, '-y'], 1, /not a valid policy/],
    ['--sign without --key', ['policy', 'push', 'prod', good, '--sign', '-y'], 2, /--sign needs --key/],
    ['no confirmation without a terminal', ['policy', 'push', 'prod', good], 2, /without confirmation/],
    ['a bad serial', ['policy', 'sign', 'prod', good, '--key', ALIAS, '--serial', '-1'], 2, /not a positive integer/],
    [
      'an unknown key',
      ['policy', 'push', 'prod', good, '--sign', '--key', 'alias/nope', '-y'],
      1,
      /KMS signing with alias\/nope failed \(NotFoundException\)/,
    ],
    [
      'no such parameter',
      ['policy', 'pull', 'nothing'],
      1,
      /there is no policy parameter \/sentinel\/policies\/nothing/,
    ],
  ];
  for (const [name, args, code, why] of cases) {
    const r = await f.cli(args);
    t.equal(r.code, code, `${name}: exit ${code}`);
    t.match(r.stderr, why, name);
    t.notMatch(r.stderr, /not-a-secret|AKIA/, `${name}: no credentials in the message`);
  }
  t.equal(f.ssm.calls.PutParameter ?? 0, 0, 'nothing was written');
  const json = await f.cli(['policy', 'push', 'prod', notYaml, '-y', '--json']);
  t.same(JSON.parse(json.stderr.trim().split('\n').pop()!).error.code, 'PolicyInvalid');
});
