/**
 * `ship --rollback` of one backup SIGKILLed while the undone release's rollback hook runs (real
 * `ship` processes, a real SIGKILL). The files were back, but nothing recorded that a rollback by
 * name was under way: `ship --recover` ended the hook and said only that, and the state kept
 * `last_result: "updated"` beside the restored 1.0.0 (what the hub's hello and the seed's health
 * check read). Now recovery finishes the rollback and records it as one.
 */
import { access, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip, startShip } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

describe.skipIf(process.platform !== "linux")(
  "a --rollback killed during its rollback hook (real CLI)",
  () => {
    it("--recover finishes it: the state says rolled_back on the restored version", async () => {
      const started = join(app.root, "hook-started");
      await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n", "f1.txt": "1\n" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      const onOne = await snapshot(app.appDir);
      await app.release(
        "r2",
        `version: "2.0.0"\nhooks:\n  rollback:\n    - command: "touch ${started}; sleep 30"\n`,
        { "app.txt": "v2\n", "f2.txt": "2\n" },
      );
      expect((await runShip(["--config", app.config])).code).toBe(0);
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(listed.stdout) as { id: string }[];

      const rollback = startShip(["--config", app.config, "--rollback", String(newest?.id)]);
      await waitFor(
        "the rollback hook",
        () =>
          access(started).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 30_000, intervalMs: 20, where: app.root },
      );
      rollback.child.kill("SIGKILL");
      expect((await rollback.done).signal).toBe("SIGKILL");
      expect(await snapshot(app.appDir)).toEqual(onOne);
      // The hook ran in a hard-linked copy of 2.0.0: the only names left of its files.
      const [stateDir] = await readdir(join(app.root, "var/apps"));
      const copy = join(app.root, "var/apps", String(stateDir), "release-being-undone");
      expect((await readdir(copy)).sort()).toEqual(["app.txt", "f2.txt"]);

      const recovered = await runShip(["--config", app.config, "--recover"]);
      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      expect(recovered.stdout).toMatch(
        /^myapp: ended rollback hook\[0\] \(process group \d+\) left running by a killed run; finished the interrupted rollback to 1\.0\.0\n$/,
      );
      expect((await app.state()).sources.myapp).toMatchObject({
        current_version: "1.0.0",
        last_result: "rolled_back",
        last_error: null,
      });
      expect(await snapshot(app.appDir)).toEqual(onOne);
      // Left behind, it held the undone release's disk until some later rollback replaced it.
      await expect(access(copy)).rejects.toMatchObject({ code: "ENOENT" });
      const again = await runShip(["--config", app.config, "--recover"]);
      expect(again.stdout).toBe("myapp: nothing to recover\n");
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    }, 60_000);

    it("killed after its restore, before the hook: --recover runs the hook it owed", async () => {
      const ran = join(app.root, "hook-ran");
      await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await app.release(
        "r2",
        `version: "2.0.0"\nhooks:\n  rollback:\n    - "echo $SHIP_VERSION $SHIP_PREVIOUS_VERSION >> ${ran}"\n`,
        { "app.txt": "v2\n" },
      );
      expect((await runShip(["--config", app.config])).code).toBe(0);
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(listed.stdout) as { id: string }[];
      const killed = await runShip(["--config", app.config, "--rollback", String(newest?.id)], {
        env: { SHIP_FAULT: "rollback:before-hooks" },
      });
      expect(killed.code).toBeNull();
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
      await expect(access(ran)).rejects.toMatchObject({ code: "ENOENT" });

      const recovered = await runShip(["--config", app.config, "--recover"]);
      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      expect(recovered.stdout).toBe(
        "myapp: finished the interrupted rollback to 1.0.0; ran 2.0.0's rollback commands it had not started\n",
      );
      expect(await readFile(ran, "utf8")).toBe("2.0.0 1.0.0\n");
      expect((await app.state()).sources.myapp).toMatchObject({
        current_version: "1.0.0",
        last_result: "rolled_back",
      });
      // Once: a second recovery has nothing left to run.
      expect((await runShip(["--config", app.config, "--recover"])).stdout).toBe(
        "myapp: nothing to recover\n",
      );
      expect(await readFile(ran, "utf8")).toBe("2.0.0 1.0.0\n");
    }, 60_000);
  },
);
