// What another local user can make the daemon write by being refused (DESIGN §3.1, §7, §14): each peer that is not the
// daemon's user (uid and transport; an owner that cannot be found is one peer) has its first refusals of a window
// recorded in full and the rest counted into one peer_refusals line, and a connection refused for its peer is closed
// after that one answer. Before, a flood from another uid wrote a line per refusal, thousands a second on a handful of
// pipelining connections, and with forwarding required pushed the lag past its bound, so that the owner's own
// credentials were refused.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createAuditTrail } from '../core/audit/trail.js';
import { verifyDecisionLog } from '../core/audit/decision-log.js';
import { loadHmacKey } from '../core/audit/hmac-chain.js';
import type { RefusalCount } from '../core/authorize/decision-entry.js';
import { createLogger } from '../core/log.js';
import type { DaemonParts } from '../daemon/parts.js';
import { PeerRefusals } from '../daemon/server/peer-refusals.js';
import { NOBODY, runAsUser } from './support/as-user.js';
import { startDaemon, type DaemonHarness } from './support/daemon.js';
import { auditKeyFile } from './support/decision-log-fixture.js';
import { startLogs } from './support/logs-emulator.js';
import { tempDir } from './support/temp-dir.js';
import { until } from './support/wait.js';

/** Opens `connections` connections to the TCP listener, `parallel` at a time, each sending `pipeline` credential
 * requests in one write, and counts the answers and how each connection ended. */
const FLOOD = `
import net from 'node:net';
const port = Number(process.env.PORT);
const [connections, parallel, pipeline] = [process.env.CONNECTIONS, process.env.PARALLEL, process.env.PIPELINE].map(Number);
const request = 'GET /v1/credentials HTTP/1.1\\r\\nHost: 127.0.0.1:' + port + '\\r\\nAuthorization: ' + process.env.TOKEN + '\\r\\n\\r\\n';
const result = { answers: 0, refused: 0, closed_by_daemon: 0, errors: 0, ports: new Set() };
let started = 0;
function one() {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('connect', () => { result.ports.add(s.localPort); s.write(request.repeat(pipeline)); });
    s.on('data', (c) => (text += c));
    s.on('end', () => result.closed_by_daemon++);
    s.on('error', () => result.errors++);
    s.on('close', () => {
      result.answers += text.split('HTTP/1.1 ').length - 1;
      result.refused += text.split('"Code":"PeerNotAllowed"').length - 1;
      resolve();
    });
  });
}
async function worker() { while (started < connections) { started++; await one(); } }
await Promise.all(Array.from({ length: parallel }, worker));
process.stdout.write(JSON.stringify({ ...result, ports: result.ports.size }));
`;

interface FloodResult {
  answers: number;
  refused: number;
  closed_by_daemon: number;
  errors: number;
  ports: number;
}

async function floodAsNobody(
  d: DaemonHarness,
  options: { connections: number; parallel?: number; pipeline?: number; token?: string },
): Promise<FloodResult> {
  const child = runAsUser(NOBODY, NOBODY, FLOOD, {
    PORT: String(d.port),
    CONNECTIONS: String(options.connections),
    PARALLEL: String(options.parallel ?? 8),
    PIPELINE: String(options.pipeline ?? 1),
    TOKEN: options.token ?? 'A'.repeat(43),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  if (!out) throw new Error(`the flood client printed nothing: ${err}`);
  return JSON.parse(out) as FloodResult;
}

/** The decision log's entries, signed or not. */
async function entries(d: DaemonHarness): Promise<Array<Record<string, any>>> {
  return (await d.decisions()).map((l) => (l.entry as Record<string, any> | undefined) ?? l);
}

const fullRefusals = (all: Array<Record<string, any>>, uid: number | null) =>
  all.filter((e) => e.event !== 'peer_refusals' && e.error_code === 'PeerNotAllowed' && e.peer_uid === uid);
const counts = (all: Array<Record<string, any>>, uid: number | null) =>
  all.filter((e) => e.event === 'peer_refusals' && e.peer_uid === uid);
const sum = (lines: Array<Record<string, any>>) => lines.reduce((n, e) => n + (e.count as number), 0);

/** Raw HTTP on one connection: what came back, and whether the daemon ended the connection within `waitMs`. */
function rawExchange(
  target: { port?: number; path?: string },
  text: string,
  waitMs = 1000,
): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(target.port!, '127.0.0.1');
    let got = '';
    let ended = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text: got, ended });
    }, waitMs);
    s.on('connect', () => s.write(text));
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('end', () => {
      ended = true;
      clearTimeout(timer);
      resolve({ text: got, ended });
    });
    s.on('error', reject);
  });
}

