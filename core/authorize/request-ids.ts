// Request ids (16 lowercase hex, DESIGN §4) cut from a buffer of CSPRNG output: one decision needs one, and a
// synchronous randomBytes(8) per request costs more than the rest of a cache hit. They are correlation ids, not
// secrets.
import { randomBytes } from 'node:crypto';

export function pooledRequestIds(poolBytes = 4096): () => string {
  // A pool must hold at least one id, or every id would be cut short.
  const size = Math.max(8, Math.floor(poolBytes));
  let pool = randomBytes(size);
  let at = 0;
  return () => {
    if (at + 8 > pool.length) {
      pool = randomBytes(size);
      at = 0;
    }
    const id = pool.toString('hex', at, at + 8);
    at += 8;
    return id;
  };
}
