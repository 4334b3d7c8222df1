import t from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { silentLogger } from '../core/log.js';
import { createDecisionLog, loadHmacKey, verifyDecisionLog } from '../core/audit/decision-log.js';
import { GENESIS } from '../core/audit/hmac-chain.js';
import {
  auditKeyFile,
  numberedEntry,
  readLines,
  signedLogConfig,
  writeLines,
  writeSigned,
} from './support/decision-log-fixture.js';
import { ROOT } from './support/cli.js';
import { tempDir } from './support/temp-dir.js';
import { typescriptLoaderArgs } from './support/ts-loader.js';

const keyFile = (dir: string, content?: string | Buffer, mode?: number) =>
  auditKeyFile(dir, { ...(content !== undefined ? { content } : {}), ...(mode !== undefined ? { mode } : {}) });
const configFor = signedLogConfig;
const entry = numberedEntry;

t.test('the key file fails closed: missing, loose, short', async (t) => {
  const dir = tempDir(t, 'sentinel-hmac-');
  const file = join(dir, 'decisions.log');
  t.throws(() => createDecisionLog(configFor(file, join(dir, 'missing.key')), { log: silentLogger() }), {
    code: 'ConfigInvalid',
  });
  t.throws(() => createDecisionLog(configFor(file, keyFile(dir, randomBytes(32), 0o644)), { log: silentLogger() }), {
    code: 'UnsafePath',
  });
  t.throws(() => createDecisionLog(configFor(file, keyFile(dir, randomBytes(32), 0o640)), { log: silentLogger() }), {
    code: 'UnsafePath',
  });
  t.throws(() => createDecisionLog(configFor(file, keyFile(dir, randomBytes(31))), { log: silentLogger() }), {
    code: 'ConfigInvalid',
  });
  t.throws(
    () => createDecisionLog(configFor(file, keyFile(dir, `${'a'.repeat(31)}\n`)), { log: silentLogger() }),
    { code: 'ConfigInvalid' },
    'the trailing newline does not count',
  );
  t.throws(
    () => createDecisionLog(configFor(file, dir), { log: silentLogger() }),
    { code: 'UnsafePath' },
    'a directory',
  );
  t.notOk(existsSync(file), 'a refused key leaves no log file behind');
  t.equal(loadHmacKey(keyFile(dir, randomBytes(32), 0o400)).key.length, 32, '0400 is fine too');
  const a = loadHmacKey(keyFile(dir, `${'k'.repeat(40)}\n`));
  const b = loadHmacKey(keyFile(dir, 'k'.repeat(40)));
  t.same(a.key, b.key, 'one trailing newline is not part of the key');
  t.equal(a.keyId, b.keyId);
  t.match(a.keyId, /^[0-9a-f]{16}$/);
  t.notOk(a.keyId.includes('6b6b'), 'the key id does not reveal the key bytes');
});

t.test(
  'a key file that is not a regular file is refused at once, never waited on (a FIFO would block the open)',
  async (t) => {
    const dir = tempDir(t, 'sentinel-hmac-');
    const fifo = join(dir, 'fifo.key');
    t.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0, 'mkfifo');
    // In a child with a deadline: without O_NONBLOCK the open waits for a writer and the child never answers.
    const script = `
    import { createDecisionLog } from './core/audit/decision-log.ts';
    import { runVerifyLogs } from './core/audit/verify-logs.ts';
    import { signedLogConfig } from './test/support/decision-log-fixture.ts';
    import { silentLogger } from './core/log.ts';
    const out = [];
    const attempt = async (f) => { try { await f(); out.push(null); } catch (e) { out.push({ code: e.code, message: e.message, hint: e.hint }); } };
    await attempt(() => createDecisionLog(signedLogConfig(${JSON.stringify(join(dir, 'd.log'))}, ${JSON.stringify(fifo)}), { log: silentLogger() }));
    await attempt(() => runVerifyLogs({ file: ${JSON.stringify(join(dir, 'd.log'))}, keyFiles: [${JSON.stringify(fifo)}] }));
    process.stdout.write(JSON.stringify(out));
  `;
    const child = spawnSync(process.execPath, [...typescriptLoaderArgs(), '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15_000,
      // A SIGTERM handler (tap's) would only restart the blocked open.
      killSignal: 'SIGKILL',
    });
    t.equal(child.signal, null, `answered before the deadline (${child.stderr})`);
    const [daemon, verifier] = JSON.parse(child.stdout || '[null,null]') as Array<{
      code: string;
      message: string;
      hint: string;
    } | null>;
    t.match(
      daemon,
      { code: 'UnsafePath', message: /is a named pipe, not a regular file/ },
      'the daemon refuses to start',
    );
    t.match(daemon?.hint, /audit\.hmac_key_file/, 'the hint names the setting the path came from');
    t.match(verifier, { code: 'UnsafePath', message: /is a named pipe, not a regular file/ }, 'verify-logs refuses it');
    t.match(verifier?.hint, /--key-file/, 'the hint names the flag the path came from');
    t.notMatch(`${daemon?.hint} ${verifier?.hint}`, /chmod/, 'no chmod for something a chmod cannot fix');
    t.notOk(existsSync(join(dir, 'd.log')), 'no log file left behind');
  },
);

