/**
 * The order files start in: the directories whose files run longest first (real fleets, hub
 * clusters on PostgreSQL, Chromium), then vitest's own order (the last run's durations, else the
 * largest file first). A fresh CI machine has no durations, so vitest started by size, and small
 * files of a minute (demo, fleet-long-step, cluster cases) came last: one fork ran them alone while
 * the other had finished. Started first, the short files fill in around them.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST = ["/tests/e2e/", "/tests/integration/cluster/", "/tests/browser/"];

export default class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const long = (file: TestSpecification) => LONGEST.some((dir) => file.moduleId.includes(dir));
    return [...sorted.filter(long), ...sorted.filter((file) => !long(file))];
  }
}
