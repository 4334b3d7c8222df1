// End to end in real bash, zsh and fish against a real daemon (STS emulator behind it): after `sentinel use dev`, the
// AWS CLI and botocore started from that shell get the credentials the emulator issued (not the shell's own base
// keys); a denied profile prints the reason and changes nothing; `sentinel use --off` ends the session and restores
// the shell.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quote, SHELLS, type Shell } from '../cli/shell-emit.js';
import { BASE_ACCESS_KEY, CLIENTS, startDaemon } from './support/daemon.js';
import { ENTRY, readEnvDump, requireBuild, run, tempDir, userEnv } from './support/cli.js';

const SHELL_BIN: Record<Shell, string> = { bash: '/usr/bin/bash', zsh: '/usr/bin/zsh', fish: '/usr/bin/fish' };

function script(shell: Shell): string {
  const q = (s: string) => quote(shell, s);
  const st = shell === 'fish' ? '$status' : '$?';
  const load =
    shell === 'fish'
      ? `${q(process.execPath)} ${q(ENTRY)} shell init fish | source`
      : `eval "$(${q(process.execPath)} ${q(ENTRY)} shell init ${shell})"`;
  const botocore = `${q(CLIENTS.botocore.command)} ${CLIENTS.botocore.args.map(q).join(' ')}`;
  return (
    [
      load,
      'env -0 > s0.env',
      `/usr/bin/aws configure export-credentials --format process > before.json`,
      `sentinel use blocked > denied.out; echo "denied=${st}" >> rc.txt`,
      `sentinel use dve; echo "unknown=${st}" >> rc.txt`,
      'env -0 > s1.env',
      `sentinel use dev; echo "use=${st}" >> rc.txt`,
      'env -0 > s2.env',
      `/usr/bin/aws configure export-credentials --format process > aws.json; echo "aws=${st}" >> rc.txt`,
      `${botocore} > botocore.json; echo "botocore=${st}" >> rc.txt`,
      `sentinel use --off; echo "off=${st}" >> rc.txt`,
      'env -0 > s3.env',
    ].join('\n') + '\n'
  );
}

t.test('sentinel use in real shells against the real daemon', async (t) => {
  requireBuild();
  const d = await startDaemon(t);
  // The three shells are independent users of one daemon: they run at once, then each is checked in its own subtest.
  const runs = await Promise.all(
    SHELLS.map(async (shell) => {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'main'), script(shell));
      return {
        dir,
        r: await run(t, SHELL_BIN[shell], [join(dir, 'main')], { env: userEnv(d), cwd: dir, timeoutMs: 120_000 }),
      };
    }),
  );
  for (const [i, shell] of SHELLS.entries()) {
    const { dir, r } = runs[i]!;
    await t.test(shell, async (t) => {
      const read = (f: string) => readFileSync(join(dir, f), 'utf8');
      t.equal(r.code, 0, r.stderr);
      t.equal(
        read('rc.txt'),
        'denied=3\nunknown=1\nuse=0\naws=0\nbotocore=0\noff=0\n',
        `statuses (stderr: ${r.stderr})`,
      );

      t.equal(
        JSON.parse(read('before.json')).AccessKeyId,
        BASE_ACCESS_KEY,
        'before: the shell would use its own base keys',
      );
      t.match(r.stderr, /Error: [^\n]*blocked is frozen during the audit/, 'the denial says why');
      t.equal(read('denied.out'), '', 'a denial prints nothing to eval');
      t.match(
        r.stderr,
        /Error: no profile "dve" in the AWS config \(did you mean "dev"\?\)/,
        'an unknown profile lists close matches',
      );
      t.same(
        readEnvDump(join(dir, 's1.env')),
        readEnvDump(join(dir, 's0.env')),
        'denied and unknown profiles changed nothing',
      );

      const during = readEnvDump(join(dir, 's2.env'));
      t.equal(during.AWS_CONTAINER_CREDENTIALS_FULL_URI, d.url, "the daemon's loopback URL");
      t.match(during.SENTINEL_SESSION, /^[0-9a-f]{16}$/);
      t.equal(during.SENTINEL_PROFILE, 'dev');
      t.equal(during.AWS_REGION, 'eu-west-1', 'region of profile dev, from the daemon');
      t.equal(during.AWS_CONFIG_FILE, join(d.runtimeDir, during.AWS_CONFIG_FILE!.split('/').pop()!));
      t.match(during.AWS_CONFIG_FILE, /\/aws-config-[0-9a-f]{16}$/, 'the allowlisted copy in the runtime dir');
      t.notOk('AWS_PROFILE' in during);

      const issued = d.sts.issued.map((c) => c.accessKeyId);
      const aws = JSON.parse(read('aws.json'));
      t.equal(aws.Version, 1);
      t.ok(
        issued.includes(aws.AccessKeyId),
        `the AWS CLI got credentials the STS emulator issued (${aws.AccessKeyId})`,
      );
      const issuedAws = d.sts.issued.find((c) => c.accessKeyId === aws.AccessKeyId)!;
      t.equal(aws.SessionToken, issuedAws.sessionToken);
      const boto = JSON.parse(read('botocore.json'));
      t.ok(issued.includes(boto.AccessKeyId), 'botocore got credentials the STS emulator issued');
      t.equal(boto.Token, d.sts.issued.find((c) => c.accessKeyId === boto.AccessKeyId)!.sessionToken);

      t.same(readEnvDump(join(dir, 's3.env')), readEnvDump(join(dir, 's0.env')), '--off restored the shell');
      const session = await d.client.get<{ status: string; mode: string; profile: string }>(
        `/v1/sessions/${during.SENTINEL_SESSION}`,
      );
      t.match(session, { status: 'ended', mode: 'server', profile: 'dev' }, 'the session is ended');
    });
  }
  const roles = d.sts.assumeRoleRequests.map((r) => r.RoleArn);
  t.ok(
    roles.every((arn) => arn === 'arn:aws:iam::111111111111:role/dev'),
    'only dev was ever assumed (never blocked)',
  );
  t.ok(
    d.sts.assumeRoleRequests.every((r) => /^sentinel-alice-direct-[0-9a-f]{16}$/.test(r.SourceIdentity ?? '')),
    'stamped with a SourceIdentity',
  );
});
