/**
 * makeDirs is `mkdir -p` on the real filesystem: where Node's recursive mkdir never returned
 * (/proc answers ENOENT under a parent that is there), it fails at once naming the level.
 */
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeDirs, makeDirsSync } from "../../../shared/make-dirs.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-make-dirs-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ["makeDirs", makeDirs],
  ["makeDirsSync", async (path: string, mode?: number) => makeDirsSync(path, mode)],
] as const)("%s", (_name, make) => {
  it("makes missing levels with the mode and returns the first one made, as Node's recursive mkdir", async () => {
    expect(await make(join(dir, "a/b/c"), 0o700)).toBe(join(dir, "a"));
    expect(((await stat(join(dir, "a/b/c"))).mode & 0o777).toString(8)).toBe("700");
    expect(await make(join(dir, "a/b"))).toBeUndefined();
  });

  it("fails at once in /proc, on a file and through a file", async () => {
    await expect(make("/proc/ship-make-dirs-test/a/b")).rejects.toMatchObject({
      code: "ENOENT",
      path: "/proc/ship-make-dirs-test",
    });
    await writeFile(join(dir, "f"), "");
    await expect(make(join(dir, "f"))).rejects.toMatchObject({ code: "EEXIST" });
    await expect(make(join(dir, "f/x"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });
});
