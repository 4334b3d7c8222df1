// `sentinel exec` as a real subprocess: the child's environment, exit status and signals pass through, the session is
// ended when the child exits, nesting is refused, --env fetches raw keys with the session token, exec prints nothing of
// its own on stdout. Against a control-API stand-in; cli-e2e-exec.test.ts does the same against the real daemon.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { childStart } from '../cli/exec.js';
import {
  collect,
  ENTRY,
  cleanEnv,
  errorBody,
  requireBuild,
  sentinel,
  sessionAnswer,
  startStubDaemon,
  tempDir,
  type StubDaemon,
} from './support/cli.js';

const TOKEN = 'S'.repeat(43);
const RAW = {
  AccessKeyId: 'ASIARAWKEY',
  SecretAccessKey: 'raw/secret',
  Token: 'raw-session-token',
  Expiration: '2030-01-01T00:00:00Z',
};

function stub(t: Test, options: { deny?: string; raw?: Record<string, unknown> } = {}): Promise<StubDaemon> {
  return startStubDaemon(t, (req) => {
    if (req.method === 'POST' && req.url === '/v1/sessions') {
      if (options.deny)
        return { status: 403, body: errorBody(options.deny, 'policy allows prod only through a daemon session') };
      return { status: 200, body: sessionAnswer({ token: TOKEN, profile: (req.body as { profile: string }).profile }) };
    }
    if (req.method === 'GET' && req.url === '/v1/credentials') {
      return req.headers.authorization === TOKEN
        ? { status: 200, body: options.raw ?? RAW }
        : { status: 403, body: errorBody('TokenInvalid', 'missing or invalid session token') };
    }
    if (req.method === 'DELETE') return { status: 200, body: {} };
    return { status: 404, body: errorBody('NotFound', 'no such endpoint') };
  });
}

const PRINT_ENV = `const e = {}; for (const [k, v] of Object.entries(process.env)) if (k.startsWith('AWS_') || k.startsWith('SENTINEL_') || k === 'BOTO_CONFIG') e[k] = v; process.stdout.write(JSON.stringify({ ppid: process.ppid, env: e }));`;

t.test('childStart: everything after the profile belongs to the command', async (t) => {
  const cmd = new Command('exec').option('--env').option('--nest').option('--ttl <d>');
  t.equal(childStart(cmd, ['dev', 'ls', '-la']), 1);
  t.equal(childStart(cmd, ['--env', 'dev', 'ls']), 2);
  t.equal(childStart(cmd, ['--ttl', '1h', 'dev', 'ls']), 3, 'an option value is not an operand');
  t.equal(childStart(cmd, ['dev', '--', '--weird-command']), 1);
  t.equal(childStart(cmd, ['dev', '--nest', 'ls']), 1, "an option after the profile is not exec's");
  t.equal(childStart(cmd, ['--', 'dev', 'ls']), 2);
  t.equal(childStart(cmd, ['dev']), 1);
  t.equal(childStart(cmd, ['--env']), -1);
  t.equal(childStart(cmd, []), -1);
});

