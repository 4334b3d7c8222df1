// With `http.port: 0` a daemon listens where the last daemon of its runtime directory did, when that port is free:
// shells opened before a restart keep AWS_CONTAINER_CREDENTIALS_FULL_URI pointing there, and reach the new daemon,
// which tells them what to do, instead of a closed port another local user could take and answer with credentials of
// her choosing. A taken port is said in the operational log and another is used; a bad `last-port` file is ignored.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { daemonState, fetchWithClient, startDaemon } from './support/daemon.js';
import { requireBuild } from './support/cli.js';

const lastPortFile = (runtimeDir: string) => join(runtimeDir, 'last-port');

/** A listener of another process's kind on `port` (here: this test's), closed at teardown. */
async function occupy(t: Test, port: number) {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return server;
}

t.test(
  "a restarted daemon listens on its predecessor's port; old shells reach it and are told what to do",
  async (t) => {
    requireBuild();
    const first = await startDaemon(t, { mode: 'subprocess', keep: true });
    const opened = await first.openSession('dev');
    const port = first.port;
    t.equal(Number(readFileSync(lastPortFile(first.runtimeDir), 'utf8')), port, 'the port is kept in last-port');
    t.equal(statSync(lastPortFile(first.runtimeDir)).mode & 0o777, 0o600, 'mode 0600');
    const before = await fetchWithClient('botocore', first.url, opened.token);
    t.equal(before.code, 0, before.stderr);
    await first.stop();
    t.notOk(existsSync(join(first.runtimeDir, 'daemon.json')), 'daemon.json goes with the daemon');
    t.ok(existsSync(lastPortFile(first.runtimeDir)), 'last-port stays');

    const second = await startDaemon(t, { mode: 'subprocess', home: first.home, sts: first.sts });
    t.equal(second.port, port, 'the new daemon listens on the same port');
    const daemonJson = daemonState(second.runtimeDir);
    t.equal(daemonJson.port, port, 'and daemon.json says so');
    // The shell's old variables, unchanged: the real AWS CLI reaches the new daemon and prints its refusal.
    const after = await fetchWithClient('aws-cli', first.url, opened.token);
    t.not(after.code, 0, 'the old token is not accepted');
    t.match(after.stderr, /403/, 'the AWS CLI got an answer, not a refused connection');
    t.match(after.stderr, /"Code":"TokenInvalid"/);
    t.match(after.stderr, /sentinel use <profile>/, 'which says what to do');
    t.match(after.stderr, /a restarted daemon knows no token from before its start/, 'and why');
    t.notMatch(after.stderr, /Could not connect|Connection refused/);
  },
);

t.test('the last port taken: another one, and the operational log says why old shells will fail', async (t) => {
  requireBuild();
  const first = await startDaemon(t, { mode: 'subprocess', keep: true });
  const port = first.port;
  await first.stop();
  await occupy(t, port);
  const second = await startDaemon(t, { mode: 'subprocess', home: first.home, sts: first.sts });
  t.not(second.port, port, 'it listens elsewhere');
  t.match(second.logs(), /"event":"last_port_taken"/);
  t.match(second.logs(), new RegExp(`last port ${port} is taken.*sentinel use <profile>`));
  t.equal(Number(readFileSync(lastPortFile(second.runtimeDir), 'utf8')), second.port, 'last-port is the new port');
  const opened = await second.openSession('dev');
  const fetched = await fetchWithClient('botocore', second.url, opened.token);
  t.equal(fetched.code, 0, fetched.stderr);
});

t.test('a last-port file that names no port is ignored; a fixed http.port neither reads nor writes it', async (t) => {
  for (const text of ['', 'abc', '0', '65536', '-1', '8080 8081', '1e3', `${'9'.repeat(100_000)}`, '\u0000\n']) {
    const d = await startDaemon(t, { keep: true });
    writeFileSync(lastPortFile(d.runtimeDir), text);
    await d.stop();
    const again = await startDaemon(t, { home: d.home, sts: d.sts });
    t.ok(again.port > 0, `${JSON.stringify(text.slice(0, 12))}: it listens on a free port (${again.port})`);
    t.notMatch(again.logs(), /last_port_taken/);
    t.equal(readFileSync(lastPortFile(again.runtimeDir), 'utf8'), `${again.port}\n`, 'and replaces the file');
    await again.stop();
  }

  const free = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const fixed = await startDaemon(t, { config: `http: { host: 127.0.0.1, port: ${free} }\n` });
  t.equal(fixed.port, free, 'a fixed port is used as configured');
  t.notOk(existsSync(lastPortFile(fixed.runtimeDir)), 'and no last-port file is written');
});

t.test('a last-port that is no regular file: not followed, not waited on, and the daemon still starts', async (t) => {
  requireBuild();
  // A port in a file outside the runtime dir, reached through a symlink: not read (the daemon would listen there).
  const outside = join(tmpdir(), `sentinel-last-port-outside-${process.pid}`);
  const decoy = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  writeFileSync(outside, `${decoy}\n`);
  t.teardown(() => rmSync(outside, { force: true }));
  const kinds: Array<[string, (file: string) => void]> = [
    ['a symlink', (file) => symlinkSync(outside, file)],
    ['a FIFO', (file) => execFileSync('mkfifo', ['-m', '600', file])],
    ['a directory', (file) => mkdirSync(file, { mode: 0o700 })],
  ];
  for (const [kind, make] of kinds) {
    const d = await startDaemon(t, { mode: 'subprocess', keep: true });
    await d.stop();
    const file = lastPortFile(d.runtimeDir);
    rmSync(file);
    make(file);
    // A FIFO without the fix blocks the daemon in open(2) before it answers: startDaemon then times out.
    const again = await startDaemon(t, { mode: 'subprocess', home: d.home, sts: d.sts });
    t.ok(again.port > 0, `${kind}: it listens (${again.port})`);
    if (kind === 'a symlink') {
      t.not(again.port, decoy, 'not on the port the symlink leads to');
      t.ok(lstatSync(file).isFile(), 'and the symlink is replaced by a file');
      t.equal(readFileSync(outside, 'utf8'), `${decoy}\n`, 'whose target is left alone');
    }
    if (kind === 'a directory') {
      t.match(again.logs(), /"event":"last_port_unwritten"/, 'a last-port it cannot replace is said in the log');
      t.same(
        readdirSync(again.runtimeDir).filter((f) => f.endsWith('.tmp')),
        [],
        'and no temp file is left',
      );
    }
    await again.stop();
  }
});
