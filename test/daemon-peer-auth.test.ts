// Who may call (DESIGN §3.1): only the daemon's own uid on the Unix socket (kernel peer credentials) and on TCP
// (the owner of the client's socket, asked of the kernel), and on the credential endpoint only with the token of a
// live session.
import t from 'tap';
import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { NOBODY, runAsUser } from './support/as-user.js';
import { startDaemon, type DaemonHarness } from './support/daemon.js';

interface Answer {
  status?: number;
  body?: any;
  error?: string;
}

/** Runs one HTTP request as uid 65534 and reports what it got. */
async function asNobody(target: { socketPath?: string; port?: number }, path: string, token?: string): Promise<Answer> {
  const script = `
import http from 'node:http';
const req = http.request({ ${target.socketPath ? `socketPath: ${JSON.stringify(target.socketPath)}` : `host: '127.0.0.1', port: ${target.port}`},
  path: ${JSON.stringify(path)}, agent: false, headers: ${JSON.stringify(token ? { authorization: token } : {})} }, (res) => {
  let text = '';
  res.on('data', (c) => (text += c));
  res.on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body: JSON.parse(text) })); });
});
req.on('error', (e) => process.stdout.write(JSON.stringify({ error: e.code })));
req.end();
`;
  const child = runAsUser(NOBODY, NOBODY, script);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  return JSON.parse(out) as Answer;
}

/** Lets uid 65534 reach the socket file, so that the daemon's own check is what stands in the way. */
function openSocketToOthers(d: DaemonHarness): void {
  for (const dir of [d.home, dirname(d.runtimeDir), d.runtimeDir]) chmodSync(dir, 0o711);
  chmodSync(d.socketPath, 0o666);
}

t.test('another uid on the Unix socket is refused', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');

  const blocked = await asNobody({ socketPath: d.socketPath }, '/v1/status');
  t.equal(blocked.error, 'EACCES', 'with the default modes the socket is out of reach (runtime dir 0700, socket 0600)');

  openSocketToOthers(d);
  const status = await asNobody({ socketPath: d.socketPath }, '/v1/status');
  t.equal(status.status, 403, 'reachable, the daemon itself refuses: peer uid ≠ daemon uid');
  t.equal(status.body.Code, 'PeerNotAllowed');
  t.match(status.body.Message, /uid 65534/);

  const creds = await asNobody({ socketPath: d.socketPath }, '/v1/credentials', session.token);
  t.equal(creds.status, 403, 'a valid token does not help another uid');
  t.equal(creds.body.Code, 'PeerNotAllowed');

  const mine = await d.fetch({ transport: 'unix', path: '/v1/status' });
  t.equal(mine.status, 200, 'the owner is still served');
  t.match(d.logs(), /"event":"peer_refused","transport":"unix","peer_uid":65534/, 'a security log line names the uid');
  t.ok(
    (await d.decisions()).some((l) => l.error_code === 'PeerNotAllowed' && l.peer_uid === 65534),
    'the refused credential request is a decision',
  );
});

