/**
 * The order files start in: longest first, so that the short files fill in around the long ones
 * and no fork runs a minute-long file alone at the end while the others have finished. Vitest's own
 * order takes the durations of the last run from its cache, which a fresh CI clone does not have:
 * it started the largest files first, and small minute-long files (demo, fleet-long-step, cluster
 * cases) came last. So the durations of a whole run are committed (tests/support/durations.json,
 * written by scripts/test-durations.mjs) and come first, then this machine's cache (a run of one file
 * there is no whole run's, and the cache in a shared node_modules is every checkout's).
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST = ["tests/e2e/", "tests/integration/cluster/", "tests/browser/"];

/** Seconds each file took in a whole run, by its path from the repository root. */
export const RECORDED: Readonly<Record<string, number>> = JSON.parse(
  readFileSync(new URL("./durations.json", import.meta.url), "utf8"),
);

export interface FileFacts {
  /** From the repository root. */
  path: string;
  /** In the last run on this machine (vitest's cache). */
  failed: boolean;
  /** The recorded duration, else the last run's on this machine, else unknown. */
  seconds: number | undefined;
  bytes: number;
}

/**
 * A file that failed last time first (as vitest orders them); then those of unknown duration (new
 * since the list was written: one may be long, and started last it would run alone at the end),
 * a directory's of long files (fleets, cluster, browser) first, then the largest; then the others
 * by duration, longest first.
 */
export function startOrder<T extends FileFacts>(files: readonly T[]): T[] {
  const rank = (f: FileFacts) =>
    f.failed ? 0 : f.seconds !== undefined ? 3 : LONGEST.some((dir) => f.path.startsWith(dir)) ? 1 : 2;
  return [...files].sort(
    (a, b) => rank(a) - rank(b) || (b.seconds ?? 0) - (a.seconds ?? 0) || b.bytes - a.bytes,
  );
}

export default class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const facts = files.map((spec) => {
      const path = relative(config.root, spec.moduleId);
      const key = `${spec.project.name}:${path}`;
      const last = cache.getFileTestResults(key);
      return {
        spec,
        path,
        failed: last?.failed === true,
        seconds: RECORDED[path] ?? (last === undefined ? undefined : last.duration / 1000),
        bytes: cache.getFileStats(key)?.size ?? 0,
      };
    });
    return startOrder(facts).map((f) => f.spec);
  }
}
