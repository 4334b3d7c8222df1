// `sentinel audit verify-logs` (DESIGN §14): every kind of tampering is named at its line; the whole line is signed
// (a field added outside the entry is an edit); keys rotate and wave-1 lines still verify under their old rule; hostile
// files give findings or a clear error, never a crash; a 100 MB log is checked in bounded memory.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createDecisionLog } from '../core/audit/decision-log.js';
import { canonicalJson, entryRenderer } from '../core/audit/entry.js';
import { GENESIS, chainSigner, hmacKey, loadHmacKey, signV1, signedLine } from '../core/audit/hmac-chain.js';
import { keySet, verifyLogFile, type VerifyReport } from '../core/audit/verify.js';
import { resolveConfig } from '../core/config.js';
import { silentLogger } from '../core/log.js';
import { ROOT, sentinelInProcess, tempDir } from './support/cli.js';
import { auditKeyFile, numberedEntry, readLines, writeLines, writeSigned } from './support/decision-log-fixture.js';
import { typescriptLoaderArgs } from './support/ts-loader.js';

const keyFile = (dir: string, name?: string) => auditKeyFile(dir, name ? { name } : {});
const entry = numberedEntry;

interface Fixture {
  dir: string;
  file: string;
  key: string;
  original: string[];
  verify(lines: string[], keys?: string[]): Promise<VerifyReport>;
}

async function fixture(t: Test, count = 8): Promise<Fixture> {
  const dir = tempDir(t, 'sentinel-verify-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  await writeSigned(file, key, 0, count);
  const original = readLines(file);
  return {
    dir,
    file,
    key,
    original,
    async verify(lines, keys = [key]) {
      writeLines(file, lines);
      return verifyLogFile(file, keySet(keys.map((k) => loadHmacKey(k))));
    },
  };
}

const firstOf = (r: VerifyReport) => r.findings[0] && { line: r.findings[0].line, kind: r.findings[0].kind };

t.test('an intact log verifies, with a summary', async (t) => {
  const f = await fixture(t);
  const r = await f.verify(f.original);
  t.equal(r.ok, true);
  t.same(r.findings, []);
  t.equal(r.lines, 8);
  t.equal(r.signed_lines, 8);
  t.same(Object.values(r.keys), [8], 'one key, eight lines');
  t.equal(r.first_timestamp, entry(0).timestamp);
  t.equal(r.last_timestamp, entry(7).timestamp);
});

t.test('each kind of tampering is named at its line', async (t) => {
  const f = await fixture(t);
  const o = f.original;
  const cases: Array<[string, string[], { line: number; kind: string }]> = [
    [
      'a field inside the entry edited',
      o.map((l, i) => (i === 2 ? l.replace('"rule":"rule-2"', '"rule":"rule-X"') : l)),
      { line: 3, kind: 'edited' },
    ],
    [
      'a field added outside the entry',
      o.map((l, i) => (i === 4 ? l.replace(/}$/, ',"note":"approved by CISO"}') : l)),
      { line: 5, kind: 'edited' },
    ],
    [
      'the key_id outside the entry changed',
      o.map((l, i) => (i === 1 ? l.replace(/"key_id":"[0-9a-f]{16}"/, '"key_id":"0000000000000000"') : l)),
      { line: 2, kind: 'unknown_key' },
    ],
    [
      'a forged line inserted',
      [...o.slice(0, 3), o[3]!.replace('"rule":"rule-3"', '"rule":"rule-forged"'), ...o.slice(3)],
      { line: 4, kind: 'inserted' },
    ],
    ['a line replayed', [...o.slice(0, 5), o[1]!, ...o.slice(5)], { line: 6, kind: 'inserted' }],
    ['a line deleted', [...o.slice(0, 4), ...o.slice(5)], { line: 5, kind: 'deleted' }],
    ['two lines swapped', [o[0]!, o[1]!, o[3]!, o[2]!, ...o.slice(4)], { line: 3, kind: 'reordered' }],
    ['a line moved down', [o[0]!, o[2]!, o[3]!, o[4]!, o[1]!, ...o.slice(5)], { line: 2, kind: 'reordered' }],
    ['the first line removed', o.slice(1), { line: 1, kind: 'head' }],
  ];
  for (const [what, lines, first] of cases) {
    const r = await f.verify(lines);
    t.equal(r.ok, false, `${what}: not intact`);
    t.same(firstOf(r), first, `${what}: ${first.kind} at line ${first.line}`);
    t.equal(r.findings.length, 1, `${what}: one finding, no follow-on noise (${JSON.stringify(r.findings)})`);
  }
  const cut = await f.verify(o.slice(0, 5));
  t.equal(cut.ok, true, 'a cut tail still verifies on its own: only an anchor off the machine shows it');
});

