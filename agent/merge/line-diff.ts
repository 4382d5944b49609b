/** Myers' shortest edit script between two sequences (lines, or the characters of a line). */

/** Diffs beyond this many changed elements are not aligned: too costly. */
const MAX_EDITS = 2000;

/**
 * For each element of `a`, the index of the element of `b` it is matched with in a shortest edit
 * script (Myers' O(ND) algorithm), or -1. Past MAX_EDITS nothing is matched.
 */
export function matches<T>(a: readonly T[], b: readonly T[]): number[] {
  const result = new Array<number>(a.length).fill(-1);
  // Equal ends are matched outright: most of a config file is, and it keeps the search small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    result[start] = start;
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
    result[endA] = endB;
  }
  const n = endA - start;
  const m = endB - start;
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
      while (x < n && y < m && a[start + x] === b[start + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        backtrack(trace, d, n, m, (x1, y1) => {
          result[start + x1] = start + y1;
        });
        return result;
      }
    }
  }
  return result;
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
