// `sentinel daemon run|start|stop|restart|status|reload` (DESIGN §8). `run` is the foreground daemon systemd and launchd
// call; the others talk to it over its socket. Only light modules at the top: the daemon itself is imported by `run`.
import type { Command } from 'commander';
import type { AuditStatus } from '../core/audit/trail.js';
import { SentinelError, isErrorCode } from '../core/errors.js';
import { openTrustedAppend } from '../core/path-trust.js';
import { pidAlive } from '../daemon/runtime/pid.js';
import { printJson, relativeTime, reportError } from './output.js';
import type { GlobalOptions } from './program.js';
import { DAEMON_NODE_FLAGS } from './daemon-node-flags.js';
import { plainFlags } from './plain-flags.js';
import { isHex16 } from '../core/text/hex-id.js';
import { visible } from '../core/text/printable.js';

/** The parts of GET /v1/status that the summary prints. */
interface StatusBody {
  version: string;
  pid: number;
  started_at: string;
  uptime_seconds: number;
  /** Which service manager started it; absent from daemons that predate it. */
  service_manager?: 'systemd' | 'launchd' | null;
  listeners: { unix: string; socket_activated: boolean; tcp: { host: string; port: number }; url: string };
  policy: {
    source: string;
    location: string;
    version: string | null;
    rules: number;
    lastError: string | null;
    loadedAt: string | null;
  };
  store: string;
  session_table?: string | null;
  /** The start-up check of a DynamoDB session table; absent from daemons that predate it. */
  session_table_check?: { checked_at: string; code: string | null; problem: string | null } | null;
  /** Set when the daemon serves through the server-side vendor (DESIGN §17). */
  vendor?: { url: string; region: string; profile: string | null } | null;
  sessions: { active: number };
  /** The decision log and its forwarding; absent from daemons that predate it. */
  audit?: AuditStatus | null;
  counters: {
    sessions_opened: number;
    credential_requests: number;
    credential_process_requests: number;
    allowed: number;
    denied: number;
    reloads: number;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function clientFor(globals: GlobalOptions, timeoutMs = 10_000) {
  const { DaemonClient, resolveSocket, socketNamed } = await import('./client.js');
  return new DaemonClient({
    socketPath: await resolveSocket(globals),
    timeoutMs,
    explicitSocket: socketNamed(globals),
  });
}

/** The status body, or undefined when no daemon answers (any other failure is thrown). */
async function statusOf(globals: GlobalOptions): Promise<StatusBody | undefined> {
  const client = await clientFor(globals);
  let body: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      body = await client.get<unknown>('/v1/status');
      break;
    } catch (e) {
      if (e instanceof SentinelError && e.code === 'DaemonNotRunning') return undefined;
      // A daemon that is stopping (another `stop` or `restart` asked it) resets the connections it accepted: asked
      // again shortly, it is gone or a new one answers.
      const failure = (await import('./client.js')).transportFailure(e);
      if (attempt < 30 && (failure === 'ECONNRESET' || failure === 'EPIPE')) {
        await sleep(100);
        continue;
      }
      throw e;
    }
  }
  if (!isStatusBody(body)) {
    throw new SentinelError('InternalError', `what answers on ${client.socketPath} is not a Sentinel daemon`, {
      hint: 'Its /v1/status answer has not the shape `sentinel daemon status` expects: stop that process, or point --socket / SENTINEL_SOCKET at your daemon.',
    });
  }
  return body;
}

/** Every field summary() reads, so that an unexpected answer is an error rather than a crash while printing it. */
function isStatusBody(b: unknown): b is StatusBody {
  const o = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const str = (v: unknown) => typeof v === 'string';
  if (!o(b) || !str(b.version) || !num(b.pid) || !str(b.started_at) || !str(b.store)) return false;
  if (![undefined, null, 'systemd', 'launchd'].includes(b.service_manager as string)) return false;
  const { listeners: l, policy: p, sessions: s, counters: c } = b;
  return (
    o(l) &&
    str(l.unix) &&
    str(l.url) &&
    o(p) &&
    str(p.source) &&
    str(p.location) &&
    (p.lastError === null || str(p.lastError)) &&
    (p.version === null || str(p.version)) &&
    num(p.rules) &&
    o(s) &&
    num(s.active) &&
    o(c) &&
    ['sessions_opened', 'credential_requests', 'credential_process_requests', 'allowed', 'denied'].every((k) =>
      num(c[k]),
    )
  );
}

