// The decision log writes in batches off the response path (core/audit/appender.ts): order, the HMAC chain, flush
// and close, the queue bound, and a one-pass serialiser that must give exactly the bytes of the reference
// sanitise-then-stringify.
import t from 'tap';
import fc from 'fast-check';
import { chmodSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { createLogger, silentLogger } from '../core/log.js';
import { createAppender } from '../core/audit/appender.js';
import { createDecisionLog, verifyDecisionLog } from '../core/audit/decision-log.js';
import { canonicalJson, entryRenderer, renderEntry, sanitizeEntry } from '../core/audit/entry.js';
import { ERROR_CODES } from '../core/errors.js';
import type { DecisionEntry } from '../core/audit/types.js';
import { tempDir } from './support/temp-dir.js';

function keyFile(dir: string): string {
  const file = join(dir, 'audit.key');
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

const configFor = (file: string, hmac_key_file?: string) =>
  resolveConfig({ audit: { file, ...(hmac_key_file ? { hmac_key_file } : {}) } }, 'test-config.yaml', {
    HOME: '/nonexistent',
  });

const entry = (i: number, overrides: Partial<DecisionEntry> = {}): DecisionEntry => ({
  timestamp: '2026-11-29T12:00:00.000Z',
  event: 'credentials',
  outcome: i % 7 === 0 ? 'deny' : 'allow',
  ...(i % 7 === 0 ? { error_code: 'PolicyDenied' as const } : {}),
  user: 'alice',
  profile: 'prod',
  effect: 'allow',
  rule: 'oncall',
  rule_index: i,
  reason: 'on-call may use prod',
  policy_source: 'file:/home/alice/.config/sentinel/policy.yaml',
  policy_version: 'a1b2c3d4e5f60718',
  mode: 'server',
  session_id: '0123456789abcdef',
  request_id: i.toString(16).padStart(16, '0'),
  source_identity: 'sentinel-alice-direct-fedcba9876543210',
  role_arn: 'arn:aws:iam::111122223333:role/prod-admin',
  duration_seconds: 900,
  peer_pid: 4242,
  peer_uid: 1000,
  ...overrides,
});

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);

t.test('the one-pass serialisers give exactly the bytes of sanitise-then-stringify', async (t) => {
  const now = () => new Date('2026-01-02T03:04:05.678Z');
  // Each field is drawn from valid values, near misses, hostile text and wrong types, so every branch of every
  // field's check is exercised, and values repeat (the memo's hits must agree with its misses).
  const anyValue = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.string(),
    fc.constant({}),
    fc.constant([]),
  );
  const text = fc.oneof(
    fc.constantFrom(
      'alice',
      'on-call may use prod',
      'line\nbreak "quoted" \\ back',
      'AKIAIOSFODNN7EXAMPLE leaked',
      'k3Jd9sLq0xYv8ZmN2pQr5tUw7AbCdEfGhIjKlMnOp1',
      '\u2028',
      'é ü 漢字 😀',
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ minLength: 500, maxLength: 700 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    anyValue,
  );
  const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof(valid, text, anyValue);
  const hex16 = fc.constantFrom('0123456789abcdef', 'fedcba9876543210', '0123456789ABCDEF', '0123');
  const arb = fc.record(
    {
      timestamp: field(
        fc.constantFrom(
          '2026-11-29T12:00:00.000Z',
          '2026-11-29T12:00:00Z',
          '2026-11-29T12:00:00.123456789Z',
          '2026-11-29 12:00:00',
          'yesterday',
        ),
      ),
      event: field(
        fc.constantFrom(
          'session_open',
          'credentials',
          'credential_process',
          'peer_refusals',
          'constructor',
          '__proto__',
        ),
      ),
      outcome: field(fc.constantFrom('allow', 'deny', 'maybe')),
      error_code: field(fc.constantFrom(...ERROR_CODES, 'NoSuchCode', 'toString')),
      user: field(fc.constantFrom('alice', 'bob.smith@example.com')),
      profile: field(fc.constantFrom('prod', 'dev/eu', '../../etc/passwd', 'a/__proto__', 'x'.repeat(300))),
      effect: field(fc.constantFrom('allow', 'require_server', 'deny', 'Allow')),
      rule: text,
      rule_index: field(fc.constantFrom(-2, -1, 0, 5, 1_000_000, 1_000_001, -0, 1.5)),
      reason: text,
      policy_source: text,
      policy_version: text,
      mode: field(fc.constantFrom('server', 'cli', 'credential_process', 'root')),
      session_id: field(hex16),
      request_id: field(hex16),
      source_identity: field(
        fc.constantFrom(
          'sentinel-alice-direct-fedcba9876543210',
          'sentinel:alice',
          'sentinel-alice-process-0123456789abcdef',
        ),
      ),
      role_arn: field(
        fc.constantFrom(
          'arn:aws:iam::111122223333:role/prod-admin',
          'arn:aws-cn:iam::111122223333:role/a/b',
          'arn:aws:iam::1:role/x',
          'arn:aws:iam::111122223333:role/x y',
        ),
      ),
      duration_seconds: field(fc.constantFrom(0, 900, 129_600, 129_601, -1, '900')),
      peer_pid: field(fc.constantFrom(0, 1, 0xffffffff, 0x100000000, -1)),
      peer_uid: field(fc.constantFrom(0, 1000, 1.5)),
      approved_request_id: field(fc.constantFrom('req-1', 'bg_2', 'x'.repeat(65), 'a b')),
      break_glass_event_id: field(fc.constantFrom('bg_2', 'ok-ID_9', '')),
      transport: field(fc.constantFrom('tcp', 'unix', 'udp')),
      count: field(fc.constantFrom(1, 1990, 0, -1, 2 ** 53, 1.5)),
      first_timestamp: field(fc.constantFrom('2026-11-29T12:00:00.000Z', 'yesterday')),
      last_timestamp: field(fc.constantFrom('2026-11-29T12:00:59.999Z', '2026-11-29 12:00:59')),
      unexpected: text,
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(arb, (e) => {
      const clean = sanitizeEntry(e, now);
      const documented = renderEntry(e, 'documented', now);
      const canonical = renderEntry(e, 'canonical', now);
      return (
        documented.json === JSON.stringify(clean) &&
        canonical.json === canonicalJson(clean) &&
        documented.timestamp === clean.timestamp
      );
    }),
    { numRuns: 3000 },
  );
  // The streaming renderer reuses the JSON of fields that repeat from one entry to the next: sequences drawn from
  // small pools (so runs of identical fields, and single-field changes, are common) must still match entry by entry.
  const pooled = fc.record(
    {
      event: fc.constantFrom('credentials', 'session_open', 'peer_refusals', 'nope'),
      outcome: fc.constantFrom('allow', 'deny'),
      error_code: fc.constantFrom(undefined, 'PolicyDenied', 'NoSuchCode'),
      user: fc.constantFrom('alice', 'bob', 'AKIAIOSFODNN7EXAMPLE'),
      profile: fc.constantFrom('dev', 'prod', '../x'),
      effect: fc.constantFrom('allow', 'require_server'),
      rule: fc.constantFrom('r1', 'r2'),
      rule_index: fc.constantFrom(0, 1, Number.NaN),
      reason: fc.constantFrom('because', 'line\nbreak'),
      policy_source: fc.constantFrom('file:/p.yaml'),
      policy_version: fc.constantFrom('v1', 'v2'),
      mode: fc.constantFrom('server', 'cli'),
      session_id: fc.constantFrom('0123456789abcdef', 'fedcba9876543210'),
      request_id: fc.constantFrom('0123456789abcdef', 'fedcba9876543210', 'bad'),
      timestamp: fc.constantFrom('2026-11-29T12:00:00.000Z', '2026-11-29T12:00:01.000Z', 'never'),
      source_identity: fc.constantFrom(null, 'sentinel-alice-direct-fedcba9876543210'),
      role_arn: fc.constantFrom(null, 'arn:aws:iam::111122223333:role/prod-admin'),
      duration_seconds: fc.constantFrom(900, 3600),
      peer_pid: fc.constantFrom(1, 2),
      peer_uid: fc.constantFrom(1000, null),
      approved_request_id: fc.constantFrom(undefined, 'req-1'),
      break_glass_event_id: fc.constantFrom(undefined, 'bg_2'),
      count: fc.constantFrom(undefined, 7, 8),
    },
    { requiredKeys: [] },
  );
  const FIELDS = [
    'event',
    'outcome',
    'error_code',
    'user',
    'profile',
    'effect',
    'rule',
    'rule_index',
    'reason',
    'policy_source',
    'policy_version',
    'mode',
    'session_id',
    'request_id',
    'timestamp',
    'source_identity',
    'role_arn',
    'duration_seconds',
    'peer_pid',
    'peer_uid',
    'approved_request_id',
    'break_glass_event_id',
    'count',
  ] as const;
  // Each next entry changes one field of the previous one (or none): the cases where reuse could go wrong.
  const sequence = fc
    .tuple(pooled, fc.array(fc.tuple(fc.constantFrom(...FIELDS), pooled), { maxLength: 40 }))
    .map(([first, steps]) => {
      const entries: Array<Record<string, unknown>> = [{ ...first }];
      for (const [field, from] of steps)
        entries.push({ ...entries.at(-1), [field]: (from as Record<string, unknown>)[field] });
      return entries;
    });
  fc.assert(
    fc.property(fc.oneof(sequence, fc.array(pooled, { maxLength: 30 })), (entries) => {
      const documented = entryRenderer('documented', now);
      const canonical = entryRenderer('canonical', now);
      return entries.every((e) => {
        const clean = sanitizeEntry(e, now);
        return documented(e).json === JSON.stringify(clean) && canonical(e).json === canonicalJson(clean);
      });
    }),
    { numRuns: 1000 },
  );
  for (const odd of [null, undefined, 'garbage', 42, [], () => 1]) {
    t.equal(renderEntry(odd, 'documented', now).json, JSON.stringify(sanitizeEntry(odd, now)), `input ${typeof odd}`);
    t.equal(renderEntry(odd, 'canonical', now).json, canonicalJson(sanitizeEntry(odd, now)));
  }
  const e = entry(1);
  t.same(JSON.parse(renderEntry(e, 'documented').json), e, 'a well-formed entry comes back unchanged');
});

t.test('10,000 rapid signed writes keep their order and one unbroken chain', async (t) => {
  const dir = tempDir(t, 'sentinel-batch-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  const log = createDecisionLog(configFor(file, key), { log: silentLogger() });
  t.teardown(() => log.close());
  // Several batches overflow the queue bound (written on the caller's turn) and the rest go by the timer.
  for (let i = 0; i < 10_000; i++) log.write(entry(i));
  await new Promise((r) => setTimeout(r, 1));
  for (let i = 10_000; i < 10_500; i++) log.write(entry(i));
  await log.flush();
  const all = lines(file);
  t.equal(all.length, 10_500);
  t.same(
    all.map((l) => JSON.parse(l).entry.rule_index),
    Array.from({ length: 10_500 }, (_, i) => i),
    'in write order',
  );
  t.same(await verifyDecisionLog(file, readFileSync(key)), { ok: true, lines: 10_500 }, 'the chain verifies');

  // A second daemon on the same file continues the chain from the last line.
  await log.close();
  const again = createDecisionLog(configFor(file, key), { log: silentLogger() });
  for (let i = 0; i < 3; i++) again.write(entry(i));
  await again.close();
  t.same(await verifyDecisionLog(file, readFileSync(key)), { ok: true, lines: 10_503 });
});

t.test('close writes what is queued without a flush; writes after close are refused, not thrown', async (t) => {
  const dir = tempDir(t, 'sentinel-batch-');
  const file = join(dir, 'decisions.log');
  const log = createDecisionLog(configFor(file), { log: silentLogger(), batchDelayMs: 60_000 });
  for (let i = 0; i < 25; i++) log.write(entry(i));
  t.equal(lines(file).length, 0, 'nothing is written on the request path');
  await log.close();
  t.same(
    lines(file).map((l) => JSON.parse(l).rule_index),
    Array.from({ length: 25 }, (_, i) => i),
  );
  t.doesNotThrow(() => log.write(entry(99)));
  await log.flush();
  t.equal(lines(file).length, 25, 'a write after close is not written');
});

t.test('the batch timer writes without anyone calling flush', async (t) => {
  const dir = tempDir(t, 'sentinel-batch-');
  const file = join(dir, 'decisions.log');
  const log = createDecisionLog(configFor(file), { log: silentLogger(), batchDelayMs: 1 });
  t.teardown(() => log.close());
  log.write(entry(1));
  log.write(entry(2));
  let seen = 0;
  for (let i = 0; i < 500 && seen < 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
    seen = lines(file).length;
  }
  t.equal(seen, 2, 'both lines reached the file');
});

t.test('overflow: the write that reaches the queue bound writes the batch at once; nothing is dropped', async (t) => {
  const dir = tempDir(t, 'sentinel-batch-');
  const file = join(dir, 'decisions.log');
  const log = createDecisionLog(configFor(file), { log: silentLogger(), batchDelayMs: 60_000, maxPending: 100 });
  t.teardown(() => log.close());
  for (let i = 0; i < 99; i++) log.write(entry(i));
  t.equal(lines(file).length, 0, 'below the bound, the batch waits for its timer');
  log.write(entry(99));
  t.equal(lines(file).length, 100, 'the 100th write wrote all 100 lines before returning');
  for (let i = 100; i < 350; i++) log.write(entry(i));
  t.equal(lines(file).length, 300, 'each time the bound is reached');
  await log.flush();
  t.same(
    lines(file).map((l) => JSON.parse(l).rule_index),
    Array.from({ length: 350 }, (_, i) => i),
    'all 350, in order',
  );
});

t.test('an entry that cannot be read is reported and skipped; the others are written in order', async (t) => {
  const dir = tempDir(t, 'sentinel-batch-');
  const file = join(dir, 'decisions.log');
  const key = keyFile(dir);
  const logged: string[] = [];
  const opLog = createLogger({ level: 'debug', destination: { write: (s: string) => void logged.push(s) } });
  const log = createDecisionLog(configFor(file, key), { log: opLog });
  t.teardown(() => log.close());
  const hostile = entry(1);
  Object.defineProperty(hostile, 'reason', {
    get() {
      throw new Error('AKIAIOSFODNN7EXAMPLE');
    },
  });
  log.write(entry(0));
  t.doesNotThrow(() => log.write(hostile));
  log.write(entry(2));
  await log.flush();
  t.same(
    lines(file).map((l) => JSON.parse(l).entry.rule_index),
    [0, 2],
  );
  t.same(
    await verifyDecisionLog(file, readFileSync(key)),
    { ok: true, lines: 2 },
    'the skipped entry leaves no gap in the chain',
  );
  t.ok(
    logged.some((l) => l.includes('decision could not be logged')),
    'the loss is in the operational log',
  );
  t.notOk(logged.join('').includes('AKIAIOSFODNN7EXAMPLE'), 'without the error text');
});

t.test(
  'a write error loses that batch only, reported once per batch, and the appender keeps going',
  { skip: existsSync('/dev/full') ? false : 'needs /dev/full' },
  async (t) => {
    const logged: string[] = [];
    const opLog = createLogger({ level: 'debug', destination: { write: (s: string) => void logged.push(s) } });
    // Every write to /dev/full fails with ENOSPC: a full disk without filling one.
    const appender = createAppender<number>(openSync('/dev/full', 'w'), '/dev/full', opLog, {
      render: (n) => `${n}\n`,
      batchDelayMs: 60_000,
    });
    t.teardown(() => appender.close());
    for (let i = 0; i < 10; i++) appender.push(i);
    t.equal(appender.pending, 10);
    await appender.flush();
    t.equal(appender.pending, 0);
    t.equal(appender.dropped, 10, 'the lost lines are counted');
    const failures = logged.filter((l) => l.includes('decision log write failed'));
    t.equal(failures.length, 1, 'one report for the batch');
    t.match(failures[0], /"code":"ENOSPC"/);
    t.match(failures[0], /"lines":10/);
    appender.push(10);
    await appender.flush();
    t.equal(appender.dropped, 11, 'the next batch is attempted, not abandoned');
  },
);

t.test('the appender writes lines of any size and alphabet byte for byte, in order', async (t) => {
  const dir = tempDir(t, 'sentinel-batch-');
  const file = join(dir, 'raw.log');
  const written: string[] = [
    'short ascii\n',
    `${'a'.repeat(20_000)}\n`,
    `${'é'.repeat(25_000)}\n`, // fits the rest of the buffer in characters, not in bytes
    `${'é'.repeat(40_000)}\n`, // larger than the whole buffer once encoded
    `${'x'.repeat(21_000)}\n`, // just under a third of the buffer: fits only into an empty one
    'ü 漢字 😀\n',
    ...Array.from({ length: 400 }, (_, i) => `${String(i).padStart(4, '0')} ${'y'.repeat(300)}\n`), // several buffers' worth
    `${'z'.repeat(70_000)}\n`,
    'last\n',
  ];
  const appender = createAppender<string>(openSync(file, 'a'), file, silentLogger(), {
    render: (line) => line,
    batchDelayMs: 60_000,
  });
  t.teardown(() => appender.close());
  for (const line of written) appender.push(line);
  await appender.flush();
  t.equal(appender.dropped, 0);
  t.ok(readFileSync(file).equals(Buffer.from(written.join(''), 'utf8')), 'the file holds exactly the pushed lines');
});