t.test('exec options after the profile are refused, not applied; `exec <profile>` alone starts $SHELL', async (t) => {
  const daemon = await stub(t);
  const dir = tempDir(t);
  const shell = join(dir, 'fake-shell');
  writeFileSync(shell, '#!/bin/sh\nprintf "shell in %s, args: %s" "$SENTINEL_PROFILE" "$#"\n', { mode: 0o755 });
  const env = cleanEnv({ SENTINEL_SOCKET: daemon.socket, SHELL: shell });
  const [envAfter, versionAfter] = await Promise.all([
    sentinel(t, ['exec', 'dev', '--env', '--', '/bin/sh', '-c', 'echo ran'], { env }),
    sentinel(t, ['exec', 'dev', '--version'], { env }),
  ]);
  t.equal(envAfter.code, 2);
  t.equal(envAfter.stdout, '', '--env was neither applied nor run');
  t.match(envAfter.stderr, /^Error: "--env" comes after the profile, so it would be the command to run$/m);
  t.match(envAfter.stderr, /^Hint: .*`sentinel exec --env dev -- <command>`/m);
  t.equal(versionAfter.code, 2);
  t.match(versionAfter.stderr, /^Error: "--version" comes after the profile/m);
  t.notMatch(versionAfter.stderr, /Did you mean/);
  t.equal(daemon.requests.length, 0, 'nothing reached the daemon');

  const shellRun = await sentinel(t, ['exec', 'dev'], { env });
  t.equal(shellRun.code, 0, shellRun.stderr);
  t.equal(shellRun.stdout, 'shell in dev, args: 0', '$SHELL ran in the session, with no arguments');
  t.match(shellRun.stderr, new RegExp(`starting ${shell} with profile dev`));
  t.equal(daemon.requests.at(-1)!.method, 'DELETE', 'the session ended with the shell');

  // A shell that never starts is not announced: the refusal is the only thing said.
  const refused = await sentinel(t, ['exec', 'dev'], { env: { ...env, SENTINEL_SOCKET: `${daemon.socket}.nope` } });
  t.equal(refused.code, 4);
  t.notMatch(refused.stderr, /starting/, 'no "starting <shell>" before the refusal');
  t.match(refused.stderr, /^Error: /);
});

t.test(
  'the child gets exactly the session environment; exec adds nothing to stdout; the session ends after',
  async (t) => {
    const daemon = await stub(t);
    const env = cleanEnv({
      SENTINEL_SOCKET: daemon.socket,
      AWS_ACCESS_KEY_ID: 'AKIAOLD',
      AWS_SECRET_ACCESS_KEY: 'old',
      AWS_SESSION_TOKEN: 'old',
      AWS_SECURITY_TOKEN: 'old',
      AWS_PROFILE: 'old',
      AWS_DEFAULT_PROFILE: 'old',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/old',
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/old',
      AWS_WEB_IDENTITY_TOKEN_FILE: '/old',
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/old',
      AWS_ROLE_SESSION_NAME: 'old',
      AWS_CREDENTIAL_FILE: '/old',
      BOTO_CONFIG: '/old',
      AWS_CONFIG_FILE: '/home/x/.aws/config',
      AWS_REGION: 'us-west-2',
      // Unset, as for most users: the binary silences the SDK's Node warning for itself, never for the child.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    });
    const r = await sentinel(t, ['exec', 'dev', '--', process.execPath, '-e', PRINT_ENV], { env });
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ppid: number; env: Record<string, string> };
    t.same(
      out.env,
      {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:45678/v1/credentials',
        AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN,
        SENTINEL_SESSION: '0123456789abcdef',
        SENTINEL_PROFILE: 'dev',
        SENTINEL_SOCKET: daemon.socket,
        AWS_REGION: 'eu-west-1',
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_CONFIG_FILE: out.env.AWS_CONFIG_FILE,
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        BOTO_CONFIG: '/dev/null',
      },
      'session variables set, every competitor unset',
    );
    t.match(out.env.AWS_CONFIG_FILE, /\/aws-config-[0-9a-f]{16}$/, 'the allowlisted copy');
    const [open, end] = daemon.requests;
    t.same(open!.body, { profile: 'dev', mode: 'server', pid: out.ppid }, 'mode server, pid = the exec process');
    t.equal(end!.method, 'DELETE');
    t.equal(end!.url, '/v1/sessions/0123456789abcdef', 'session ended after the child exited');
    t.equal(daemon.requests.length, 2);
  },
);

t.test('exit status passes through; 127 for a missing command; 126 for one that cannot run', async (t) => {
  const daemon = await stub(t);
  const env = cleanEnv({ SENTINEL_SOCKET: daemon.socket });
  const plain = join(tempDir(t), 'not-executable');
  writeFileSync(plain, 'echo should not run\n', { mode: 0o644 });
  const [seven, missing, notExecutable] = await Promise.all([
    sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'exit 7'], { env }),
    sentinel(t, ['exec', 'dev', 'no-such-command-here', 'x'], { env }),
    sentinel(t, ['exec', 'dev', plain], { env }),
  ]);
  t.equal(seven.code, 7);
  t.equal(seven.stdout, '');
  t.equal(missing.code, 127);
  t.match(missing.stderr, /no-such-command-here: command not found/);
  t.equal(notExecutable.code, 126);
  t.equal(daemon.requests.filter((q) => q.method === 'DELETE').length, 3, 'every session was ended');
});

