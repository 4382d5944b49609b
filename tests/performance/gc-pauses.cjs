// Preloaded (`node --require`) into every process cluster-stages.ts starts: appends each garbage
// collection's pause to $GC_PAUSES_DIR/<pid>.log as "<absolute start ms> <pause ms> <kind>", kind as
// perf_hooks.constants (1 scavenge, 4 mark-compact, 8 incremental marking, 16 weak callbacks), so
// the probe can tell which process collected during which fan-out — the spread between runs of one
// build that no wall-clock figure explains by itself.
const { appendFileSync } = require("node:fs");
const { PerformanceObserver, performance } = require("node:perf_hooks");

const dir = process.env.GC_PAUSES_DIR;
if (dir) {
  const file = `${dir}/${process.pid}.log`;
  new PerformanceObserver((list) => {
    const lines = list
      .getEntries()
      .map(
        (e) =>
          `${(performance.timeOrigin + e.startTime).toFixed(1)} ${e.duration.toFixed(2)} ${e.detail?.kind}\n`,
      );
    // Written as they come: the probe reads a fan-out's pauses a few hundred ms after it ends.
    appendFileSync(file, lines.join(""));
  }).observe({ entryTypes: ["gc"] });
}
