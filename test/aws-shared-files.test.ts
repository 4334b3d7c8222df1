// assertSdkCanReadAwsFiles, the check every factory of Sentinel's own AWS SDK clients makes: the files where the SDK
// finds them, what it refuses (a section the SDK writes onto built-in objects or that makes it read the file as empty,
// in either file; a FIFO, which nobody can check before the SDK waits on it), and what it lets through (a missing file,
// /dev/null as `sentinel use` sets it, a directory, a file of ordinary profiles). Real files, no mocks.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertSdkCanReadAwsFiles } from '../core/aws-shared-files.js';
import { tempDir } from './support/cli.js';

t.test('what is refused and what passes', async (t) => {
  const dir = tempDir(t);
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const check = (env: Record<string, string>) => () => assertSdkCanReadAwsFiles({ HOME: dir, ...env });

  const clean = file('clean', '[default]\nregion = us-east-1\n[profile dev]\nrole_arn = arn:aws:iam::1:role/x\n');
  t.doesNotThrow(check({ AWS_CONFIG_FILE: clean, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'missing') }));
  t.doesNotThrow(check({ AWS_CONFIG_FILE: clean, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }), '/dev/null is empty');
  t.doesNotThrow(
    check({ AWS_CONFIG_FILE: dir, AWS_SHARED_CREDENTIALS_FILE: clean }),
    'a directory the SDK cannot read',
  );
  t.doesNotThrow(check({}), 'no ~/.aws at all');
  t.doesNotThrow(
    check({ AWS_CONFIG_FILE: file('prefixed', '[profile constructor]\nregion = x\n') }),
    '[profile constructor] the SDK reads as any other section',
  );

  const toString = file('tostring', '[default]\nregion = us-east-1\n\n[toString]\nfoo = bar\n');
  t.throws(check({ AWS_SHARED_CREDENTIALS_FILE: toString }), {
    code: 'BaseCredentialsUnavailable',
    message: `the AWS config file ${toString} has a section [toString], which the AWS SDK for JavaScript writes onto`,
    details: { section: 'toString' },
  });
  const proto = file('proto', '[__proto__]\nfoo = bar\n');
  t.throws(check({ AWS_CONFIG_FILE: proto }), {
    message: /has a section \[__proto__\], which makes the AWS SDK for JavaScript read the whole file as empty/,
  });

  // ~/.aws/config when AWS_CONFIG_FILE is not set, and `~/` in it expanded as the SDK does.
  mkdirSync(join(dir, '.aws'));
  writeFileSync(join(dir, '.aws', 'config'), '[hasOwnProperty]\nx = y\n');
  t.throws(check({}), { message: `${join(dir, '.aws', 'config')} has a section [hasOwnProperty]` });
  t.throws(check({ AWS_CONFIG_FILE: clean, AWS_SHARED_CREDENTIALS_FILE: '~/.aws/config' }), {
    message: `${join(dir, '.aws', 'config')} has a section [hasOwnProperty]`,
  });

  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  t.throws(check({ AWS_CONFIG_FILE: fifo }), { message: `the AWS config file ${fifo} is not a regular file` });
});
