// Sections of the AWS files named as plain JavaScript objects' own keys: `[profile __proto__]`, `[constructor]`,
// `[profile toString]`, ... The AWS SDK for JavaScript keeps sections in plain objects, so it reads a config with
// `[profile __proto__]` as empty and writes a `[constructor]` section's keys onto the built-in Object. Sentinel serves
// no profile of such a name, never pollutes anything, keeps serving the rest where the SDK can, and says which section
// is in the way where it cannot.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { createLogger, silentLogger } from '../core/log.js';
import { newRequestId } from '../core/identity/source-identity.js';
import { isValidProfileName } from '../core/profile-name.js';
import { sessionAwsConfig } from '../cli/session-aws-config.js';
import { createAwsConfig } from '../daemon/vending/aws-config.js';
import { createVendor } from '../daemon/vending/vendor.js';
import { awsEnv, withEnv } from './support/aws-env.js';
import { ROOT } from './support/cli.js';
import { startSts } from './support/sts-emulator.js';
import { tempDir } from './support/temp-dir.js';

const RESERVED = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'];
const KEY = 'AKIAEXAMPLERESERVED1';
const SECRET = 'reservedSecretDoNotLeak0000000000000001';
const ROLE = 'arn:aws:iam::111122223333:role/prod';
const builtIns = () => [Object, Object.prototype.toString].filter((o) => Object.hasOwn(o, 'sentinel_mark')).length;

function write(t: Test, name: string, text: string): string {
  const file = join(tempDir(t, 'sentinel-reserved-'), name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

t.test('what the AWS SDK for JavaScript makes of them (in a child: it writes onto built-ins)', async (t) => {
  const proto = write(t, 'config', '[profile dev]\nregion = eu-west-1\n\n[profile __proto__]\nregion = us-east-1\n');
  const ctor = write(t, 'config', '[profile dev]\nregion = eu-west-1\n\n[constructor]\nsentinel_mark = set\n');
  const script = `
    import { loadSharedConfigFiles } from '@smithy/core/config';
    const read = (configFilepath) => loadSharedConfigFiles({ configFilepath, filepath: '/dev/null', ignoreCache: true });
    const proto = await read(${JSON.stringify(proto)});
    const ctor = await read(${JSON.stringify(ctor)});
    console.log(JSON.stringify({ proto: Object.keys(proto.configFile), ctor: Object.keys(ctor.configFile), mark: Object.sentinel_mark }));`;
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }),
  );
  t.same(out.proto, [], '[profile __proto__]: the SDK reads the whole config as empty, [profile dev] included');
  t.same(out.ctor, ['dev'], '[constructor]: the rest is read…');
  t.equal(out.mark, 'set', '…and its keys are written onto the built-in Object');
});

t.test('no profile has such a name, in any part', async (t) => {
  for (const name of RESERVED) {
    t.notOk(isValidProfileName(name), name);
    t.notOk(isValidProfileName(`org/${name}`), `org/${name}`);
  }
  for (const name of ['Constructor', 'proto', 'to_string', 'org/dev']) t.ok(isValidProfileName(name), name);
});

t.test('the daemon: such profiles are not listed or served, the rest is; nothing is polluted', async (t) => {
  const sections = RESERVED.map((n) => `[profile ${n}]\nregion = us-east-1\n`).join('\n');
  const configFile = write(
    t,
    'config',
    `[profile dev]\nregion = eu-west-1\n\n${sections}\n[toString]\nsentinel_mark = x\n`,
  );
  const cfg = createAwsConfig({ configFile, credentialsFile: '/dev/null' }, silentLogger());
  t.same(
    (await cfg.profiles()).map((p) => p.name),
    ['dev'],
  );
  for (const name of RESERVED) {
    const e = await cfg.profile(name).catch((x: { code: string; message: string }) => x);
    t.match(e, { code: 'BadRequest', message: /none of them a property name every JavaScript object has/ }, name);
  }
  t.equal(builtIns(), 0, 'Sentinel’s own reading writes onto nothing');
  const e = await cfg.profile('dev').catch((x: { code: string; message: string; hint: string }) => x);
  t.match(
    e,
    {
      code: 'BaseCredentialsUnavailable',
      message: `the AWS config file ${configFile} has a section [toString], which the AWS SDK for JavaScript writes onto JavaScript's built-in objects`,
      hint: /^Rename or remove \[toString\]/,
    },
    'a section the SDK would pollute with: nothing is served, and the message names it',
  );
  writeFileSync(configFile, `[profile dev]\nregion = eu-west-1\n\n${sections}`);
  t.match(await cfg.profile('dev'), { info: { name: 'dev', region: 'eu-west-1' } }, 'without it, dev is served');
  t.match(
    cfg.sdkRefusal()?.message,
    /has a section \[profile __proto__\], which makes the AWS SDK for JavaScript misread/,
  );
});