t.test('TCP: the token decides, and another uid is refused even with a good token', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');

  const missing = await d.fetch({ transport: 'tcp' });
  t.equal(missing.status, 403);
  t.equal(missing.json.Code, 'TokenInvalid');
  t.match(missing.json.Message, /no session token/);

  const wrong = await d.fetch({ transport: 'tcp', token: 'A'.repeat(43) });
  t.equal(wrong.status, 403);
  t.equal(wrong.json.Code, 'TokenInvalid');
  const garbage = await d.fetch({ transport: 'tcp', authorization: 'Basic dXNlcjpwYXNz' });
  t.equal(garbage.status, 403);
  t.equal(garbage.json.Code, 'TokenInvalid');

  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'the raw token (as SDKs send it)');
  t.equal(
    (await d.fetch({ transport: 'tcp', authorization: `Bearer ${session.token}` })).status,
    200,
    'or Bearer <token>',
  );
  t.equal(
    (await d.fetch({ transport: 'tcp', path: '/get-credentials', token: session.token })).status,
    200,
    '/get-credentials alias',
  );
  t.equal(
    (await d.fetch({ transport: 'unix', token: session.token })).status,
    200,
    'the Unix socket serves the same endpoint',
  );
  t.equal((await d.fetch({ transport: 'unix' })).json.Code, 'TokenInvalid', 'and wants the token there too');

  const other = await asNobody({ port: d.port }, '/v1/credentials', session.token);
  t.equal(other.status, 403, 'uid 65534 with a stolen token is refused (the kernel says who owns the connection)');
  t.equal(other.body.Code, 'PeerNotAllowed');
  t.match(d.logs(), /"event":"peer_refused","transport":"tcp","peer_uid":65534/);
  t.match(
    d.logs(),
    /"event":"listening","transport":"tcp",[^\n]*"peer_lookup":"sock_diag"/,
    'the start says how TCP peers are identified',
  );

  const control = await d.fetch({ transport: 'tcp', path: '/v1/status' });
  t.equal(control.status, 404, 'the control API does not exist on TCP');
  t.equal(control.json.Code, 'NotFound');
  const open = await d.fetch({ transport: 'tcp', method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } });
  t.equal(open.status, 404, 'tokens are minted only over the Unix socket');
});

t.test('the token of an ended or revoked session is refused with the reason', async (t) => {
  const d = await startDaemon(t);
  const ended = await d.openSession('dev');
  const revoked = await d.openSession('dev');

  const end = await d.fetch({ transport: 'unix', method: 'DELETE', path: `/v1/sessions/${ended.id}` });
  t.equal(end.status, 200);
  t.equal(end.json.status, 'ended');
  const afterEnd = await d.fetch({ transport: 'tcp', token: ended.token });
  t.equal(afterEnd.status, 403);
  t.equal(afterEnd.json.Code, 'SessionEnded');

  const revoke = await d.fetch({
    transport: 'unix',
    method: 'POST',
    path: `/v1/sessions/${revoked.id}/revoke`,
    body: { reason: 'laptop lost' },
  });
  t.equal(revoke.status, 200);
  t.equal(revoke.json.status, 'revoked');
  t.equal(revoke.json.revoked_reason, 'laptop lost');
  const afterRevoke = await d.fetch({ transport: 'tcp', token: revoked.token });
  t.equal(afterRevoke.status, 403);
  t.equal(afterRevoke.json.Code, 'SessionRevoked');
  t.match(afterRevoke.json.Message, /revoked by .*: laptop lost/);
});

t.test('repeated bad tokens from one peer are rate-limited with Retry-After', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');
  const statuses: number[] = [];
  for (let i = 0; i < 20; i += 1)
    statuses.push(
      (await d.fetch({ transport: 'tcp', token: `${'B'.repeat(40)}${String(i).padStart(3, '0')}` })).status,
    );
  t.same([...new Set(statuses)], [403], 'the first 20 wrong tokens are plain refusals');
  const limited = await d.fetch({ transport: 'tcp', token: 'C'.repeat(43) });
  t.equal(limited.status, 429);
  t.equal(limited.json.Code, 'RateLimited');
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
    `Retry-After is whole seconds within the window (${retryAfter})`,
  );
  t.match(d.logs(), /"event":"token_rate_limited"/);
  const decisions = await d.decisions();
  const limitedLines = decisions.filter((l) => l.error_code === 'RateLimited');
  t.equal(limitedLines.length, 1, 'the 429 is a decision-log line like every other refusal');
  t.equal(limitedLines[0]?.outcome, 'deny');
  t.equal(decisions.filter((l) => l.error_code === 'TokenInvalid').length, 20, 'each wrong token is one line');
});

