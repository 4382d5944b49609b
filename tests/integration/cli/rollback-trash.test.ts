/**
 * What `ship --rollback` takes out of the app is freed by the app's next run, not while the operator
 * waits (agent/backup/trash.ts): the rollback starts no `rm`, and a later run — even one that finds
 * nothing to update — empties the trash.
 */
import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { type CliResult, runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("ship --rollback leaves what it took out to the app's next run", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("starts no rm, and a run with nothing to update empties the trash", async () => {
    const v1 = { "app.txt": "one\n", "lib/a.txt": "a1\n" };
    await app.release("v1.0.0", 'version: "1.0.0"\n', v1);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2.0.0", 'version: "2.0.0"\n', {
      "app.txt": "two\n",
      "lib/a.txt": "a2\n",
      "new.txt": "n\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    // An rm first on PATH that leaves a mark if anything runs it.
    const bin = join(app.root, "bin");
    const ran = join(app.root, "rm-ran");
    await mkdir(bin);
    await writeFile(join(bin, "rm"), `#!/bin/sh\necho "$@" >> '${ran}'\nexec /bin/rm "$@"\n`);
    await chmod(join(bin, "rm"), 0o755);
    const rollback = await runShip(["--config", app.config, "--rollback", toV1?.id ?? ""], {
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    expect(await pathExists(join(app.appDir, "new.txt"))).toBe(false);
    const trash = join(app.root, "var/backups/myapp/.trash");
    expect((await readdir(trash, { recursive: true })).length).toBeGreaterThan(0);
    expect(await pathExists(ran)).toBe(false);

    // The source offers 1.0.0 again: nothing to update, and the trash goes all the same.
    await app.release("v1.0.0", 'version: "1.0.0"\n', v1);
    const check = await runShip(["--config", app.config]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    expect(await pathExists(trash)).toBe(false);
  });

  it("the next update empties the trash by an rm child while it reads the release; an rm that fails or is missing costs nothing", async () => {
    const v1 = { "app.txt": "one\n", "lib/a.txt": "a1\n" };
    const v2 = { "app.txt": "two\n", "lib/a.txt": "a2\n", "new.txt": "n\n" };
    const trash = join(app.root, "var/backups/myapp/.trash");
    const bin = join(app.root, "bin");
    const ran = join(app.root, "rm-ran");
    await mkdir(bin);
    await app.release("v1.0.0", 'version: "1.0.0"\n', v1);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2.0.0", 'version: "2.0.0"\n', v2);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    /** `--rollback` to v1 (its newest backup): the trash holds what the rollback took out. */
    const rolledBack = async () => {
      const listed = JSON.parse(
        (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
      ) as { id: string; version: string | null }[];
      const rollback = await runShip([
        "--config",
        app.config,
        "--rollback",
        listed.find((b) => b.version === "1.0.0")?.id ?? "",
      ]);
      expect(rollback.code, rollback.stderr).toBe(0);
      expect((await readdir(trash, { recursive: true })).length).toBeGreaterThan(0);
    };
    const update = async (rm: string | undefined) => {
      if (rm !== undefined) await writeFile(join(bin, "rm"), rm, { mode: 0o755 });
      const run = await runShip(["--config", app.config], {
        env: { PATH: rm === undefined ? bin : `${bin}:${process.env.PATH}` },
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stderr).not.toContain("trash");
      expect(await readFile(join(app.appDir, "new.txt"), "utf8")).toBe("n\n");
      expect(await pathExists(trash)).toBe(false);
    };

    await rolledBack();
    await update(`#!/bin/sh\necho "$@" >> '${ran}'\nexec /bin/rm "$@"\n`);
    expect(await readFile(ran, "utf8")).toBe(`-rf -- ${trash}\n`);

    // An rm that deletes nothing and fails: the run empties the trash itself, without a word.
    await rolledBack();
    await update("#!/bin/sh\nexit 1\n");

    // No rm at all (PATH holds nothing of it): the same.
    await rolledBack();
    await rm(join(bin, "rm"));
    await update(undefined);
  });

  it("keeps no second name of the reinstated install index in the trash: emptying it leaves the index's stat as the rollback left it", async () => {
    await app.release("v1.0.0", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2.0.0", 'version: "2.0.0"\n', { "app.txt": "two\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as { id: string; version: string | null }[];
    const rollback = await runShip([
      "--config",
      app.config,
      "--rollback",
      listed.find((b) => b.version === "1.0.0")?.id ?? "",
    ]);
    expect(rollback.code, rollback.stderr).toBe(0);
    const [stateDir] = await readdir(join(app.root, "var/apps"));
    const index = join(app.root, "var/apps", stateDir ?? "none", "install-index.json");
    const restored = await stat(index);
    // The trash's copy was a hard link: unlinked by the next run's emptying, it moved the live
    // index's ctime then, and that run distrusted the index's stamp (racy) and read it whole again
    // at every use (install-index.ts).
    expect(restored.nlink).toBe(1);
    await app.release("v1.0.0", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await pathExists(join(app.root, "var/backups/myapp/.trash"))).toBe(false);
    const after = await stat(index);
    expect([after.ino, after.ctimeMs, after.nlink]).toEqual([restored.ino, restored.ctimeMs, 1]);
  });
});

describe("a trash entry ship cannot remove is one warning line naming it, why, and what to do", () => {
  let app: LocalApp;
  const asRoot = process.getuid?.() === 0;
  const NOBODY = 65534;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    spawnSync("chattr", ["-R", "-i", join(app.root, "var")]);
    await app.cleanup();
  });

  /** v1, v2, then `--rollback` to v1: the trash holds what the rollback took out. Returns the trash. */
  async function rolledBack(run: (args: string[]) => Promise<CliResult>): Promise<string> {
    await app.release("v1.0.0", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await run(["--config", app.config])).code).toBe(0);
    await app.release("v2.0.0", 'version: "2.0.0"\n', { "app.txt": "two\n", "new.txt": "n\n" });
    expect((await run(["--config", app.config])).code).toBe(0);
    const listed = JSON.parse((await run(["--config", app.config, "--list-backups", "--json"])).stdout) as {
      id: string;
      version: string | null;
    }[];
    const rollback = await run(["--config", app.config, "--rollback", listed[0]?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    return join(app.root, "var/backups/myapp/.trash");
  }

  const warnings = (run: CliResult) =>
    run.stderr
      .split("\n")
      .filter((l) => l.includes("trash"))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);

  it("an immutable file (chattr +i): the warning names it and says to clear the flag; the next run empties the trash", async () => {
    const trash = await rolledBack((args) => runShip(args));
    const [kept] = (await readdir(trash, { recursive: true })).filter((p) => p.endsWith("app.txt"));
    const stuck = join(trash, kept ?? "");
    if (spawnSync("chattr", ["+i", stuck]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      return;
    }
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    const [first] = warnings(run);
    // Node's own error says "ENOTDIR … scandir" about this regular file: never shown.
    expect(run.stderr).not.toMatch(/ENOTDIR|scandir/);
    expect(first).toBe(
      `could not empty the app's trash of restored backups: cannot remove ${stuck}: operation not permitted (EPERM) — it or its directory is probably immutable or append-only (lsattr shows i or a); clear that with chattr -i -a; ship tries again on the app's next run`,
    );
    spawnSync("chattr", ["-i", stuck]);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    expect(await pathExists(trash)).toBe(false);
  });

  it.runIf(asRoot)(
    "as a service user: a directory of its own it cannot enter is opened and removed; one of root's is named with what to do",
    async () => {
      await chown(app.root, NOBODY, NOBODY);
      await chown(app.appDir, NOBODY, NOBODY);
      const asNobody = (args: string[]) => runShip(args, { user: { uid: NOBODY, gid: NOBODY } });
      const trash = await rolledBack(asNobody);
      // A directory of nobody's own, mode 000 (a hook's chmod, say), holding a file.
      const closed = join(trash, "closed");
      await mkdir(closed);
      await writeFile(join(closed, "f"), "x");
      await chown(join(closed, "f"), NOBODY, NOBODY);
      await chown(closed, NOBODY, NOBODY);
      await chmod(closed, 0);
      // One of root's, where nobody may not delete.
      const roots = join(trash, "roots");
      await mkdir(roots, { mode: 0o755 });
      await writeFile(join(roots, "f"), "x");
      const run = await asNobody(["--config", app.config]);
      expect(run.code, run.stderr).toBe(0);
      expect(warnings(run)[0]).toBe(
        `could not empty the app's trash of restored backups: cannot remove ${join(roots, "f")}: permission denied (EACCES) — ship's user lacks permission on it or its directory; give that user read, write and search permission there (chmod u+rwx), or delete it as root; ship tries again on the app's next run`,
      );
      expect(await pathExists(closed)).toBe(false);
      expect(await readdir(trash)).toEqual(["roots"]);
    },
  );

  it("the undone release's copy that will not go after the rollback hooks ran is a warning naming it, the rollback done", async () => {
    await app.release("v1.0.0", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // A rollback hook that leaves an immutable file in the release copy it ran in.
    const hook = 'touch \\"$SHIP_RELEASE_DIR/stuck\\" && chattr +i \\"$SHIP_RELEASE_DIR/stuck\\"';
    await app.release("v2.0.0", `version: "2.0.0"\nhooks:\n  rollback:\n    - "${hook}"\n`, {
      "app.txt": "two\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
    }[];
    const rollback = await runShip(["--config", app.config, "--rollback", listed[0]?.id ?? ""]);
    // The copy lives in the app's state directory, named after the app directory.
    const [copy] = (await readdir(join(app.root, "var"), { recursive: true })).filter((p) =>
      p.endsWith("release-being-undone/stuck"),
    );
    const stuck = join(app.root, "var", copy ?? "none");
    try {
      if (copy === undefined) {
        console.warn("SKIPPING: the hook could not make its file (no chattr here?)", rollback.stderr);
        return;
      }
      expect(rollback.code, rollback.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
      expect(rollback.stderr).toContain(
        `could not remove the undone release's copy: cannot remove ${stuck}: operation not permitted (EPERM)`,
      );
    } finally {
      spawnSync("chattr", ["-i", stuck]);
    }
  });
});
