import t from 'tap';
import fc from 'fast-check';
import { SentinelError } from '../core/errors.js';
import {
  MARKERS,
  STS_NAME,
  buildSourceIdentity,
  newRequestId,
  parseSourceIdentity,
  roleSessionName,
} from '../core/identity/source-identity.js';
import type { Marker } from '../core/issuer/types.js';

t.test('request ids are 16 lowercase hex and do not repeat', async (t) => {
  const ids = Array.from({ length: 1000 }, () => newRequestId());
  t.ok(
    ids.every((id) => /^[0-9a-f]{16}$/.test(id)),
    'all 16 lowercase hex',
  );
  t.equal(new Set(ids).size, 1000, 'no repeats');
});

t.test(
  'the documented format, round-tripped: the session id in SourceIdentity, the request id in RoleSessionName',
  async (t) => {
    const id = '0123456789abcdef';
    t.equal(buildSourceIdentity('alice', 'direct', id), 'sentinel-alice-direct-0123456789abcdef');
    t.equal(buildSourceIdentity('bob', 'breakglass', id), 'sentinel-bob-breakglass-0123456789abcdef');
    t.same(parseSourceIdentity('sentinel-alice-approved-0123456789abcdef'), {
      user: 'alice',
      marker: 'approved',
      sessionId: id,
    });
    t.equal(roleSessionName('alice', id), 'sentinel-alice-0123456789abcdef');
    const longest = buildSourceIdentity('a'.repeat(40), 'breakglass', id);
    t.equal(longest.length, 57, 'a 20-character user with the longest marker fits in 64');
    t.ok(roleSessionName('b'.repeat(40), id).length <= 64);
  },
);

t.test('never a colon or another character STS refuses, whatever the user name', async (t) => {
  t.equal(
    buildSourceIdentity('alice:admin', 'direct', '0123456789abcdef'),
    'sentinel-aliceadmin-direct-0123456789abcdef',
  );
  t.equal(
    buildSourceIdentity('alice@example.com', 'direct', '0123456789abcdef'),
    'sentinel-aliceexamplecom-direct-0123456789abcdef',
  );
});

t.test('refused input', async (t) => {
  const id = '0123456789abcdef';
  for (const user of ['', ':::', 'ü', '-', ' ', null, undefined, 5]) {
    t.throws(
      () => buildSourceIdentity(user as string, 'direct', id),
      { code: 'BadRequest' },
      `user ${JSON.stringify(user)}`,
    );
    t.throws(() => roleSessionName(user as string, id), { code: 'BadRequest' });
  }
  for (const bad of ['0123456789ABCDEF', '0123456789abcde', '0123456789abcdef0', 'g123456789abcdef', '', null]) {
    t.throws(
      () => buildSourceIdentity('alice', 'direct', bad as string),
      SentinelError,
      `session id ${JSON.stringify(bad)}`,
    );
    t.throws(() => roleSessionName('alice', bad as string), SentinelError);
  }
  t.throws(() => buildSourceIdentity('alice', 'admin' as Marker, id), { code: 'BadRequest' });
});

t.test('parseSourceIdentity refuses what Sentinel did not build', async (t) => {
  for (const s of [
    'sentinel-alice-admin-0123456789abcdef',
    'sentinel-ali-ce-direct-0123456789abcdef',
    'sentinel-alice-direct-0123456789ABCDEF',
    'sentinel-alice-direct-0123456789abcde',
    'other-alice-direct-0123456789abcdef',
    `sentinel-${'a'.repeat(21)}-direct-0123456789abcdef`,
    'sentinel-alice-direct-0123456789abcdef\n',
    'x'.repeat(10_000),
    '',
    null,
    42,
  ]) {
    t.equal(parseSourceIdentity(s), null, JSON.stringify(s)?.slice(0, 60) ?? String(s));
  }
});

t.test('property: every built SourceIdentity and RoleSessionName passes STS validation and parses back', async (t) => {
  const user = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...'aZ9:_-.@ /\\\u0000\u00e9\u{1F600}'.split('')), maxLength: 80 }),
  );
  let built = 0;
  fc.assert(
    fc.property(user, fc.constantFrom(...MARKERS), (name, marker) => {
      const id = newRequestId(); // a session id has the same shape
      let si: string;
      try {
        si = buildSourceIdentity(name, marker, id);
      } catch (e) {
        // Refused only when nothing stampable is left of the name.
        return e instanceof SentinelError && e.code === 'BadRequest' && !/[A-Za-z0-9]/.test(name);
      }
      built++;
      const rsn = roleSessionName(name, id);
      const back = parseSourceIdentity(si);
      return (
        STS_NAME.test(si) &&
        !si.includes(':') &&
        si.startsWith('sentinel-') &&
        STS_NAME.test(rsn) &&
        !rsn.includes(':') &&
        back !== null &&
        back.marker === marker &&
        back.sessionId === id &&
        /^[A-Za-z0-9]{1,20}$/.test(back.user)
      );
    }),
    { numRuns: 3000 },
  );
  t.ok(built > 500, `most generated names were stampable (${built})`);
});
