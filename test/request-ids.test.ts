// Request ids (core/authorize/request-ids.ts): 16 lowercase hex each, cut from a pool of CSPRNG bytes that is
// refilled when it runs out, never repeated across a refill.
import t from 'tap';
import { pooledRequestIds } from '../core/authorize/request-ids.js';

t.test('16 lowercase hex, distinct across pool refills', async (t) => {
  const next = pooledRequestIds(24); // three ids per pool
  const ids = Array.from({ length: 10 }, () => next());
  for (const id of ids) t.match(id, /^[0-9a-f]{16}$/);
  t.equal(new Set(ids).size, ids.length, 'ten ids from four pools, all different');
});

t.test('a pool smaller than one id is refilled before every id', async (t) => {
  const next = pooledRequestIds(4);
  const ids = [next(), next(), next()];
  for (const id of ids) t.match(id, /^[0-9a-f]{16}$/, 'a whole id, never a short one');
  t.equal(new Set(ids).size, 3);
});
