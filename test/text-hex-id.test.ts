// isHex16 replaces /^[0-9a-f]{16}$/ on the credential path: it must agree with that RegExp on every input.
import t from 'tap';
import { isHex16 } from '../core/text/hex-id.js';

const REGEX = /^[0-9a-f]{16}$/;

t.test('accepts exactly 16 lowercase hex characters', async (t) => {
  for (const v of ['0123456789abcdef', 'ffffffffffffffff', '0000000000000000']) t.ok(isHex16(v), v);
});

t.test('refuses everything else, as the RegExp does', async (t) => {
  const refused: unknown[] = [
    '',
    '0123456789abcde',
    '0123456789abcdef0',
    '0123456789ABCDEF',
    '0123456789abcdeg',
    '0123456789abcde\n',
    '\n0123456789abcdef',
    '0123456789abcdef\n',
    '０１２３４５６７８９ａｂｃｄｅｆ',
    '0123456789abcde/',
    '0123456789abcde:',
    '0123456789abcde`',
    undefined,
    null,
    1234567890123456,
    ['0123456789abcdef'],
    { toString: () => '0123456789abcdef' },
  ];
  for (const v of refused) t.notOk(isHex16(v), JSON.stringify(String(v)));
});

t.test('agrees with the RegExp on random strings over a hex-adjacent alphabet', async (t) => {
  const alphabet = '0123456789abcdefgABCDEF/:`@G \n';
  let disagreements = 0;
  for (let i = 0; i < 20_000; i++) {
    const length = 14 + Math.floor(Math.random() * 5);
    let s = '';
    for (let j = 0; j < length; j++) s += alphabet[Math.floor(Math.random() * (j % 3 === 0 ? alphabet.length : 16))];
    if (isHex16(s) !== REGEX.test(s)) disagreements++;
  }
  t.equal(disagreements, 0);
});