t.test(
  'a line is checked byte for byte: what parses to a signed line but is not what the daemon wrote is an edit',
  async (t) => {
    const f = await fixture(t, 4);
    const o = f.original;
    const real = JSON.parse(o[1]!) as { entry: Record<string, unknown> };
    // A reader that keeps the first of two keys sees this entry; JSON.parse keeps the last, the signed one.
    const forged = canonicalJson({ ...real.entry, user: 'mallory', outcome: 'deny' });
    const cases: Array<[string, string]> = [
      ['a forged duplicate "entry" before the real one', o[1]!.replace('{"entry":', `{"entry":${forged},"entry":`)],
      ['a duplicate key inside the entry', o[1]!.replace('"user":"alice"', '"user":"mallory","user":"alice"')],
      ['spaces after the commas', o[1]!.replaceAll('",', '", ')],
      ['an escape for a plain letter', o[1]!.replace('"user":"alice"', '"user":"\\u0061lice"')],
      ['an integer written as a float', o[1]!.replace('"v":2', '"v":2.0')],
    ];
    for (const [what, line] of cases) {
      t.not(line, o[1], `${what}: the line changed`);
      t.same(JSON.parse(line), JSON.parse(o[1]!), `${what}: JSON.parse sees the signed line`);
      const r = await f.verify([o[0]!, line, ...o.slice(2)]);
      t.same(firstOf(r), { line: 2, kind: 'edited' }, what);
      t.match(r.findings[0]?.message, /not the bytes the daemon wrote/, what);
      t.equal(r.findings.length, 1, `${what}: one finding (${JSON.stringify(r.findings)})`);
    }

    // The same for bytes that are not UTF-8: a reader decodes them to U+FFFD, as the daemon would have written it.
    const k = loadHmacKey(f.key);
    const { line } = signedLine(k, GENESIS, { ...entry(0), reason: 'caf\ufffd' });
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    writeFileSync(f.file, bytes);
    t.equal((await verifyLogFile(f.file, keySet([k]))).ok, true, 'a U+FFFD the daemon wrote verifies');
    const at = bytes.indexOf(Buffer.from('\ufffd', 'utf8'));
    writeFileSync(f.file, Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]));
    const r = await verifyLogFile(f.file, keySet([k]));
    t.same(firstOf(r), { line: 1, kind: 'edited' }, 'a byte that is not UTF-8 in its place is an edit');
  },
);

t.test('a line signed with a key not in the set', async (t) => {
  const f = await fixture(t);
  const other = keyFile(f.dir, 'other.key');
  const r = await f.verify(f.original, [other]);
  t.same(firstOf(r), { line: 1, kind: 'unknown_key' });
  t.match(r.findings[0]!.message, /not in the key set/);
});

t.test('keys rotate: a new key id from a line on, one chain, verified with the key set', async (t) => {
  const f = await fixture(t, 3);
  const next = keyFile(f.dir, 'next.key');
  await writeSigned(f.file, next, 3, 4); // the daemon restarted with a new key
  const lines = readLines(f.file).map((l) => JSON.parse(l));
  t.not(lines[3].key_id, lines[2].key_id, 'the key id changes at the rotation');
  t.equal(lines[3].prev, lines[2].signature, 'the chain continues across it');
  const both = await verifyLogFile(f.file, keySet([loadHmacKey(f.key), loadHmacKey(next)]));
  t.equal(both.ok, true, 'both keys: intact');
  t.same(Object.values(both.keys).sort(), [3, 4]);
  const onlyNew = await verifyLogFile(f.file, keySet([loadHmacKey(next)]));
  t.same(firstOf(onlyNew), { line: 1, kind: 'unknown_key' }, 'without the old key the old lines cannot be checked');
});

