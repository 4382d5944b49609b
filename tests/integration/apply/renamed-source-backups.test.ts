/**
 * A source renamed in ship.toml (`[sources.myapp]` → `[sources.web]`, the same app_dir): the
 * backups made under the old name were left out of `--list-backups` ("restore app directories no
 * source of this config installs into") and `--rollback` refused them as another config's, so the
 * operator could not roll back the app at all. The source that installs into the backup's app_dir
 * owns them now. Real `ship` runs.
 */
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;

// 1.0.0 and 2.0.0 installed under the old name, then the source renamed: built once for the file
// (two `ship` installs per test before) and put back as built before each test.
builtOnceRestoredEachTest(async () => {
  app = await localApp();
  for (const v of ["1", "2"]) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n` });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  }
  const toml = await readFile(app.config, "utf8");
  await writeFile(app.config, toml.replace("[sources.myapp]", "[sources.web]"));
  return app.root;
});

/**
 * The consumed backup goes into the trash of the name restoring it, which that name's runs empty:
 * in myapp's, nothing ever emptied it. True once the next run of web is done.
 */
async function trashEmptiedByNextRun(): Promise<void> {
  const trash = (name: string) => join(app.root, "var/backups", name, ".trash");
  await expect(access(trash("myapp"))).rejects.toMatchObject({ code: "ENOENT" });
  await access(trash("web"));
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await expect(access(trash("web"))).rejects.toMatchObject({ code: "ENOENT" });
}

describe("backups made under a source's old name (real CLI)", () => {
  it("are listed, and --rollback restores them into the renamed source's record", async () => {
    const list = await runShip(["--config", app.config, "--list-backups", "--sources", "web", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).not.toContain("not listed");
    const backups = JSON.parse(list.stdout) as { id: string; version: string | null }[];
    const one = backups.find((b) => b.version === "1.0.0");
    expect(one).toBeDefined();
    const back = await runShip(["--config", app.config, "--rollback", String(one?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    // Named as ship.toml names the source now, not by the name the backup was made under.
    expect(back.stdout).toBe("web: back on 1.0.0 (1 backup(s) restored)\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.web).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
    });
    await trashEmptiedByNextRun();
  });
});

describe("--list-backups of backups made under a source's old name (real CLI)", () => {
  it("names the source that restores them now, and the name they were made under", async () => {
    const list = await runShip(["--config", app.config, "--list-backups"]);
    expect(list.code, list.stderr).toBe(0);
    // Was "myapp" alone: a name no [sources.*] has any more, while --rollback restores them as web.
    const rows = list.stdout.split("\n").slice(1, -1);
    expect(rows).toHaveLength(2);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID +APP {17}RESTORES /);
    for (const row of rows) expect(row).toMatch(/^myapp-\S+ +web \(made as myapp\) (1\.0\.0|\(pre-ship\)) /);
    const json = JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout) as {
      app: string;
      source: string;
    }[];
    expect(json.map((b) => [b.source, b.app])).toEqual([
      ["web", "myapp"],
      ["web", "myapp"],
    ]);
  });
});

describe("a restore of an old-name backup a kill interrupted (real CLI)", () => {
  it("--recover finishes it and names the source once, by its new name", async () => {
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(list.stdout) as { id: string }[];
    const killed = await runShip(["--config", app.config, "--rollback", String(newest?.id)], {
      env: { SHIP_FAULT: "restore:file" },
    });
    expect(killed.code).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    // Was "web: myapp: restored 1.0.0 …": the journal's name after the source's.
    expect(recovered.stdout).toBe("web: restored 1.0.0 (finished an interrupted restore)\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    await trashEmptiedByNextRun();
  });
});

describe("a rollback to an old-name backup across updates made under the new name (real CLI)", () => {
  it("undoes the new name's updates first and lands on the old version", async () => {
    // Was exit 2: "has no backup that undoes the installed 3.0.0: the newest backup of myapp … undoes
    // 2.0.0 … (was a backup deleted by hand?)", with web's backup of 3.0.0 right there.
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n" });
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace("[sources.myapp]", "[sources.web]"),
    );
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(list.stdout) as { id: string; version: string | null }[];
    const one = backups.find((b) => b.version === "1.0.0");
    expect(one?.id).toMatch(/^myapp-/);
    const back = await runShip(["--config", app.config, "--rollback", String(one?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("back on 1.0.0 (2 backup(s) restored)");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.web).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
    });
  });

  it("killed between its restores: --recover finishes it, the old-name backup into the new name's trash", async () => {
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n" });
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace("[sources.myapp]", "[sources.web]"),
    );
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(list.stdout) as { id: string; version: string | null }[];
    const one = backups.find((b) => b.version === "1.0.0");
    expect(one?.id).toMatch(/^myapp-/);
    const killed = await runShip(["--config", app.config, "--rollback", String(one?.id)], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code).toBeNull();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    await trashEmptiedByNextRun();
  });

  it("pruning leaves no gap in the chain: keep_backups counts the old name's backups too", async () => {
    // keep_backups = 1 under the new name pruned web's backup of 3.0.0 but not myapp's older ones,
    // and a rollback to those was refused across the gap. The app directory's backups are counted
    // together now: only the newest is kept, and it restores.
    const keepOne = (v: string) => `version: "${v}"\nrollback:\n  keep_backups: 1\n`;
    for (const v of ["3", "4"]) {
      await app.release(`r${v}`, keepOne(`${v}.0.0`), { "app.txt": `v${v}\n`, [`only${v}.txt`]: "x\n" });
      await writeFile(
        app.config,
        (await readFile(app.config, "utf8")).replace("[sources.myapp]", "[sources.web]"),
      );
      const update = await runShip(["--config", app.config]);
      expect(update.code, update.stdout + update.stderr).toBe(0);
    }
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(list.stdout) as { id: string; version: string | null }[];
    expect(backups.map((b) => b.version)).toEqual(["3.0.0"]);
    const back = await runShip(["--config", app.config, "--rollback", String(backups[0]?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
    expect((await app.state()).sources.web).toMatchObject({ current_version: "3.0.0" });
  });
});

describe("a rollback chain with a backup whose meta.json is damaged (real CLI)", () => {
  it("is refused naming the gap, nothing changed, instead of skipping that backup", async () => {
    // Was exit 0 "back on (pre-ship)": the damaged backup was left out of the chain, so 2.0.0 was
    // restored and then the backup undoing 1.0.0 ran over it, leaving 2.0.0's files in place.
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace("[sources.web]", "[sources.myapp]"),
    );
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n", "three.txt": "3\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(list.stdout) as { id: string; version: string | null; path: string }[];
    const middle = backups.find((b) => b.version === "1.0.0");
    const oldest = backups.find((b) => b.version === null);
    await writeFile(join(String(middle?.path), "meta.json"), '{"x');
    const back = await runShip(["--config", app.config, "--rollback", String(oldest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(2);
    expect(back.stderr).toContain("has no backup that undoes 2.0.0");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
    expect(await readFile(join(app.appDir, "three.txt"), "utf8")).toBe("3\n");
  });
});
