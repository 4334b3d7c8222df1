// `sentinel exec` against the real daemon (STS emulator behind it): the child's AWS CLI gets the emulator's credentials,
// status and signals pass through, the session is ended once the child exits (also when exec itself is killed),
// nesting is refused, and `--env` is refused by a require_server rule but works where policy allows it.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from './support/daemon.js';
import { collect, ENTRY, requireBuild, sentinel, userEnv } from './support/cli.js';
import { until } from './support/wait.js';

const sessionOf = (stdout: string) => /SESSION=([0-9a-f]{16})/.exec(stdout)?.[1];

t.test('exec against the real daemon', async (t) => {
  requireBuild();
  const d = await startDaemon(t, { pidPollMs: 100 });
  const env = userEnv(d);

  await t.test("the AWS CLI in the child gets the daemon's credentials; exec adds nothing to stdout", async (t) => {
    const r = await sentinel(
      t,
      ['exec', 'dev', '--', '/usr/bin/aws', 'configure', 'export-credentials', '--format', 'process'],
      { env },
    );
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.ok(
      d.sts.issued.some((c) => c.accessKeyId === out.AccessKeyId && c.sessionToken === out.SessionToken),
      'issued by the STS emulator',
    );
  });

  await t.test('credentials the parent environment names do not win over the session', async (t) => {
    // botocore (the AWS CLI too) tries web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, the EC2 tools'
    // AWS_CREDENTIAL_FILE and boto's config (BOTO_CONFIG, else ~/.boto) before the container provider; the JS and Go
    // SDKs try web identity first too.
    const dir = mkdtempSync(join(tmpdir(), 'sentinel-exec-env-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const legacy = join(dir, 'ec2-credentials');
    writeFileSync(legacy, 'AWSAccessKeyId=AKIALEGACYEC2FILE001\nAWSSecretKey=legacySecret\n', { mode: 0o600 });
    const boto = join(dir, 'boto.cfg');
    writeFileSync(boto, '[Credentials]\naws_access_key_id = AKIABOTOCONFIGFILE01\naws_secret_access_key = b\n', {
      mode: 0o600,
    });
    const token = join(dir, 'web-identity-token');
    writeFileSync(token, 'eyJhbGciOiJub25lIn0.e30.', { mode: 0o600 });
    const exportCredentials = [
      'exec',
      'dev',
      '--',
      '/usr/bin/aws',
      'configure',
      'export-credentials',
      '--format',
      'process',
    ];
    const [viaLegacy, viaBoto, printed] = await Promise.all([
      sentinel(t, exportCredentials, { env: { ...env, AWS_CREDENTIAL_FILE: legacy } }),
      sentinel(t, exportCredentials, { env: { ...env, BOTO_CONFIG: boto } }),
      sentinel(
        t,
        [
          'exec',
          'dev',
          '--',
          '/bin/sh',
          '-c',
          'printf "%s|%s|%s|%s" "${AWS_WEB_IDENTITY_TOKEN_FILE-unset}" "${AWS_ROLE_ARN-unset}" "${AWS_ROLE_SESSION_NAME-unset}" "${BOTO_CONFIG-unset}"',
        ],
        {
          env: {
            ...env,
            AWS_WEB_IDENTITY_TOKEN_FILE: token,
            AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/ci',
            AWS_ROLE_SESSION_NAME: 'ci',
          },
        },
      ),
    ]);
    for (const [name, r] of [
      ['AWS_CREDENTIAL_FILE', viaLegacy],
      ['BOTO_CONFIG', viaBoto],
    ] as const) {
      t.equal(r.code, 0, `${name}: ${r.stderr}`);
      const key = (/"AccessKeyId": ?"([^"]+)"/.exec(r.stdout) ?? [])[1];
      t.ok(
        d.sts.issued.some((c) => c.accessKeyId === key),
        `${name}: the CLI used the session's credentials, not ${key}`,
      );
    }
    t.equal(printed.code, 0, printed.stderr);
    t.equal(printed.stdout, 'unset|unset|unset|/dev/null', 'web identity variables are cleared; boto config is hidden');
  });

  await t.test('status passes through and the session is ended after the child exits', async (t) => {
    const r = await sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'echo "SESSION=$SENTINEL_SESSION"; exit 9'], {
      env,
    });
    t.equal(r.code, 9);
    const id = sessionOf(r.stdout);
    t.ok(id, 'the child saw its session');
    t.match(await d.client.get(`/v1/sessions/${id}`), { status: 'ended', mode: 'server', profile: 'dev' });
  });

  await t.test('SIGTERM reaches the child; 128+n when it dies of it', async (t) => {
    const child = spawn(
      process.execPath,
      [ENTRY, 'exec', 'dev', '--', '/bin/sh', '-c', 'echo "SESSION=$SENTINEL_SESSION"; while :; do sleep 0.05; done'],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', function first(c: Buffer) {
        seen += c.toString();
        if (sessionOf(seen)) {
          child.stdout.off('data', first);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error('exec exited early')));
    });
    const done = collect(t, child);
    child.kill('SIGTERM');
    t.equal((await done).code, 143);
    t.match(await d.client.get(`/v1/sessions/${sessionOf(seen)}`), { status: 'ended' });
  });

  await t.test('Ctrl-C in a terminal reaches the child once, not twice', async (t) => {
    // The terminal sends SIGINT to its whole foreground process group, the child included; forwarding it as well made
    // it two, and for terraform a second interrupt means "exit immediately, data loss may have occurred".
    const dir = mkdtempSync(join(tmpdir(), 'sentinel-exec-tty-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const counter = join(dir, 'count-interrupts.mjs');
    writeFileSync(
      counter,
      `let n = 0; process.on('SIGINT', () => { n++; }); process.stdout.write('READY\\n');
       setTimeout(() => { process.stdout.write('INTERRUPTS=' + n + '\\n'); process.exit(0); }, 1500);`,
    );
    // script(1) gives exec a real terminal (a pty) and writes what it reads to it: \x03 is a Ctrl-C typed there.
    const child = spawn(
      '/usr/bin/script',
      ['-qfec', `${process.execPath} ${ENTRY} exec dev -- ${process.execPath} ${counter}`, '/dev/null'],
      {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let seen = '';
    child.stdout.on('data', (c: Buffer) => (seen += c.toString()));
    const done = new Promise((resolve) => child.on('close', resolve));
    await until(
      () => seen,
      (s) => s.includes('READY'),
      20_000,
    );
    child.stdin.write('\x03');
    await done;
    t.match(seen, /INTERRUPTS=1\b/, 'one interrupt');
  });

  await t.test('exec killed outright: the daemon ends the session when its pid is gone', async (t) => {
    const child = spawn(
      process.execPath,
      [ENTRY, 'exec', 'dev', '--', '/bin/sh', '-c', 'echo "SESSION=$SENTINEL_SESSION"; exec sleep 30'],
      { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        seen += c.toString();
        if (sessionOf(seen)) resolve();
      });
    });
    const done = collect(t, child);
    process.kill(-child.pid!, 'SIGKILL'); // exec and its child, as a closed terminal would
    await done;
    const id = sessionOf(seen)!;
    let status = '';
    for (let i = 0; i < 100 && status !== 'ended'; i++) {
      status = (await d.client.get<{ status: string }>(`/v1/sessions/${id}`)).status;
      if (status !== 'ended') await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(status, 'ended');
  });

  await t.test('nesting is refused unless --nest', async (t) => {
    const [inner, nested] = await Promise.all([
      sentinel(t, ['exec', 'dev', '--', process.execPath, ENTRY, 'exec', 'dev', '--', '/bin/true'], { env }),
      sentinel(
        t,
        [
          'exec',
          'dev',
          '--',
          process.execPath,
          ENTRY,
          'exec',
          '--nest',
          'dev',
          '--',
          '/bin/sh',
          '-c',
          'echo "SESSION=$SENTINEL_SESSION"',
        ],
        { env },
      ),
    ]);
    t.equal(inner.code, 2, 'the inner exec refused');
    t.match(inner.stderr, /already uses Sentinel session [0-9a-f]{16} \(profile dev\)/);
    t.equal(nested.code, 0, nested.stderr);
    t.ok(sessionOf(nested.stdout));
  });

  await t.test('--env: refused by require_server (exit 3); allowed profiles get raw keys', async (t) => {
    const [prod, server, dev] = await Promise.all([
      sentinel(t, ['exec', '--env', 'prod', '--', '/bin/sh', '-c', 'echo ran'], { env }),
      sentinel(t, ['exec', 'prod', '--', '/bin/sh', '-c', 'echo ok'], { env }),
      sentinel(
        t,
        [
          'exec',
          '--env',
          'dev',
          '--',
          '/bin/sh',
          '-c',
          'printf "%s %s %s" "$AWS_ACCESS_KEY_ID" "${AWS_CONTAINER_CREDENTIALS_FULL_URI-unset}" "$AWS_CREDENTIAL_EXPIRATION"',
        ],
        { env },
      ),
    ]);
    t.equal(prod.code, 3);
    t.equal(prod.stdout, '', 'the command never ran');
    t.match(prod.stderr, /^Error: /);
    t.equal(server.code, 0, 'the same profile through a daemon session is allowed');

    t.equal(dev.code, 0, dev.stderr);
    const [key, uri, expiration] = dev.stdout.split(' ');
    t.ok(
      d.sts.issued.some((c) => c.accessKeyId === key),
      'raw key from the STS emulator',
    );
    t.equal(uri, 'unset', 'no container endpoint with --env');
    t.ok(!Number.isNaN(Date.parse(expiration!)), 'expiration exported');
  });

  await t.test('an unknown profile lists close matches; no daemon → 4', async (t) => {
    const [r, none] = await Promise.all([
      sentinel(t, ['exec', 'prd', '--', '/bin/true'], { env }),
      sentinel(t, ['exec', 'dev', '--', '/bin/true'], { env: { ...env, SENTINEL_SOCKET: `${d.socketPath}.nope` } }),
    ]);
    t.equal(r.code, 1);
    t.match(r.stderr, /did you mean "prod"/);
    t.equal(none.code, 4);
    t.match(none.stderr, /Hint: Start it with `sentinel daemon start`/);
  });
});