/**
 * Whether a daemon is there: one that answers, or one that still holds the runtime dir's lock without answering
 * (stopping, or wedged). status, start and stop all go by this, so they never contradict each other. `listensOn`: the
 * lock holder recorded another socket in daemon.json than the one asked (a wrong --socket or SENTINEL_SOCKET): it is
 * not silent, only asked in the wrong place, and must not be taken for wedged (stop would send it SIGTERM).
 */
type Presence =
  { answers: StatusBody; pid: number } | { answers: undefined; pid: number; listensOn: string | null } | undefined;

async function presence(globals: GlobalOptions): Promise<Presence> {
  let answers: StatusBody | undefined;
  try {
    answers = await statusOf(globals);
  } catch (e) {
    // Connected, and no answer in time: a wedged daemon (stopped, or stuck), which the lock names like a silent one.
    if ((await import('./client.js')).transportFailure(e) !== 'ETIMEDOUT') throw e;
  }
  if (answers) return { answers, pid: answers.pid };
  const [
    { resolveRuntimeDir, resolveSocket },
    { lockHolderPid },
    { readDaemonState },
    { resolve },
    { ownRuntimeDirPresent },
  ] = await Promise.all([
    import('./client.js'),
    import('../daemon/runtime/lock.js'),
    import('../daemon/runtime/daemon-state.js'),
    import('node:path'),
    import('./socket-trust.js'),
  ]);
  const runtimeDir = await resolveRuntimeDir(globals);
  // The lock is believed only in a runtime dir of ours: in one another user created first (the /tmp fallback, with the
  // socket named elsewhere), her lock would name whichever of our processes she wants `daemon stop` to SIGTERM.
  if (!ownRuntimeDirPresent(runtimeDir)) return undefined;
  const pid = lockHolderPid(runtimeDir);
  if (pid === undefined) return undefined;
  const state = readDaemonState(runtimeDir);
  const elsewhere =
    state?.pid === pid && resolve(state.socket) !== resolve(await resolveSocket(globals)) ? state.socket : null;
  return { answers: undefined, pid, listensOn: elsewhere };
}

async function silentDaemon(
  globals: GlobalOptions,
  there: { pid: number; listensOn: string | null },
  code: 'DaemonNotRunning' | 'DaemonAlreadyRunning',
) {
  const { resolveSocket } = await import('./client.js');
  const asked = await resolveSocket(globals);
  const { pid, listensOn } = there;
  if (listensOn !== null)
    return new SentinelError(
      code,
      `nothing answers on ${asked}; the daemon of this runtime directory (pid ${pid}) listens on ${listensOn}`,
      {
        hint: `Leave out --socket and SENTINEL_SOCKET to reach it, or pass --socket ${listensOn}; \`sentinel daemon stop\` does not signal a daemon on another socket.`,
      },
    );
  if ((await import('../daemon/runtime/pid.js')).processStopped(pid))
    return new SentinelError(
      code,
      `a Sentinel daemon (pid ${pid}) holds the runtime directory but is stopped (SIGSTOP, or a job suspended in its terminal), so nothing answers on ${asked}`,
      {
        hint: `\`kill -CONT ${pid}\` (or \`fg\` in its terminal) resumes it; \`sentinel daemon stop\` ends it.`,
      },
    );
  return new SentinelError(
    code,
    `a Sentinel daemon (pid ${pid}) holds the runtime directory but does not answer on ${asked}`,
    { hint: `It may be stopping; \`sentinel daemon stop\` ends it (it sends SIGTERM to pid ${pid}).` },
  );
}

