/**
 * `ship --recover` finishing a restore that a kill interrupted says which paths it left alone, in
 * the same words as the automatic restore's line, and `ship --rollback` says where their previous
 * versions are. Before, --recover said only "restored 1.0.0 (finished an interrupted restore)"
 * while a user's edit stayed in place and the old version sat in <backup>.unrestored.
 */
import { readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("restores that leave a user's edit alone say so, in every mode", () => {
  let app: LocalApp;
  let backupId: string;
  // Every test starts from 2.0.0 over 1.0.0 with b.txt edited by hand, put back as built.
  builtOnceRestoredEachTest(async () => {
    app = await localApp();
    await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "v1\n", "b.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", 'version: "2.0.0"\n', { "a.txt": "v2\n", "b.txt": "v2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // Someone edits an installed file after the update: no restore may overwrite it.
    await writeFile(join(app.appDir, "b.txt"), "edited by hand\n");
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
    }[];
    backupId = listed[0]?.id ?? "";
    return app.root;
  });

  const expectLeftAlone = async (text: string) => {
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(join(app.appDir, "b.txt"), "utf8")).toBe("edited by hand\n");
    const unrestored = /previous versions are in (\S+\.unrestored)/.exec(text)?.[1] ?? "";
    expect(unrestored, text).not.toBe("");
    expect(await readFile(join(unrestored, "b.txt"), "utf8")).toBe("v1\n");
  };

  it("--recover after a --rollback killed before it finished", async () => {
    const killed = await runShip(["--config", app.config, "--rollback", backupId], {
      env: { SHIP_FAULT: "restore:before-finalize" },
    });
    expect(killed.code, killed.stdout + killed.stderr).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout).toMatch(
      /restored 1\.0\.0 \(finished an interrupted restore\) except 1 path\(s\) it was not ship's to touch \(b\.txt: changed, replaced or behind a symlink since the update\); their previous versions are in \S+\.unrestored/,
    );
    await expectLeftAlone(recovered.stdout);
  });

  it("--rollback lists the path and where its previous version is", async () => {
    const rollback = await runShip(["--config", app.config, "--rollback", backupId]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain("  left alone: b.txt (not the file ship installed)");
    expect(rollback.stdout).toMatch(/ {2}their previous versions are in \S+\.unrestored\n/);
    await expectLeftAlone(rollback.stdout);
  });

  // A file the undone update added has no previous version, so nothing is set aside for it: the
  // line must not send the operator to a folder that does not exist (found by review10).
  it("--rollback of an update that added the edited file says there was no previous version", async () => {
    await app.release("r3", 'version: "3.0.0"\n', { "a.txt": "v3\n", "b.txt": "v2\n", "new.txt": "v3\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "new.txt"), "edited by hand\n");
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string;
    }[];
    const id = listed.find((b) => b.version === "2.0.0")?.id ?? "";
    const rollback = await runShip(["--config", app.config, "--rollback", id]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain("  left alone: new.txt (not the file ship installed)");
    expect(rollback.stdout).toContain("  they had no previous version: the undone update added them");
    expect(rollback.stdout).not.toContain("previous versions are in");
    expect(await readFile(join(app.appDir, "new.txt"), "utf8")).toBe("edited by hand\n");
  });

  // The previous version set aside is a relative symlink, which leads nowhere from the .unrestored
  // folder: it still is a previous version, and the line must send the operator there.
  it("--rollback of a symlink that became a file the user then edited points to the set-aside link", async () => {
    const r3 = await app.release("r3", 'version: "3.0.0"\n', { "a.txt": "v3\n", "b.txt": "v2\n" });
    await symlink("a.txt", join(r3, "link"));
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r4", 'version: "4.0.0"\n', { "a.txt": "v4\n", "b.txt": "v2\n", link: "a file now\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "link"), "edited by hand\n");
    // The newest backup (ids sort by time) is r4's, which brings back 3.0.0.
    const ids = (await readdir(join(app.root, "var/backups/myapp")))
      .filter((n) => n.startsWith("myapp-"))
      .sort();
    const id = ids.at(-1) ?? "";
    const rollback = await runShip(["--config", app.config, "--rollback", id]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain("  left alone: link (not the file ship installed)");
    const unrestored = /their previous versions are in (\S+\.unrestored)\n/.exec(rollback.stdout)?.[1] ?? "";
    expect(unrestored, rollback.stdout).not.toBe("");
    expect(await readlink(join(unrestored, "link"))).toBe("a.txt");
    expect(await readFile(join(app.appDir, "link"), "utf8")).toBe("edited by hand\n");
  });
});
