/**
 * A file whose name is within 9 bytes of NAME_MAX (255), in an app on its own filesystem (a real
 * tmpfs here; the release staged elsewhere), where every file is copied beside its target as
 * `<name>.ship-tmp` and renamed over it. That temporary's name was too long: the first install said
 * "UPDATE FAILED AND RESTORE FAILED — the app needs a person" (the undo tripped on the same name)
 * and every later run a bare "ENAMETOOLONG: name too long, unlink …". Such a name now gets a short
 * temporary of its own, and a killed copy of it is still cleared by recovery. A `backup_replace`
 * file's `.bak` beside a 252-byte name cannot exist either: the check before the hooks failed the
 * first install on it ("cannot stat …bak: name too long"), the apply the update; the previous
 * version is now kept in the backup only, and the log says so. A merged file's staged
 * `<name>.ship-merged` had the same fault.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { tmpfsAppEachTest } from "./tmpfs-app.js";
import { snapshot } from "./tree-fixtures.js";

const tmpfs = tmpfsAppEachTest("4m");
const long = `${"n".repeat(250)}`; // 250 bytes: a name the filesystem takes, `.ship-tmp` added it does not
const nested = `deep/${"é".repeat(123)}.cfg`; // 250 bytes in UTF-8

describe("names near NAME_MAX copied across filesystems (real tmpfs app_dir, real CLI)", () => {
  it("install, update and --rollback all go through; the app is exact each time", async (ctx) => {
    if (!tmpfs.mounted()) return ctx.skip();
    const app = tmpfs.app();
    await app.release("v1", 'version: "1.0.0"\n', { [long]: "v1\n", [nested]: "a = 1\n" });
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain("myapp: installed 1.0.0");
    const before = await snapshot(app.appDir);
    expect(Object.keys(before)).toContain(long);
    await app.release("v2", 'version: "2.0.0"\n', { [long]: "v2\n", [nested]: "a = 2\n" });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(update.stdout).toContain("myapp: updated 1.0.0 → 2.0.0");
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(list.stdout) as { id: string }[];
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("a kill mid-copy of such a file: --recover leaves the old tree exactly, no temporary left", async (ctx) => {
    if (!tmpfs.mounted()) return ctx.skip();
    const app = tmpfs.app();
    await app.release("v1", 'version: "1.0.0"\n', { [long]: "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const before = await snapshot(app.appDir);
    await app.release("v2", 'version: "2.0.0"\n', { [long]: "v2\n" });
    let tempsInApp = 0;
    for (let n = 1; n <= 3; n++) {
      const killed = await runShip(["--config", app.config], {
        env: { SHIP_FAULT: `copy:before-rename@${n}` },
      });
      if (killed.code === 0) break;
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      if ((await readdir(app.appDir)).some((f) => f.endsWith(".ship-tmp"))) tempsInApp++;
      const recovered = await runShip(["--config", app.config, "--recover"]);
      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      expect(await snapshot(app.appDir), `killed at copy ${n}`).toEqual(before);
    }
    expect(tempsInApp).toBeGreaterThan(0);
  });

  it("a backup_replace file with a 253-byte name: installed and updated (its .bak would be too long: backup only), rolled back exactly", async () => {
    const app = tmpfs.app();
    const name = "c".repeat(253);
    const keeping = (v: string) => `version: "${v}"\nfiles:\n  "${name}":\n    action: backup_replace\n`;
    await app.release("v1", keeping("1.0.0"), { [name]: "v1\n" });
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const before = await snapshot(app.appDir);
    await app.release("v2", keeping("2.0.0"), { [name]: "v2\n" });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(update.stdout).toContain("myapp: updated 1.0.0 → 2.0.0");
    expect(update.stderr).toContain("a .bak beside these would be a name too long");
    expect(await readdir(app.appDir)).toEqual([name]);
    const [newest] = JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout);
    const back = await runShip(["--config", app.config, "--rollback", newest.id]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("a merge_toml file with a 250-byte name: the user's value kept, the release's key added", async () => {
    const app = tmpfs.app();
    const name = `${"m".repeat(245)}.toml`;
    const merging = (v: string) => `version: "${v}"\nfiles:\n  "${name}":\n    action: merge_toml\n`;
    await app.release("v1", merging("1.0.0"), { [name]: "a = 1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, name), "a = 5\n");
    await app.release("v2", merging("2.0.0"), { [name]: "a = 2\nb = 3\n" });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(await readFile(join(app.appDir, name), "utf8")).toBe("a = 5\nb = 3\n");
  });
});