function summary(s: StatusBody): string {
  const started = relativeTime(s.started_at).replace(/ ago$/, '');
  const policy = s.vendor
    ? `decided by the vendor (none read here)`
    : s.policy.lastError
      ? partlyLoaded(s.policy)
        ? `${s.policy.source}:${s.policy.location} (version ${s.policy.version}, ${rulesText(s.policy.rules)}); not loaded: ${visible(s.policy.lastError)}`
        : // Say what is in force meanwhile: "NOT LOADED" alone reads as "everything is denied" while a last good
          // policy is still served.
          `${s.policy.source}:${s.policy.location} — NOT LOADED: ${visible(s.policy.lastError).replace(/\.$/, '')}${
            s.policy.version
              ? `; the last good policy (version ${s.policy.version}, ${rulesText(s.policy.rules)}) is kept`
              : '; every request is denied'
          }`
      : `${s.policy.source}:${s.policy.location} (version ${s.policy.version ?? '-'}, ${rulesText(s.policy.rules)})`;
  const c = s.counters;
  return (
    [
      `sentinel daemon ${s.version}: running (pid ${s.pid}, up ${started === 'now' ? 'just now' : started}` +
        `${s.service_manager ? `, started by ${s.service_manager}` : ''})`,
      `socket:   ${s.listeners.unix}${s.listeners.socket_activated ? ' (socket activation)' : ''}`,
      `endpoint: ${s.listeners.url}`,
      ...(s.vendor
        ? [
            `vendor:   ${s.vendor.url} (${s.vendor.region}; signed as ${s.vendor.profile ?? 'the default AWS credentials'})`,
          ]
        : []),
      `policy:   ${policy}`,
      ...auditLines(s.audit),
      `sessions: ${s.sessions.active} active (${s.store} store${tableText(s)}), ${c.sessions_opened} opened since start`,
      `requests: ${c.credential_requests} credential, ${c.credential_process_requests} credential_process; decisions (session opens too): ${c.allowed} allowed, ${c.denied} refused`,
    ].join('\n') + '\n'
  );
}

/** The session table and what its start-up check found: a table of another kind or out of reach is said here. */
function tableText(s: StatusBody): string {
  if (!s.session_table) return '';
  const check = s.session_table_check;
  if (check === undefined) return `, table ${s.session_table}`;
  if (check === null) return `, table ${s.session_table}: not checked yet`;
  return check.problem === null
    ? `, table ${s.session_table}: reachable at start`
    : `, table ${s.session_table}: NOT USABLE at start (${check.code}: ${check.problem})`;
}

/** Where decisions go, and — the reason AuditUnavailable sends people here — why they cannot, when they cannot. */
function auditLines(audit: StatusBody['audit']): string[] {
  if (!audit) return [];
  const cw = audit.cloudwatch;
  // `unavailable` is also set when forwarding refuses; that is said on the forwarding line, not as a log problem.
  const logProblem = audit.unavailable !== null && audit.unavailable !== cw?.refusing ? audit.unavailable : null;
  const lines = [
    `log:      ${audit.file}${audit.signed ? ' (signed)' : ''}` +
      (logProblem ? ` — NOT RECORDING, credentials are refused: ${logProblem}` : ''),
  ];
  if (cw) {
    const where = `${cw.log_group}/${cw.log_stream ?? '(stream not known yet)'}`;
    const lag =
      cw.pending_lines === 0 ? 'caught up' : `${cw.pending_lines} line(s) pending, ${cw.lag_seconds} s behind`;
    lines.push(
      `forward:  CloudWatch Logs ${where}${cw.required ? ' (required)' : ''}: ${lag}, ${cw.forwarded_lines} sent` +
        (cw.last_error ? `; last error: ${cw.last_error}` : '') +
        (cw.cursor_error ? `; cursor not saved: ${cw.cursor_error}` : '') +
        (cw.refusing ? ` — REFUSING credentials: ${cw.refusing}` : ''),
    );
  }
  return lines;
}

/**
 * `[--config F] [--socket S] daemon run [--json]`, the form systemd, launchd and `daemon start` spawn, parsed without
 * commander (main.ts): loading the full program is about a fifth of the daemon's start-up. undefined for any other
 * shape (help, unknown flags, other orders), which then goes through the full program and its usual messages.
 */
export function parseDaemonRun(args: string[]): { globals: GlobalOptions; json: boolean } | undefined {
  const i = args.indexOf('daemon');
  if (i === -1 || args[i + 1] !== 'run') return undefined;
  const rest = args.slice(i + 2);
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== '--json')) return undefined;
  const values = plainFlags(args.slice(0, i), ['config', 'socket']);
  // An empty --config= would read as no flag at all and start on the default config: the full parser decides.
  if (!values || Object.values(values).includes('')) return undefined;
  return { globals: values as GlobalOptions, json: rest.length === 1 };
}

