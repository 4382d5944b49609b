/**
 * Time slices for the pipeline's synchronous loops over an app's files. They run on the agent's one
 * event loop, which also sends the hub its "still working" signal and answers its pings: a walk of
 * 20,000 files held the loop 1-4 s on a loaded host (measured at a load of 15 on 2 cores), so the
 * hub heard nothing for that long. Each loop asks `slice()` per entry and awaits what it returns:
 * a yield once LOOP_SLICE_MS has passed since the last, so no loop holds the loop longer than that
 * (plus one entry's work), whatever the host's load; nothing otherwise (no microtask per entry).
 */

/**
 * Milliseconds on the monotonic clock. process.hrtime, not performance.now(): `performance` (the
 * import or the global) loads node:perf_hooks and the resource-timing modules behind it, ~1 % of
 * the instructions of a `--list-backups`, which slices no loop and imports this through hash-file.ts.
 */
function nowMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/** The longest stretch, in ms, a sliced loop runs before it lets timers and sockets run. */
export const LOOP_SLICE_MS = 50;

/** A slicer for one loop: its calls return a promise to await only when the slice is used up. */
export function loopSlices(sliceMs = LOOP_SLICE_MS): () => Promise<void> | undefined {
  let since = nowMs();
  // Shared by every caller that finds the slice used up: a pool of workers on one slicer (mapLimit)
  // each made its own setImmediate, and the 16 of them ran one after another in one pass of the
  // loop, a slice each, before any timer (16 x 50 ms).
  let pending: Promise<void> | undefined;
  return () => {
    if (pending !== undefined) return pending;
    if (nowMs() - since < sliceMs) return undefined;
    pending = new Promise<void>((resolve) =>
      setImmediate(() => {
        since = nowMs();
        pending = undefined;
        resolve();
      }),
    );
    return pending;
  };
}