const get = (port: number, token: string) =>
  `GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${token}\r\n\r\n`;

t.test('a flood from another uid: ten lines in full, the rest counted exactly, the chain intact', async (t) => {
  const dir = tempDir(t, 'sentinel-refusals-');
  const key = auditKeyFile(dir);
  const d = await startDaemon(t, { config: `audit:\n  hmac_key_file: ${key}\n` });
  const session = await d.openSession('dev');
  // 2,000 requests, four pipelined on each of 500 connections: a fresh port each time, one peer all the same. The
  // owner's own token, so these are requests the credential fast path would answer if the peer were admitted.
  const flood = await floodAsNobody(d, { connections: 500, pipeline: 4, token: session.token });
  t.equal(flood.errors, 0, 'no connection failed');
  t.equal(flood.answers, 500, 'one answer per connection: the requests pipelined behind a refusal get none');
  t.equal(flood.refused, 500, 'each of them PeerNotAllowed');
  t.equal(flood.closed_by_daemon, 500, 'and the daemon closed every connection');
  t.ok(flood.ports > 250, `from many source ports (${flood.ports})`);
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'the owner is served meanwhile');

  await d.stop();
  const all = await entries(d);
  const full = fullRefusals(all, NOBODY);
  const counted = counts(all, NOBODY);
  t.equal(full.length, 10, 'the first ten refusals are recorded in full');
  t.ok(
    full.every((e) => e.event === 'credentials' && e.outcome === 'deny'),
    'as the credential decisions they are',
  );
  t.equal(counted.length, 1, 'one peer, one window: one count, written at stop');
  t.equal(full.length + sum(counted), flood.refused, 'every refusal is a line or in the count, exactly once');
  t.match(counted[0], {
    event: 'peer_refusals',
    outcome: 'deny',
    error_code: 'PeerNotAllowed',
    transport: 'tcp',
    peer_uid: NOBODY,
    peer_pid: null,
    count: 490,
  });
  t.ok(counted[0]!.first_timestamp <= counted[0]!.last_timestamp, 'over the span of the counted refusals');
  t.ok(all.length < 20, `the whole log is ${all.length} lines`);
  t.same(await verifyDecisionLog(d.decisionLogFile, loadHmacKey(key)), { ok: true, lines: all.length });

  const ops = d.logs();
  t.equal(ops.match(/"event":"peer_refused"/g)?.length, 10, 'the operational log names the first ten, like the log');
  t.equal(ops.match(/"event":"peer_refusals_limited"/g)?.length, 1, 'says once that it is counting the rest');
  t.match(ops, /"event":"peer_refusals_counted","transport":"tcp","peer_uid":65534,"count":490/, 'and the count');
  t.notMatch(ops, new RegExp(session.token), 'never the token the flood sent');
});

t.test('a refused connection is answered once and closed; the owner keeps his keep-alive', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');
  const script = `
import net from 'node:net';
const s = net.connect(${d.port}, '127.0.0.1');
let text = '';
const started = Date.now();
s.on('connect', () => s.write(${JSON.stringify(get(d.port, session.token).repeat(2))}));
s.on('data', (c) => (text += c));
s.on('end', () => { process.stdout.write(JSON.stringify({ text, ms: Date.now() - started })); process.exit(0); });
setTimeout(() => { process.stdout.write(JSON.stringify({ text, open: true })); process.exit(0); }, 5000);
`;
  const child = runAsUser(NOBODY, NOBODY, script);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  const foreign = JSON.parse(out) as { text: string; ms?: number; open?: boolean };
  t.notOk(foreign.open, 'the daemon ended the connection');
  t.equal(foreign.text.split('HTTP/1.1 ').length - 1, 1, 'one answer for two pipelined requests');
  t.match(foreign.text, /^HTTP\/1\.1 403 /);
  t.match(foreign.text, /\r\nconnection: close\r\n/i, 'saying it closes');
  t.match(foreign.text, /"Code":"PeerNotAllowed"/);
  t.equal(fullRefusals(await entries(d), NOBODY).length, 1, 'one refusal, one decision: the second was never handled');

  const mine = await rawExchange({ port: d.port }, get(d.port, session.token).repeat(2), 500);
  t.notOk(mine.ended, "the owner's connection stays open");
  t.equal(mine.text.match(/HTTP\/1\.1 200 /g)?.length, 2, 'both of his pipelined requests answered');
  t.notMatch(mine.text, /connection: close/i);
  const stale = await rawExchange({ port: d.port }, get(d.port, 'B'.repeat(43)).repeat(2), 500);
  t.equal(stale.text.match(/HTTP\/1\.1 403 /g)?.length, 2, 'a wrong token of his is refused per request');
  t.notOk(stale.ended, 'without closing: the token, not the peer, was wrong');
});

