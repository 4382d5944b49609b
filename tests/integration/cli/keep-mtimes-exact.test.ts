/**
 * `keep_mtimes = true` keeps the release's mtimes as `stat` shows them. Before, a time went to
 * utimes as `ms / 1000` (or a Date), a double libuv truncates to the microsecond below: about half
 * of the times in whole microseconds came out one short (.100000000 as .099999000), from a local
 * release directory and from a .tar.gz alike, so the installed tree differed from the release it
 * was said to keep. Now a local directory's times are kept to the nearest microsecond and an archive's as
 * exactly as it states them: GNU tar's pax headers carry nanoseconds, which the tar library read to
 * the millisecond (.123456789 came out .123000000), and a symlink's own time as a file's (it kept
 * the time of the install, from a local directory and an archive alike).
 */
import { execFile } from "node:child_process";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const run = promisify(execFile);
let app: LocalApp;
let releaseDir: string;

/** `stat --format=%y` (what an operator compares) of `rel` under `dir`. */
async function statTime(dir: string, rel: string): Promise<string> {
  return (await run("stat", ["--format=%y", join(dir, rel)])).stdout.trim();
}

beforeEach(async () => {
  app = await localApp("keep_mtimes = true\n");
  releaseDir = await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "a\n", "lib/b.txt": "b\n" });
  // A time in whole microseconds, and one with nanoseconds.
  await run("touch", ["-m", "-d", "@1614834367.100000000", join(releaseDir, "a.txt")]);
  await run("touch", ["-m", "-d", "@1614834368.123456789", join(releaseDir, "lib/b.txt")]);
  // A symlink's own time (touch -h), not its target's.
  await symlink("b.txt", join(releaseDir, "lib/link"));
  await run("touch", ["-h", "-m", "-d", "@1614834369.250000000", join(releaseDir, "lib/link")]);
});
afterEach(async () => {
  await app.cleanup();
});

describe("keep_mtimes keeps the release's times (real CLI)", () => {
  it("from a local release directory: to the nearest microsecond", async () => {
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect(await statTime(app.appDir, "a.txt")).toBe(await statTime(releaseDir, "a.txt"));
    expect(await statTime(app.appDir, "lib/b.txt")).toBe("2021-03-04 05:06:08.123457000 +0000");
    expect(await statTime(app.appDir, "lib/link")).toBe("2021-03-04 05:06:09.250000000 +0000");
  });

  it("from a .tar.gz GNU tar packed (pax, nanoseconds): to the nanosecond, symlinks too", async () => {
    const archive = join(app.root, "r1.tar.gz");
    await run("tar", ["--format=pax", "-czf", archive, "-C", releaseDir, "."]);
    await writeFile(app.config, (await readFile(app.config, "utf8")).replace(releaseDir, archive));
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect(await statTime(app.appDir, "a.txt")).toBe("2021-03-04 05:06:07.100000000 +0000");
    expect(await statTime(app.appDir, "lib/b.txt")).toBe("2021-03-04 05:06:08.123456789 +0000");
    expect(await statTime(app.appDir, "lib/link")).toBe("2021-03-04 05:06:09.250000000 +0000");
  });
});

describe("keep_mtimes from a pax archive of many files (real CLI)", () => {
  it("every file keeps its nanoseconds, beyond one batch of touch", async () => {
    const many = await app.release("r2", 'version: "1.0.0"\n', {});
    const names = Array.from({ length: 450 }, (_, i) => `f${String(i).padStart(3, "0")}.txt`);
    for (const [i, name] of names.entries()) await writeFile(join(many, name), `${i}\n`);
    // One sh: a process per file is the test's own cost.
    const stamp = names.map((n, i) => `touch -m -d @1614834367.${100_000_001 + i * 7} '${join(many, n)}'`);
    await run("sh", ["-c", stamp.join("\n")]);
    const archive = join(app.root, "r2.tar.gz");
    await run("tar", ["--format=pax", "-czf", archive, "-C", many, "."]);
    await writeFile(app.config, (await readFile(app.config, "utf8")).replace(many, archive));
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    const { stdout } = await run("stat", ["--format=%n %.9Y", ...names.map((n) => join(app.appDir, n))]);
    const expected = names.map((n, i) => `${join(app.appDir, n)} 1614834367.${String(100_000_001 + i * 7)}`);
    expect(stdout.trim().split("\n")).toEqual(expected);
  });
});