/** The exit code of the fast path, or undefined when `args` needs the full command-line parser. */
export async function runDaemonFast(args: string[]): Promise<number | undefined> {
  const parsed = parseDaemonRun(args);
  if (!parsed) return undefined;
  try {
    await run(parsed.globals, { json: parsed.json });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, { json: parsed.json });
  }
}

/**
 * A daemon started inside `sentinel use` or `sentinel exec` would take the session's environment as its own: the
 * session's copy of the AWS config (no role_arn, no source_profile), no shared credentials file, the old daemon's
 * endpoint. It would start, and then resolve no profile's base credentials. What the shell had before the session is
 * kept in shell variables a child cannot see, so it cannot be restored here: refused, saying how to get out.
 */
function refuseSessionEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const id = env.SENTINEL_SESSION;
  if (!id) return;
  throw new SentinelError(
    'UsageError',
    `this environment uses Sentinel session ${isHex16(id) ? id : '(unknown id)'}: a daemon started in it would take ` +
      "the session's AWS settings (its copy of the AWS config, no credentials file, the session's endpoint) as its own " +
      'and could resolve no profile',
    {
      hint: 'Run `sentinel use --off` first (or leave the `sentinel exec` command), or start the daemon from another shell or as a service (`sentinel service install`).',
    },
  );
}

async function run(globals: GlobalOptions, options: { json?: boolean }): Promise<void> {
  refuseSessionEnvironment();
  const [{ runDaemon }, { hasControllingTerminal }, { createLogger }] = await Promise.all([
    import('../daemon/run.js'),
    import('../daemon/lifecycle/signals.js'),
    import('../core/log.js'),
  ]);
  const foreground = hasControllingTerminal();
  const daemon = await runDaemon({
    configFlag: globals.config,
    socketFlag: globals.socket,
    handleSignals: true,
    hangup: foreground ? 'stop' : 'reload',
    log: createLogger({ pretty: !options.json && process.stderr.isTTY === true }),
  });
  await daemon.closed;
  // Everything is closed; if a stray handle still holds the loop, do not hang the service manager's stop.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}

/** `--timeout <seconds>` in milliseconds: a positive number of seconds (`abc` or `0` is a usage error, not 15 s). */
function timeoutMs(text: string): number {
  const seconds = Number(text);
  if (!/^\s*\d*\.?\d+\s*$/.test(text) || !(seconds > 0) || seconds > 86_400)
    throw new SentinelError(
      'UsageError',
      `--timeout must be a number of seconds above 0, at most 86400 (got "${visible(text)}")`,
      {
        hint: 'For example `--timeout 60`.',
      },
    );
  return seconds * 1000;
}

/** The first status, asked every 100 ms until `deadline`, of a daemon that `accept`s; undefined if none answered so. */
async function answering(
  globals: GlobalOptions,
  deadline: number,
  accept: (s: StatusBody) => boolean,
): Promise<StatusBody | undefined> {
  while (Date.now() < deadline) {
    const now = await statusOf(globals).catch(() => undefined);
    if (now && accept(now)) return now;
    await sleep(100);
  }
  return undefined;
}

/** The port of a `last_port_taken` line in the daemon's log (`--json`), if any. */
function lastPortTaken(logText: string): number | undefined {
  for (const line of logText.split('\n')) {
    if (!line.includes('"event":"last_port_taken"')) continue;
    try {
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === 'number') return port;
    } catch {
      // not our line
    }
  }
  return undefined;
}

/** Said when the credential endpoint did not get its last port back: the shells from before point at the old one. */
function portMovedWarning(from: number, to: number): string {
  return (
    `Warning: the credential endpoint's last port ${from} was taken, so it listens on ${to}: shells and exec commands ` +
    `started before this daemon still send their requests to ${from}, to whoever holds it. Run \`sentinel use ` +
    `<profile>\` again in each (or open new ones).\n`
  );
}

/** The error a failed `daemon run` printed as JSON (`--json`) in its log, if any. */
function startFailure(logText: string): SentinelError | undefined {
  const lines = logText.split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{"error"')) continue;
    try {
      const e = (JSON.parse(line) as { error: { code: unknown; message: unknown; hint: unknown } }).error;
      if (isErrorCode(e.code)) {
        return new SentinelError(e.code, typeof e.message === 'string' ? e.message : undefined, {
          hint: typeof e.hint === 'string' ? e.hint : undefined,
        });
      }
    } catch {
      // not our line
    }
  }
  return undefined;
}

