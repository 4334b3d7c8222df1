// Session tokens (DESIGN §3.1): 32 random bytes in base64url, kept only as digests, bound to one session, retired with
// it; and the Authorization header forms SDKs and people send.
import t from 'tap';
import { TokenRegistry, tokenFromAuthorization } from '../daemon/tokens.js';

t.test('minted tokens are 32 random bytes in base64url and resolve to their session only', async (t) => {
  const tokens = new TokenRegistry();
  const a = tokens.mint('aaaaaaaaaaaaaaaa');
  const b = tokens.mint('bbbbbbbbbbbbbbbb');
  t.match(a, /^[A-Za-z0-9_-]{43}$/);
  t.equal(Buffer.from(a, 'base64url').length, 32);
  t.not(a, b);
  t.same(tokens.resolve(a), { sessionId: 'aaaaaaaaaaaaaaaa', retired: false });
  t.same(tokens.resolve(b), { sessionId: 'bbbbbbbbbbbbbbbb', retired: false });
  t.equal(tokens.size, 2);
  const many = new Set(Array.from({ length: 1000 }, (_, i) => tokens.mint(i.toString(16).padStart(16, '0'))));
  t.equal(many.size, 1000, 'no repeats in 1000 mints');
});

t.test('anything else resolves to nothing', async (t) => {
  const tokens = new TokenRegistry();
  const a = tokens.mint('aaaaaaaaaaaaaaaa');
  const flipped = (a[0] === 'A' ? 'B' : 'A') + a.slice(1);
  for (const bad of [
    undefined,
    '',
    ' ',
    flipped,
    a.slice(1),
    `${a}A`,
    a.toUpperCase() === a ? a.toLowerCase() : a.toUpperCase(),
    `${a.slice(0, 42)}=`,
    'x'.repeat(10_000),
    '../../etc/passwd',
  ]) {
    t.equal(tokens.resolve(bad), undefined, `refused: ${JSON.stringify(bad?.slice(0, 12))}`);
  }
});

t.test('revoking retires the token: it still names its session, and never counts as live again', async (t) => {
  const tokens = new TokenRegistry();
  const a = tokens.mint('aaaaaaaaaaaaaaaa');
  tokens.revoke('aaaaaaaaaaaaaaaa');
  t.same(tokens.resolve(a), { sessionId: 'aaaaaaaaaaaaaaaa', retired: true });
  t.equal(tokens.size, 0);
  const again = tokens.mint('aaaaaaaaaaaaaaaa');
  t.same(
    tokens.resolve(again),
    { sessionId: 'aaaaaaaaaaaaaaaa', retired: false },
    'a new token for the same id is live',
  );
  t.same(tokens.resolve(a), { sessionId: 'aaaaaaaaaaaaaaaa', retired: true }, 'the old one stays retired');
  const replaced = tokens.mint('aaaaaaaaaaaaaaaa');
  t.equal(tokens.resolve(again)?.retired, true, 'minting again retires the previous token of the session');
  t.equal(tokens.resolve(replaced)?.retired, false);
  tokens.revoke('ffffffffffffffff');
  t.equal(tokens.size, 1, 'revoking an unknown session changes nothing');
});

t.test('the Authorization header: raw token or Bearer', async (t) => {
  t.equal(tokenFromAuthorization('abc'), 'abc');
  t.equal(tokenFromAuthorization('  abc  '), 'abc');
  t.equal(tokenFromAuthorization('Bearer abc'), 'abc');
  t.equal(tokenFromAuthorization('bearer   abc'), 'abc');
  t.equal(
    tokenFromAuthorization('Bearer a b'),
    'Bearer a b',
    'not a Bearer form: taken raw (and then refused by shape)',
  );
  t.equal(tokenFromAuthorization(undefined), undefined);
  t.equal(tokenFromAuthorization(['a', 'b']), undefined);
});