t.test('signed lines chain and verify', async (t) => {
  const dir = tempDir(t, 'sentinel-hmac-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  await writeSigned(file, key, 0, 5);
  const lines = readLines(file).map((l) => JSON.parse(l));
  t.equal(lines.length, 5);
  t.same(Object.keys(lines[0]), ['entry', 'key_id', 'prev', 'timestamp', 'v', 'signature'], 'sorted, signature last');
  t.equal(lines[0].prev, GENESIS, 'the first line chains to 64 zeros');
  for (let i = 1; i < 5; i++) t.equal(lines[i].prev, lines[i - 1].signature, `line ${i + 1} chains to line ${i}`);
  t.equal(lines[2].entry.rule, 'rule-2');
  t.equal(lines[2].timestamp, lines[2].entry.timestamp);
  t.same(await verifyDecisionLog(file, loadHmacKey(key)), { ok: true, lines: 5 });
  t.same(await verifyDecisionLog(file, loadHmacKey(key).key), { ok: true, lines: 5 }, 'a raw key buffer works too');
  const other = await verifyDecisionLog(file, randomBytes(32));
  t.same([other.ok, (other as { line: number }).line], [false, 1], 'another key fails at line 1');
});

t.test('edits, deletions, insertions and reordering are detected at the first broken line', async (t) => {
  const dir = tempDir(t, 'sentinel-hmac-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  await writeSigned(file, key, 0, 6);
  const original = readLines(file);
  const k = loadHmacKey(key);
  const check = async (lines: string[], line: number, reason: RegExp, what: string) => {
    writeLines(file, lines);
    const r = await verifyDecisionLog(file, k);
    t.equal(r.ok, false, `${what}: detected`);
    if (!r.ok) {
      t.equal(r.line, line, `${what}: at line ${line}`);
      t.match(r.reason, reason, what);
    }
  };
  const edited = [...original];
  edited[2] = edited[2]!.replace('"outcome":"deny"', '"outcome":"allow"').replace('"rule":"rule-2"', '"rule":"rule-X"');
  await check(edited, 3, /edited/, 'an edited entry');
  const outerTs = [...original];
  outerTs[1] = outerTs[1]!.replace(/"timestamp":"[^"]+","v":2/, '"timestamp":"2030-01-01T00:00:00.000Z","v":2');
  t.not(outerTs[1], original[1], 'the outer timestamp was edited');
  await check(outerTs, 2, /edited/, 'an edited outer timestamp');
  await check([...original.slice(0, 3), ...original.slice(4)], 4, /deleted|reordered/, 'a deleted middle line');
  await check(original.slice(1), 1, /deleted|reordered/, 'a deleted first line');
  await check([original[0]!, original[2]!, original[1]!, ...original.slice(3)], 2, /reordered/, 'two swapped lines');
  await check(
    [...original.slice(0, 3), original[1]!, ...original.slice(3)],
    4,
    /inserted|reordered/,
    'a replayed line',
  );
  await check([...original.slice(0, 2), 'garbage', ...original.slice(2)], 3, /not JSON/, 'an inserted non-JSON line');
  await check(
    [...original.slice(0, 2), JSON.stringify(entry(9)), ...original.slice(2)],
    3,
    /not a signed line/,
    'an unsigned entry',
  );
  writeLines(file, original);
  t.same(await verifyDecisionLog(file, k), { ok: true, lines: 6 }, 'the untouched log still verifies');
});

t.test('the chain continues across restarts, and a crash fragment is closed off and reported', async (t) => {
  const dir = tempDir(t, 'sentinel-hmac-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  await writeSigned(file, key, 0, 2);
  await writeSigned(file, key, 2, 3);
  await writeSigned(file, key, 5, 1);
  const k = loadHmacKey(key);
  t.same(await verifyDecisionLog(file, k), { ok: true, lines: 6 }, 'three daemon runs, one chain');

  appendFileSync(file, '{"entry":{"timestamp":"2026-');
  await writeSigned(file, key, 6, 2);
  const lines = readLines(file);
  t.equal(lines.length, 9, 'the fragment stays on its own line');
  t.equal(JSON.parse(lines[7]!).prev, JSON.parse(lines[5]!).signature, 'the chain resumes from the last complete line');
  const r = await verifyDecisionLog(file, k);
  t.same(
    r,
    { ok: false, lines: 9, line: 7, reason: 'not JSON (truncated or edited)' },
    'the verifier points at the fragment',
  );
});
