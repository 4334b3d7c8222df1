// core/text/printable.ts: the checks and the two ways text from outside is made safe to show — escaped (for a
// terminal: CLI output of CloudTrail, AWS and shared-table text) or replaced (inside a one-line message).
import t from 'tap';
import { hasControlCharacters, isPrintableText, replaceControls, visible } from '../core/text/printable.js';

t.test('visible: C0, DEL and C1 become \\u escapes; other text, and what `keep` names, stays', async (t) => {
  t.equal(visible('a\u001b[31mb\u007fc\u0085d'), 'a\\u001b[31mb\\u007fc\\u0085d');
  t.equal(visible('tab\there\nnext', /\t/), 'tab\there\\u000anext');
  t.equal(visible('é 日本 😀 \u2028'), 'é 日本 😀 \u2028', 'printable non-ASCII is not escaped');
  t.equal(visible(''), '');
});

t.test('replaceControls: C0 and DEL become the given text, anything else stays', async (t) => {
  t.equal(replaceControls('a\nb\u0000c\u007fd\u0085', '?'), 'a?b?c?d\u0085');
  t.equal(replaceControls('one line', ' '), 'one line');
});

t.test('hasControlCharacters and isPrintableText agree with replaceControls', async (t) => {
  for (const s of ['plain', 'new\nline', 'del\u007f', 'nul\u0000', 'c1\u0085', '']) {
    t.equal(hasControlCharacters(s), replaceControls(s, '') !== s, JSON.stringify(s));
  }
  t.ok(isPrintableText('dev', 3));
  t.notOk(isPrintableText('dev', 2), 'too long');
  t.notOk(isPrintableText('', 5), 'empty');
  t.notOk(isPrintableText('a\tb', 5));
  t.notOk(isPrintableText(7, 5));
});
