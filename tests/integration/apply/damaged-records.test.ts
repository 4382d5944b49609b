/**
 * ship's own records damaged (a write cut short on a failing disk, a hand edit), met by real `ship`
 * runs. A truncated install index made every command say only "myapp: Unterminated string in JSON
 * at position 100" — no file named — with exit 1 for a run ("the update failed and the app is back"),
 * "internal error" for `--rollback` and exit 3 ("needs a person") for `--recover`. Now each is one
 * line naming the file, what it is and the way out, exit 2, and nothing on disk changes.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

const execFileAsync = promisify(execFile);

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
  await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n", "lib/a.txt": "a1\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await app.release("r2", `version: "2.0.0"\n`, { "app.txt": "v2\n", "lib/a.txt": "a2\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
});
afterEach(async () => {
  await app.cleanup();
});

async function indexFile(): Promise<string> {
  const apps = join(app.root, "var/apps");
  const [dir] = await readdir(apps);
  return join(apps, String(dir), "install-index.json");
}

async function newestBackup(): Promise<{ id: string; path: string }> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(list.stdout) as { id: string; path: string }[];
  if (newest === undefined) throw new Error(`no backup listed: ${list.stdout}${list.stderr}`);
  return newest;
}

describe("a damaged install index or backup record (real CLI)", () => {
  it("every command names the install index, exits 2 and changes nothing; deleting it lets the next run install", async () => {
    const { id } = await newestBackup();
    const index = await indexFile();
    await truncate(index, 100);
    const before = await snapshot(app.appDir);
    const line = `${index} is damaged, it is not valid JSON`;
    for (const args of [[], ["--force"], ["--check-only"], ["--rollback", id], ["--recover"]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
      expect(run.stdout + run.stderr).toContain(line);
      expect(run.stdout + run.stderr).toContain("ship's record of what it installed in the app; delete it");
      expect(run.stderr).not.toContain("internal error");
      expect(await snapshot(app.appDir)).toEqual(before);
    }
    await rm(index);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("2.0.0");
  });

  it("a damaged journal is exit 3 naming it (ship cannot tell how far the killed run got), never a bare parse error", async () => {
    const { id } = await newestBackup();
    const journal = join(await indexFile(), "../journal.json");
    await writeFile(journal, `{"kind":"update",`);
    const before = await snapshot(app.appDir);
    for (const args of [[], ["--recover"], ["--rollback", id]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(3);
      expect(run.stdout + run.stderr).toContain(`${journal} is damaged, it is not valid JSON`);
      expect(run.stdout + run.stderr).toContain("the app may be partly updated");
      expect(await snapshot(app.appDir)).toEqual(before);
    }
  });

  it("--rollback ID of a backup whose meta.json is damaged names it, not 'holds no backup with id'", async () => {
    const { id, path } = await newestBackup();
    await writeFile(join(path, "meta.json"), `{"id":`);
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path}/meta.json is damaged, it is not valid JSON (Unexpected end of JSON input): this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory`,
    );
    await rm(join(path, "meta.json"));
    const gone = await runShip(["--config", app.config, "--rollback", id]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`${path} is not a complete ship backup: no readable meta.json`);
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("a chained --rollback whose older backup is damaged changes nothing (it restored the newer one first)", async () => {
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(list.stdout) as { id: string; path: string }[];
    const oldest = backups.at(-1);
    expect(backups).toHaveLength(2);
    await writeFile(join(String(oldest?.path), "inventory.json"), `{"changed":`);
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", String(oldest?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`${oldest?.path}/inventory.json is damaged`);
    expect(await snapshot(app.appDir)).toEqual(before);
    expect((await app.state()).sources.myapp?.current_version).toBe("2.0.0");
  });

  it("a damaged rollback.json (a rollback across backups a kill interrupted) is exit 3 naming it and what to do", async () => {
    // It was "myapp: …/rollback.json: not a rollback record (… received undefined)", exit 1 for a
    // run ("the update failed and the app is back on its previous version"), with no way out named.
    const { id } = await newestBackup();
    const record = join(await indexFile(), "../rollback.json");
    await writeFile(record, `{"app":"myapp",`);
    const before = await snapshot(app.appDir);
    for (const args of [[], ["--recover"]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(3);
      expect(run.stdout + run.stderr).toContain(`${record} is damaged, it is not valid JSON`);
      expect(run.stdout + run.stderr).toContain("delete the file, then run that rollback again");
      expect(await snapshot(app.appDir)).toEqual(before);
    }
    await rm(record);
    const rollback = await runShip(["--config", app.config, "--rollback", id]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await runShip(["--config", app.config, "--recover"])).code).toBe(0);
  });

  it("--rollback of a backup whose inventory.json is damaged names it, exit 2, the app untouched", async () => {
    const { id, path } = await newestBackup();
    await writeFile(join(path, "inventory.json"), `{"changed": 3}`);
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path}/inventory.json is damaged, changed: Invalid input: expected array, received number: this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  // Deleted, it was "ship: cannot open …/inventory.json: no such file or directory (ENOENT)", exit 1.
  it("--rollback of a backup whose inventory.json was deleted names it, exit 2, the app untouched", async () => {
    const { id, path } = await newestBackup();
    await rm(join(path, "inventory.json"));
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path}/inventory.json is damaged, it is missing (deleted by hand?): this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  // It restored the empty file and said "back on 1.0.0"; an edit keeping the size ("XX\n" for the
  // saved "v1\n") was restored as silently, only sizes were recorded.
  it("--rollback of a backup whose saved copy was truncated or edited by hand names the copy, exit 2, the app untouched", async () => {
    const { id, path } = await newestBackup();
    const before = await snapshot(app.appDir);
    await writeFile(join(path, "files/app.txt"), "XX\n");
    const edited = await runShip(["--config", app.config, "--rollback", id]);
    expect(edited.code, edited.stdout + edited.stderr).toBe(2);
    expect(edited.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path} is damaged, its saved copy of app.txt is not the content the update saved (same size, 3 bytes, but another sha256) (edited by hand since): the restore would put that copy into the app as it is now; if that is what you want, delete ${path}/saved.json and run it again; nothing was changed`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
    await truncate(join(path, "files/app.txt"), 0);
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path} is damaged, its saved copy of app.txt is 0 bytes, but it was 3 when the update saved it (truncated or edited by hand since): the restore would put that copy into the app as it is now; if that is what you want, delete ${path}/saved.json and run it again; nothing was changed`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
    // The saved bytes written back (its time moved, as in a backup copied without -p) restore.
    await writeFile(join(path, "files/app.txt"), "v1\n");
    const anyway = await runShip(["--config", app.config, "--rollback", id]);
    expect(anyway.code, anyway.stdout + anyway.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(join(app.appDir, "lib/a.txt"), "utf8")).toBe("a1\n");
  });

  // An edit that kept the size and the modification time too (`touch -r` after it, as `cp -p`, a
  // tool restoring mtimes or bit rot leave it) was accepted by both, and went into the app, exit 0.
  it("an edit of a saved copy that keeps its size and mtime is refused by --rollback and --list-backups, nothing moved", async () => {
    const { id, path } = await newestBackup();
    const copy = join(path, "files/app.txt");
    const times = join(app.root, "times-of-the-copy");
    await writeFile(times, "");
    await execFileAsync("touch", ["-r", copy, times]);
    const saved = await stat(copy, { bigint: true });
    await writeFile(copy, "XX\n");
    await execFileAsync("touch", ["-r", times, copy]);
    const edited = await stat(copy, { bigint: true });
    expect([edited.size, edited.mtimeNs]).toEqual([saved.size, saved.mtimeNs]);
    const before = await snapshot(app.appDir);
    const files = await snapshot(path);

    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path} is damaged, its saved copy of app.txt is not the content the update saved (same size, 3 bytes, but another sha256) (edited by hand since): the restore would put that copy into the app as it is now; if that is what you want, delete ${path}/saved.json and run it again; nothing was changed`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
    expect(await snapshot(path)).toEqual(files);

    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(list.code, list.stdout + list.stderr).toBe(2);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((b) => b.id)).not.toContain(id);
    expect(list.stderr).toContain(
      `not listed: ${path} is damaged, its saved copy of app.txt is not the content`,
    );
  });

  // The backup's own records had the same hole: judged by their sha256 only when their mtime moved.
  it.each(["inventory.json", "manifest.json", "installed.json"])(
    "an edit of its %s that keeps its size and mtime is refused by --rollback and --list-backups",
    async (name) => {
      const { id, path } = await newestBackup();
      const record = join(path, name);
      // Nothing ship did since writing it moved its ctime: the rollback has no cause to read it.
      const meta = JSON.parse(await readFile(join(path, "meta.json"), "utf8")) as {
        recordSums: Record<string, { mtimeNs: string; ctimeNs: string; ino: string }>;
      };
      const now = await stat(record, { bigint: true });
      const sum = meta.recordSums[name];
      expect([String(now.mtimeNs), String(now.ctimeNs), String(now.ino)]).toEqual([
        sum?.mtimeNs,
        sum?.ctimeNs,
        sum?.ino,
      ]);
      const times = join(app.root, "times-of-the-record");
      await writeFile(times, "");
      await execFileAsync("touch", ["-r", record, times]);
      const text = await readFile(record, "utf8");
      // Its last digit changed: same size, another content, still JSON of the same shape.
      await writeFile(
        record,
        text.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10)),
      );
      await execFileAsync("touch", ["-r", times, record]);
      const edited = await stat(record, { bigint: true });
      expect([edited.size, edited.mtimeNs]).toEqual([now.size, now.mtimeNs]);
      const before = await snapshot(app.appDir);

      const run = await runShip(["--config", app.config, "--rollback", id]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr.trim().split("\n").at(-1)).toContain(
        `ship: ${record} is damaged, its content is not what the update saved (same size,`,
      );
      expect(await snapshot(app.appDir)).toEqual(before);
      const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
      expect(list.code, list.stdout + list.stderr).toBe(2);
      expect((JSON.parse(list.stdout) as { id: string }[]).map((b) => b.id)).not.toContain(id);
      expect(list.stderr).toContain(
        `not listed: ${record} is damaged, its content is not what the update saved`,
      );
    },
  );

  // Copied away and back with its times kept (`cp -a`): every copy has a new inode and ctime, which
  // costs a hash of each, not a refusal.
  it("a backup copied with its times kept but new inodes still restores", async () => {
    const { id, path } = await newestBackup();
    const moved = `${path}.moved`;
    await execFileAsync("cp", ["-a", path, moved]);
    await rm(path, { recursive: true });
    await execFileAsync("cp", ["-a", moved, path]);
    await rm(moved, { recursive: true });
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(join(app.appDir, "lib/a.txt"), "utf8")).toBe("a1\n");
  });

  // It stopped half-way: "RESTORE STOPPED HALF-WAY — … (ENOTDIR)", exit 3, the app partly restored.
  it("--rollback of a backup whose saved copy was made a directory names it, exit 2, the app untouched", async () => {
    const { id, path } = await newestBackup();
    await rm(join(path, "files/app.txt"));
    await mkdir(join(path, "files/app.txt"));
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ship: ${path} is damaged, its saved copy of app.txt is a directory now, but it was a file of 3 bytes when the update saved it: the restore cannot put back the file it saved; put that file back, or move the backup out of the backup directory; nothing was changed`,
    );
    expect(await snapshot(app.appDir)).toEqual(before);
  });
});

/**
 * `--rollback` of a backup whose installed.json (what the undone update installed, which a
 * restore checks the app's files against) is damaged: the refusal is right (exit 2, naming it,
 * "move it out of the backup directory") but it is said after the restore's journal.json was
 * written, and the journal stays. Unlike a damaged meta.json, manifest.json or inventory.json,
 * "nothing changed" is not true: every later run (the timer's `ship`, `--check-only`) finds the
 * journal, tries to finish the restore and fails exit 2 on the same file, so the app takes no
 * update until the operator moves the backup away.
 */
/** The app's state directory's files (journal.json while a restore is under way). */
async function stateFiles(): Promise<string[]> {
  const apps = join(app.root, "var/apps");
  const [dir] = await readdir(apps);
  return (await readdir(join(apps, String(dir)))).sort();
}

describe("--rollback of a backup whose installed.json is damaged (real CLI)", () => {
  it("refused, exit 2, nothing left behind: the next run is up to date", async () => {
    const newest = await newestBackup();
    const installed = join(newest.path, "installed.json");
    const text = await readFile(installed, "utf8");
    await writeFile(installed, text.slice(0, Math.floor(text.length / 2)));
    const before = await snapshot(app.appDir);
    const filesBefore = await stateFiles();

    const run = await runShip(["--config", app.config, "--rollback", newest.id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`${installed} is damaged`);
    expect(await snapshot(app.appDir)).toEqual(before);
    expect(await stateFiles()).toEqual(filesBefore);

    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toContain("up to date (2.0.0)");
  });
});
