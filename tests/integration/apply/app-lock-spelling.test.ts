/**
 * The per-app lock, whatever spelling names the app directory. It was named by the spelling, and
 * `ship --rollback` names the directory as its backup recorded it: with ship.toml's app_dir since
 * spelled `app/` (or as a symlink to it), the rollback ran beside an update in its post_update hook.
 * It ended that hook as "left running by a killed run", restored the update's half-made backup and
 * failed with a bare ENOENT. Real `ship` processes.
 */
import { access, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip, startShip } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import type { LocalApp } from "../cli/local-app.js";
import { installedVersionsForFile, listedBackups } from "./installed-versions.js";

let app: LocalApp;
installedVersionsForFile(["1", "2"], (made) => {
  app = made;
});

describe("ship --rollback while an update runs under another spelling of app_dir (real CLI)", () => {
  for (const [what, spelling] of [
    ["a trailing slash", (dir: string) => `${dir}/`],
    ["a symlink to it", (dir: string) => `${dir}-link`],
  ] as const) {
    it(`${what}: the rollback waits its turn (exit 75), the update finishes`, async () => {
      const [newest] = await listedBackups(app);
      const hooked = join(app.root, "hook-started");
      // The hook holds the update until the rollback has been answered: a fixed `sleep 2` ended
      // first on a loaded CI machine, and the rollback then ran (exit 0) after it. At most 60 s.
      const release = join(app.root, "hook-may-end");
      await app.release(
        "r3",
        `version: "3.0.0"\nhooks:\n  post_update:\n    - "touch ${hooked}; for i in $(seq 1200); do [ -e ${release} ] && break; sleep 0.05; done"\n`,
        {
          "app.txt": "v3\n",
        },
      );
      const appDir = spelling(app.appDir);
      if (appDir.endsWith("-link")) await symlink(app.appDir, appDir);
      const config = await readFile(app.config, "utf8");
      await writeFile(app.config, config.replace(`app_dir = "${app.appDir}"`, `app_dir = "${appDir}"`));

      const update = startShip(["--config", app.config]);
      await waitFor(
        "the post_update hook",
        () =>
          access(hooked).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 20_000, intervalMs: 20, where: app.root },
      );
      const rollback = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
      await writeFile(release, "");
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(75);
      expect(rollback.stderr).toMatch(/^ship: another ship run holds .*\.lock \(pid \d+ on /);

      const done = await update.done;
      expect(done.code, done.stdout + done.stderr).toBe(0);
      expect(done.stdout).toBe("myapp: updated 2.0.0 → 3.0.0\n");
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
      expect((await app.state()).sources.myapp).toMatchObject({
        current_version: "3.0.0",
        last_result: "updated",
      });
    }, 90_000);
  }
});