t.test('wave-1 lines (signature over prev + entry) still verify; a field added outside them is an edit', async (t) => {
  const dir = tempDir(t, 'sentinel-verify-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  const k = loadHmacKey(key);
  let prev = GENESIS;
  const wave1: string[] = [];
  for (let i = 0; i < 3; i++) {
    const canonical = canonicalJson(entry(i));
    const signature = signV1(k, prev, canonical);
    wave1.push(
      `{"entry":${canonical},"signature":"${signature}","key_id":"${k.keyId}","timestamp":"${entry(i).timestamp}","prev":"${prev}"}`,
    );
    prev = signature;
  }
  writeLines(file, wave1);
  await writeSigned(file, key, 3, 2); // the upgraded daemon continues the chain with whole-line signatures
  const keys = keySet([k]);
  const r = await verifyLogFile(file, keys);
  t.equal(r.ok, true, `wave-1 lines then new lines: one intact chain (${JSON.stringify(r.findings)})`);
  t.equal(r.signed_lines, 5);
  const lines = readLines(file);
  writeLines(
    file,
    lines.map((l, i) => (i === 1 ? l.replace(/}$/, ',"note":"approved by CISO"}') : l)),
  );
  t.same(firstOf(await verifyLogFile(file, keys)), { line: 2, kind: 'edited' });
});

t.test(
  'after a malformed or unsigned line the chain goes on from the last signed line, as the daemon continues it',
  async (t) => {
    const f = await fixture(t, 8);
    const o = f.original;
    const kinds = (r: VerifyReport) => r.findings.map((x) => [x.line, x.kind]);
    const fragment = '{"entry":{"dur';
    t.same(
      kinds(await f.verify([...o.slice(0, 4), fragment, ...o.slice(6)])),
      [
        [5, 'malformed'],
        [6, 'deleted'],
      ],
      'lines deleted behind a crash-like fragment',
    );
    t.same(
      kinds(await f.verify([...o, 'garbage', ...o])),
      [
        [9, 'malformed'],
        [10, 'new_chain'],
      ],
      'a whole chain replayed after a garbage line',
    );
    t.match((await f.verify([...o, 'garbage', ...o])).findings[1]?.message, /repeats line 1/, 'named as a replay');
    t.same(
      kinds(await f.verify(['garbage', ...o.slice(3)])),
      [
        [1, 'malformed'],
        [2, 'head'],
      ],
      'the beginning cut and replaced by garbage',
    );

    // What the daemon writes itself: after a crash fragment it continues the chain from the last complete line.
    writeLines(f.file, o.slice(0, 4));
    appendFileSync(f.file, '{"entry":{"timestamp":"2026-');
    await writeSigned(f.file, f.key, 4, 3);
    const keys = keySet([loadHmacKey(f.key)]);
    t.same(kinds(await verifyLogFile(f.file, keys)), [[5, 'malformed']], 'a genuine crash fragment: only the fragment');

    // Without a key the daemon writes unsigned lines; given one again, it finds no signed line to continue.
    writeLines(f.file, o.slice(0, 3));
    const unsigned = createDecisionLog(
      resolveConfig({ audit: { file: f.file } }, 'test-config.yaml', { HOME: '/nonexistent' }),
      {
        log: silentLogger(),
      },
    );
    unsigned.write(entry(3));
    unsigned.write(entry(4));
    await unsigned.close();
    await writeSigned(f.file, f.key, 5, 2);
    t.same(
      kinds(await verifyLogFile(f.file, keys)),
      [
        [4, 'unsigned'],
        [5, 'unsigned'],
        [6, 'new_chain'],
      ],
      'a stretch written without the key, then a new chain',
    );

    // Signing switched on for a log that never had a key: every older line is unsigned, the last one too (it is no
    // more "inserted" than the others: there is no chain before it), and the first chain starts cleanly after them.
    writeLines(f.file, []);
    const before = createDecisionLog(
      resolveConfig({ audit: { file: f.file } }, 'test-config.yaml', { HOME: '/nonexistent' }),
      { log: silentLogger() },
    );
    before.write(entry(0));
    before.write(entry(1));
    await before.close();
    await writeSigned(f.file, f.key, 2, 2);
    t.same(
      kinds(await verifyLogFile(f.file, keys)),
      [
        [1, 'unsigned'],
        [2, 'unsigned'],
      ],
      'an unsigned log, then signing switched on',
    );
  },
);

