/**
 * A run killed in the middle of a copy across filesystems (the app on its own filesystem, a real
 * tmpfs here; the release staged in the state directory on another). A copy is written beside its
 * target as `<name>.ship-tmp` and renamed over it: the kill left that temporary in the app, and
 * `ship --recover` said "restored 1.0.0" over a tree holding a file 1.0.0 never had (60 MB of a
 * half-copied binary, for ever: no run removed it). Now undoing the update removes it too.
 */
import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { tmpfsAppEachTest } from "./tmpfs-app.js";
import { snapshot } from "./tree-fixtures.js";

const tmpfs = tmpfsAppEachTest("4m");

describe("a kill during a copy into the app across filesystems (real tmpfs app_dir, real CLI)", () => {
  for (const [what, v2] of [
    ["a file the update adds", { "app.txt": "v2\n", "bin/tool": "new tool\n" }],
    ["a file the update replaces", { "app.txt": "v2\n" }],
  ] as const) {
    it(`${what}: --recover leaves the old tree exactly, no .ship-tmp in the app`, async (ctx) => {
      if (!tmpfs.mounted()) return ctx.skip();
      const app = tmpfs.app();
      await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      const before = await snapshot(app.appDir);
      await app.release("v2", 'version: "2.0.0"\n', v2);
      // The update's copies in turn (into the backup, into the app): a kill at each, then --recover.
      let tempsInApp = 0;
      for (let n = 1; n <= 4; n++) {
        const killed = await runShip(["--config", app.config], {
          env: { SHIP_FAULT: `copy:before-rename@${n}` },
        });
        if (killed.code === 0) break; // fewer copies than n: the update went through
        expect(killed.code, killed.stdout + killed.stderr).toBeNull();
        if ((await readdir(app.appDir, { recursive: true })).some((f) => f.endsWith(".ship-tmp")))
          tempsInApp++;
        const recovered = await runShip(["--config", app.config, "--recover"]);
        expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
        expect(recovered.stdout).toContain("myapp: update to 2.0.0 was interrupted; restored 1.0.0");
        expect(await snapshot(app.appDir), `killed at copy ${n}`).toEqual(before);
      }
      expect(tempsInApp).toBeGreaterThan(0);
      // Up to nine `ship` runs: the config's limit for a loaded machine (60 s), not 30 s, which
      // a whole suite at load 22 outlasted (30.8 s) with every run passing.
    });
  }
});
