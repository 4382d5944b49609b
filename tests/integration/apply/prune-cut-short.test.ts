/**
 * keep_backups removing an old backup that will not go all at once (an immutable file in it; a kill
 * does the same part-way), with real `ship` runs. The backup was deleted in place, in readdir order:
 * its meta.json could go first, leaving a directory never listed again, so never pruned again,
 * holding its disk for good, though the warning said "the next update retries" (or meta.json
 * stayed, and a damaged backup was listed). Now it goes into the app's trash first, which every run
 * of the app empties.
 */
import { spawnSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
const immutable: string[] = [];
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  for (const path of immutable.splice(0)) spawnSync("chattr", ["-i", path]);
  await app.cleanup();
});

const manifest = (v: string) => `version: "${v}.0.0"\nrollback:\n  keep_backups: 1\n`;

describe("an old backup whose removal stops part-way (real CLI)", () => {
  it("is never listed, and a later run finishes removing it", async (ctx) => {
    for (const v of ["1", "2"]) {
      await app.release(`r${v}`, manifest(v), { "app.txt": `v${v}\n`, [`f${v}.txt`]: `${v}\n` });
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    const dir = join(app.root, "var/backups/myapp");
    const [old] = (await readdir(dir)).filter((name) => !name.startsWith("."));
    const stuck = join(dir, String(old), "files/app.txt");
    if (spawnSync("chattr", ["+i", stuck]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      ctx.skip();
    }
    immutable.push(stuck);

    await app.release("r3", manifest("3"), { "app.txt": "v3\n", "f3.txt": "3\n" });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(update.stderr).toContain("operation not permitted (EPERM)");
    // Any run of the app retries (below: one with nothing to install), not only the next update.
    expect(update.stderr).toContain(
      '"msg":"could not remove old backups or the trash; the app\'s next run retries"',
    );
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const backups = JSON.parse(listed.stdout) as { id: string; version: string | null }[];
    expect(backups.map((b) => b.version)).toEqual(["2.0.0"]);
    expect((await readdir(dir)).filter((name) => !name.startsWith("."))).toEqual([backups[0]?.id]);

    // The cause gone, the app's next run (nothing to install) removes what was left.
    const trashed = (await readdir(join(dir, ".trash"))).map((name) => join(dir, ".trash", name));
    expect(trashed).toHaveLength(1);
    spawnSync("chattr", ["-i", join(String(trashed[0]), "files/app.txt")]);
    immutable.length = 0;
    const again = await runShip(["--config", app.config]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await readdir(dir)).toEqual([backups[0]?.id]);
  });
});