async function start(globals: GlobalOptions, options: { timeout: string }): Promise<void> {
  let running = await presence(globals);
  // A daemon that holds the runtime directory but does not answer yet may be starting (a concurrent `start` or
  // `restart`): given a few seconds to answer before it is reported.
  const limitMs = timeoutMs(options.timeout);
  const patience = Date.now() + Math.min(limitMs, 5_000);
  while (running && !running.answers && running.listensOn === null && Date.now() < patience) {
    await sleep(100);
    running = await presence(globals);
  }
  if (running?.answers) {
    process.stdout.write(`sentinel daemon already running (pid ${running.pid})\n`);
    return;
  }
  if (running) throw await silentDaemon(globals, running, 'DaemonAlreadyRunning');
  refuseSessionEnvironment();
  const [{ spawn }, fs, { join }, { fileURLToPath }, paths] = await Promise.all([
    import('node:child_process'),
    import('node:fs'),
    import('node:path'),
    import('node:url'),
    import('../core/paths.js'),
  ]);
  // The daemon's own checks run only in the child: its output file is checked here, as any file Sentinel writes.
  const logFile = join(paths.stateDir(), 'daemon.log');
  const fd = openTrustedAppend(logFile);
  const offset = fs.fstatSync(fd).size;
  const built = fileURLToPath(new URL('./main.js', import.meta.url));
  const main = fs.existsSync(built) ? built : process.argv[1]!;
  const args = [
    ...DAEMON_NODE_FLAGS,
    main,
    ...(globals.config ? ['--config', globals.config] : []),
    ...(globals.socket ? ['--socket', globals.socket] : []),
    'daemon',
    'run',
    '--json',
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  fs.closeSync(fd);
  let exit: number | null | undefined;
  child.once('exit', (code, signal) => (exit = code ?? (signal ? 1 : 0)));
  child.unref();

  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    await sleep(100);
    const status = exit === undefined ? await statusOf(globals).catch(() => undefined) : undefined;
    if (status) {
      process.stdout.write(
        `sentinel daemon started (pid ${status.pid}); log: ${logFile}\n${policyLine(status.policy)}\n`,
      );
      const taken = lastPortTaken(fs.readFileSync(logFile, 'utf8').slice(offset));
      if (taken !== undefined) process.stderr.write(portMovedWarning(taken, status.listeners.tcp.port));
      return;
    }
    if (exit !== undefined) {
      const text = fs.readFileSync(logFile, 'utf8').slice(offset);
      const failure = startFailure(text);
      if (failure?.code === 'DaemonAlreadyRunning') {
        // Another `start` or `restart` won the runtime directory meanwhile: once that daemon answers, one runs, as
        // asked.
        const other = await answering(globals, deadline, () => true);
        if (other) return void process.stdout.write(`sentinel daemon already running (pid ${other.pid})\n`);
      }
      throw (
        failure ??
        new SentinelError('InternalError', `the daemon exited with status ${exit} before it answered`, {
          hint: `See ${logFile}.`,
        })
      );
    }
  }
  throw new SentinelError('InternalError', `the daemon did not answer within ${Math.round(limitMs / 1000)}s`, {
    hint: `See ${logFile}; it may still be starting (\`sentinel daemon status\`).`,
  });
}