t.test("arguments after the command are the command's, even ones sentinel would understand", async (t) => {
  const daemon = await stub(t);
  const env = cleanEnv({ SENTINEL_SOCKET: daemon.socket });
  const r = await sentinel(
    t,
    [
      'exec',
      'dev',
      '/bin/sh',
      '-c',
      'printf "%s|" "$@"',
      'sh',
      '--version',
      '--socket',
      '/x',
      '-h',
      '--help',
      '--nest',
      '--',
    ],
    { env },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '--version|--socket|/x|-h|--help|--nest|--|');
  const flags = await sentinel(
    t,
    ['--socket', daemon.socket, 'exec', '--nest', 'dev', '/bin/sh', '-c', 'printf "%s" "$SENTINEL_PROFILE"'],
    { env: cleanEnv({ SENTINEL_SESSION: 'ffffffffffffffff' }) },
  );
  t.equal(flags.code, 0, flags.stderr);
  t.equal(flags.stdout, 'dev', 'global and exec options before the command still apply');
});

async function signalled(t: Test, daemon: StubDaemon, script: string, signal: NodeJS.Signals): Promise<number | null> {
  requireBuild();
  const child = spawn(process.execPath, [ENTRY, 'exec', 'dev', '--', '/bin/sh', '-c', script], {
    env: cleanEnv({ SENTINEL_SOCKET: daemon.socket }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Wait for the child's "ready" before signalling exec (and only exec: the child's signal must come from exec).
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', function ready(chunk: Buffer) {
      if (chunk.toString().includes('ready')) {
        child.stdout.off('data', ready);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error('exec exited before the child was ready')));
  });
  const done = collect(t, child);
  child.kill(signal);
  return (await done).code;
}

t.test('SIGTERM, SIGINT and SIGHUP sent to exec reach the child; a signal death is 128+n', async (t) => {
  const daemon = await stub(t);
  const loop = 'echo ready; while :; do sleep 0.05; done';
  const [term, int, hup, killed] = await Promise.all([
    signalled(t, daemon, `trap "exit 42" TERM; ${loop}`, 'SIGTERM'),
    signalled(t, daemon, `trap "exit 41" INT; ${loop}`, 'SIGINT'),
    signalled(t, daemon, `trap "exit 43" HUP; ${loop}`, 'SIGHUP'),
    signalled(t, daemon, `trap - TERM; ${loop}`, 'SIGTERM'),
  ]);
  t.equal(term, 42, 'SIGTERM forwarded (the child chose its status)');
  t.equal(int, 41, 'SIGINT forwarded');
  t.equal(hup, 43, 'SIGHUP forwarded');
  t.equal(killed, 128 + 15, 'a child killed by SIGTERM → 143');
  t.equal(daemon.requests.filter((q) => q.method === 'DELETE').length, 4, 'the session was ended every time');
});

