/**
 * README ("backup_dir/<source>"): what stands at a source's place in backup_dir is judged by one rule
 * for every caller. A symlink to a directory there (an app's backups moved to another disk) is
 * followed: `--list-backups` lists through it, `--rollback ID|PATH` restores through it, an update
 * prunes through it and restores its own backup after a failed health check. Anything else at a
 * configured source's name (a file, a symlink loop, a dangling symlink, a link to a file) and a
 * symlink inside it (`backup_dir/<source>/<id>`) refuse, exit 2, one line naming it, before anything
 * changes: an update too, which made its backup through it after its pre_update hooks had run. At a
 * name no configured source has, such an entry is harmless; a link there to a directory is listed.
 */
import { lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { type CliResult, runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
let backups: string;
/** Where myapp's backups were moved (another disk, in the story). */
let moved: string;
/** The ids of the two backups the build left: of 1.0.0 and of the first install (no version). */
let ids: { v1: string; first: string };

/** A release of `version` keeping 2 backups; with a pre_update hook that leaves a marker file. */
function manifest(version: string, extra = ""): string {
  return `version: "${version}"\nrollback:\n  keep_backups: 2\nhooks:\n  pre_update: ["touch ${app.root}/pre-update-ran"]\n${extra}`;
}

/** myapp on 2.0.0, with two backups (of the first install and of 1.0.0): built once, put back as built before each test. */
builtOnceRestoredEachTest(async () => {
  app = await localApp();
  backups = join(app.root, "var", "backups");
  moved = join(app.root, "disk2", "myapp-backups");
  for (const v of ["1", "2"]) {
    await app.release(`r${v}`, manifest(`${v}.0.0`), { "app.txt": `v${v}\n` });
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stderr).toBe(0);
  }
  await rm(join(app.root, "pre-update-ran"), { force: true });
  // Each test starts from this tree, so from these backups: listed once here, not again in each test.
  const all = await listed();
  expect(all.map((b) => b.version).sort()).toEqual(["1.0.0", null]);
  ids = {
    v1: all.find((b) => b.version === "1.0.0")?.id ?? "",
    first: all.find((b) => b.version === null)?.id ?? "",
  };
  return app.root;
});

/** Moves myapp's backups to `moved` and leaves a symlink in their place. */
async function moveToOtherDisk(): Promise<void> {
  await mkdir(join(app.root, "disk2"));
  await rename(join(backups, "myapp"), moved);
  await symlink(moved, join(backups, "myapp"));
}

async function listed(): Promise<{ id: string; path: string; version: string | null }[]> {
  const run = await runShip(["--config", app.config, "--list-backups", "--json"]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** The backups in `dir` (not the trash, not records). */
async function backupIds(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith("myapp-") && !name.includes("."));
}

describe("a symlink to a directory at backup_dir/<source> is followed by every caller", () => {
  it("--list-backups lists through it, --rollback ID restores through it", async () => {
    await moveToOtherDisk();
    const all = await listed();
    expect(all.map((b) => b.version).sort()).toEqual(["1.0.0", null]);
    const plain = await runShip(["--config", app.config, "--list-backups"]);
    expect(plain.stdout).toContain("1.0.0");
    const v1 = all.find((b) => b.version === "1.0.0");
    const back = await runShip(["--config", app.config, "--rollback", v1?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    // Consumed where it was: on the other disk.
    expect(await backupIds(moved)).toHaveLength(1);
  });

  it("--rollback PATH restores through it: as listed, and where the link leads", async () => {
    await moveToOtherDisk();
    const v1 = (await listed()).find((b) => b.version === "1.0.0");
    expect(v1?.path).toBe(join(backups, "myapp", v1?.id ?? ""));
    const back = await runShip(["--config", app.config, "--rollback", join(moved, v1?.id ?? "")]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("an update (--force) prunes through it to keep_backups", async () => {
    await moveToOtherDisk();
    await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
    expect(await backupIds(moved)).toHaveLength(2);
    expect((await lstat(join(backups, "myapp"))).isSymbolicLink()).toBe(true);
    // The directory it names is closed to the owner, as backup_dir/<source> itself would be.
    expect((await stat(moved)).mode & 0o777).toBe(0o700);
    expect((await listed()).map((b) => b.version).sort()).toEqual(["1.0.0", "2.0.0"]);
  });

  it("an update whose health check fails is restored automatically through it", async () => {
    await moveToOtherDisk();
    await app.release(
      "r3",
      manifest("3.0.0", `post_update_tests:\n  - { name: health, command: "false" }\n`),
      { "app.txt": "v3\n" },
    );
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("restored the previous version");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "2.0.0",
      last_result: "failed_restored",
    });
    expect((await listed()).map((b) => b.version).sort()).toEqual(["1.0.0", null]);
  });
});

/** What may stand at myapp's place that is no directory, and the errno each is named by. */
const NOT_A_PLACE = [
  { kind: "a regular file", code: "ENOTDIR", make: (at: string) => writeFile(at, "not a directory\n") },
  { kind: "a symlink loop", code: "ELOOP", make: (at: string) => symlink(at, at) },
  { kind: "a dangling symlink", code: "ENOENT", make: (at: string) => symlink(join(moved, "gone"), at) },
  {
    kind: "a symlink to a file",
    code: "ENOTDIR",
    make: async (at: string) => {
      await writeFile(join(app.root, "a-file"), "x\n");
      await symlink(join(app.root, "a-file"), at);
    },
  },
] as const;

/**
 * Exit 2, one line naming backup_dir, the place and what is wrong; nothing on stdout. A run that put
 * files back first exits 1 instead (it changed the app: README's exit codes).
 */
function expectRefused(run: CliResult, code: string, at: string, exitCode = 2): void {
  expect(run.code, run.stdout + run.stderr).toBe(exitCode);
  expect(run.stderr).toContain(`backup_dir ${backups} cannot be listed: ${code}: `);
  expect(run.stderr).toContain(`(at ${at})`);
}

describe("anything else at a configured source's place refuses, changing nothing", () => {
  for (const { kind, code, make } of NOT_A_PLACE) {
    it(`${kind}: --list-backups, --rollback ID and an update refuse (${code}, exit 2)`, async () => {
      const id = ids.v1;
      await mkdir(join(app.root, "disk2"));
      await rename(join(backups, "myapp"), moved);
      const place = join(backups, "myapp");
      await make(place);
      const list = await runShip(["--config", app.config, "--list-backups"]);
      expectRefused(list, code, place);
      expect(list.stdout).toBe("");
      expectRefused(await runShip(["--config", app.config, "--rollback", id]), code, place);
      const stateBefore = (await app.state()).sources.myapp;
      await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
      // A check predicts the run: the same refusal.
      expectRefused(await runShip(["--config", app.config, "--check-only"]), code, place);
      const update = await runShip(["--config", app.config, "--force"]);
      expectRefused(update, code, place);
      expect(update.stderr.trim().split("\n")).toHaveLength(1);
      // Refused before anything ran or changed: no hook, the files, the state's record of the app.
      await expect(lstat(join(app.root, "pre-update-ran"))).rejects.toThrow(/ENOENT/);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
      const stateAfter = (await app.state()).sources.myapp;
      expect(stateAfter?.pending_update).toBeUndefined();
      expect(stateAfter?.current_version).toBe(stateBefore?.current_version);
    });
  }

  it("a killed update is still put back by the next run, which then refuses its own update", async () => {
    await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
    const killed = await runShip(["--config", app.config, "--force"], {
      env: { SHIP_FAULT: "apply:file@1" },
    });
    expect(killed.code).toBeNull();
    await rm(join(app.root, "pre-update-ran"));
    // A second source, web, whose place holds a file.
    await writeFile(
      app.config,
      `${await readFile(app.config, "utf8")}\n[sources.web]\ntype = "local"\npath = "${app.root}/r1"\napp_dir = "${app.root}/web"\n`,
    );
    await writeFile(join(backups, "web"), "not a directory\n");
    const next = await runShip(["--config", app.config, "--force", "--sources", "myapp"]);
    expectRefused(next, "ENOTDIR", join(backups, "web"), 1);
    // The line says the recovery came first: files moved, so not "nothing changed" (exit 2).
    expect(next.stdout).toContain(
      "myapp: recovered 2.0.0 after an interrupted update to 3.0.0; then backup_dir ",
    );
    // Recovery is no update: the killed run's files are back, and nothing of a new update ran.
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    await expect(lstat(join(app.root, "pre-update-ran"))).rejects.toThrow(/ENOENT/);
  });

  it("a symlink at backup_dir/<source>/<id> (one backup moved away): every caller refuses, naming it", async () => {
    await mkdir(join(app.root, "disk2"));
    const at = join(backups, "myapp", ids.v1);
    await rename(at, join(app.root, "disk2", ids.v1));
    await symlink(join(app.root, "disk2", ids.v1), at);
    const line = "a symlink where a backup directory should be";
    const list = await runShip(["--config", app.config, "--list-backups"]);
    expect(list.code, list.stderr).toBe(2);
    expect(list.stderr).toContain(`backup_dir ${backups} cannot be listed: ${line}`);
    expect(list.stderr).toContain(`(at ${at})`);
    for (const id of [ids.v1, ids.first]) {
      const back = await runShip(["--config", app.config, "--rollback", id]);
      expect(back.code, back.stderr).toBe(2);
      expect(back.stderr).toContain(`(at ${at})`);
    }
    await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
    const update = await runShip(["--config", app.config, "--force"]);
    expect(update.code, update.stdout + update.stderr).toBe(2);
    expect(update.stderr).toContain(`(at ${at})`);
    await expect(lstat(join(app.root, "pre-update-ran"))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  });
});

describe("at a name no configured source has", () => {
  it("a file, a symlink loop, a dangling link and a link to a file are harmless to an update", async () => {
    await writeFile(join(backups, "NOTES.txt"), "the backups of this host\n");
    await symlink(join(backups, "loop"), join(backups, "loop"));
    await symlink(join(app.root, "nowhere"), join(backups, "dangling"));
    await symlink(join(backups, "NOTES.txt"), join(backups, "notes-link"));
    await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
    expect((await listed()).map((b) => b.version).sort()).toEqual(["1.0.0", "2.0.0"]);
  });

  it("a renamed source's new name linked to its old name's directory: each backup listed once, a chain restores", async () => {
    // [sources.myapp] renamed [sources.web], and `ln -s myapp backups/web` to keep one directory.
    await symlink("myapp", join(backups, "web"));
    await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace("[sources.myapp]", "[sources.web]"),
    );
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // keep_backups 2: the two newest, each once.
    const all = await listed();
    expect(all.map((b) => b.version).sort()).toEqual(["1.0.0", "2.0.0"]);
    expect(new Set(all.map((b) => b.id)).size).toBe(2);
    const v1 = all.find((b) => b.version === "1.0.0");
    const back = await runShip(["--config", app.config, "--rollback", v1?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("a renamed source's backups behind a link at its old name are listed, restored and pruned", async () => {
    await moveToOtherDisk();
    // [sources.myapp] renamed [sources.web], same app_dir: the backups under myapp are web's.
    await app.release("r3", manifest("3.0.0"), { "app.txt": "v3\n" });
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace("[sources.myapp]", "[sources.web]"),
    );
    const run = await runShip(["--config", app.config, "--force"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // keep_backups 2 across both names: web's new backup and myapp's newest behind the link.
    expect(await backupIds(moved)).toHaveLength(1);
    const all = await listed();
    expect(all.map((b) => b.version).sort()).toEqual(["1.0.0", "2.0.0"]);
    const v1 = all.find((b) => b.version === "1.0.0");
    const back = await runShip(["--config", app.config, "--rollback", v1?.id ?? ""]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });
});
