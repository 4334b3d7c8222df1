// No decision unrecorded (DESIGN §14): when the decision log cannot be written — disk full, the file made read-only,
// removed, replaced — credentials are refused with AuditUnavailable until a probe write succeeds; then served again.
import t, { type Test } from 'tap';
import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAppender } from '../core/audit/appender.js';
import { createDecisionLog } from '../core/audit/decision-log.js';
import { createAuditTrail } from '../core/audit/trail.js';
import { silentLogger } from '../core/log.js';
import { sentinelInProcess } from './support/cli.js';
import { startDaemon, type DaemonHarness, type FetchResult } from './support/daemon.js';
import { until } from './support/wait.js';

const PROBE_MS = 50;

function refused(t: Test, r: FetchResult, what: string): void {
  t.equal(r.status, 503, `${what}: 503`);
  t.equal(r.json?.Code, 'AuditUnavailable', `${what}: AuditUnavailable`);
  t.notOk('AccessKeyId' in (r.json ?? {}), `${what}: no credentials`);
}

async function daemonWithProbe(t: Test): Promise<DaemonHarness> {
  return startDaemon(t, {
    parts: { decisions: (config, log) => createAuditTrail(config, { log, probeMs: PROBE_MS }) },
  });
}

const unavailable = (d: DaemonHarness) => d.daemon!.parts.decisions.unavailable?.() ?? null;

t.test('read-only under a running daemon: refused, then served once it is writable again', async (t) => {
  const d = await daemonWithProbe(t);
  const session = await d.openSession('dev');
  const creds = () => d.fetch({ transport: 'tcp', token: session.token });
  t.equal((await creds()).status, 200, 'served while the log is writable');

  chmodSync(d.decisionLogFile, 0o400);
  await until(
    () => unavailable(d),
    (v) => v !== null,
    2000,
  );
  t.match(unavailable(d), /read-only/);
  refused(t, await creds(), 'cached credentials');
  refused(
    t,
    await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } }),
    'open',
  );
  refused(
    t,
    await d.fetch({ transport: 'unix', method: 'POST', path: '/v1/credentials', body: { profile: 'dev' } }),
    'credential_process',
  );
  t.match(d.logs(), /decision log cannot be written; credentials are refused/);
  // AuditUnavailable's hint sends people to `daemon status`; its plain form names the problem.
  const status = await sentinelInProcess(['--config', d.configFile, 'daemon', 'status'], { env: { ...d.env } });
  t.match(status.stdout, /^log: +.*decisions\.log — NOT RECORDING, credentials are refused: .*read-only/m);

  chmodSync(d.decisionLogFile, 0o600);
  await until(
    () => unavailable(d),
    (v) => v === null,
    2000,
  );
  t.equal((await creds()).status, 200, 'served again after a probe write');
  t.match(d.logs(), /decision log writable again/);
  const lines = await d.decisions();
  t.equal(lines.at(-1)?.outcome, 'allow', 'the decision after recovery is in the file');
});

t.test('removed or renamed: the path is created again and decisions land there, not in the lost file', async (t) => {
  const d = await daemonWithProbe(t);
  const session = await d.openSession('dev');
  await d.daemon!.parts.decisions.flush();
  renameSync(d.decisionLogFile, `${d.decisionLogFile}.moved`);
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200);
  await d.daemon!.parts.decisions.flush();
  const fresh = readFileSync(d.decisionLogFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  t.equal(fresh.length, 1, `the new file holds the decision made after the rename: ${JSON.stringify(fresh)}`);
  t.equal(JSON.parse(fresh[0]!).outcome, 'allow');
  t.match(d.logs(), /removed or renamed/);
});

t.test('replaced by something that is not a file: refused until the path is a file again', async (t) => {
  const d = await daemonWithProbe(t);
  const session = await d.openSession('dev');
  rmSync(d.decisionLogFile);
  mkdirSync(d.decisionLogFile);
  await until(
    () => unavailable(d),
    (v) => v !== null,
    2000,
  );
  refused(t, await d.fetch({ transport: 'tcp', token: session.token }), 'a directory at the path');
  rmSync(d.decisionLogFile, { recursive: true });
  symlinkSync('/etc/passwd', d.decisionLogFile);
  await new Promise((r) => setTimeout(r, PROBE_MS * 4));
  refused(t, await d.fetch({ transport: 'tcp', token: session.token }), 'a symlink at the path');
  rmSync(d.decisionLogFile);
  await until(
    () => unavailable(d),
    (v) => v === null,
    2000,
  );
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'served again');
});

t.test('a write that fails (disk full) marks the log unavailable until a write succeeds', async (t) => {
  const fd = openSync('/dev/full', 'w');
  let healthy: Array<string | null> = [];
  const appender = createAppender<string>(fd, '/dev/full', silentLogger(), {
    render: (s) => `${s}\n`,
    probeMs: 20,
    onHealth: (p) => healthy.push(p),
  });
  appender.push('one');
  await appender.flush();
  t.match(appender.problem, /write failed \(ENOSPC\)/);
  t.equal(appender.dropped, 1);
  await new Promise((r) => setTimeout(r, 100));
  t.match(appender.problem, /ENOSPC/, 'the probe keeps failing, so it stays unavailable');
  t.same(healthy, [appender.problem], 'told once, not on every probe');
  healthy = [];
  await appender.close();
});

t.test('the target check: same inode, still writable; a replaced file is reopened', async (t) => {
  const dir = (await import('./support/cli.js')).tempDir(t, 'sentinel-unrecorded-');
  const file = join(dir, 'decisions.log');
  const { resolveConfig } = await import('../core/config.js');
  const config = resolveConfig({ audit: { file } }, 'c.yaml', { HOME: '/nonexistent' });
  const log = createDecisionLog(config, { log: silentLogger(), probeMs: 20 });
  t.teardown(() => log.close());
  const entry = (id: string) => ({
    timestamp: '2026-11-29T12:00:00.000Z',
    event: 'credentials' as const,
    outcome: 'allow' as const,
    user: 'alice',
    profile: 'dev',
    effect: 'allow',
    rule: 'r',
    rule_index: 0,
    reason: null,
    policy_source: null,
    policy_version: null,
    mode: 'server' as const,
    session_id: null,
    request_id: id,
    source_identity: null,
    role_arn: null,
    duration_seconds: 900,
    peer_pid: 1,
    peer_uid: 0,
  });
  log.write(entry('0000000000000001'));
  await log.flush();
  // Replaced by another regular file (say, by an editor's save): the daemon writes to the file the path names now.
  writeFileSync(`${file}.new`, '', { mode: 0o600 });
  renameSync(`${file}.new`, file);
  log.write(entry('0000000000000002'));
  await log.flush();
  const now = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  t.same(
    now.map((l) => JSON.parse(l).request_id),
    ['0000000000000002'],
    'the replacing file receives the next decision',
  );
  t.equal(log.unavailable?.(), null);
});
