// "Did you mean ...?": the known words within a few edits of what was typed. Policy authors get one suggestion, and
// only for a plausible typo (a wild guess must never read as advice); an unknown profile lists the few nearest names.
// Case never counts as an edit: `Monday` for `monday` and `PROD` for `prod` are the commonest slips.

/** Words longer than this get no suggestions: no name Sentinel knows comes close, and the cost stays bounded. */
const MAX_WORD = 256;

/** Levenshtein distance, case-insensitive; gives up (returning limit + 1) as soon as every path exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      row.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Up to `max` candidates within `limit` edits of `input` (default: max(2, a third of its length)), closest first,
 * ties in alphabetical order.
 */
export function closeMatches(input: string, candidates: Iterable<string>, max = 3, limit?: number): string[] {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_WORD) return [];
  limit ??= Math.max(2, Math.floor(input.length / 3));
  const scored: Array<[string, number]> = [];
  for (const candidate of candidates) {
    const d = editDistance(input, candidate, limit);
    if (d <= limit) scored.push([candidate, d]);
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return scored.slice(0, max).map(([c]) => c);
}

/**
 * The one candidate a typo most plausibly meant: the same word in another case, else the only candidate it
 * abbreviates (`Mon`, `Darwin`), else the closest within a third of its length (at least 1, at most 3 edits).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (typeof word !== 'string' || word.length === 0 || word.length > MAX_WORD) return undefined;
  const lower = word.toLowerCase();
  const sameWord = candidates.find((c) => c.toLowerCase() === lower);
  if (sameWord) return sameWord;
  if (lower.length >= 3) {
    const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(lower));
    if (prefixed.length === 1) return prefixed[0];
  }
  return closeMatches(word, candidates, 1, Math.min(3, Math.max(1, Math.floor(word.length / 3))))[0];
}

/** `did you mean "x"?`, or undefined when nothing is close enough to suggest. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}