async function stop(globals: GlobalOptions, options: { timeout: string }): Promise<void> {
  const limitMs = timeoutMs(options.timeout);
  const running = await presence(globals);
  if (!running) {
    process.stdout.write('sentinel daemon is not running\n');
    return;
  }
  let asked: SentinelError | undefined;
  if (running.answers) {
    const client = await clientFor(globals);
    try {
      await client.post('/v1/shutdown', {});
    } catch (e) {
      // It may close the connection while answering (ECONNRESET when another `stop` or `restart` asked it first);
      // what counts is that it goes away. Said only if it does not.
      if (!(e instanceof SentinelError)) throw e;
      if (e.code !== 'DaemonNotRunning') asked = e;
    }
  } else {
    // Asked on the wrong socket, it is not wedged: refused rather than signalled.
    if (running.listensOn !== null) throw await silentDaemon(globals, running, 'DaemonNotRunning');
    // The lock names it by pid and start time, so this is the daemon and not a process that reused its pid.
    process.kill(running.pid, 'SIGTERM');
    // A stopped process keeps a SIGTERM pending until it runs again: resumed, it acts on it (as a shell's `kill` does
    // for a stopped job). To a running daemon SIGCONT is nothing.
    process.kill(running.pid, 'SIGCONT');
  }
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    // Gone, even when another daemon (a concurrent `start` or `restart`) answers on the socket by now.
    if (!pidAlive(running.pid) && (await statusOf(globals).catch(() => undefined))?.pid !== running.pid) {
      process.stdout.write(`sentinel daemon stopped (pid ${running.pid})\n`);
      return;
    }
    await sleep(100);
  }
  if (asked) throw asked;
  throw new SentinelError('InternalError', `the daemon (pid ${running.pid}) did not stop within ${limitMs / 1000}s`, {
    hint: `It may still be finishing requests; check with \`sentinel daemon status\`, or end it at once with \`kill -KILL ${running.pid}\`.`,
  });
}

/**
 * The service manager that runs the daemon, as its status says. A daemon from before the field (the one an upgrade
 * replaces) is looked up in its cgroup, so that systemd's is not stopped by hand and started outside its unit.
 */
export async function managerOfDaemon(
  status: Pick<StatusBody, 'pid' | 'service_manager'>,
  cgroup?: () => string,
): Promise<'systemd' | 'launchd' | null> {
  if (status.service_manager !== undefined) return status.service_manager;
  const [{ serviceManager }, { readFileSync }] = await Promise.all([
    import('../daemon/lifecycle/service-manager.js'),
    import('node:fs'),
  ]);
  return serviceManager({}, status.pid, cgroup ?? (() => readFileSync(`/proc/${status.pid}/cgroup`, 'utf8')));
}

/**
 * Stop, then start. A daemon that a service manager started is restarted by that manager instead, so the new one runs
 * in the unit as the old one did (stopped and started by hand, it would run outside it, unwatched, until the next
 * login).
 */
async function restart(globals: GlobalOptions, options: { timeout: string }): Promise<void> {
  const limitMs = timeoutMs(options.timeout); // checked before anything is stopped
  const running = await presence(globals);
  const old = running?.answers;
  const manager = old ? await managerOfDaemon(old) : null;
  if (old && manager) {
    const { restartService, managerHint } = await import('./service-manager.js');
    const command = restartService(manager);
    const now = await answering(
      globals,
      Date.now() + limitMs,
      (s) => s.pid !== old.pid || s.started_at !== old.started_at,
    );
    if (now) {
      process.stdout.write(
        `sentinel daemon restarted by ${manager} (pid ${old.pid}, now ${now.pid})\n${policyLine(now.policy)}\n`,
      );
      const [from, to] = [old.listeners.tcp.port, now.listeners.tcp.port];
      if (from !== to) process.stderr.write(portMovedWarning(from, to));
      return;
    }
    throw new SentinelError(
      'ServiceManagerFailed',
      `\`${command}\` succeeded, but no new daemon answered within ${Math.round(limitMs / 1000)}s`,
      { hint: managerHint(manager) },
    );
  }
  // Before anything is stopped: the start that follows would be refused in a session's environment.
  refuseSessionEnvironment();
  // One bound for each step: a wedged daemon must not hold a restart for longer than the user asked to wait.
  await stop(globals, options);
  await start(globals, options);
}

async function status(globals: GlobalOptions, options: { json?: boolean }): Promise<void> {
  const there = await presence(globals);
  if (there && !there.answers) throw await silentDaemon(globals, there, 'DaemonNotRunning');
  const s = there?.answers;
  if (!s) {
    const { resolveSocket } = await import('./client.js');
    throw new SentinelError(
      'DaemonNotRunning',
      `the Sentinel daemon is not running (no answer on ${await resolveSocket(globals)})`,
    );
  }
  if (options.json) printJson(s);
  else process.stdout.write(summary(s));
}

const rulesText = (n: number) => `${n} rule${n === 1 ? '' : 's'}`;