t.test('hostile files: findings or a clear error, never a crash', async (t) => {
  const f = await fixture(t, 3);
  const o = f.original;
  const hostile: Array<[string, string[], string]> = [
    ['binary garbage', [o[0]!, '\u0000\u0001\u0002\u00ff', ...o.slice(1)], 'malformed'],
    ['a 1 MB line', [o[0]!, 'x'.repeat(1024 * 1024), ...o.slice(1)], 'malformed'],
    ['a JSON array', [o[0]!, '[1,2,3]', ...o.slice(1)], 'inserted'],
    ['deep nesting', [o[0]!, `{"entry":${'['.repeat(5000)}${']'.repeat(5000)}}`, ...o.slice(1)], 'inserted'],
    ['an escape sequence', [o[0]!, '\u001b[2J\u001b]0;owned\u0007', ...o.slice(1)], 'malformed'],
  ];
  for (const [what, lines, kind] of hostile) {
    const r = await f.verify(lines);
    t.same(firstOf(r), { line: 2, kind }, what);
  }
  const cli = await sentinelInProcess(['audit', 'verify-logs', f.file, '--key-file', f.key, '--json']);
  t.equal(cli.code, 1, 'the CLI exits 1 on the last of them');
  t.notMatch(cli.stdout, /\u001b/, 'no control character reaches the terminal');
});

t.test('the command: exit 0 intact, 1 not, 2 could not check; --json {ok, findings, error?}', async (t) => {
  const f = await fixture(t, 4);
  const ok = await sentinelInProcess(['audit', 'verify-logs', f.file, '--key-file', f.key]);
  t.equal(ok.code, 0);
  t.equal(ok.stdout, '', 'no findings on stdout');
  t.match(ok.stderr, /4 lines, 4 signed .*: intact/);

  writeLines(f.file, [f.original[0]!, f.original[2]!, f.original[3]!]);
  const bad = await sentinelInProcess(['audit', 'verify-logs', f.file, '--key-file', f.key]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^line 2: deleted: /);
  t.match(bad.stderr, /NOT intact: 1 finding/);
  const json = await sentinelInProcess(['audit', 'verify-logs', f.file, '--key-file', f.key, '--json']);
  t.equal(json.code, 1);
  const body = JSON.parse(json.stdout);
  t.equal(body.ok, false);
  t.same(
    body.findings.map((x: { line: number; kind: string }) => [x.line, x.kind]),
    [[2, 'deleted']],
  );

  const config = join(f.dir, 'config.yaml');
  writeFileSync(config, `audit:\n  file: ${f.file}\n  hmac_key_file: ${f.key}\n`);
  const fromConfig = await sentinelInProcess(['--config', config, 'audit', 'verify-logs', '--json']);
  t.equal(fromConfig.code, 1, 'file and key from config.yaml');
  t.equal(JSON.parse(fromConfig.stdout).file, f.file);

  const errors: Array<[string, string[], RegExp]> = [
    ['a missing file', [join(f.dir, 'nope.log'), '--key-file', f.key], /cannot be read \(ENOENT\)/],
    ['no key', [f.file], /no HMAC key/],
    ['a missing key file', [f.file, '--key-file', join(f.dir, 'nope.key')], /cannot be read/],
    ['a directory', [f.dir, '--key-file', f.key], /is a directory, not a regular file/],
    ['CloudWatch flags alone', [f.file, '--key-file', f.key, '--log-group', 'g'], /only apply with/],
  ];
  const empty = join(f.dir, 'empty.yaml');
  writeFileSync(empty, '');
  for (const [what, args, message] of errors) {
    const r = await sentinelInProcess(['--config', empty, 'audit', 'verify-logs', ...args, '--json']);
    t.equal(r.code, 2, `${what}: exit 2`);
    const e = JSON.parse(r.stdout);
    t.equal(e.ok, false, what);
    t.same(e.findings, [], what);
    t.match(e.error.message, message, what);
    t.same(JSON.parse(r.stderr), { error: e.error }, `${what}: the error every command prints on stderr, too`);
    t.notMatch(e.error.hint, /--help/, `${what}: a hint about the cause`);
  }
  const big = keyFile(f.dir, 'big.key');
  writeFileSync(big, 'k'.repeat(65 * 1024));
  const keyErrors: Array<[string, string, RegExp]> = [
    ['a directory as the key', f.dir, /is a directory, not a regular file/],
    ['a device as the key', '/dev/zero', /is a device, not a regular file/],
    ['a key file over 64 KiB', big, /larger than 64 KiB/],
  ];
  for (const [what, key, message] of keyErrors) {
    const r = await sentinelInProcess(['--config', empty, 'audit', 'verify-logs', f.file, '--key-file', key, '--json']);
    t.equal(r.code, 2, `${what}: exit 2`);
    const { error } = JSON.parse(r.stdout) as { error: { message: string; hint: string } };
    t.match(error.message, message, what);
    t.match(error.hint, /--key-file/, `${what}: the hint is about the flag the key came from`);
    t.notMatch(error.hint, /chmod|config\.yaml|start again/, `${what}: no advice for another cause`);
  }
  writeFileSync(f.file, '\n');
  const blank = await sentinelInProcess(['--config', empty, 'audit', 'verify-logs', f.file, '--key-file', f.key]);
  t.equal(blank.code, 0, 'an empty log has no findings');
  t.match(blank.stderr, /0 signed: no signed lines, nothing to verify/, 'but is not called intact');
  const loose = keyFile(f.dir, 'loose.key');
  chmodSync(loose, 0o644);
  const r = await sentinelInProcess(['--config', empty, 'audit', 'verify-logs', f.file, '--key-file', loose]);
  t.equal(r.code, 2, 'a key file others can read: exit 2');
  t.match(r.stderr, /^Error: .*mode 0600/m);
});

