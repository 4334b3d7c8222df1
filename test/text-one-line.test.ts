// The one rule for free text people write for others (core/text/one-line.ts): the CLI refuses before asking exactly
// what the daemon refuses before storing, and both store what the other would.
import t from 'tap';
import { checkText } from '../core/approvals/service.js';
import { oneLineText } from '../core/text/one-line.js';
import { checkOneLine } from '../cli/output.js';
import { isSentinelError } from '../core/errors.js';

const outcome = (f: () => string): string => {
  try {
    return `ok:${f()}`;
  } catch (e) {
    if (!isSentinelError(e)) throw e;
    return `${e.code}:${/control characters/.test(e.message) ? 'control' : /characters \(got \d+\)/.test(e.message) ? 'length' : e.message}`;
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
];

t.test('oneLineText: trims, refuses controls anywhere, counts code points', async (t) => {
  for (const [input, expected] of CASES) {
    const r = oneLineText(input, 1, 20);
    const got = r.ok ? `ok:${r.text}` : r.problem === 'length' ? 'length' : 'control';
    t.equal(got, expected, name(input));
  }
  t.same(oneLineText(42, 1, 20), { ok: false, problem: 'not text' });
  t.same(
    oneLineText('😀😀😀', 1, 2),
    { ok: false, problem: 'length', length: 3 },
    'three characters, six UTF-16 units',
  );
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
