// `--against-cloudwatch`'s matching (core/audit/cloudwatch-compare.ts) on its own: what the forwarder really puts in a
// stream — lines sent twice after a restart or a lost cursor, a line re-sent a batch later after a timestamp
// rejection, a stand-in for a line too long for an event — is not a finding; what tampering leaves — a cut tail, an
// edited, inserted or deleted line, a rewritten chain, a forged stand-in — is, at the right line.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MATCH_WINDOW, MAX_UNRESOLVED, matchStreams, type CompareResult } from '../core/audit/cloudwatch-compare.js';
import { standIn } from '../core/audit/forwarder.js';
import { readFileLines } from '../core/audit/line-reader.js';
import { tempDir } from './support/temp-dir.js';

const lineText = (i: number) =>
  `{"entry":{"n":${i}},"signature":"${createHash('sha256').update(String(i)).digest('hex')}"}`;
const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => lineText(from + i));

async function* each(messages: string[]): AsyncGenerator<string> {
  yield* messages;
}

async function compare(t: Test, lines: string[], events: string[]): Promise<CompareResult> {
  const file = join(tempDir(t, 'sentinel-compare-'), 'decisions.log');
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return matchStreams(file, () => readFileLines(file, 262_118), each(events));
}

const kinds = (r: CompareResult) => r.findings.map((f) => [f.line, f.kind]);

t.test('the same lines in the same order: nothing to report', async (t) => {
  const lines = numbered(1, 50);
  const r = await compare(t, lines, lines);
  t.same(r, { events: 50, resent: 0, findings: [] });
  t.same(await compare(t, [], []), { events: 0, resent: 0, findings: [] }, 'an empty file and an empty stream');
});

t.test('what the forwarder sends more than once is counted as re-sent, not reported', async (t) => {
  const lines = numbered(1, 30);
  // A restart before the cursor was saved: a batch again, each copy beside its original (same timestamps).
  const twice = [...lines.slice(0, 10), ...lines.slice(10, 20).flatMap((l) => [l, l]), ...lines.slice(20)];
  const restart = await compare(t, lines, twice);
  t.same(restart, { events: 40, resent: 10, findings: [] });

  // Lines 4 and 5 rejected for their timestamps and sent again stamped later: they follow the rest of their batch.
  const late = [...lines.slice(0, 3), ...lines.slice(5, 12), lines[3]!, lines[4]!, ...lines.slice(12)];
  t.same(await compare(t, lines, late), { events: 30, resent: 0, findings: [] });

  // A rejection that never lifted (the line is not in the stream) is a finding, not hidden by the window.
  const lost = [...lines.slice(0, 3), ...lines.slice(4)];
  const r = await compare(t, lines, lost);
  t.same(kinds(r), [[4, 'missing_in_cloudwatch']]);
  t.match(
    r.findings[0]!.message,
    /1 line\(s\) \(4 to 4\) are not in CloudWatch: inserted here after they were forwarded/,
  );
});

t.test('a whole log sent again long after (a lost cursor, restamped) is recognised past the window', async (t) => {
  const count = MATCH_WINDOW + 5_000;
  const lines = numbered(1, count);
  const r = await compare(t, lines, [...lines, ...lines.slice(0, 100)]);
  t.same(r, { events: count + 100, resent: 100, findings: [] });

  // Line 7 lost, then sent again after more than the window of other lines: a late match, not a finding.
  const late = [...lines.slice(0, 6), ...lines.slice(7), lines[6]!];
  t.same(await compare(t, lines, late), { events: count, resent: 0, findings: [] });

  // And one never sent at all is still found after the window has moved on past it.
  const gone = [...lines.slice(0, 6), ...lines.slice(7)];
  t.same(kinds(await compare(t, lines, gone)), [[7, 'missing_in_cloudwatch']]);
});

t.test('a line too long for an event matches its stand-in; a stand-in that does not hold is reported', async (t) => {
  const long = `{"entry":{"note":"${'x'.repeat(300_000)}"}}`;
  const lines = [...numbered(1, 3), long, ...numbered(5, 8)];
  const offset = lines.slice(0, 3).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  const sha = createHash('sha256').update(long).digest('hex');
  const events = [...lines.slice(0, 3), standIn(offset, Buffer.byteLength(long), sha), ...lines.slice(4)];
  t.same(await compare(t, lines, events), { events: 8, resent: 0, findings: [] });

  const twice = [...events.slice(0, 4), events[3]!, ...events.slice(4)];
  t.same(await compare(t, lines, twice), { events: 9, resent: 1, findings: [] }, 'a stand-in sent twice');

  const forged = [...events.slice(0, 3), standIn(offset, Buffer.byteLength(long), '0'.repeat(64)), ...events.slice(4)];
  const r = await compare(t, lines, forged);
  t.same(kinds(r), [[4, 'altered']], 'the line was changed after its stand-in was sent');
  t.match(r.findings[0]!.message, /differs from CloudWatch event 4/);

  const elsewhere = [...events.slice(0, 3), standIn(offset + 1, Buffer.byteLength(long) - 1, sha), ...events.slice(4)];
  t.same(kinds(await compare(t, lines, elsewhere)), [[4, 'altered']], 'a stand-in naming another place');

  // A stand-in naming a length no line there has is not hashed over that length (a terabyte here): reported at once.
  const huge = [...events.slice(0, 3), standIn(offset, 1e12, sha), ...events.slice(4)];
  const started = Date.now();
  t.same(kinds(await compare(t, lines, huge)), [[4, 'altered']], 'a stand-in with a length the line does not have');
  t.ok(Date.now() - started < 30_000, 'and without reading a terabyte');

  // The whole log sent again after the window has passed the long line: its stand-in is a re-send too.
  const many = [...lines, ...numbered(9, MATCH_WINDOW + 100)];
  const manyEvents = [...events, ...numbered(9, MATCH_WINDOW + 100)];
  t.same(await compare(t, many, [...manyEvents, ...manyEvents]), {
    events: 2 * manyEvents.length,
    resent: manyEvents.length,
    findings: [],
  });
});

