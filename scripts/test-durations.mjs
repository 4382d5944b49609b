// Writes tests/support/durations.json, the seconds each test file took, from vitest JSON reports:
//
//   npx vitest run --reporter=json --outputFile=/tmp/run.json   (or a directory at a time)
//   node scripts/test-durations.mjs /tmp/run.json [more reports…]
//
// The suite's sequencer (tests/support/slow-first.ts) starts the longest files first from it, on a
// fresh clone too. A file in the reports gets its new duration; the others keep theirs; a file no
// longer in tests/ is dropped. Paths sorted, tenths of a second: a regenerated list diffs by line.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "tests/support/durations.json");
const reports = process.argv.slice(2);
if (reports.length === 0) {
  console.error("usage: node scripts/test-durations.mjs <vitest JSON report>...");
  process.exit(2);
}

const durations = existsSync(target) ? JSON.parse(readFileSync(target, "utf8")) : {};
let updated = 0;
for (const report of reports) {
  const { testResults } = JSON.parse(readFileSync(report, "utf8"));
  for (const { name, startTime, endTime } of testResults) {
    if (typeof startTime !== "number" || typeof endTime !== "number") continue;
    durations[relative(root, name)] = Math.round((endTime - startTime) / 100) / 10;
    updated++;
  }
}
const kept = Object.keys(durations)
  .filter((path) => existsSync(join(root, path)))
  .sort();
writeFileSync(target, `${JSON.stringify(Object.fromEntries(kept.map((p) => [p, durations[p]])), null, 2)}\n`);
console.log(`${target}: ${updated} durations from ${reports.length} report(s), ${kept.length} files in all`);
