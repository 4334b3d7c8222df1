// The HTTP bodies' own bounds (core/api/bodies.ts) guard what is stored; when one is crossed, the message states the
// rule people write to — the characters the service counts — not the bound's code units (a 5,000-character close
// reason was "Too big: expected string to have <=4096 characters" while the rule is 1–1024).
import t from 'tap';
import { breakglassCloseBody, breakglassInvokeBody, parse, requestCreateBody } from '../core/api/bodies.js';

const failure = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'parsed';
};

t.equal(
  failure(() => parse(breakglassCloseBody, { reason: 'x'.repeat(5000) }, 'body')),
  'invalid body: reason: the reason must be 1-1024 characters',
);
t.equal(
  failure(() => parse(requestCreateBody, { profile: 'prod', justification: 'x'.repeat(5000) }, 'body')),
  'invalid body: justification: the justification must be 10-500 characters',
);
t.equal(
  failure(() =>
    parse(breakglassInvokeBody, { profile: 'prod', reason_code: 'incident', justification: 'x'.repeat(9000) }, 'body'),
  ),
  'invalid body: justification: the justification must be 20-1000 characters',
);
t.equal(
  failure(() =>
    parse(requestCreateBody, { profile: 'prod', justification: 'deploy the fix', duration: 1e300 }, 'body'),
  ),
  'invalid body: duration: the duration is over what any approvals entry allows (12h at most)',
);
