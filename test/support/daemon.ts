// A real Sentinel daemon for tests: in this process (runDaemon) or as a subprocess (`node dist/cli/main.js daemon run`),
// in a throwaway HOME with XDG dirs, an AWS config whose profiles assume roles through the STS emulator, a policy
// file and a config file. It hands back the socket, the port, a control client and the captured logs, and stops
// everything it started in the test's teardown.
//
//   const d = await startDaemon(t);                       // in-process, default profiles and policy
//   const s = await d.openSession('dev');                  // POST /v1/sessions over the socket
//   const r = await d.fetch({ transport: 'tcp', path: '/v1/credentials', token: s.token });
//
// In-process daemons read AWS settings the way the SDK does, from process.env: startDaemon sets the AWS_* variables
// and restores the originals when the last in-process daemon is stopped. Two in-process daemons alive at once share
// process.env (the later one's values win), so give them the same AWS settings or use a subprocess.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DaemonClient } from '../../cli/client.js';
import type { OpenedSession } from '../../cli/session-env.js';
import { createLogger } from '../../core/log.js';
import type { DaemonParts, RunningDaemon } from '../../daemon/run.js';
import { readDaemonState, type DaemonState } from '../../daemon/runtime/daemon-state.js';
import type { Limits } from '../../daemon/server/context.js';
import { awsEnv, writeAwsConfig, type HasTeardown } from './aws-env.js';
import { startSts, type StsEmulator } from './sts-emulator.js';

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const CLI_MAIN = join(ROOT, 'dist', 'cli', 'main.js');

/** The base identity every default profile's source resolves to: policy user `alice`. */
export const BASE_ACCESS_KEY = 'AKIASENTINELTESTBASE';
export const BASE_SECRET_KEY = 'sentinel-test-base-secret-key-0000000000';
export const BASE_ARN = 'arn:aws:iam::123456789012:user/alice';
export const ROLE_ARNS = {
  dev: 'arn:aws:iam::111111111111:role/dev',
  prod: 'arn:aws:iam::222222222222:role/prod',
  blocked: 'arn:aws:iam::333333333333:role/blocked',
} as const;

export const DEFAULT_AWS_CONFIG = `[profile base]
region = us-east-1

[profile dev]
role_arn = ${ROLE_ARNS.dev}
source_profile = base
region = eu-west-1

[profile prod]
role_arn = ${ROLE_ARNS.prod}
source_profile = base
region = eu-central-1

[profile blocked]
role_arn = ${ROLE_ARNS.blocked}
source_profile = base
region = us-west-2

[profile plain]
region = us-east-1
`;

export const DEFAULT_AWS_CREDENTIALS = `[base]
aws_access_key_id = ${BASE_ACCESS_KEY}
aws_secret_access_key = ${BASE_SECRET_KEY}

[plain]
aws_access_key_id = ${BASE_ACCESS_KEY}
aws_secret_access_key = ${BASE_SECRET_KEY}
`;

/** dev: allowed in every mode; prod: only through a daemon session; plain: allowed (but it has no role to stamp);
 * blocked: denied with a reason. */
export const DEFAULT_POLICY = `version: "1"
rules:
  - name: dev-for-alice
    effect: allow
    conditions: { profiles: [dev, plain], users: [alice] }
    reason: alice develops on dev
  - name: prod-through-daemon
    effect: require_server
    conditions: { profiles: [prod] }
    reason: prod only through sentinel use/exec
  - name: blocked-for-all
    effect: deny
    conditions: { profiles: [blocked] }
    reason: blocked is frozen during the audit
`;

export interface StartDaemonOptions {
  /** 'in-process' (default) runs runDaemon here; 'subprocess' runs the built CLI. */
  mode?: 'in-process' | 'subprocess';
  /** An emulator to use; otherwise one is started (and closed) for this daemon. */
  sts?: StsEmulator;
  /** policy.yaml text; null writes no policy file at all. */
  policy?: string | null;
  /** Extra config.yaml text (YAML); runtime_dir and the rest come from the XDG env. */
  config?: string;
  awsConfig?: string;
  awsCredentials?: string;
  /** Extra environment for the daemon (e.g. NOTIFY_SOCKET, WATCHDOG_USEC). */
  env?: Record<string, string>;
  /** In-process only. */
  limits?: Partial<Limits>;
  parts?: Partial<DaemonParts>;
  drainMs?: number;
  pidPollMs?: number;
  /** In-process only: how often coalesced session touches are written. */
  touchFlushMs?: number;
  /** In-process only: the clock decisions and sessions go by. */
  now?: () => Date;
  /** Leave the daemon running at teardown? Default false: it is stopped. */
  keep?: boolean;
  /** Don't wait for the socket to answer (subprocess); the caller watches the child itself. */
  noWait?: boolean;
  /** Use this HOME instead of a new temp one (a second daemon on the same runtime dir). */
  home?: string;
}

