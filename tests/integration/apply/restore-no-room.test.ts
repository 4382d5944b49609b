/**
 * `ship --rollback` with backup_dir on another filesystem than a nearly full app: the restore copies
 * the saved files back (no rename across filesystems) and frees nothing meanwhile. It stopped
 * half-way on ENOSPC ("RESTORE STOPPED HALF-WAY", exit 3), app.txt restored beside 2.0.0's big.bin.
 * Now refused before anything moves, naming the room it needs; with room made, it restores.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { listedBackups } from "./installed-versions.js";
import { tmpfsAppEachTest } from "./tmpfs-app.js";
import { snapshot } from "./tree-fixtures.js";

const tmpfs = tmpfsAppEachTest("2m");

describe("a rollback whose copies do not fit on the app's filesystem (real CLI, real tmpfs)", () => {
  it("is refused with nothing changed, naming the room needed; with room, it restores", async () => {
    if (!tmpfs.mounted()) return;
    const app = tmpfs.app();
    const big = (n: number) => Buffer.alloc(600_000, n);
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    await writeFile(join(app.root, "v1/big.bin"), big(1));
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", 'version: "2.0.0"\n', { "app.txt": "v2\n" });
    await writeFile(join(app.root, "v2/big.bin"), big(2));
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const [newest] = await listedBackups(app);
    await writeFile(join(app.appDir, "filler"), Buffer.alloc(1_300_000));
    const before = await snapshot(app.appDir);

    const refused = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `myapp: cannot restore: ${app.appDir} has \\d+ KiB free, but the restore copies 586 KiB of saved files back from ${join(app.root, "var/backups/myapp")}, which is on another filesystem \\(on the app's, it would rename them\\): free space on the app's filesystem and try again; nothing was changed`,
      ),
    );
    expect(await snapshot(app.appDir)).toEqual(before);
    expect((await app.state()).sources.myapp?.last_result).toBe("failed_unchanged");

    await rm(join(app.appDir, "filler"));
    const back = await runShip(["--config", app.config, "--rollback", newest?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await readFile(join(app.appDir, "big.bin")))[0]).toBe(1);
  });

  it("an automatic rollback refused for room says the app kept the failed release, not 'nothing was changed'", async () => {
    if (!tmpfs.mounted()) return;
    const app = tmpfs.app();
    const big = (n: number) => Buffer.alloc(600_000, n);
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    await writeFile(join(app.root, "v1/big.bin"), big(1));
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // The health check fails after a post_update hook filled the app's disk.
    await app.release(
      "v2",
      [
        'version: "2.0.0"',
        "hooks:",
        '  post_update: ["head -c 1300000 /dev/zero > filler"]',
        "post_update_tests:",
        '  - { name: health, command: "exit 1" }',
        "",
      ].join("\n"),
      { "app.txt": "v2\n" },
    );
    await writeFile(join(app.root, "v2/big.bin"), big(2));
    const failed = await runShip(["--config", app.config]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(3);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    // Before: "…; nothing was changed", of an app the update had changed.
    expect(failed.stdout).not.toContain("nothing was changed");
    expect(failed.stdout).toMatch(
      /restore: refused before it moved anything: .* free space on the app's filesystem and try again; the app still has 2\.0\.0's files/,
    );
    // A check says so too (it said the update "was interrupted"): nothing was killed.
    const check = await runShip(["--config", app.config, "--check-only"]);
    expect(check.stdout).not.toContain("was interrupted");
    expect(check.stdout).toContain(
      "an update to 2.0.0 failed and its restore failed too; the app has its files and waits for recovery: the next run (or ship --recover) restores 1.0.0 first",
    );
    // The next run owes the restore: the update was not interrupted, and the restore changed nothing.
    const next = await runShip(["--config", app.config]);
    expect(next.code).toBe(3);
    expect(next.stdout).toMatch(
      /^myapp: update to 2\.0\.0 failed earlier and was not yet restored and restoring failed: refused before it moved anything: .*; the app still has 2\.0\.0's files — the app needs a person$/m,
    );
  });
});
