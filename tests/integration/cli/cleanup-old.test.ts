import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { chmod, lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { type LocalApp, localApp } from "./local-app.js";

const DAY_S = 24 * 60 * 60;

describe("directories.*.cleanup_old", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("prunes old files on a run with nothing to install too", async () => {
    await app.release(
      "v1",
      `version: "1.0.0"\ndirectories:\n  logs:\n    preserve: true\n    cleanup_old: true\n    keep_days: 30\n`,
    );
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stderr).toBe(0);

    const logs = join(app.appDir, "logs");
    await mkdir(logs, { recursive: true });
    await writeFile(join(logs, "old.log"), "old\n");
    await writeFile(join(logs, "new.log"), "new\n");
    const old = Date.now() / 1000 - 40 * DAY_S;
    await utimes(join(logs, "old.log"), old, old);

    const idle = await runShip(["--config", app.config]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toMatch(/myapp: .*(up to date|unchanged|no change|same)/i);
    expect(existsSync(join(logs, "old.log"))).toBe(false);
    expect(existsSync(join(logs, "new.log"))).toBe(true);
  });

  it("an old file whose name is not UTF-8 is pruned like the others: the update stands, and so does a run with nothing to install", async () => {
    const manifest = (v: string) =>
      `version: "${v}"\ndirectories:\n  logs:\n    preserve: true\n    cleanup_old: true\n    keep_days: 30\n`;
    await app.release("v1", manifest("1.0.0"), { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const logs = join(app.appDir, "logs");
    await mkdir(join(logs, "2020"), { recursive: true });
    const old = Date.now() / 1000 - 40 * DAY_S;
    const latin1 = (name: string) =>
      Buffer.concat([Buffer.from(`${name}caf`), Buffer.from([0xe9]), Buffer.from(".log")]);
    for (const path of [latin1(`${logs}/`), latin1(`${logs}/2020/`), Buffer.from(`${logs}/old.log`)]) {
      writeFileSync(path, "old\n");
      await utimes(path, old, old);
    }
    writeFileSync(latin1(`${logs}/new-`), "new\n");
    await app.release("v2", manifest("2.0.0"), { "app.txt": "two\n" });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("two\n");
    expect(existsSync(latin1(`${logs}/`))).toBe(false);
    expect(existsSync(latin1(`${logs}/2020/`))).toBe(false);
    expect(existsSync(join(logs, "old.log"))).toBe(false);
    expect(existsSync(latin1(`${logs}/new-`))).toBe(true);

    writeFileSync(latin1(`${logs}/`), "old again\n");
    await utimes(latin1(`${logs}/`), old, old);
    const idle = await runShip(["--config", app.config]);
    expect(idle.code, idle.stdout + idle.stderr).toBe(0);
    expect(existsSync(latin1(`${logs}/`))).toBe(false);
  });

  it("never deletes through a symlink: a linked logs directory keeps its old files, a path behind a link stays", async () => {
    // The Capistrano layout: app/logs and app/cache are links to shared places outside the app.
    const shared = join(app.root, "shared");
    await mkdir(join(shared, "logs"), { recursive: true });
    await mkdir(join(shared, "cache/tmp"), { recursive: true });
    await writeFile(join(shared, "logs/old.log"), "old\n");
    await writeFile(join(shared, "cache/tmp/keep.bin"), "shared\n");
    const old = Date.now() / 1000 - 40 * DAY_S;
    await utimes(join(shared, "logs/old.log"), old, old);
    await symlink(join(shared, "logs"), join(app.appDir, "logs"));
    await symlink(join(shared, "cache"), join(app.appDir, "cache"));
    await app.release(
      "v1",
      `version: "1.0.0"\ndirectories:\n  logs:\n    preserve: true\n    cleanup_old: true\n    keep_days: 30\n` +
        `cleanup:\n  remove_directories: ["cache/tmp"]\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(shared, "logs/old.log"))).toBe(true);
    expect(existsSync(join(shared, "cache/tmp/keep.bin"))).toBe(true);
    const warned = run.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; directory?: string })
      .filter((l) => l.level === 40)
      .map((l) => [l.directory, l.msg]);
    expect(warned).toContainEqual([
      "logs",
      expect.stringMatching(/^cleanup_old: not pruning a directory that is a symlink/),
    ]);
    expect(warned).toContainEqual([
      "cache/tmp",
      expect.stringMatching(/not removing a directory behind a symlink/),
    ]);
    // Every later run (nothing to install) leaves it too.
    const idle = await runShip(["--config", app.config]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(existsSync(join(shared, "logs/old.log"))).toBe(true);
  });

  it("a cleanup.remove_directories entry it cannot delete (an immutable file) names that file, why and the fix, never rm's ENOTDIR guess", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const stuck = join(app.appDir, "legacy/stuck");
    await mkdir(join(app.appDir, "legacy"));
    await writeFile(stuck, "x\n");
    if (spawnSync("chattr", ["+i", stuck]).status !== 0) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      return;
    }
    try {
      await app.release("v2", 'version: "2.0.0"\ncleanup:\n  remove_directories: ["legacy"]\n', {
        "app.txt": "two\n",
      });
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout.trim()).toBe(
        `myapp: update failed at cleanup: cannot remove ${stuck}: operation not permitted (EPERM) — it or its directory is probably immutable or append-only (lsattr shows i or a); clear that with chattr -i -a; restored the previous version`,
      );
    } finally {
      spawnSync("chattr", ["-i", stuck]);
    }
  });
});

describe("cleanup.remove_files / remove_directories and rollback", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("what cleanup removed comes back with `ship --rollback`: files, a symlink, directories with their modes", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // What the old version has beside ship's files: modules it still loads, caches.
    await mkdir(join(app.appDir, "legacy_modules/sub"), { recursive: true });
    await writeFile(join(app.appDir, "legacy_modules/sub/mod.py"), "old module\n");
    await chmod(join(app.appDir, "legacy_modules/sub"), 0o750);
    await symlink("sub/mod.py", join(app.appDir, "legacy_modules/link"));
    await writeFile(join(app.appDir, "a.pyc"), "cache\n");
    await app.release(
      "v2",
      'version: "2.0.0"\ncleanup:\n  remove_files: ["*.pyc"]\n  remove_directories: ["legacy_modules"]\n',
      { "app.txt": "two\n" },
    );
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "legacy_modules"))).toBe(false);
    expect(existsSync(join(app.appDir, "a.pyc"))).toBe(false);

    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
      files: number;
      size: number;
    }[];
    // app.txt's old version, and the three entries cleanup set aside (mod.py, link, a.pyc).
    expect(listed.find((b) => b.version === "1.0.0")).toMatchObject({ files: 4 });
    const rollback = await runShip([
      "--config",
      app.config,
      "--rollback",
      listed.find((b) => b.version === "1.0.0")?.id ?? "",
    ]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    expect(await readFile(join(app.appDir, "legacy_modules/sub/mod.py"), "utf8")).toBe("old module\n");
    expect((await lstat(join(app.appDir, "legacy_modules/sub"))).mode & 0o777).toBe(0o750);
    expect(await readlink(join(app.appDir, "legacy_modules/link"))).toBe("sub/mod.py");
    expect(await readFile(join(app.appDir, "a.pyc"), "utf8")).toBe("cache\n");
  });

  it("a FIFO and a socket in a removed directory, backup_dir on another filesystem: deleted, not copied (a FIFO's copy waited for a writer for ever)", async (ctx) => {
    const backups = join(app.root, "var/backups");
    await mkdir(backups, { recursive: true });
    if (!mountTmpfs(backups, "4m")) return ctx.skip();
    const server = createServer();
    try {
      await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await mkdir(join(app.appDir, "run"));
      await writeFile(join(app.appDir, "run/state.txt"), "kept\n");
      expect(spawnSync("mkfifo", [join(app.appDir, "run/events")]).status).toBe(0);
      await new Promise<void>((resolve) => server.listen(join(app.appDir, "run/app.sock"), resolve));
      await app.release("v2", 'version: "2.0.0"\ncleanup:\n  remove_directories: ["run"]\n', {
        "app.txt": "two\n",
      });
      const update = await runShip(["--config", app.config], { timeoutMs: 30_000 });
      expect(update.code, update.stdout + update.stderr).toBe(0);
      expect(existsSync(join(app.appDir, "run"))).toBe(false);
      const listed = JSON.parse(
        (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
      ) as {
        id: string;
        version: string | null;
      }[];
      const back = await runShip([
        "--config",
        app.config,
        "--rollback",
        listed.find((b) => b.version === "1.0.0")?.id ?? "",
      ]);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "run/state.txt"), "utf8")).toBe("kept\n");
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    } finally {
      server.close();
      unmountTmpfs(backups);
    }
  });

  it("an entry whose name is not UTF-8 in a removed directory stays, with the directories holding it, and is named: never deleted without a copy", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await mkdir(join(app.appDir, "legacy_modules/sub"), { recursive: true });
    await writeFile(join(app.appDir, "legacy_modules/mod.py"), "old module\n");
    // A Latin-1 name an old app wrote: no string names it, so the backup's records cannot either.
    const latin1 = Buffer.concat([
      Buffer.from(join(app.appDir, "legacy_modules/sub/caf")),
      Buffer.from([0xe9]),
      Buffer.from(".dat"),
    ]);
    writeFileSync(latin1, "user data\n");
    await app.release("v2", 'version: "2.0.0"\ncleanup:\n  remove_directories: ["legacy_modules"]\n', {
      "app.txt": "two\n",
    });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stderr).toBe(0);
    expect(readFileSync(latin1, "utf8")).toBe("user data\n");
    expect(update.stderr).toContain("cleanup: left entries whose names are not UTF-8");
    expect(update.stderr).toMatch(/legacy_modules\/sub\/caf\\+xe9\.dat/);
    expect(existsSync(join(app.appDir, "legacy_modules/mod.py"))).toBe(false);

    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
    }[];
    const back = await runShip([
      "--config",
      app.config,
      "--rollback",
      listed.find((b) => b.version === "1.0.0")?.id ?? "",
    ]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "legacy_modules/mod.py"), "utf8")).toBe("old module\n");
    expect(readFileSync(latin1, "utf8")).toBe("user data\n");
  });

  it("a remove_files glob matching names that are not UTF-8 (or under a directory so named) names each one it leaves, and counts only what it removed", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "one\n", "lib/x.txt": "x\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // Read as strings, these names matched `*.pyc`, named no file, and were left without a word
    // (and counted as removed); what lay under the Latin-1 directory was never seen.
    const latin1 = (dir: string, tail: string) =>
      Buffer.concat([Buffer.from(join(app.appDir, dir, "caf")), Buffer.from([0xe9]), Buffer.from(tail)]);
    const dir = latin1("", "");
    await mkdir(dir);
    const left = [latin1("", ".pyc"), latin1("lib", ".pyc"), Buffer.concat([dir, Buffer.from("/x.pyc")])];
    for (const path of left) writeFileSync(path, "bytecode\n");
    await writeFile(join(app.appDir, "lib/ok.pyc"), "bytecode\n");
    await app.release("v2", 'version: "2.0.0"\ncleanup:\n  remove_files: ["*.pyc"]\n', {
      "app.txt": "two\n",
      "lib/x.txt": "x\n",
    });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "lib/ok.pyc"))).toBe(false);
    for (const path of left) expect(readFileSync(path, "utf8")).toBe("bytecode\n");
    const warning = update.stderr
      .split("\n")
      .find((l) => l.includes("cleanup: left entries whose names are not UTF-8"));
    expect(warning, update.stderr).toBeDefined();
    for (const shown of [/"caf\\+xe9\.pyc"/, /"lib\/caf\\+xe9\.pyc"/, /"caf\\+xe9\/x\.pyc"/])
      expect(warning).toMatch(shown);
    expect(update.stderr).toContain('"removed":1,"msg":"cleanup removed files"');
  });

  it("a removed directory around a protected one: its entry whose name is not UTF-8 stays and is named", async () => {
    const manifest = (v: string, extra = "") =>
      `version: "${v}"\ndirectories:\n  var/data:\n    preserve: true\n${extra}`;
    await app.release("v1", manifest("1.0.0"), { "app.txt": "one\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await mkdir(join(app.appDir, "var/data"), { recursive: true });
    await writeFile(join(app.appDir, "var/data/db"), "rows\n");
    await writeFile(join(app.appDir, "var/old.tmp"), "old\n");
    const latin1 = Buffer.concat([
      Buffer.from(join(app.appDir, "var/caf")),
      Buffer.from([0xe9]),
      Buffer.from(".tmp"),
    ]);
    writeFileSync(latin1, "tmp\n");
    await app.release("v2", manifest("2.0.0", 'cleanup:\n  remove_directories: ["var"]\n'), {
      "app.txt": "two\n",
    });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "var/old.tmp"))).toBe(false);
    expect(await readFile(join(app.appDir, "var/data/db"), "utf8")).toBe("rows\n");
    expect(readFileSync(latin1, "utf8")).toBe("tmp\n");
    const warning = update.stderr
      .split("\n")
      .find((l) => l.includes("cleanup: left entries whose names are not UTF-8"));
    expect(warning, update.stderr).toMatch(/"var\/caf\\+xe9\.tmp"/);
  });
});