t.test('nesting is refused unless --nest; no daemon → 4; a denial → 3; the command never runs then', async (t) => {
  const daemon = await stub(t);
  const denying = await stub(t, { deny: 'ServerModeRequired' });
  const [nested, none, denied, noProfile] = await Promise.all([
    sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'echo ran'], {
      env: cleanEnv({ SENTINEL_SOCKET: daemon.socket, SENTINEL_SESSION: 'aaaaaaaaaaaaaaaa', SENTINEL_PROFILE: 'prod' }),
    }),
    sentinel(t, ['exec', 'dev', '--', '/bin/sh', '-c', 'echo ran'], {
      env: cleanEnv({ SENTINEL_SOCKET: `${daemon.socket}.missing` }),
    }),
    sentinel(t, ['exec', '--env', 'prod', '--', '/bin/sh', '-c', 'echo ran'], {
      env: cleanEnv({ SENTINEL_SOCKET: denying.socket }),
    }),
    sentinel(t, ['exec'], { env: cleanEnv({ SENTINEL_SOCKET: daemon.socket }) }),
  ]);
  t.equal(nested.code, 2);
  t.equal(nested.stdout, '');
  t.match(
    nested.stderr,
    /Error: this environment already uses Sentinel session aaaaaaaaaaaaaaaa \(profile prod\)\nHint: .*--nest/,
  );
  t.equal(daemon.requests.length, 0, 'neither the refused nesting nor the usage errors reached the daemon');

  t.equal(none.code, 4);
  t.equal(none.stdout, '');
  t.match(none.stderr, /Hint: Start it with `sentinel daemon start`/);

  t.equal(denied.code, 3);
  t.equal(denied.stdout, '');
  t.match(denied.stderr, /Error: policy allows prod only through a daemon session/);
  t.equal((denying.requests[0]!.body as { mode: string }).mode, 'cli', '--env asks for mode cli');

  t.equal(noProfile.code, 2);
});

t.test('--env: raw keys fetched with the session token, container variables absent, mode cli', async (t) => {
  const daemon = await stub(t);
  const r = await sentinel(t, ['exec', '--env', 'dev', '--', process.execPath, '-e', PRINT_ENV], {
    env: cleanEnv({ SENTINEL_SOCKET: daemon.socket, AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:1/old' }),
  });
  t.equal(r.code, 0, r.stderr);
  const { env } = JSON.parse(r.stdout) as { env: Record<string, string> };
  t.equal(env.AWS_ACCESS_KEY_ID, RAW.AccessKeyId);
  t.equal(env.AWS_SECRET_ACCESS_KEY, RAW.SecretAccessKey);
  t.equal(env.AWS_SESSION_TOKEN, RAW.Token);
  t.equal(env.AWS_CREDENTIAL_EXPIRATION, RAW.Expiration);
  t.notOk('AWS_CONTAINER_CREDENTIALS_FULL_URI' in env, 'no container endpoint');
  t.notOk('AWS_CONTAINER_AUTHORIZATION_TOKEN' in env, 'no token');
  t.equal(env.SENTINEL_SESSION, '0123456789abcdef');
  t.match(env.AWS_CONFIG_FILE, /\/aws-config-[0-9a-f]{16}$/);
  const [open, fetch] = daemon.requests;
  t.equal((open!.body as { mode: string }).mode, 'cli');
  t.equal(fetch!.url, '/v1/credentials');
  t.equal(fetch!.headers.authorization, TOKEN, 'the session token authenticates the fetch on the Unix socket');
});

t.test(
  '--env: credentials the daemon answers unusable are not put in the environment, and the session is ended',
  async (t) => {
    for (const [name, raw] of [
      ['a secret with a newline', { ...RAW, SecretAccessKey: 'raw/secret\nAWS_PROFILE=attacker' }],
      ['no token', { ...RAW, Token: '' }],
      ['not an object', ['ASIARAWKEY']],
    ] as const) {
      const daemon = await stub(t, { raw: raw as Record<string, unknown> });
      const r = await sentinel(t, ['exec', '--env', 'dev', '--', '/bin/sh', '-c', 'echo ran'], {
        env: cleanEnv({ SENTINEL_SOCKET: daemon.socket }),
      });
      t.equal(r.code, 1, `${name}: exit 1`);
      t.equal(r.stdout, '', `${name}: the command never ran`);
      t.match(r.stderr, /^Error: the daemon answered credentials without a usable \w+$/m, name);
      t.notMatch(r.stderr, /raw\/secret|attacker/, `${name}: nothing of the answer is echoed`);
      t.ok(
        daemon.requests.some((q) => q.method === 'DELETE' && q.url === '/v1/sessions/0123456789abcdef'),
        `${name}: the session it opened is ended`,
      );
    }
  },
);

t.test('exec --help shows examples and exit codes', async (t) => {
  const r = await sentinel(t, ['exec', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /Examples:\n  \$ sentinel exec dev -- aws sts get-caller-identity/);
  t.match(r.stdout, /128\+n/);
});
