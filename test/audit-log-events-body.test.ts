// PutLogEvents bodies written from the decision log's bytes (core/audit/log-events-body.ts) are the JSON document the
// SDK would send: every message decodes to exactly the line's text as Buffer#toString('utf8') reads it — quotes,
// backslashes, control characters, non-ASCII, invalid UTF-8 (U+FFFD) — and the size returned is its UTF-8 length.
import t from 'tap';
import { LogEventsBody } from '../core/audit/log-events-body.js';

const lines: Buffer[] = [
  Buffer.from('{"timestamp":"2026-12-06T12:00:00.000Z","reason":"say \\"hi\\" \\\\ back"}'),
  Buffer.from('tab\there, bell\u0007, esc\u001b, nul\u0000, del\u007f, cr\r inside'),
  Buffer.from('non-ASCII: é ü 日本 😀 \u2028 \u2029'),
  Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0xc3, 0x28, 0xe2, 0x82, 0x7d]), // invalid UTF-8
  Buffer.from([0xed, 0xa0, 0x80]), // an encoded lone surrogate: not UTF-8
  Buffer.from('"'.repeat(5000)), // every byte escaped
  Buffer.alloc(0),
];

t.test('every message decodes to the line as UTF-8 text; sizes are UTF-8 lengths', async (t) => {
  const body = new LogEventsBody();
  body.begin('sentinel-decisions', 'host-"alice"\\x');
  // Lines sit inside a larger buffer, as in the forwarder's read chunk.
  const chunk = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  const sizes: number[] = [];
  let pos = 0;
  lines.forEach((l, i) => {
    sizes.push(body.addBytes(1_000 + i, chunk, pos, pos + l.length));
    pos += l.length + 1;
  });
  body.addText(5_000, 'sent "again" \u0001 ü');
  const doc = JSON.parse(body.finish().toString('utf8')) as {
    logGroupName: string;
    logStreamName: string;
    logEvents: Array<{ timestamp: number; message: string }>;
  };
  t.equal(doc.logGroupName, 'sentinel-decisions');
  t.equal(doc.logStreamName, 'host-"alice"\\x');
  t.same(
    doc.logEvents.map((e) => e.message),
    [...lines.map((l) => l.toString('utf8')), 'sent "again" \u0001 ü'],
  );
  t.same(
    doc.logEvents.map((e) => e.timestamp),
    [...lines.map((_, i) => 1_000 + i), 5_000],
  );
  t.same(
    sizes,
    lines.map((l) => Buffer.byteLength(l.toString('utf8'), 'utf8')),
  );
  t.ok(sizes[3]! > lines[3]!.length, 'invalid bytes count as the U+FFFD they are sent as');
});

t.test('the buffer grows for a large body and is reused for the next one', async (t) => {
  const body = new LogEventsBody();
  const big = Buffer.from(`{"x":"${'\\'.repeat(1_000_000)}"}`); // escapes to about 2 MB
  body.begin('g', 's');
  body.addBytes(1, big, 0, big.length);
  const first = JSON.parse(body.finish().toString('utf8')) as { logEvents: Array<{ message: string }> };
  t.equal(first.logEvents[0]!.message, big.toString('utf8'));
  body.begin('g', 's');
  body.addBytes(2, Buffer.from('small'), 0, 5);
  t.same(JSON.parse(body.finish().toString('utf8')), {
    logGroupName: 'g',
    logStreamName: 's',
    logEvents: [{ timestamp: 2, message: 'small' }],
  });
  body.begin('g', 's');
  t.same(JSON.parse(body.finish().toString('utf8')).logEvents, [], 'an empty body is valid JSON too');
});

t.test('timestamps of every size are written as JSON numbers', async (t) => {
  const body = new LogEventsBody();
  body.begin('g', 's');
  const stamps = [0, 9, 10, 1_765_000_000_123, Number.MAX_SAFE_INTEGER, 1.5];
  for (const ts of stamps) body.addBytes(ts, Buffer.from('x'), 0, 1);
  body.addText(1_765_000_000_999, 'y');
  const doc = JSON.parse(body.finish().toString('utf8')) as { logEvents: Array<{ timestamp: number }> };
  t.same(
    doc.logEvents.map((e) => e.timestamp),
    [...stamps, 1_765_000_000_999],
  );
});