t.test('a valid token is served while its peer is rate-limited for wrong ones', async (t) => {
  const d = await startDaemon(t);
  const session = await d.openSession('dev');
  // An AWS CLI retrying with a token from before a daemon restart, next to a shell with a fresh session.
  for (let i = 0; i < 25; i += 1) await d.fetch({ transport: 'tcp', token: 'D'.repeat(43) });
  t.equal((await d.fetch({ transport: 'tcp', token: 'D'.repeat(43) })).status, 429, 'the stale token is limited');
  const good = await d.fetch({ transport: 'tcp', token: session.token });
  t.equal(good.status, 200, 'the valid token is served');
  t.ok(good.json.AccessKeyId, 'with credentials');
  t.equal((await d.fetch({ transport: 'tcp', token: 'D'.repeat(43) })).status, 429, 'and the bad one still is not');
  const unix = await d.fetch({ transport: 'unix', token: session.token });
  t.equal(unix.status, 200, 'the limit is per peer and transport; the Unix socket is unaffected');
});

t.test('TCP: a connection whose owner cannot be found is refused, even with a good token (fail closed)', async (t) => {
  // The TCP owner lookup, replaced: first it finds no owner, then the lookup itself fails.
  let lookup: () => number | null = () => null;
  const native = await import('../native/index.js');
  const d = await startDaemon(t, {
    parts: { peers: { peerOf: native.peerOf, tcpPeerUid: () => lookup(), tcpPeerMethod: () => 'sock_diag' } },
  });
  const session = await d.openSession('dev');
  for (const [how, fn] of [
    ['no row', () => null],
    [
      'the lookup fails',
      () => {
        throw Object.assign(new Error('sock_diag: Bad message'), { code: 'ERR_SOCK_DIAG' });
      },
    ],
  ] as const) {
    lookup = fn;
    const r = await d.fetch({ transport: 'tcp', token: session.token });
    t.equal(r.status, 403, `${how}: refused`);
    t.equal(r.json.Code, 'PeerNotAllowed', how);
    t.match(r.json.Message, /could not determine which user owns this connection/, how);
    t.notMatch(r.text, /AccessKeyId/, `${how}: no credentials`);
  }
  t.match(d.logs(), /"event":"peer_unreadable","transport":"tcp"/, 'a security log line says why');
  t.match(d.logs(), /"event":"peer_unreadable","transport":"tcp","remote_port":\d+,"error":"ERR_SOCK_DIAG"/, 'and how');
  t.notMatch(d.logs(), new RegExp(session.token), 'and never the token');
  lookup = () => process.getuid!();
  t.equal((await d.fetch({ transport: 'tcp', token: session.token })).status, 200, 'found again: served');
  lookup = () => {
    throw new Error('the Unix socket must not ask who owns a TCP connection');
  };
  t.equal(
    (await d.fetch({ transport: 'unix', token: session.token })).status,
    200,
    'the Unix socket does not use it (kernel peer credentials)',
  );
});

t.test('the status says how TCP owners are found, and a failing kernel probe does not stop the start', async (t) => {
  const native = await import('../native/index.js');
  const fallback = await startDaemon(t, {
    parts: { peers: { peerOf: native.peerOf, tcpPeerUid: () => process.getuid!(), tcpPeerMethod: () => 'proc' } },
  });
  const status = await fallback.client.get<any>('/v1/status');
  t.equal(status.listeners.tcp.peer_lookup, 'proc', 'a kernel without sock_diag: the /proc scan, said in the status');

  const failing = await startDaemon(t, {
    parts: {
      peers: {
        peerOf: native.peerOf,
        tcpPeerUid: () => process.getuid!(),
        tcpPeerMethod: () => {
          throw Object.assign(new Error('sock_diag: Cannot allocate memory'), { code: 'ERR_SOCK_DIAG' });
        },
      },
    },
  });
  t.match(failing.logs(), /"event":"peer_lookup_failing","transport":"tcp","error":"ERR_SOCK_DIAG"/);
  t.equal(
    (await failing.client.get<any>('/v1/status')).listeners.tcp.peer_lookup,
    'sock_diag',
    'what each connection will ask (and be refused on, if the kernel keeps failing)',
  );
});
