/** Myers' shortest edit script between two sequences (lines, or the characters of a line). */

/** Diffs beyond this many changed elements are not searched for a shortest script: too costly. */
const MAX_EDITS = 2000;

/**
 * For each element of `a`, the index of the element of `b` it is matched with, or -1: a shortest
 * edit script's (Myers' O(ND) algorithm) where one has at most MAX_EDITS changes. A longer one (a
 * release changing a thousand lines of a big config) is split at the elements that occur once in
 * each side, matched in order as patience diff does, and each stretch between them aligned alike;
 * left unaligned, every line of such a file was taken for changed.
 */
export function matches<T>(a: readonly T[], b: readonly T[]): number[] {
  const result = new Array<number>(a.length).fill(-1);
  align(a, b, { a0: 0, a1: a.length, b0: 0, b1: b.length }, result);
  return result;
}

/** A stretch a[a0, a1) against b[b0, b1). */
interface Range {
  a0: number;
  a1: number;
  b0: number;
  b1: number;
}

function align<T>(a: readonly T[], b: readonly T[], range: Range, result: number[]): void {
  let { a0, a1, b0, b1 } = range;
  // Equal ends are matched outright: most of a config file is, and it keeps the search small.
  while (a0 < a1 && b0 < b1 && a[a0] === b[b0]) result[a0++] = b0++;
  while (a1 > a0 && b1 > b0 && a[a1 - 1] === b[b1 - 1]) result[--a1] = --b1;
  if (a0 === a1 || b0 === b1) return;
  const inner = { a0, a1, b0, b1 };
  if (shortestScript(a, b, inner, result)) return;
  let at = { a: a0, b: b0 };
  for (const [i, j] of uniqueAnchors(a, b, inner)) {
    align(a, b, { a0: at.a, a1: i, b0: at.b, b1: j }, result);
    result[i] = j;
    at = { a: i + 1, b: j + 1 };
  }
  // Without an anchor the stretch stays unaligned (what recursing on it would find again).
  if (at.a !== a0) align(a, b, { a0: at.a, a1, b0: at.b, b1 }, result);
}

/** Myers' search over the range, recording its matches; false when it needs more than MAX_EDITS. */
function shortestScript<T>(a: readonly T[], b: readonly T[], range: Range, result: number[]): boolean {
  const { a0: start, b0: startB } = range;
  const n = range.a1 - start;
  const m = range.b1 - startB;
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number));
      let x = down ? (v[offset + k + 1] as number) : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[start + x] === b[startB + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        backtrack(trace, d, n, m, (x1, y1) => {
          result[start + x1] = startB + y1;
        });
        return true;
      }
    }
  }
  return false;
}

/**
 * The elements that occur exactly once in each side of the range, paired, and of those pairs the
 * longest run in order on both sides (patience sorting): index in `a` → index in `b`.
 */
function uniqueAnchors<T>(a: readonly T[], b: readonly T[], range: Range): [number, number][] {
  const once = <U>(items: readonly U[], from: number, to: number): Map<U, number> => {
    const seen = new Map<U, number>();
    for (let i = from; i < to; i++) {
      const item = items[i] as U;
      seen.set(item, seen.has(item) ? -1 : i);
    }
    return seen;
  };
  const inA = once(a, range.a0, range.a1);
  const inB = once(b, range.b0, range.b1);
  const pairs: [number, number][] = [];
  for (const [item, i] of inA) {
    const j = inB.get(item);
    if (i !== -1 && j !== undefined && j !== -1) pairs.push([i, j]);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  // Longest increasing run of the b indices: tails[k] = the pair ending the best run of length k+1.
  const tails: number[] = [];
  const previous = new Array<number>(pairs.length).fill(-1);
  pairs.forEach(([, j], p) => {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((pairs[tails[mid] as number] as [number, number])[1] < j) low = mid + 1;
      else high = mid;
    }
    if (low > 0) previous[p] = tails[low - 1] as number;
    tails[low] = p;
  });
  const run: [number, number][] = [];
  for (let p = tails.at(-1) ?? -1; p !== -1; p = previous[p] as number)
    run.push(pairs[p] as [number, number]);
  return run.reverse();
}

/** Walks the saved frontiers back from (n, m), reporting each diagonal (matched) step. */
function backtrack(
  trace: readonly Int32Array[],
  depth: number,
  n: number,
  m: number,
  match: (x: number, y: number) => void,
): void {
  let x = n;
  let y = m;
  for (let d = depth; d > 0; d--) {
    // trace[d] holds v[-d-1 .. d+1] as it was before step d.
    const v = trace[d] as Int32Array;
    const at = (k: number) => v[k + d + 1] as number;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      match(x, y);
    }
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    match(x, y);
  }
}
