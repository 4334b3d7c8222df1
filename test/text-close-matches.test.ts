// "Did you mean": one edit-distance module serves the policy loader (a single suggestion, only for a plausible typo)
// and profile lookups (the few nearest names). Hostile input gets no suggestion and costs little.
import t from 'tap';
import { closeMatches, closest, didYouMean, editDistance } from '../core/text/close-matches.js';

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

t.test('edit distance: case never counts, and the limit stops the work early', async (t) => {
  t.equal(editDistance('Monday', 'monday'), 0);
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('abcdef', 'uvwxyz', 2), 3, 'past the limit: limit + 1');
  t.equal(editDistance('a', 'a'.repeat(50), 3), 4, 'a length difference beyond the limit answers at once');
});

t.test(
  'closest: the same word in another case, else a unique abbreviation, else the nearest plausible typo',
  async (t) => {
    t.equal(closest('FRIDAY', WEEKDAYS), 'friday');
    t.equal(closest('Wed', WEEKDAYS), 'wednesday', 'an abbreviation');
    t.equal(closest('s', WEEKDAYS), undefined, 'too short to abbreviate, and every day is more than one edit away');
    t.equal(closest('thurday', WEEKDAYS), 'thursday');
    t.equal(closest('mnday', WEEKDAYS), 'monday');
    t.equal(closest('weekday', WEEKDAYS), undefined, 'a wild guess is no advice');
    t.equal(closest('tu', WEEKDAYS), undefined, 'two letters: at most one edit, and no day is that close');
    t.equal(closest('allo', ['allow', 'deny']), 'allow');
    t.equal(didYouMean('alow', ['allow', 'deny']), 'did you mean "allow"?');
    t.equal(didYouMean('permit', ['allow', 'deny']), undefined);
  },
);

t.test('closeMatches: up to three, closest first, ties alphabetical', async (t) => {
  t.same(closeMatches('prdo', ['prod', 'dev', 'production', 'prod-eu']), ['prod']);
  t.same(closeMatches('dev', ['dev2', 'dev1', 'dev', 'qa']), ['dev', 'dev1', 'dev2']);
  t.same(
    closeMatches(
      'a',
      Array.from({ length: 10 }, (_, i) => `a${i}`),
    ),
    ['a0', 'a1', 'a2'],
  );
  t.same(closeMatches('dev', ['dev1', 'dev2'], 1), ['dev1'], 'max');
});

t.test('hostile input: empty, oversized or not a string gets no suggestion', async (t) => {
  t.equal(closest('', WEEKDAYS), undefined);
  t.same(closeMatches('', ['a']), []);
  const huge = 'x'.repeat(100_000);
  t.equal(closest(huge, [...WEEKDAYS, huge]), undefined);
  t.same(closeMatches(huge, [huge]), []);
  t.equal(closest(42 as unknown as string, WEEKDAYS), undefined);
  t.same(closeMatches(null as unknown as string, WEEKDAYS), []);
});