t.test('a 100 MB log is verified in bounded memory', async (t) => {
  const dir = tempDir(t, 'sentinel-verify-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  const k = hmacKey(loadHmacKey(key).key);
  const sign = chainSigner(k, GENESIS);
  const render = entryRenderer('canonical');
  const fd = openSync(file, 'w', 0o600);
  let bytes = 0;
  let lines = 0;
  let chunk = '';
  while (bytes < 100 * 1024 * 1024) {
    const { json, timestamp } = render(entry(lines));
    const line = `${sign(json, timestamp)}\n`;
    chunk += line;
    bytes += line.length;
    lines++;
    if (chunk.length > 1024 * 1024) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  // Child processes, so each measurement is the verifier's alone; the first 1,000 lines give the baseline of the same
  // run. The heap is capped at 64 MB, so a verifier that held the file would die of it. (Not 32: on Node 24 the
  // TypeScript loader alone passes that before the verifier starts.) What is bounded is what the verifier keeps: the
  // heap still in use after a full collection, sampled every 20 ms while it runs. Peak RSS is not the measure: V8 lets
  // garbage grow towards the cap before it collects, so the peak moved by 30 MB between runs of the same code.
  const small = join(dir, 'small.log');
  const head = spawnSync('head', ['-n', '1000', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(small, head.stdout);
  const measure = (target: string) => {
    const script = `
      import { keySet, verifyLogFile } from './core/audit/verify.ts';
      import { loadHmacKey } from './core/audit/hmac-chain.ts';
      let retained = 0;
      let samples = 0;
      const sample = () => {
        globalThis.gc();
        retained = Math.max(retained, process.memoryUsage().heapUsed);
        samples++;
      };
      sample();
      const timer = setInterval(sample, 20);
      const r = await verifyLogFile(${JSON.stringify(target)}, keySet([loadHmacKey(${JSON.stringify(key)})]));
      clearInterval(timer);
      sample();
      process.stdout.write(JSON.stringify({ ok: r.ok, lines: r.lines, retained, samples }));
    `;
    const started = Date.now();
    const child = spawnSync(
      process.execPath,
      ['--max-old-space-size=64', '--expose-gc', ...typescriptLoaderArgs(), '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    t.equal(child.status, 0, child.stderr);
    return {
      ...(JSON.parse(child.stdout) as { ok: boolean; lines: number; retained: number; samples: number }),
      seconds: (Date.now() - started) / 1000,
    };
  };
  const base = measure(small);
  const big = measure(file);
  t.equal(base.lines, 1000);
  t.equal(big.ok, true, 'intact');
  t.equal(big.lines, lines, `${lines} lines, ${(bytes / 1048576).toFixed(0)} MB`);
  t.ok(big.samples > 10, `${big.samples} samples taken while the 100 MB file was verified`);
  const growthMb = (big.retained - base.retained) / 1048576;
  t.ok(growthMb < 8, `heap kept after collection grows ${growthMb.toFixed(1)} MB from 1,000 lines to a 100 MB file`);
  t.comment(
    `100 MB: ${lines} lines verified in ${big.seconds.toFixed(1)} s; most heap kept ${(big.retained / 1048576).toFixed(1)} MB (1,000 lines: ${(base.retained / 1048576).toFixed(1)} MB)`,
  );
});
