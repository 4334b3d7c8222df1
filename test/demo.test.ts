// `npm run demo` (scripts/demo.ts): the no-AWS walk-through a newcomer is pointed to, driven with --run. The real AWS
// CLI gets credentials from the daemon the demo starts, the policy refuses what it should, and when the demo ends its
// daemon and its HOME are gone.
import t from 'tap';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, requireBuild, ROOT, run, tempDir } from './support/cli.js';
import { ROLE_ARNS } from './support/daemon.js';
import { typescriptLoaderArgs } from './support/ts-loader.js';

const AWS = '/usr/bin/aws';

t.test('npm run demo: the AWS CLI through the daemon, the policy, and nothing left behind', async (t) => {
  requireBuild();
  if (!existsSync(AWS)) throw new Error(`${AWS} is missing: this test needs the AWS CLI (.ci/run installs awscli)`);
  // Debian's AWS CLI (2.9) ignores AWS_ENDPOINT_URL_STS, newer ones honour it: the demo must work with both, so the
  // Debian one is put first on the PATH here.
  const bin = tempDir(t);
  symlinkSync(AWS, join(bin, 'aws'));
  const script = [
    'echo "AWS=$(PATH=${PATH#*:} type -P aws) $(aws --version 2>&1)"',
    'sentinel use dev && aws sts get-caller-identity --output json; echo "USE=$?"',
    'sentinel use --off',
    'sentinel exec dev -- aws sts get-caller-identity --output json; echo "EXEC=$?"',
    'sentinel exec blocked -- true; echo "BLOCKED=$?"',
    'sentinel exec --env prod -- true; echo "PROD_ENV=$?"',
    'echo "DEMO_HOME=$HOME DAEMON=$(sentinel daemon status --json | tr -d "\\n" | sed "s/.*\\"pid\\": *\\([0-9]*\\).*/\\1/")"',
  ].join('\n');
  const r = await run(
    t,
    process.execPath,
    [...typescriptLoaderArgs(), join(ROOT, 'scripts', 'demo.ts'), '--run', script],
    {
      cwd: ROOT,
      env: cleanEnv({ PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` }),
      timeoutMs: 120_000,
    },
  );
  t.equal(r.code, 0, r.stderr);
  const identities = [...r.stdout.matchAll(/\{[^}]*"Arn"[^}]*\}/g)].map((m) => m[0]);
  t.equal(identities.length, 2, `the AWS CLI printed an identity in the shell and under exec: ${r.stdout}`);
  const role = ROLE_ARNS.dev.split(':')[4];
  for (const identity of identities) {
    const arn = (JSON.parse(identity) as { Arn?: string }).Arn ?? '';
    t.match(arn, new RegExp(`^arn:aws:sts::${role}:assumed-role/dev/sentinel-alice-`), 'the role the daemon assumed');
  }
  t.match(r.stdout, new RegExp(`^AWS=${join(bin, 'aws')} aws-cli/`, 'm'), 'the AWS CLI the PATH names first');
  t.match(r.stdout, /^USE=0$/m);
  t.match(r.stdout, /^EXEC=0$/m, 'exec: the command reached the emulator too');
  t.match(r.stdout, /^BLOCKED=3$/m, 'blocked: refused by the policy');
  t.match(r.stderr, /blocked is frozen during the audit/, 'with the reason the policy gives');
  t.match(r.stdout, /^PROD_ENV=3$/m, 'prod as raw keys: refused (require_server)');
  const m = /^DEMO_HOME=(\S+) DAEMON=(\d+)$/m.exec(r.stdout);
  t.ok(m, `the shell ran in the demo's HOME, with its daemon: ${r.stdout}`);
  t.notOk(existsSync(m?.[1] ?? '/nonexistent-marker'), 'the HOME is removed');
  let alive = true;
  try {
    process.kill(Number(m?.[2]), 0);
  } catch {
    alive = false;
  }
  t.notOk(alive, 'the daemon is stopped');
});

t.test('npm run demo with a bad argument says how to call it', async (t) => {
  const r = await run(t, process.execPath, [...typescriptLoaderArgs(), join(ROOT, 'scripts', 'demo.ts'), '--bogus'], {
    cwd: ROOT,
  });
  t.equal(r.code, 2);
  t.match(r.stderr, /usage: npm run demo/);
});
