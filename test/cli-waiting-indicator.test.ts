// A slow upstream does not look like a crash (issue 9 item 11): on a terminal, a CLI call to the daemon that takes
// longer than about a second says what it waits for (from GET /v1/status `waiting`) and erases that line when the
// answer comes; off a terminal (scripts) nothing of the kind; and a stalled STS ends as StsUnavailable in time, not
// as a dropped connection. The terminal is a real pty (`script`), the STS emulator is slowed.
import t from 'tap';
import { spawn } from 'node:child_process';
import { startWaitingIndicator, waitingPhrase } from '../cli/waiting-indicator.js';
import { startDaemon } from './support/daemon.js';
import { collect, ENTRY, requireBuild, sentinel, userEnv } from './support/cli.js';
import { until } from './support/wait.js';

const ERASE = '\r\x1b[2K';

function fakeStream() {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => (writes.push(s), true) } };
}

t.test('the indicator: nothing before the delay, then what is awaited, erased at the end', async (t) => {
  const quick = fakeStream();
  const early = startWaitingIndicator({ stream: quick.stream, ask: async () => 'x', afterMs: 50 });
  early.stop();
  await new Promise((r) => setTimeout(r, 120));
  t.same(quick.writes, [], 'a call answered before the delay shows nothing, and erases nothing');

  const slow = fakeStream();
  let asked = 0;
  const shown = startWaitingIndicator({
    stream: slow.stream,
    ask: async () => (asked++, 'AWS STS (AssumeRole for prod)'),
    afterMs: 20,
  });
  await until(
    () => slow.writes.some((w) => w.includes('AWS STS (AssumeRole for prod)')),
    (v) => v,
    3000,
  );
  shown.stop();
  shown.stop();
  t.match(
    slow.writes[slow.writes.length - 2],
    /^\r\x1b\[2Kwaiting for the daemon: AWS STS \(AssumeRole for prod\)… \ds$/,
  );
  t.equal(slow.writes[slow.writes.length - 1], ERASE, 'the line is erased once, at the end');
  t.ok(asked >= 1);
});

t.test('hostile answers about what is awaited are not printed', async (t) => {
  for (const bad of ['\x1b]0;pwned\x07', 'a\nb', 'x'.repeat(500), 42, null]) {
    const s = fakeStream();
    const i = startWaitingIndicator({ stream: s.stream, ask: async () => bad as string, afterMs: 10 });
    await until(
      () => s.writes.length >= 2,
      (v) => v,
      3000,
    );
    i.stop();
    t.ok(
      s.writes.slice(0, -1).every((w) => /^\r\x1b\[2Kwaiting for the daemon… \ds$/.test(w)),
      `${JSON.stringify(bad)}: only the plain notice`,
    );
  }
  const failing = fakeStream();
  const i = startWaitingIndicator({ stream: failing.stream, ask: () => Promise.reject(new Error('no')), afterMs: 10 });
  await until(
    () => failing.writes.length >= 1,
    (v) => v,
    3000,
  );
  i.stop();
  t.match(failing.writes[0], /waiting for the daemon… /, 'a failed question leaves the plain notice');
  t.equal(waitingPhrase({ waiting: [{ what: 'a' }, { what: 'b' }] }), 'a (+1 more)');
  t.equal(waitingPhrase({ waiting: 'nope' }), null);
  t.equal(waitingPhrase(null), null);
});

t.test('a stalled STS, on a pty and off it', async (t) => {
  requireBuild();
  const d = await startDaemon(t);
  const env = userEnv(d);
  // The base identity is looked up (and cached) here; dev's credentials are not issued yet.
  await d.openSession('prod');
  d.sts.setDelay(120_000);
  t.teardown(() => d.sts.setDelay(0));

  await t.test('on a terminal: what it waits for, erased, then the upstream code', async (t) => {
    const started = Date.now();
    const child = spawn(
      'script',
      ['-qfec', `'${process.execPath}' '${ENTRY}' credentials --profile dev`, '/dev/null'],
      {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const r = await collect(t, child);
    const ms = Date.now() - started;
    t.equal(r.code, 1, 'exit 1 (StsUnavailable)');
    t.match(r.stdout, /waiting for the daemon: AWS STS \(AssumeRole for dev\)… \ds/, 'says what it waits for');
    const lastNotice = r.stdout.lastIndexOf('waiting for the daemon');
    const error = r.stdout.indexOf('Error: ');
    t.ok(lastNotice < error, 'the notice comes before the answer');
    t.ok(r.stdout.slice(lastNotice, error).includes(ERASE), 'and is erased before the error is printed');
    t.match(r.stdout, /Error: .*STS/);
    t.notMatch(r.stdout, /ECONNRESET|This is a bug|did not answer within/);
    t.ok(ms < 20_000, `in time (${ms} ms)`);
  });

  await t.test('off a terminal: the same error, no notice', async (t) => {
    const r = await sentinel(t, ['credentials', '--profile', 'dev'], { env });
    t.equal(r.code, 1);
    t.match(r.stderr, /^Error: .*STS/m);
    t.notMatch(r.stderr, /waiting for the daemon|\x1b/);
    t.equal(r.stdout, '', 'nothing on stdout');
  });

  await t.test('with --json on a terminal: no notice', async (t) => {
    const child = spawn('script', ['-qfec', `'${process.execPath}' '${ENTRY}' server sessions --json`, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Listing sessions does not wait on STS; the point is that --json never draws, so nothing of it is on the pty.
    const r = await collect(t, child);
    t.equal(r.code, 0, r.stdout);
    t.notMatch(r.stdout, /waiting for the daemon/);
  });
});