export interface FetchOptions {
  transport: 'tcp' | 'unix';
  path?: string;
  method?: string;
  token?: string;
  /** Full Authorization header value (overrides token). */
  authorization?: string;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string | Buffer;
}

export interface FetchResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/** The daemon's answer to POST /v1/sessions: the CLI's own type, so the harness cannot drift from what the CLI checks. */
export type OpenedSessionBody = OpenedSession;

export interface DaemonHarness {
  mode: 'in-process' | 'subprocess';
  home: string;
  /** The daemon's environment; also what clients of it need (XDG dirs, AWS config, endpoints). */
  env: Record<string, string>;
  runtimeDir: string;
  stateDir: string;
  socketPath: string;
  configFile: string;
  policyFile: string;
  decisionLogFile: string;
  awsConfigFile: string;
  port: number;
  /** `http://127.0.0.1:<port>/v1/credentials` */
  url: string;
  client: DaemonClient;
  sts: StsEmulator;
  /** In-process only. */
  daemon?: RunningDaemon;
  /** Subprocess only. */
  child?: ChildProcess;
  /** Everything the daemon wrote to its operational log (stderr) so far. */
  logs(): string;
  /** The decision log's lines so far (an in-process daemon's log is flushed first). */
  decisions(): Promise<Array<Record<string, any>>>;
  openSession(profile: string, extra?: Record<string, unknown>): Promise<OpenedSessionBody>;
  fetch(options: FetchOptions): Promise<FetchResult>;
  /** Graceful stop (idempotent); for a subprocess, SIGTERM and wait for its exit. */
  stop(): Promise<void>;
  /** Subprocess exit, once it happened. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** An HTTP request with a fresh connection (agent: false), over the daemon's socket or its TCP port. */
export function fetchFrom(target: { socketPath?: string; port?: number }, options: FetchOptions): Promise<FetchResult> {
  const payload =
    options.rawBody !== undefined
      ? Buffer.from(options.rawBody)
      : options.body !== undefined
        ? Buffer.from(JSON.stringify(options.body))
        : undefined;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token !== undefined) headers.authorization = options.token;
  if (
    payload &&
    options.rawBody === undefined &&
    !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
  ) {
    headers['content-type'] = 'application/json';
  }
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        ...(options.transport === 'unix'
          ? { socketPath: target.socketPath }
          : { host: '127.0.0.1', port: target.port }),
        path: options.path ?? '/v1/credentials',
        method: options.method ?? 'GET',
        headers,
        agent: false,
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Polls until the socket answers GET /v1/status (or the deadline passes). */
export async function waitForSocket(
  socketPath: string,
  timeoutMs = 15_000,
  stopEarly?: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopEarly?.()) return false;
    if (existsSync(socketPath)) {
      try {
        const r = await fetchFrom({ socketPath }, { transport: 'unix', path: '/v1/status' });
        if (r.status === 200) return true;
      } catch {
        // not yet
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Writes the temp HOME: XDG dirs, config.yaml, policy.yaml, AWS config and credentials. */
/** Kills (SIGKILL) the daemon a home's daemon.json names, if any, and removes the home: a test's last word. */
export function removeHome(home: { home: string; runtimeDir: string }): void {
  const state = join(home.runtimeDir, 'daemon.json');
  if (existsSync(state)) {
    try {
      process.kill(JSON.parse(readFileSync(state, 'utf8')).pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(home.home, { recursive: true, force: true });
}

export function prepareHome(options: StartDaemonOptions, stsUrl: string) {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'sentinel-daemon-'));
  chmodSync(home, 0o700);
  const dirs = {
    config: join(home, '.config'),
    state: join(home, '.local', 'state'),
    runtime: join(home, 'run'),
    aws: join(home, '.aws'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  const sentinelConfigDir = join(dirs.config, 'sentinel');
  mkdirSync(sentinelConfigDir, { recursive: true, mode: 0o700 });
  const configFile = join(sentinelConfigDir, 'config.yaml');
  const policyFile = join(sentinelConfigDir, 'policy.yaml');
  if (!options.home || !existsSync(configFile)) writeFileSync(configFile, options.config ?? '', { mode: 0o600 });
  if (options.policy !== null && (!options.home || !existsSync(policyFile))) {
    writeFileSync(policyFile, options.policy ?? DEFAULT_POLICY, { mode: 0o600 });
  }
  const aws = writeAwsConfig(dirs.aws, {
    config: options.awsConfig ?? DEFAULT_AWS_CONFIG,
    credentials: options.awsCredentials ?? DEFAULT_AWS_CREDENTIALS,
  });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_STATE_HOME: dirs.state,
    XDG_RUNTIME_DIR: dirs.runtime,
    AWS_CONFIG_FILE: aws.configFile,
    AWS_SHARED_CREDENTIALS_FILE: aws.credentialsFile,
    ...awsEnv({ sts: stsUrl }),
    SENTINEL_LOG_LEVEL: 'info',
    ...(options.env ?? {}),
  };
  return {
    home,
    env,
    configFile,
    policyFile,
    awsConfigFile: aws.configFile,
    runtimeDir: join(dirs.runtime, 'sentinel'),
    stateDir: join(dirs.state, 'sentinel'),
    socketPath: join(dirs.runtime, 'sentinel', 'sentinel.sock'),
    decisionLogFile: join(dirs.state, 'sentinel', 'decisions.log'),
  };
}

/** The AWS_* variables an in-process daemon's SDK clients read from process.env. */
const PROCESS_ENV_KEYS = /^(AWS_|HOME$|XDG_)/;

/** process.env as it was before the first in-process daemon changed it; restored when the last one is gone. */
let originalEnv: Map<string, string | undefined> | undefined;
let envUsers = 0;

function applyProcessEnv(env: Record<string, string>): () => void {
  originalEnv ??= new Map();
  envUsers += 1;
  for (const [k, v] of Object.entries(env)) {
    if (!PROCESS_ENV_KEYS.test(k)) continue;
    if (!originalEnv.has(k)) originalEnv.set(k, process.env[k]);
    process.env[k] = v;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    envUsers -= 1;
    if (envUsers > 0 || !originalEnv) return;
    for (const [k, v] of originalEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    originalEnv = undefined;
  };
}

export async function startDaemon(t: HasTeardown, options: StartDaemonOptions = {}): Promise<DaemonHarness> {
  const mode = options.mode ?? 'in-process';
  let sts = options.sts;
  if (!sts) {
    sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
    const own = sts;
    t.teardown(() => own.close());
  } else {
    sts.setIdentity(BASE_ACCESS_KEY, BASE_ARN);
  }
  const prepared = prepareHome(options, sts.url);
  if (!options.home) t.teardown(() => rmSync(prepared.home, { recursive: true, force: true }));
  const client = new DaemonClient({ socketPath: prepared.socketPath, timeoutMs: 20_000 });

  let logText = '';
  const harness: Partial<DaemonHarness> & Record<string, unknown> = {
    mode,
    ...prepared,
    client,
    sts,
    logs: () => logText,
    decisions: async () => {
      const daemon = harness.daemon as RunningDaemon | undefined;
      if (daemon) await daemon.parts.decisions.flush().catch(() => undefined);
      if (!existsSync(prepared.decisionLogFile)) return [];
      return readFileSync(prepared.decisionLogFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as Record<string, any>);
    },
    fetch: (o: FetchOptions) => fetchFrom({ socketPath: prepared.socketPath, port: harness.port as number }, o),
    openSession: (profile: string, extra: Record<string, unknown> = {}) =>
      client.post<OpenedSessionBody>('/v1/sessions', { profile, mode: 'server', ...extra }),
  };

  if (mode === 'in-process') {
    const restoreEnv = applyProcessEnv(prepared.env);
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    });
    const log = createLogger({ destination: sink, level: 'debug' });
    const { runDaemon } = await import('../../daemon/run.js');
    let daemon: RunningDaemon;
    try {
      daemon = await runDaemon({
        env: { ...prepared.env },
        log,
        limits: options.limits,
        parts: options.parts,
        drainMs: options.drainMs,
        pidPollMs: options.pidPollMs,
        touchFlushMs: options.touchFlushMs,
        now: options.now,
      });
    } catch (e) {
      restoreEnv();
      throw e;
    }
    harness.daemon = daemon;
    harness.port = daemon.port;
    harness.url = daemon.url;
    harness.stop = async () => {
      await daemon.close('test teardown');
    };
    harness.exited = async () => {
      await daemon.closed;
      return { code: 0, signal: null };
    };
    if (!options.keep) {
      t.teardown(async () => {
        await daemon.close('test teardown');
        restoreEnv();
      });
    } else {
      t.teardown(restoreEnv);
    }
  } else {
    if (!existsSync(CLI_MAIN))
      throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` before subprocess daemon tests`);
    const child = spawn(process.execPath, [CLI_MAIN, 'daemon', 'run'], {
      env: prepared.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (logText += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (logText += c.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    let done = false;
    void exit.then(() => (done = true));
    harness.child = child;
    harness.exited = () => exit;
    harness.stop = async () => {
      if (!done) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(killer);
    };
    if (!options.keep) t.teardown(() => (harness.stop as () => Promise<void>)());
    if (!options.noWait) {
      const up = await waitForSocket(prepared.socketPath, 20_000, () => done);
      if (!up) {
        await (harness.stop as () => Promise<void>)();
        throw new Error(`the daemon did not come up; its output:\n${logText}`);
      }
      const state = JSON.parse(readFileSync(join(prepared.runtimeDir, 'daemon.json'), 'utf8')) as { port: number };
      harness.port = state.port;
      harness.url = `http://127.0.0.1:${state.port}/v1/credentials`;
    }
  }
  return harness as DaemonHarness;
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously (never execFileSync: an in-process daemon must keep serving meanwhile). */
export function runProcess(
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A child that exits without reading stdin makes end() fail with EPIPE: not the child's failure (see cli.ts).
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') child.emit('error', err);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** What a client of a session needs and nothing else: no AWS config that could win over the container provider. */
export function containerClientEnv(
  url: string,
  token: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: 'eu-west-1',
    ...extra,
  };
}

/** The three clients no one here wrote, each printing {AccessKeyId, SecretAccessKey, Token} on success. */
export const CLIENTS = {
  'js-sdk': {
    command: process.execPath,
    args: [
      '--input-type=module',
      '-e',
      `import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
       const c = await fromNodeProviderChain()();
       process.stdout.write(JSON.stringify({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: c.expiration?.toISOString() }));`,
    ],
  },
  botocore: {
    command: '/usr/bin/python3',
    args: [
      '-I',
      '-c',
      `import json, botocore.session
c = botocore.session.get_session().get_credentials()
if c is None:
    raise SystemExit("no credentials")
f = c.get_frozen_credentials()
print(json.dumps({"AccessKeyId": f.access_key, "SecretAccessKey": f.secret_key, "Token": f.token}))`,
    ],
  },
  'aws-cli': {
    command: '/usr/bin/aws',
    args: ['configure', 'export-credentials', '--format', 'process'],
  },
  /** The JS provider the default chain tries first, alone: unlike the chain, it reports the daemon's Code/Message. */
  'js-from-http': {
    command: process.execPath,
    args: [
      '--input-type=module',
      '-e',
      `import { fromHttp } from '@aws-sdk/credential-providers';
       try {
         const c = await fromHttp({ maxRetries: 0 })();
         process.stdout.write(JSON.stringify({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken }));
       } catch (e) {
         process.stderr.write(JSON.stringify({ name: e.name, message: e.message, Code: e.Code, Message: e.Message }));
         process.exit(1);
       }`,
    ],
  },
} as const;

export type ClientName = keyof typeof CLIENTS;

/** Runs one of CLIENTS against a session; `credentials` is set when it printed some. */
export async function fetchWithClient(
  name: ClientName,
  url: string,
  token: string,
): Promise<ProcessResult & { credentials?: { AccessKeyId: string; SecretAccessKey: string; Token: string } }> {
  const c = CLIENTS[name];
  const result = await runProcess(c.command, [...c.args], { env: containerClientEnv(url, token), timeoutMs: 60_000 });
  if (result.code !== 0) return result;
  const out = JSON.parse(result.stdout) as Record<string, string>;
  return {
    ...result,
    credentials: {
      AccessKeyId: out.AccessKeyId!,
      SecretAccessKey: out.SecretAccessKey!,
      Token: out.Token ?? out.SessionToken!,
    },
  };
}

/** An STS emulator and a throwaway HOME for the built CLI's daemon; `sentinel` runs the CLI in that HOME (or in
 * `env`). Whatever a test does, no daemon outlives it. */
export async function cliHome(t: HasTeardown) {
  const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
  t.teardown(() => sts.close());
  const home = prepareHome({}, sts.url);
  t.teardown(() => removeHome(home));
  const inEnv = (env: Record<string, string>, ...args: string[]) =>
    runProcess(process.execPath, [CLI_MAIN, ...args], { env, timeoutMs: 60_000 });
  return { home, sts, inEnv, sentinel: (...args: string[]) => inEnv(home.env, ...args) };
}

/** The daemon.json of a running daemon in `runtimeDir`, read by the daemon's own reader; none there fails the test. */
export function daemonState(runtimeDir: string): DaemonState {
  const state = readDaemonState(runtimeDir);
  if (!state) throw new Error(`no daemon.json of a running daemon in ${runtimeDir}`);
  return state;
}