/**
 * SSM holds one policy per profile: some can be in force while others are refused, and "NOT LOADED" would hide that
 * the loaded ones are being served.
 */
function partlyLoaded(p: StatusBody['policy']): boolean {
  return p.source === 'ssm' && p.version !== null && p.rules > 0;
}

/** The policy state in one line: what is loaded from where, or the first problem and what stays in force. */
function policyLine(p: StatusBody['policy']): string {
  if (p.source === 'vendor') return `policy: decided by the vendor at ${p.location}`;
  const loaded = `${rulesText(p.rules)} loaded from ${p.source}:${p.location} (version ${p.version ?? '-'})`;
  if (!p.lastError) return `policy: ${loaded}`;
  if (partlyLoaded(p)) return `policy: ${loaded}; not loaded: ${visible(p.lastError).replace(/\.$/, '')}`;
  return `policy: NOT LOADED ${policyProblem(p)}`;
}

function policyProblem(p: StatusBody['policy']): string {
  const kept = p.version ? `; the last good policy (version ${p.version}) is kept` : '; every request is denied';
  // lastError may end in a sentence of its own ("… then `sentinel daemon reload`."): its full stop goes before ";".
  return `from ${p.source}:${p.location}: ${visible(p.lastError ?? '').replace(/\.$/, '')}${kept}`;
}

interface ReloadBody {
  config: { file: string; error: { code: string; message: string } | null };
  policy: StatusBody['policy'];
}

/** Over the control socket (what SIGHUP does to a daemon without a terminal): config, policy and AWS config again. */
async function reload(globals: GlobalOptions, options: { json?: boolean }): Promise<void> {
  const client = await clientFor(globals, 30_000);
  const result = await client.post<ReloadBody>('/v1/reload', {});
  if (options.json) printJson(result);
  if (result.config.error) {
    throw new SentinelError(
      'ConfigInvalid',
      `${result.config.file} did not reload: ${result.config.error.message}; the running config stays in force`,
      { hint: `Fix ${result.config.file}, then \`sentinel daemon reload\` again.` },
    );
  }
  if (result.policy.lastError) {
    throw new SentinelError('PolicyInvalid', `the policy did not reload ${policyProblem(result.policy)}`, {
      hint:
        result.policy.source === 'file'
          ? `Check it with \`sentinel policy validate ${result.policy.location}\`, fix it, then \`sentinel daemon reload\`.`
          : 'Fix the policy parameter, then `sentinel daemon reload`.',
    });
  }
  if (options.json) return;
  // The daemon runs on the defaults when there is no config.yaml; "reloaded <a file that is not there>" would mislead.
  const { existsSync } = await import('node:fs');
  const read = existsSync(result.config.file)
    ? result.config.file
    : `the defaults (${result.config.file} does not exist)`;
  process.stdout.write(`reloaded ${read}; ${policyLine(result.policy)}\n`);
}

