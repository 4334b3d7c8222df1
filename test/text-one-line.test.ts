// The one rule for free text people write for others (core/text/one-line.ts): the CLI refuses before asking exactly
// what the daemon refuses before storing, and both store what the other would. Invisible characters (Cf, Cs) are
// refused by code point; length is counted in grapheme clusters.
import t from 'tap';
import { checkText, oneLineText } from '../core/text/one-line.js';
import { checkOneLine } from '../cli/output.js';
import { isSentinelError } from '../core/errors.js';

const outcome = (f: () => string): string => {
  try {
    return `ok:${f()}`;
  } catch (e) {
    if (!isSentinelError(e)) throw e;
    const held = /holds (U\+[0-9A-F]{4,6}) \(/.exec(e.message);
    return `${e.code}:${/control characters/.test(e.message) ? 'control' : /characters \(got \d+\)/.test(e.message) ? 'length' : held ? `invisible:${held[1]}` : /too long to store/.test(e.message) ? 'store' : e.message}`;
  }
};

// TAP would break its own line on a raw U+2028 in a test name.
const name = (s: string) =>
  JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const CASES: Array<[string, string]> = [
  ['deploy hotfix', 'ok:deploy hotfix'],
  ['  padded  ', 'ok:padded'],
  ['line\nbreak', 'control'],
  ['trailing newline\n', 'control'],
  ['\ttab', 'control'],
  ['escape \u001b[31m red', 'control'],
  ['C1 \u0085 next line', 'control'],
  ['DEL \u007f', 'control'],
  ['line \u2028 separator', 'control'],
  ['paragraph \u2029 separator', 'control'],
  ['', 'length'],
  ['     ', 'length'],
  ['x'.repeat(21), 'length'],
  ['😀'.repeat(20), `ok:${'😀'.repeat(20)}`],
  ['é'.repeat(20), `ok:${'é'.repeat(20)}`],
  // Invisible: format characters (Cf) and lone surrogates (Cs) anywhere, named by code point.
  ['\u200b'.repeat(20), 'invisible:U+200B'],
  ['deploy\u200bhotfix', 'invisible:U+200B'],
  ['deploy hotfix \u202eINC-1 evil', 'invisible:U+202E'],
  ['bidi \u202a embed', 'invisible:U+202A'],
  ['bidi \u2066 isolate', 'invisible:U+2066'],
  ['bidi \u2069 pop', 'invisible:U+2069'],
  ['mark \u200f rtl', 'invisible:U+200F'],
  ['word \u2060 joiner', 'invisible:U+2060'],
  ['invisible \u2064 plus', 'invisible:U+2064'],
  ['\ufeffbom first', 'invisible:U+FEFF'],
  ['soft\u00adhyphen', 'invisible:U+00AD'],
  ['a\u200d b', 'invisible:U+200D'],
  ['\u200c\u200c\u200c leading', 'invisible:U+200C'],
  // A zero-width (non-)joiner inside a word is how some scripts are written (Persian, Devanagari).
  ['\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645', 'ok:\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645'],
  ['\u0915\u094d\u200d\u0937', 'ok:\u0915\u094d\u200d\u0937'],
  ['lone \ud800 surrogate', 'invisible:U+D800'],
  ['lone low \udc00', 'invisible:U+DC00'],
  // Length in characters as people see them (grapheme clusters).
  ['a' + '\u0301'.repeat(19), 'ok:a' + '\u0301'.repeat(19)],
  ['e\u0301'.repeat(20), `ok:${'e\u0301'.repeat(20)}`],
  ['e\u0301'.repeat(21), 'length'],
  ['部署修复程序', 'ok:部署修复程序'],
  ['👨‍👩‍👧 family, 👍🏽 and 🇫🇷', 'ok:👨‍👩‍👧 family, 👍🏽 and 🇫🇷'],
  ['🏴󠁧󠁢󠁳󠁣󠁴󠁿 flag', 'ok:🏴󠁧󠁢󠁳󠁣󠁴󠁿 flag'],
  ['a' + '\u0301'.repeat(80), 'store'],
  // Letters and symbols that print as nothing: a line of them looks blank to the approver.
  ['\u3164'.repeat(10), 'invisible:U+3164'],
  ['ok\uffa0then', 'invisible:U+FFA0'],
  ['\u2800\u2800 braille blank', 'invisible:U+2800'],
  ['\u115f\u1160', 'invisible:U+115F'],
  ['한국어 정당화 ⠓⠑⠇⠇⠕', 'ok:한국어 정당화 ⠓⠑⠇⠇⠕'],
];

t.test('oneLineText: trims, refuses controls and invisible characters anywhere, counts graphemes', async (t) => {
  for (const [input, expected] of CASES) {
    const r = oneLineText(input, 1, 20);
    const got = r.ok
      ? `ok:${r.text}`
      : r.problem === 'length'
        ? 'length'
        : r.problem === 'invisible'
          ? `invisible:U+${r.codePoint.toString(16).toUpperCase().padStart(4, '0')}`
          : r.problem === 'too long to store'
            ? 'store'
            : 'control';
    t.equal(got, expected, name(input));
  }
  t.same(oneLineText(42, 1, 20), { ok: false, problem: 'not text' });
  t.same(
    oneLineText('😀😀😀', 1, 2),
    { ok: false, problem: 'length', length: 3 },
    'three characters, six UTF-16 units',
  );
  t.same(
    oneLineText('a' + '\u0301'.repeat(19), 20, 1000),
    { ok: false, problem: 'length', length: 1 },
    'one letter with 19 combining accents is one character',
  );
  t.same(
    oneLineText('\u200b'.repeat(20), 20, 1000),
    { ok: false, problem: 'invisible', codePoint: 0x200b },
    '20 zero-width spaces are not a break-glass reason',
  );
  t.same(
    oneLineText('\u200b'.repeat(10), 10, 500),
    { ok: false, problem: 'invisible', codePoint: 0x200b },
    '10 zero-width spaces are not a justification',
  );
  t.same(
    oneLineText('rollback: cafe\u0301 部署 👨‍👩‍👧‍👦 ok', 1, 22),
    { ok: true, text: 'rollback: cafe\u0301 部署 👨‍👩‍👧‍👦 ok' },
    'accents, CJK and a ZWJ emoji count as people count (22)',
  );
  t.same(oneLineText('rollback: cafe\u0301 部署 👨‍👩‍👧‍👦 ok', 1, 21), { ok: false, problem: 'length', length: 22 });
});

t.test('the messages name the field and the code point', async (t) => {
  t.throws(() => checkText('deploy hotfix \u202eINC-1 evil', 'the reason', 1, 1024), {
    code: 'BadRequest',
    message: 'the reason holds U+202E (an invisible formatting character); write it without',
  });
  t.throws(() => checkText('deploy hotfix \ud800 INC-1', 'the justification', 20, 1000), {
    code: 'BadRequest',
    message: 'the justification holds U+D800 (half of a surrogate pair, not a character); write it without',
  });
  t.throws(() => checkText('\u3164'.repeat(12), 'the justification', 10, 500), {
    code: 'BadRequest',
    message: 'the justification holds U+3164 (a filler that prints as a blank); write it without',
  });
  t.throws(() => checkOneLine('\u200b'.repeat(10), '--reason', 1, 500), {
    code: 'UsageError',
    message: '--reason holds U+200B (an invisible formatting character)',
  });
});

t.test('the CLI and the daemon agree on every case', async (t) => {
  for (const [input] of CASES) {
    const cli = outcome(() => checkOneLine(input, '--reason', 1, 20));
    const server = outcome(() => checkText(input, 'the reason', 1, 20));
    t.equal(cli.replace(/^UsageError:/, 'X:'), server.replace(/^BadRequest:/, 'X:'), name(input));
  }
  t.match(
    outcome(() => checkText(['x'], 'the reason', 1, 20)),
    /^BadRequest:the reason must be text/,
  );
});
