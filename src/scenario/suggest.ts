// "Did you mean ...?" for misspelt operation, query, field, argument and constant names.

/**
 * Damerau-Levenshtein distance (optimal string alignment variant): insertions, deletions,
 * substitutions and transpositions of two adjacent characters each cost 1.
 */
export function damerauLevenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const w = b.length + 1;
  let prev2 = new Array<number>(w).fill(0);
  let prev = Array.from({ length: w }, (_, j) => j);
  let cur = new Array<number>(w).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}

/**
 * The candidate nearest to `word`, or undefined when nothing is close enough.
 * Close enough: at most max(1, len/3) edits apart (case differences are free), or `word` is a
 * prefix of the candidate (at least 3 characters). Ties go to the alphabetically first candidate,
 * so suggestions are deterministic.
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestScore = Infinity;
  let prefix: string | undefined;
  for (const c of candidates) {
    if (c === word) continue;
    if (word.length >= 3 && c.toLowerCase().startsWith(w) && (prefix === undefined || c.length < prefix.length
      || (c.length === prefix.length && c < prefix))) {
      prefix = c;
    }
    // The distance is at least the difference in length: skip what cannot be close, so that a
    // 500,000-character word does not cost 500,000 x length steps per candidate.
    if (Math.abs(c.length - word.length) > limit) continue;
    const d = damerauLevenshtein(w, c.toLowerCase());
    // Case-only differences rank just above exact-case ones.
    const score = d * 2 + (d === 0 ? 1 : damerauLevenshtein(word, c) > d ? 1 : 0);
    if (d <= limit && (score < bestScore || (score === bestScore && best !== undefined && c < best))) {
      best = c;
      bestScore = score;
    }
  }
  return best ?? prefix;
}

/** "; did you mean 'x'?" or "" — to append to an error message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : `; did you mean '${n}'?`;
}