t.test("the owner's own refusals are each recorded, as before", async (t) => {
  const d = await startDaemon(t);
  for (let i = 0; i < 30; i += 1)
    await d.fetch({ transport: 'tcp', token: `${'C'.repeat(40)}${String(i).padStart(3, '0')}` });
  const all = await entries(d);
  const own = all.filter((e) => e.peer_uid === process.getuid!());
  t.equal(own.filter((e) => e.error_code === 'TokenInvalid').length, 20);
  t.equal(own.filter((e) => e.error_code === 'RateLimited').length, 10, 'the limited ones too: 30 lines for 30');
  t.equal(all.filter((e) => e.event === 'peer_refusals').length, 0, 'nothing counted');
});

t.test('connections whose owner cannot be found are one peer, whatever their ports', async (t) => {
  const native = await import('../native/index.js');
  const d = await startDaemon(t, {
    parts: { peers: { peerOf: native.peerOf, tcpPeerUid: () => null, tcpPeerMethod: () => 'sock_diag' } },
  });
  const answers = new Set<string>();
  for (let batch = 0; batch < 50; batch += 1) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const r = await d.fetch({ transport: 'tcp', token: 'D'.repeat(43) });
        answers.add(`${r.status} ${r.json?.Code} ${r.headers.connection}`);
      }),
    );
  }
  t.same([...answers], ['403 PeerNotAllowed close'], '1,000 connections refused and closed');
  t.equal((await d.fetch({ transport: 'unix', path: '/v1/status' })).status, 200, 'the Unix socket is not affected');
  await d.stop();
  const all = await entries(d);
  t.equal(fullRefusals(all, null).length, 10);
  t.same(
    counts(all, null).map((e) => [e.transport, e.count]),
    [['tcp', 990]],
    '1,000 connections, one count',
  );
  t.equal(d.logs().match(/"event":"peer_unreadable"/g)?.length, 10);
});

