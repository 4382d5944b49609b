/**
 * `ship --list-backups` must list as restorable exactly what `ship --rollback` restores. A backup
 * whose saved copy in files/ was replaced by a symlink (or a directory, truncated, edited at its own
 * size, deleted), or whose inventory.json, manifest.json or installed.json was garbled at its own
 * size, was listed as restorable (exit 0, --json restorable true) and the rollback then refused it.
 * Now the listing names it in the rollback's own words (exit 2, not in --json), the older backups
 * its chain passes through are NOT RESTORABLE, and the rollback still refuses with nothing changed.
 * A record or copy only touched (its time moved, its bytes the same) stays restorable.
 */
import { mkdir, readFile, rename, rm, symlink, truncate, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

/** The built history's backups as --list-backups --json lists them, newest first. */
let built: [Listed, ...Listed[]];

// Every test starts from 3.0.0 installed over 1.0.0 and 2.0.0, put back as built before each: the
// same backups (ids, paths) in each test's copy, listed once here, not again before each test.
builtOnceRestoredEachTest(async () => {
  app = await localApp();
  await installVersions(app, ["1", "2", "3"], (v) => ({ "app.txt": `v${v}\n`, "lib/a.txt": `a${v}\n` }));
  const [newest, ...older] = await listed();
  if (newest === undefined) throw new Error("no backup");
  expect([newest, ...older].map((b) => b.restorable)).toEqual([true, true, true]);
  built = [newest, ...older];
  return app.root;
});

interface Listed {
  id: string;
  path: string;
  restorable: boolean;
  notRestorable?: string;
}

async function listed(): Promise<Listed[]> {
  return JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout) as Listed[];
}

/** The same bytes at the same size, but another content: what the size rule cannot see. */
async function garbleKeepingSize(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(path, "utf8");
  expect(text).toContain(from);
  expect(to.length).toBe(from.length);
  await writeFile(path, text.replace(from, to));
}

/** The listing names `newest` as the rollback does, leaves it out of --json, and the rollback refuses. */
async function expectListedAsTheRollbackSays(newest: Listed, older: Listed[]): Promise<void> {
  const before = await snapshot(app.appDir);
  const rollback = await runShip(["--config", app.config, "--rollback", newest.id]);
  expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
  const refusal = String(rollback.stderr.trim().split("\n").at(-1)).replace(/^ship: /, "");
  expect(await snapshot(app.appDir)).toEqual(before);
  const text = await runShip(["--config", app.config, "--list-backups"]);
  expect(text.code, text.stdout + text.stderr).toBe(2);
  expect(text.stderr.trim().split("\n")).toContain(`not listed: ${refusal}`);
  expect(text.stdout.split("\n").map((l) => l.split(" ")[0])).not.toContain(newest.id);
  for (const b of older) {
    const row = text.stdout.split("\n").find((l) => l.startsWith(b.id));
    expect(row).toContain("NOT RESTORABLE");
  }
  const json = await runShip(["--config", app.config, "--list-backups", "--json"]);
  expect(json.code).toBe(2);
  const rows = JSON.parse(json.stdout) as Listed[];
  expect(rows.map((b) => b.id)).toEqual(older.map((b) => b.id));
  for (const b of rows) {
    expect(b.restorable).toBe(false);
    expect(b.notRestorable).toContain(`must first restore ${newest.id}, which cannot be restored`);
  }
  expect(await snapshot(app.appDir)).toEqual(before);
}

