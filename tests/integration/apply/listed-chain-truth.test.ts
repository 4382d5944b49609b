/**
 * `ship --list-backups` says of each backup what `ship --rollback` to it would do. Before:
 * - the backups older than one whose inventory.json was damaged were listed as restorable (text and
 *   --json), and the rollback to any of them was refused: its chain passes through the damaged one;
 * - so were those older than a gap (a backup deleted by hand), refused as "has no backup that undoes";
 * - a truncated inventory.json was listed as restorable, caught only by the rollback's parse.
 * Now the rows say NOT RESTORABLE with the rollback's reason (--json: restorable false, notRestorable),
 * and a truncated inventory is refused by the size rule before anything moves; an inventory that
 * the update's cleanup rewrote is still whole to that rule, and restores.
 */
import { readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

interface Listed {
  id: string;
  path: string;
  version: string | null;
  restorable: boolean;
  notRestorable?: string;
}

async function list(): Promise<{ code: number | null; text: string; stderr: string; json: Listed[] }> {
  const text = await runShip(["--config", app.config, "--list-backups"]);
  const json = await runShip(["--config", app.config, "--list-backups", "--json"]);
  expect(json.code).toBe(text.code);
  return {
    code: text.code,
    text: text.stdout,
    stderr: text.stderr,
    json: JSON.parse(json.stdout) as Listed[],
  };
}

/** The table row of backup `id` and the lines below the table about it. */
function said(text: string, id: string): { row: string; notes: string[] } {
  const lines = text.split("\n");
  return {
    row: lines.find((l) => l.startsWith(`${id} `)) ?? "",
    notes: lines.filter((l) => l.startsWith(`not restorable: ${id}: `)),
  };
}

// Every test starts from 4.0.0 installed over 1.0.0 to 3.0.0, put back as built before each.
builtOnceRestoredEachTest(async () => {
  app = await localApp();
  await installVersions(app, ["1", "2", "3", "4"]);
  return app.root;
});

describe("--list-backups tells which backups --rollback would take (real CLI)", () => {
  it("backups older than one whose inventory.json is damaged are NOT RESTORABLE, as the rollback finds", async () => {
    const [newest, damaged, ...older] = (await list()).json;
    expect(older.map((b) => b.version)).toEqual(["1.0.0", null]);
    await rm(join(String(damaged?.path), "inventory.json"));

    const listed = await list();
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain(`not listed: ${damaged?.path}/inventory.json is damaged`);
    expect(listed.json.map((b) => b.id)).toEqual([newest?.id, ...older.map((b) => b.id)]);
    expect(listed.json[0]).toMatchObject({ id: newest?.id, restorable: true });
    expect(said(listed.text, String(newest?.id)).row).not.toContain("NOT RESTORABLE");
    const before = await snapshot(app.appDir);
    for (const b of older) {
      const entry = listed.json.find((e) => e.id === b.id);
      expect(entry?.restorable).toBe(false);
      expect(entry?.notRestorable).toContain(`must first restore ${damaged?.id}`);
      const { row, notes } = said(listed.text, b.id);
      expect(row).toContain("NOT RESTORABLE");
      expect(notes).toEqual([`not restorable: ${b.id}: ${entry?.notRestorable}`]);
      // And the rollback agrees: refused before anything moves, naming the damaged record.
      const run = await runShip(["--config", app.config, "--rollback", b.id]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(`${damaged?.path}/inventory.json is damaged`);
      expect(await snapshot(app.appDir)).toEqual(before);
    }
    // The one listed as restorable is.
    const undo = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(undo.code, undo.stdout + undo.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
  });

  it("backups older than a gap (a backup deleted by hand) are NOT RESTORABLE in the rollback's own words", async () => {
    const [newest, gone, ...older] = (await list()).json;
    await rm(String(gone?.path), { recursive: true, force: true });

    const listed = await list();
    expect(listed.code).toBe(0);
    expect(listed.json[0]).toMatchObject({ id: newest?.id, restorable: true });
    const before = await snapshot(app.appDir);
    for (const b of older) {
      const entry = listed.json.find((e) => e.id === b.id);
      expect(entry?.restorable).toBe(false);
      expect(said(listed.text, b.id).row).toContain("NOT RESTORABLE");
      const run = await runShip(["--config", app.config, "--rollback", b.id]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr.trim()).toBe(`ship: ${entry?.notRestorable}; nothing was changed`);
      expect(await snapshot(app.appDir)).toEqual(before);
    }
  });

  it("a truncated inventory.json is not listed (the size rule), and the rollback refuses it before anything moves", async () => {
    const [newest, ...older] = (await list()).json;
    const inventory = join(String(newest?.path), "inventory.json");
    await truncate(inventory, 20);

    const listed = await list();
    expect(listed.code).toBe(2);
    expect(listed.json.map((b) => b.id)).not.toContain(newest?.id);
    expect(listed.stderr.trim()).toMatch(
      new RegExp(
        `^not listed: ${inventory} is damaged, it is 20 bytes, but it was \\d+ when the update saved it`,
      ),
    );
    // Every older one passes through it.
    for (const b of older) expect(listed.json.find((e) => e.id === b.id)?.restorable).toBe(false);
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`${inventory} is damaged`);
    expect(await snapshot(app.appDir)).toEqual(before);
  });

  it("an inventory the update's cleanup rewrote is whole: listed as restorable, and it restores", async () => {
    await app.release("r5", `version: "5.0.0"\ncleanup:\n  remove_files: ["junk.log"]\n`, {
      "app.txt": "v5\n",
    });
    await writeFile(join(app.appDir, "junk.log"), "operator's junk\n");
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const listed = await list();
    expect(listed.code, listed.stderr).toBe(0);
    const [newest] = listed.json;
    expect(newest).toMatchObject({ version: "4.0.0", restorable: true });
    const kept = await readdir(join(String(newest?.path), "files"));
    expect(kept).toContain("junk.log");
    const undo = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(undo.code, undo.stdout + undo.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "junk.log"), "utf8")).toBe("operator's junk\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v4\n");
  });

  it("killed between cleanup's inventory rewrite and its meta.json, the next run restores that backup", async () => {
    await app.release("r5", `version: "5.0.0"\ncleanup:\n  remove_files: ["junk.log"]\n`, {
      "app.txt": "v5\n",
    });
    await writeFile(join(app.appDir, "junk.log"), "operator's junk\n");
    const killed = await runShip(["--config", app.config], {
      env: { SHIP_FAULT: "cleanup:inventory-written" },
    });
    expect(killed.code, killed.stdout + killed.stderr).toBeNull();
    // Recovery restores the backup whose inventory cleanup had just rewritten: the size rule takes it.
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout + recovered.stderr).toContain("update to 5.0.0 was interrupted; restored 4.0.0");
    expect(recovered.stdout + recovered.stderr).not.toContain("is damaged");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v4\n");
    expect(await readFile(join(app.appDir, "junk.log"), "utf8")).toBe("operator's junk\n");
  });
});