t.test('tampering is reported at its line', async (t) => {
  const lines = numbered(1, 12);

  const cut = await compare(t, lines.slice(0, 9), lines);
  t.same(kinds(cut), [[10, 'extra_in_cloudwatch']]);
  t.match(cut.findings[0]!.message, /3 event\(s\) after the file's last line: the file's tail was cut/);

  const edited = [...lines];
  edited[4] = edited[4]!.replace('"n":5', '"n":55');
  const e = await compare(t, edited, lines);
  t.same(kinds(e), [[5, 'altered']]);
  t.match(e.findings[0]!.message, /^differs from CloudWatch event 5:/);

  const deleted = [...lines.slice(0, 4), ...lines.slice(5)];
  const d = await compare(t, deleted, lines);
  t.same(kinds(d), [[5, 'extra_in_cloudwatch']]);
  t.match(d.findings[0]!.message, /1 event\(s\) \(event 5\) after line 4 that are not in the file: lines removed here/);

  const inserted = [...lines.slice(0, 6), lineText(99), ...lines.slice(6)];
  t.same(kinds(await compare(t, inserted, lines)), [[7, 'missing_in_cloudwatch']]);

  const duplicated = [...lines.slice(0, 6), lines[5]!, ...lines.slice(6)];
  t.same(kinds(await compare(t, duplicated, lines)), [[7, 'missing_in_cloudwatch']], 'a line copied in the file');

  // A chain rewritten from line 5 on, one line dropped: every line from 5 differs, and CloudWatch has one more.
  const rewritten = [...lines.slice(0, 4), ...lines.slice(5).map((l) => l.replace('"signature":"', '"signature":"f'))];
  const w = await compare(t, rewritten, lines);
  t.same(kinds(w), [
    [5, 'altered'],
    [12, 'extra_in_cloudwatch'],
  ]);
  t.match(w.findings[0]!.message, /^lines 5 to 11 differ from CloudWatch events 5 to 11/);

  const behind = await compare(t, lines, lines.slice(0, 8));
  t.same(kinds(behind), [[9, 'missing_in_cloudwatch']]);
  t.match(behind.findings[0]!.message, /4 line\(s\) from line 9 on are not in CloudWatch: not forwarded yet/);
});

t.test('a rewritten chain longer than the window is reported whole, in bounded steps', async (t) => {
  const count = MATCH_WINDOW * 2;
  const lines = numbered(1, count);
  const rewritten = [...lines.slice(0, 10), ...lines.slice(10).map((l) => `${l} `)];
  const r = await compare(t, rewritten, lines);
  t.same(kinds(r), [[11, 'altered']]);
  t.match(r.findings[0]!.message, new RegExp(`^lines 11 to ${count} differ from CloudWatch events 11 to ${count}`));
});

t.test(
  'past the lines and events held for a late match: a block re-send and a long rewrite still read right',
  async (t) => {
    const count = MAX_UNRESOLVED + 10_000;
    const lines = numbered(1, count);
    // The whole log again in one block (a lost cursor on a log older than CloudWatch accepts, restamped): the file read
    // so far is searched when the held events reach the bound.
    t.same(await compare(t, lines, [...lines, ...lines]), { events: 2 * count, resent: count, findings: [] });
    // Every line rewritten: past the bound lines and events are counted in runs, and still reported as one finding.
    const rewritten = await compare(
      t,
      lines.map((l) => `${l} `),
      lines,
    );
    t.same(kinds(rewritten), [[1, 'altered']]);
    t.match(
      rewritten.findings[0]!.message,
      new RegExp(`^lines 1 to ${count} differ from CloudWatch events 1 to ${count}`),
    );
  },
);

t.test('blank lines in the file are not events', async (t) => {
  const lines = numbered(1, 5);
  const withBlanks = [lines[0]!, '', '   ', ...lines.slice(1)];
  const r = await compare(t, withBlanks, lines);
  t.same(r, { events: 5, resent: 0, findings: [] });
});