t.test('vending: what Sentinel resolves itself still works; what needs the SDK says what is in the way', async (t) => {
  const dir = tempDir(t, 'sentinel-reserved-vend-');
  const process1 = join(dir, 'keys.sh');
  writeFileSync(process1, `#!/bin/sh\necho '{"Version":1,"AccessKeyId":"${KEY}","SecretAccessKey":"${SECRET}"}'\n`, {
    mode: 0o700,
  });
  const configFile = join(dir, 'config');
  const config = (extra: string) =>
    `[profile runner]\ncredential_process = ${process1}\n\n[profile proc]\nrole_arn = ${ROLE}\nsource_profile = runner\n\n` +
    `[profile base]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n\n` +
    `[profile keys]\nrole_arn = ${ROLE}\nsource_profile = base\n\n` +
    `[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Admin\n\n` +
    `[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n` +
    `[profile viasso]\nrole_arn = ${ROLE}\nsource_profile = sso\n\n${extra}`;
  const sts = await startSts({ identities: { [KEY]: 'arn:aws:iam::111122223333:user/alice' } });
  t.teardown(() => sts.close());
  withEnv(t, { ...awsEnv({ sts: sts.url }), AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' });
  let sessions = 0;
  /** A fresh vendor (its SDK clients read the files when first used) for `extra` in the config. */
  const vendorFor = (extra: string) => {
    writeFileSync(configFile, config(extra), { mode: 0o600 });
    const vendor = createVendor(resolveConfig({}, 'test.yaml', { HOME: dir }), {
      log: createLogger({ level: 'silent' }),
      env: process.env,
    });
    t.teardown(() => vendor.close());
    return (profile: string) =>
      vendor
        .credentials({
          sessionId: (++sessions).toString(16).padStart(16, '0'),
          requestId: newRequestId(),
          profile,
          user: 'alice',
          marker: 'direct' as const,
          durationSeconds: 900,
        })
        .then(
          (c) => ({ ok: c }),
          (e: { code: string; message: string; hint: string }) => e,
        );
  };

  const polluting = vendorFor('[constructor]\nsentinel_mark = set\n');
  t.match(
    await polluting('proc'),
    { code: 'BaseCredentialsUnavailable', message: /has a section \[constructor\]/, hint: /^Rename or remove/ },
    '[constructor]: nothing is served, and the message names the section',
  );
  t.equal(builtIns(), 0, 'no SDK client read the file: nothing was written onto Object');

  const misread = vendorFor('[profile __proto__]\nregion = us-east-1\n');
  t.ok('ok' in (await misread('proc')), '[profile __proto__]: a credential_process Sentinel runs itself is served');
  t.ok('ok' in (await misread('keys')), 'and so are keys it reads itself');
  t.match(
    await misread('viasso'),
    {
      code: 'BaseCredentialsUnavailable',
      message: /has a section \[profile __proto__\], which makes the AWS SDK for JavaScript misread the file/,
      hint: /^Rename or remove \[profile __proto__\]/,
    },
    'SSO, which the SDK resolves from the files: refused, naming the section (the SDK would find no profile)',
  );

  await t.test('the session copy leaves the section out, says so, and keeps the rest', async (t) => {
    writeFileSync(configFile, config('[profile __proto__]\nregion = us-east-1\n'));
    const copy = sessionAwsConfig(join(dir, 'run'), { HOME: dir, AWS_CONFIG_FILE: configFile });
    t.match(copy.warning, `[profile __proto__] in ${configFile} is left out of the session's AWS config`);
    const text = readFileSync(copy.file, 'utf8');
    t.notMatch(text, '__proto__');
    t.match(text, '[profile keys]');
  });
});