t.test('with forwarding required, a flood from another uid does not stop the owner being served', async (t) => {
  const logs = await startLogs();
  t.teardown(() => logs.close());
  const maxLagLines = 60;
  const parts: Partial<DaemonParts> = {
    decisions: (config, log) =>
      createAuditTrail(config, { log, forwarder: { pollMs: 50, backoffBaseMs: 20, backoffMaxMs: 200, maxLagLines } }),
  };
  const d = await startDaemon(t, {
    config:
      'aws_profile: base\nregion: us-east-1\naudit:\n' +
      '  cloudwatch: { log_group: sentinel-decisions, log_stream: laptop-alice, required: true }\n',
    env: { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.url },
    parts,
  });
  const session = await d.openSession('dev');
  const cloudwatch = async () =>
    (await d.client.get<{ audit: { cloudwatch: { pending_lines: number; forwarded_lines: number } } }>('/v1/status'))
      .audit.cloudwatch;
  // The first batch waits for the forwarder's worker, which starts through the TypeScript loader: seconds when loaded.
  await until(cloudwatch, (c) => c.forwarded_lines > 0 && c.pending_lines === 0, 30_000);
  // A CloudWatch that takes 2 s a call: a flood written line by line (60 to 100 refusals a second here) crosses the
  // bound within one call; the owner's own lines (five a second) and the bounded refusals stay far below it.
  logs.setDelay(2000);
  const statuses: number[] = [];
  let flooding = true;
  const owner = (async () => {
    while (flooding) {
      const r = await d.fetch({ transport: 'tcp', token: session.token });
      statuses.push(r.status);
      if (r.status !== 200) t.comment(`owner refused: ${r.json?.Code} ${r.json?.Message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  // Floods of 500 connections until 3 s have passed: how long one takes depends on the machine and on the owner
  // lookup (a kernel sock_diag lookup makes a refusal cheap), and the owner must be asked several times meanwhile.
  let sent = 0;
  let refused = 0;
  const floodUntil = Date.now() + 3000;
  do {
    refused += (await floodAsNobody(d, { connections: 500, pipeline: 4, parallel: 4 })).refused;
    sent += 500;
  } while (Date.now() < floodUntil);
  flooding = false;
  await owner;
  t.equal(refused, sent, `the flood was refused (${sent} connections)`);
  t.ok(statuses.length > 5, `the owner asked ${statuses.length} times during it`);
  t.same([...new Set(statuses)], [200], 'and was served every time');
  for (let i = 0; i < 5; i += 1)
    t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'and after it');
  t.ok((await cloudwatch()).pending_lines <= maxLagLines, 'the lag stayed within the bound');
});

t.test('the bound per peer, alone', async (t) => {
  const capture = () => {
    let text = '';
    const log = createLogger({
      destination: new Writable({
        write(chunk, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      }),
    });
    return { log, text: () => text };
  };

  t.test('budget, count and flush', async (t) => {
    const written: RefusalCount[] = [];
    const ops = capture();
    let now = 1_000_000;
    const refusals = new PeerRefusals({
      record: (c) => written.push(c),
      log: ops.log,
      recordedPerWindow: 3,
      now: () => now,
    });
    t.teardown(() => refusals.close());
    const tcp = { transport: 'tcp' as const, pid: null, uid: 1001 };
    const answers = Array.from({ length: 10 }, () => ((now += 10), refusals.admit(tcp)));
    t.same(answers, [true, true, true, false, false, false, false, false, false, false]);
    t.equal(refusals.admit({ transport: 'unix', pid: 7, uid: 1001 }), true, 'another transport is another peer');
    t.equal(refusals.admit({ transport: 'tcp', pid: null, uid: 1002 }), true, 'another uid too');
    t.same(written, [], 'nothing written before the window ends');
    refusals.flush();
    t.same(written, [
      {
        transport: 'tcp',
        uid: 1001,
        count: 7,
        first: new Date(1_000_040),
        last: new Date(1_000_100),
      },
    ]);
    t.equal(refusals.admit(tcp), true, 'a new window, a new budget');
    t.equal(ops.text().match(/peer_refusals_limited/g)?.length, 1);
    t.match(ops.text(), /"event":"peer_refusals_counted","transport":"tcp","peer_uid":1001,"count":7/);
  });

  t.test('each window ends with its counts; an idle table stops the timer', async (t) => {
    const written: RefusalCount[] = [];
    const refusals = new PeerRefusals({
      record: (c) => written.push(c),
      log: capture().log,
      recordedPerWindow: 2,
      windowMs: 100,
    });
    t.teardown(() => refusals.close());
    const peer = { transport: 'tcp' as const, pid: null, uid: null };
    for (let i = 0; i < 5; i += 1) refusals.admit(peer);
    await new Promise((resolve) => setTimeout(resolve, 250));
    t.same(
      written.map((c) => c.count),
      [3],
      'one count for the window',
    );
    for (let i = 0; i < 4; i += 1) refusals.admit(peer);
    await new Promise((resolve) => setTimeout(resolve, 450));
    t.same(
      written.map((c) => c.count),
      [3, 2],
      'and one for the next',
    );
    t.equal((refusals as unknown as { timer?: unknown }).timer, undefined, 'no timer while nobody is refused');
  });

  t.test('the table is bounded: a peer pushed out has its count written first', async (t) => {
    const written: RefusalCount[] = [];
    const refusals = new PeerRefusals({
      record: (c) => written.push(c),
      log: capture().log,
      recordedPerWindow: 1,
      maxPeers: 8,
    });
    t.teardown(() => refusals.close());
    const table = (refusals as unknown as { tallies: { size: number } }).tallies;
    let largest = 0;
    for (let uid = 2000; uid < 7000; uid += 1) {
      for (let i = 0; i < 3; i += 1) refusals.admit({ transport: 'tcp', pid: null, uid });
      largest = Math.max(largest, table.size);
    }
    t.equal(largest, 8, 'never more than maxPeers');
    refusals.flush();
    t.equal(written.length, 5000, 'one count per peer');
    t.ok(
      written.every((c) => c.count === 2),
      'each with exactly its own refusals',
    );
    t.equal(new Set(written.map((c) => c.uid)).size, 5000);
  });
});
