/**
 * The walks' entries live through a whole update (20,000 of each in the bench's app), so every
 * young-generation collection copies them and whatever they point to. A number V8 does not keep
 * inside its object is an object of its own (16 bytes, copied one by one): a file's size and inode
 * are integers and are kept inside the entry. V8's own print of a built walk's entry is the witness
 * (a heap snapshot taken in a fresh process lists no such number objects either way).
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let tree: string;

beforeAll(async () => {
  tree = await mkdtemp(join(tmpdir(), "ship-walk-numbers-"));
  await mkdir(join(tree, "d"));
  for (let i = 0; i < 40; i++) await writeFile(join(tree, "d", `f${i}.dat`), "x".repeat(100 + i));
  // A symlink's entry comes from the same code as a file's.
  await symlink("d/f0.dat", join(tree, "link"));
});
afterAll(async () => {
  await rm(tree, { recursive: true, force: true });
});

const dist = (module: string) => new URL(`../../../dist/agent/${module}`, import.meta.url).pathname;

/** V8's print of the entry a built walk made for d/f7.dat, and of the symlink's. */
function printedEntries(walk: "app" | "release"): string {
  const script = `(async () => {
      const { scanTree } = await import(${JSON.stringify(dist("tree/scan-tree.js"))});
      const { scanReleaseDir } = await import(${JSON.stringify(dist("sources/release-scan.js"))});
      const tree = ${JSON.stringify(tree)};
      const files = ${JSON.stringify(walk)} === "app"
        ? (await scanTree(tree)).files
        : (await scanReleaseDir(tree, tree + ".stat-index", Date.now, false)).listing.files;
      %DebugPrint(files.get("d/f7.dat"));
      %DebugPrint(files.get("link"));
    })();`;
  const run = spawnSync(process.execPath, ["--allow-natives-syntax", "-e", script], { encoding: "utf8" });
  expect(run.stderr).toBe("");
  return run.stdout;
}

/** The lines of a print that show `field`'s value. */
const fieldLines = (printed: string, field: string) =>
  printed.split("\n").filter((line) => line.includes(`#${field}:`));

describe("the walks' entries", () => {
  it("an app scan's entry keeps a file's size and inode inside it, not as number objects", () => {
    const printed = printedEntries("app");
    for (const field of ["size", "ino"]) {
      const lines = fieldLines(printed, field);
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(line).not.toContain("HeapNumber");
    }
    expect(fieldLines(printed, "size")[0]).toContain("#size: 107 ");
  });

  it("a release listing's entry keeps its size inside it", () => {
    const lines = fieldLines(printedEntries("release"), "size");
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain("HeapNumber");
    expect(lines[0]).toContain("#size: 107 ");
  });
});