export function register(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('run, start, stop and inspect the Sentinel daemon')
    .addHelpText(
      'after',
      `
The daemon serves credentials on a Unix socket and on 127.0.0.1; see docs/daemon.md. To keep it running across
logins, let the service manager run it: \`sentinel service install\`.

Examples:
  $ sentinel daemon start
  $ sentinel daemon status
  $ sentinel daemon restart
  $ sentinel daemon stop`,
    );

  daemon
    .command('run')
    .description('run the daemon in the foreground (systemd and launchd call this)')
    .option('--json', 'log JSON lines even on a terminal, and report a start-up failure as JSON on stderr')
    .addHelpText(
      'after',
      `
Logs operations (not decisions) on stderr: readable text on a terminal, JSON lines otherwise. SIGTERM and SIGINT stop
it gracefully (requests in flight finish). SIGHUP reloads config, policy and AWS config, except in the foreground of
a terminal, where it means the terminal is gone and the daemon stops. Under systemd it speaks sd_notify and accepts
socket activation.

Examples:
  $ sentinel daemon run
  $ sentinel --config ./config.yaml daemon run --json
  $ SENTINEL_LOG_LEVEL=debug sentinel daemon run

Exit codes: 0 stopped by a signal or \`sentinel daemon stop\`; 1 could not start (another daemon runs, an unsafe
runtime dir, a bad config).`,
    )
    .action(async (options: { json?: boolean }, command: Command) =>
      run(command.optsWithGlobals<GlobalOptions>(), options),
    );

  daemon
    .command('start')
    .description('start the daemon in the background and wait until it answers (does nothing if it runs)')
    .option('--timeout <seconds>', 'how long to wait for it to answer', '15')
    .addHelpText(
      'after',
      `
The daemon's output goes to daemon.log in the state dir (~/.local/state/sentinel/); if it cannot start, its own error
is reported here.

Examples:
  $ sentinel daemon start
  $ sentinel daemon start --timeout 60

Run it outside a \`sentinel use\` shell or \`sentinel exec\` command: a daemon started inside one would take the
session's AWS settings as its own, so that is refused (exit 2).

Exit codes: 0 started or already running; 1 it could not start or did not answer in time; 2 refused (a session's
environment).`,
    )
    .action(async (options: { timeout: string }, command: Command) =>
      start(command.optsWithGlobals<GlobalOptions>(), options),
    );

  daemon
    .command('stop')
    .description('stop the daemon gracefully and wait until it is gone')
    .option('--timeout <seconds>', 'how long to wait for it to stop', '20')
    .addHelpText(
      'after',
      `
Requests in flight finish first, its sessions are ended, the decision log is flushed and the socket removed.

Examples:
  $ sentinel daemon stop
  $ sentinel daemon stop --timeout 60

Exit codes: 0 stopped, or it was not running; 1 it did not stop in time.`,
    )
    .action(async (options: { timeout: string }, command: Command) =>
      stop(command.optsWithGlobals<GlobalOptions>(), options),
    );

  daemon
    .command('restart')
    .description('stop the daemon and start it again (through systemd or launchd when they run it)')
    .option(
      '--timeout <seconds>',
      'how long to wait for the old daemon to stop, and then for the new one to answer (each)',
      '20',
    )
    .addHelpText(
      'after',
      `
A daemon that systemd or launchd runs (\`sentinel service install\`) is restarted by them (\`systemctl --user restart
sentinel.service\`, \`launchctl kickstart -k gui/<uid>/dev.sentinel.agent\`), so it stays in its unit. Any other is
stopped as \`daemon stop\` does and started as \`daemon start\` does; if none runs, one is started.

Sessions end with the daemon that opened them (with the memory store) and every token does: run \`sentinel use
<profile>\` again in shells that had one. The new daemon listens on the old one's port when it is free, so the AWS
CLI in those shells says so (TokenInvalid) rather than failing to connect; when another process took the port, a
Warning on stderr says so (those shells then talk to it until \`sentinel use\` runs again in each).

Examples:
  $ sentinel daemon restart
  $ sentinel daemon restart --timeout 60

Exit codes: 0 restarted; 1 it did not stop, or did not start or answer in time (or the service manager failed); 2
refused (a session's environment, for a daemon that no service manager runs).`,
    )
    .action(async (options: { timeout: string }, command: Command) =>
      restart(command.optsWithGlobals<GlobalOptions>(), options),
    );

  daemon
    .command('status')
    .description('show whether the daemon runs and what it serves (exit 0 when it answers, 4 when not)')
    .option('--json', 'print the /v1/status body')
    .addHelpText(
      'after',
      `
Examples:
  $ sentinel daemon status
  $ sentinel daemon status --json
  $ sentinel daemon status >/dev/null 2>&1 || sentinel daemon start

Exit codes: 0 the daemon answers; 1 error; 4 daemon not running.`,
    )
    .action(async (options: { json?: boolean }, command: Command) =>
      status(command.optsWithGlobals<GlobalOptions>(), options),
    );

  daemon
    .command('reload')
    .description('reload config, policy and AWS config, and print the policy state')
    .option('--json', 'print what the reload did (config file and error, policy state)')
    .addHelpText(
      'after',
      `
Asks the daemon over its control socket and prints the policy state. A config.yaml or a policy that does not load is
reported with its problem (exit 1); the running config and the last good policy stay in force.

Examples:
  $ sentinel daemon reload
  $ systemctl --user reload sentinel     # the same, through systemd

Exit codes: 0 reloaded; 1 config.yaml or the policy did not load; 4 daemon not running.`,
    )
    .action(async (options: { json?: boolean }, command: Command) =>
      reload(command.optsWithGlobals<GlobalOptions>(), options),
    );
}