describe("--list-backups tells the truth about saved copies and records (real CLI)", () => {
  const copyDamage: [string, (copy: string) => Promise<void>][] = [
    [
      "a symlink",
      async (copy) => {
        await rm(copy);
        await symlink("/etc/hostname", copy);
      },
    ],
    [
      "a directory",
      async (copy) => {
        await rm(copy);
        await mkdir(copy);
      },
    ],
    ["truncated", (copy) => truncate(copy, 0)],
    ["edited at its own size", (copy) => writeFile(copy, "XX\n")],
    ["deleted", (copy) => rm(copy)],
  ];
  for (const [what, damage] of copyDamage) {
    it(`a saved copy ${what}: named as the rollback names it, older backups NOT RESTORABLE`, async () => {
      const [newest, ...older] = built;
      await damage(join(newest.path, "files/app.txt"));
      await expectListedAsTheRollbackSays(newest, older);
    });
  }

  // The rollback renamed the file the link led to into the app: an operator's file outside the app
  // and the backup was gone, and it said "back on 2.0.0", exit 0; the listing called it restorable.
  for (const [what, link] of [
    ["a directory in files/", "files/lib"],
    ["files/ itself", "files"],
  ] as const) {
    it(`a saved copy behind a symlink (${what}): named, refused, the file it leads to untouched`, async () => {
      const [newest, ...older] = built;
      const outside = join(app.root, "shared");
      await rename(join(newest.path, link), outside);
      await symlink(outside, join(newest.path, link));
      const copy = join(outside, link === "files" ? "lib/a.txt" : "a.txt");
      await expectListedAsTheRollbackSays(newest, older);
      const text = await runShip(["--config", app.config, "--list-backups"]);
      expect(text.stderr).toContain(`lies behind ${join(newest.path, link)}, which is a symlink now`);
      expect(await readFile(copy, "utf8")).toBe("a2\n");
      expect(await readFile(join(app.appDir, "lib/a.txt"), "utf8")).toBe("a3\n");
    });
  }

  const recordDamage: [string, string, string][] = [
    ["inventory.json", `"lib/a.txt"`, `"lib/b.txt"`],
    ["manifest.json", `"3.0.0"`, `"4.0.0"`],
    ["installed.json", `"app.txt"`, `"app.txx"`],
  ];
  for (const [file, from, to] of recordDamage) {
    it(`${file} garbled at its own size (still JSON): named, exit 2, the rollback refuses too`, async () => {
      const [newest, ...older] = built;
      await garbleKeepingSize(join(newest.path, file), from, to);
      await expectListedAsTheRollbackSays(newest, older);
      const text = await runShip(["--config", app.config, "--list-backups"]);
      expect(text.stderr).toContain(
        `not listed: ${newest.path}/${file} is damaged, its content is not what the update saved (same size`,
      );
    });
  }

  it("records and copies only touched (same bytes, another time) stay restorable, and restore", async () => {
    const [newest] = built;
    const then = new Date("2020-01-01T00:00:00Z");
    for (const rel of ["inventory.json", "manifest.json", "installed.json", "files/app.txt"])
      await utimes(join(newest.path, rel), then, then);
    const list = await runShip(["--config", app.config, "--list-backups"]);
    expect(list.code, list.stdout + list.stderr).toBe(0);
    expect(list.stdout).not.toContain("NOT RESTORABLE");
    const rollback = await runShip(["--config", app.config, "--rollback", newest.id]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(await readFile(join(app.appDir, "lib/a.txt"), "utf8")).toBe("a2\n");
  });

  // Killed half-way through a --rollback, every backup was listed as restorable (the one the killed
  // restore was taking back among them), and --rollback of any refused until recovery.
  it("after a rollback killed half-way, every backup is NOT RESTORABLE until recovery, in the rollback's words", async () => {
    const [newest] = built;
    const killed = await runShip(["--config", app.config, "--rollback", newest.id], {
      env: { ...process.env, SHIP_FAULT: "restore:file@1" },
    });
    expect(killed.code).toBe(null);
    const rows = await listed();
    expect(rows.length).toBeGreaterThan(0);
    for (const b of rows) {
      expect(b.restorable, b.id).toBe(false);
      expect(b.notRestorable).toBe(
        "a run was killed while changing the app and waits for recovery (its journal.json): run ship --recover first, then roll back",
      );
      const rollback = await runShip(["--config", app.config, "--rollback", b.id]);
      expect(rollback.code).not.toBe(0);
      expect(rollback.stdout + rollback.stderr).toContain(String(b.notRestorable));
    }
    expect((await runShip(["--config", app.config, "--recover"])).code).toBe(0);
    const after = await listed();
    expect(after.map((b) => b.id)).not.toContain(newest.id);
    for (const b of after) expect(b.restorable, b.id).toBe(true);
  });
});
