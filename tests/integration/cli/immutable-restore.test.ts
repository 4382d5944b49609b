/**
 * A restore that meets a file it may not replace (`chattr +i`): exit 3 naming the file, why and what
 * to do; no `<file>.ship-tmp` left in the app directory; once the flag is cleared `ship --recover`
 * finishes the restore and the app is the previous version exactly.
 */
import { spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readInstallIndexHeader } from "../../../agent/apply/install-index.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("a rollback that meets an immutable file", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    spawnSync("chattr", ["-i", join(app.appDir, "b.txt")]);
    await app.cleanup();
  });

  it("stops with exit 3 naming the file and the fix, leaves no .ship-tmp, and --recover finishes it", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n", "b.txt": "b1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", 'version: "2.0.0"\n', { "app.txt": "two\n", "b.txt": "b2\n", "new.txt": "n\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const b = join(app.appDir, "b.txt");
    if (spawnSync("chattr", ["+i", b]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      return;
    }
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
    }[];
    const rollback = await runShip(["--config", app.config, "--rollback", listed[0]?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(3);
    expect(rollback.stderr).toContain(
      `${b} — it or its directory is probably immutable or append-only (lsattr shows i or a); clear that with chattr -i -a; the app is partly restored: fix that, then run \`ship --recover\``,
    );
    expect((await readdir(app.appDir)).filter((n) => n.endsWith(".ship-tmp"))).toEqual([]);

    spawnSync("chattr", ["-i", b]);
    const recover = await runShip(["--config", app.config, "--recover"]);
    expect(recover.code, recover.stderr).toBe(0);
    expect((await readdir(app.appDir)).sort()).toEqual(["app.txt", "b.txt"]);
    expect(await readFile(b, "utf8")).toBe("b1\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
  });

  it("an automatic restore refused up front stays owed: once the cause is fixed, --recover restores it", async () => {
    // The release's test makes a directory it added immutable, so the restore after the failed test
    // is refused before it moves anything (exit 3). Before, nothing remembered it: after `chattr -i`,
    // `--recover` said "nothing to recover", and the next run "up to date (2.0.0)", exit 0, with
    // restore_failed cleared and the release whose test failed left live.
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release(
      "v2",
      'version: "2.0.0"\npost_update_tests:\n  - name: h\n    command: "chattr +i newdir && false"\n',
      { "app.txt": "two\n", "newdir/x": "x\n" },
    );
    const update = await runShip(["--config", app.config]);
    const newdir = join(app.appDir, "newdir");
    try {
      if (update.code !== 3 && update.stdout.includes("chattr")) {
        console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
        return;
      }
      expect(update.code, update.stdout + update.stderr).toBe(3);
      expect(update.stdout).toContain("UPDATE FAILED AND RESTORE FAILED");
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("two\n");
      // The state says the version on disk, the install index's: it said 1.0.0 beside 2.0.0's files.
      const onDisk = async () => (await app.state()).sources.myapp;
      expect(await onDisk()).toMatchObject({ current_version: "2.0.0", last_result: "restore_failed" });
      // Its release id with it: the state named 2.0.0 beside 1.0.0's release id.
      const [stateDir] = await readdir(join(app.root, "var/apps"));
      const index = await readInstallIndexHeader(join(app.root, "var/apps", stateDir ?? "none"));
      expect(index).toMatchObject({ version: "2.0.0" });
      expect((await onDisk())?.release_id).toBe(index?.releaseId);
      // Still refused while the cause is there: exit 3 again, not "nothing to recover".
      expect((await runShip(["--config", app.config, "--recover"])).code).toBe(3);
      expect(await onDisk()).toMatchObject({ current_version: "2.0.0", last_result: "restore_failed" });
      // The next run tries the owed restore first, is refused again, and says the version on disk:
      // its JSON said "fromVersion": null, read as nothing installed.
      const next = await runShip(["--config", app.config, "--json"]);
      expect(next.code, next.stderr).toBe(3);
      const [report] = (JSON.parse(next.stdout) as { apps: Record<string, unknown>[] }).apps;
      expect(report).toMatchObject({ result: "restore_failed", fromVersion: "2.0.0", toVersion: "2.0.0" });
      expect(await onDisk()).toMatchObject({
        current_version: "2.0.0",
        release_id: index?.releaseId,
        last_result: "restore_failed",
        pending_update: { version: "2.0.0", from: "1.0.0" },
      });
      // A source disabled meanwhile is still recovered by a run (what a killed run left): the same.
      await writeFile(app.config, `${await readFile(app.config, "utf8")}enabled = false\n`);
      const idle = await runShip(["--config", app.config, "--json"]);
      expect(idle.code, idle.stderr).toBe(3);
      const [recovered] = (JSON.parse(idle.stdout) as { apps: Record<string, unknown>[] }).apps;
      expect(recovered).toMatchObject({ result: "restore_failed", fromVersion: "2.0.0", toVersion: "2.0.0" });
      await writeFile(app.config, (await readFile(app.config, "utf8")).replace("enabled = false\n", ""));
    } finally {
      spawnSync("chattr", ["-i", newdir]);
    }
    const recover = await runShip(["--config", app.config, "--recover"]);
    expect(recover.code, recover.stdout + recover.stderr).toBe(0);
    expect(recover.stdout).toContain("restored 1.0.0");
    expect((await readdir(app.appDir)).sort()).toEqual(["app.txt"]);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    const state = (await app.state()).sources.myapp;
    expect(state?.current_version).toBe("1.0.0");
    expect(state?.last_result).toBe("failed_restored");
  });

  it("a killed rollback whose --recover meets an immutable file: restore_failed in the state, the next run's --json names the version on disk", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n", "b.txt": "b1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", 'version: "2.0.0"\n', { "app.txt": "two\n", "b.txt": "b2\n", "new.txt": "n\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const files = ["app.txt", "b.txt"].map((n) => join(app.appDir, n));
    if (!chattrWorks(files[0] ?? "")) return;
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string;
    }[];
    const id = listed.find((b) => b.version === "1.0.0")?.id ?? "";
    // Killed before its first file moved: its journal waits for recovery, the state says nothing of it.
    const killed = await runShip(["--config", app.config, "--rollback", id], {
      env: { SHIP_FAULT: "restore:file@1" },
    });
    expect(killed.code).toBeNull();
    const onDisk = async () => (await app.state()).sources.myapp;
    try {
      for (const file of files) spawnSync("chattr", ["+i", file]);
      const recover = await runShip(["--config", app.config, "--recover"]);
      expect(recover.code, recover.stdout + recover.stderr).toBe(3);
      expect(recover.stdout).toContain("RESTORE STOPPED HALF-WAY");
      // It kept the last update's "updated" with no error: the hello told the hub all was well.
      const failed = await onDisk();
      expect(failed).toMatchObject({ current_version: "2.0.0", last_result: "restore_failed" });
      expect(failed?.last_error).toContain("RESTORE STOPPED HALF-WAY");
      // A check says the recovery was tried, why it failed and what to fix: it said "a rollback to
      // 1.0.0 was interrupted and waits for recovery", as if nothing had been tried.
      const check = await runShip(["--config", app.config, "--check-only"]);
      expect(check.stdout).toContain(
        `— but the app waits for recovery and the last attempt failed: ${String(failed?.last_error ?? "").replace(/^myapp: /, "")}`,
      );
      expect(check.stdout).not.toContain("was interrupted");
      // The next run retries the recovery, fails again, and names the version on disk: it said null.
      const next = await runShip(["--config", app.config, "--json"]);
      expect(next.code, next.stderr).toBe(3);
      const [report] = (JSON.parse(next.stdout) as { apps: Record<string, unknown>[] }).apps;
      expect(report).toMatchObject({ result: "restore_failed", fromVersion: "2.0.0", toVersion: "2.0.0" });
      expect(await onDisk()).toMatchObject({ current_version: "2.0.0", last_result: "restore_failed" });
      // A rollback refused over the waiting journal moves nothing, and keeps the record of the
      // half-done restore: it wrote failed_unchanged over it.
      const refused = await runShip(["--config", app.config, "--rollback", id]);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain("nothing was changed");
      expect(await onDisk()).toMatchObject({ last_result: "restore_failed", last_error: failed?.last_error });
    } finally {
      for (const file of files) spawnSync("chattr", ["-i", file]);
    }
    const recover = await runShip(["--config", app.config, "--recover"]);
    expect(recover.code, recover.stdout + recover.stderr).toBe(0);
    expect((await readdir(app.appDir)).sort()).toEqual(["app.txt", "b.txt"]);
    expect(await readFile(files[1] ?? "", "utf8")).toBe("b1\n");
    expect(await onDisk()).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
      last_error: null,
    });
  });

  // An immutable file there before the run is refused before the hooks (immutable-preflight.test.ts);
  // here a pre_update hook sets the flag, so the apply meets it.
  const flagInHook = 'version: "2.0.0"\nhooks:\n  pre_update: ["chattr +i b.txt"]\n';

  it("an update that meets an immutable file it must replace: exit 1 naming it and the fix, the app as it was, the next run installs", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n", "b.txt": "b1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const b = join(app.appDir, "b.txt");
    if (!chattrWorks(b)) return;
    await app.release("v2", flagInHook, { "app.txt": "two\n", "b.txt": "b2\n" });
    const update = await runShip(["--config", app.config]);
    // Was exit 3 "UPDATE FAILED AND RESTORE FAILED", twice over, with Node's raw EPERM text: the undo
    // tried to move the saved b.txt back over the immutable one that had never changed.
    expect(update.code, update.stdout + update.stderr).toBe(1);
    expect(update.stdout.trim()).toMatch(
      new RegExp(
        `^myapp: update failed at apply: cannot rename \\S+/b\\.txt to ${b.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: operation not permitted \\(EPERM\\) — it or its directory is probably immutable or append-only \\(lsattr shows i or a\\); clear that with chattr -i -a; restored the previous version$`,
      ),
    );
    expect(update.stderr).not.toContain("different filesystems");
    expect((await readdir(app.appDir)).sort()).toEqual(["app.txt", "b.txt"]);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    expect(await readFile(b, "utf8")).toBe("b1\n");

    spawnSync("chattr", ["-i", b]);
    await app.release("v2", 'version: "2.0.0"\n', { "app.txt": "two\n", "b.txt": "b2\n" });
    const again = await runShip(["--config", app.config]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await readFile(b, "utf8")).toBe("b2\n");
  });

  it("an update whose undo fails too says UPDATE FAILED AND RESTORE FAILED once, with each reason once", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n", "b.txt": "b1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    if (!chattrWorks(join(app.appDir, "b.txt"))) return;
    await app.release("v2", flagInHook, { "app.txt": "two\n", "b.txt": "b2\n" });
    // The immutable b.txt fails the apply; the injected fault fails its undo.
    const update = await runShip(["--config", app.config], { env: { SHIP_FAULT: "recover:file:error" } });
    expect(update.code, update.stdout + update.stderr).toBe(3);
    const line = update.stdout.trim();
    expect(line.match(/UPDATE FAILED AND RESTORE FAILED/g)).toHaveLength(1);
    expect(line).toMatch(
      /^myapp: UPDATE FAILED AND RESTORE FAILED — the app needs a person\. update: cannot rename \S+ to \S+\/b\.txt: operation not permitted \(EPERM\) — [^;]+; clear that with chattr -i -a; restore: restoring files: injected fault at recover:file \(SHIP_FAULT\)$/,
    );
  });
});

/** Whether chattr +i works here (root on ext4): tried on `path` and cleared again. */
function chattrWorks(path: string): boolean {
  if (spawnSync("chattr", ["+i", path]).status !== 0) {
    console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
    return false;
  }
  spawnSync("chattr", ["-i", path]);
  return true;
}
