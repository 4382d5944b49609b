/**
 * An app entry the kernel forbids changing (`chattr +i`), met by real `ship` runs. Before: the update
 * ran its pre_update hooks (a service stopped for nothing), then failed at the apply and undid itself,
 * exit 1. The immutable entry is knowable before anything runs: exit 2 naming it and the fix, no
 * hook run, nothing changed. An immutable file the release does not change is no reason to refuse.
 */
import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { snapshot } from "../apply/tree-fixtures.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
const flagged: string[] = [];
const manifest = (version: string) =>
  `version: "${version}"\nhooks:\n  pre_update: ["echo ran >> ../hook.log"]\n`;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  for (const path of flagged.splice(0)) spawnSync("chattr", ["-i", path]);
  await app.cleanup();
});

async function hookRuns(): Promise<number> {
  const text = await readFile(join(app.root, "hook.log"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

/** chattr +i; false when this machine cannot (not root, not ext4): the test then skips. */
function immutable(path: string): boolean {
  if (spawnSync("chattr", ["+i", path]).status !== 0) {
    console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
    return false;
  }
  flagged.push(path);
  return true;
}

async function installV1(files: Record<string, string>): Promise<void> {
  await app.release("v1", manifest("1.0.0"), files);
  const first = await runShip(["--config", app.config]);
  expect(first.code, first.stderr).toBe(0);
  expect(await hookRuns()).toBe(1);
}

describe("an immutable entry in the update's way (real CLI)", () => {
  it.each([
    [
      "a file the release replaces",
      "b.txt",
      { "app.txt": "v2\n", "b.txt": "b2\n" },
      "b.txt (the release replaces it)",
    ],
    ["a file the release drops", "b.txt", { "app.txt": "v2\n" }, "b.txt (the release drops it)"],
    // As many files as before: the check skips its walk of the index only when the release lists
    // every installed file, which counting the release's files alone would take this for.
    [
      "a file the release drops while it adds another",
      "b.txt",
      { "app.txt": "v2\n", "c.txt": "c\n", "lib/x.txt": "x\n" },
      "b.txt (the release drops it)",
    ],
    [
      "a directory the release adds a file to",
      "lib",
      { "app.txt": "v2\n", "b.txt": "b1\n", "lib/x.txt": "x\n", "lib/new.txt": "new\n" },
      "lib (its entries cannot be added, replaced or removed)",
    ],
  ])(
    "%s: exit 2 naming it before the pre_update hooks, nothing changed; cleared, it installs",
    async (_what, entry, v2, says) => {
      await installV1({ "app.txt": "v1\n", "b.txt": "b1\n", "lib/x.txt": "x\n" });
      const path = join(app.appDir, entry);
      if (!immutable(path)) return;
      const before = await snapshot(app.appDir);
      await app.release("v2", manifest("2.0.0"), v2);
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout.trim().split("\n")).toEqual([
        `myapp: release 2.0.0 cannot be installed: ${app.appDir}/${says}: operation not permitted (EPERM) — it is probably immutable (lsattr shows i); clear that with chattr -i, then run ship again; nothing was run or changed`,
      ]);
      expect(await hookRuns()).toBe(1);
      expect(await snapshot(app.appDir)).toEqual(before);
      expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");

      spawnSync("chattr", ["-i", path]);
      const again = await runShip(["--config", app.config]);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    },
  );

  it("an immutable file the release leaves as it is, and one of the operator's: the update goes ahead", async () => {
    await installV1({ "app.txt": "v1\n", "b.txt": "b1\n" });
    await mkdir(join(app.appDir, "own"));
    await writeFile(join(app.appDir, "own/pinned.conf"), "mine\n");
    if (!immutable(join(app.appDir, "b.txt")) || !immutable(join(app.appDir, "own/pinned.conf"))) return;
    await app.release("v2", manifest("2.0.0"), { "app.txt": "v2\n", "b.txt": "b1\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  });

  it("an immutable app_dir: exit 2 naming it and chattr -i (it said chown -R, which does not help)", async () => {
    await installV1({ "app.txt": "v1\n" });
    if (!immutable(app.appDir)) return;
    await app.release("v2", manifest("2.0.0"), { "app.txt": "v2\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${app.config}:9:1 sources.myapp.app_dir: ${app.appDir} may not be changed: operation not permitted (EPERM) — it is probably immutable (lsattr -d shows i); clear that with chattr -i ${app.appDir}`,
    );
    expect(await hookRuns()).toBe(1);
  });
});
