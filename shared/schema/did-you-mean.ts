/**
 * Levenshtein distance, giving up (Infinity) once every cell of a row is over `limit`: a document
 * may hold thousands of unknown keys, and most are nowhere near any known one.
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      const cell = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
      current[j] = cell;
      if (cell < rowMin) rowMin = cell;
    }
    if (rowMin > limit) return Number.POSITIVE_INFINITY;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Keys longer than this are not typos of a setting name; comparing them would only cost time. */
const LONGEST_TYPO = 64;

/**
 * The known key closest to a misspelt one, or undefined when nothing is close enough to be a
 * plausible typo (at most 2 edits, or a third of the word for long keys). Case is ignored so
 * `Verify_Checksums` still finds `verify_checksums`.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > LONGEST_TYPO) return undefined;
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase(), limit);
    if (distance < bestDistance && distance <= limit) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
