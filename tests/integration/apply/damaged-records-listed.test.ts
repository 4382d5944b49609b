/**
 * `ship --list-backups` with a backup whose records beside meta.json (index.json, inventory.json,
 * manifest.json, installed.json) were deleted or truncated. Before: listed as restorable, exit 0,
 * and the `--rollback` the operator then ran on it was refused. Now the listing and the rollback
 * judge it by one rule: not listed, named on stderr with the rollback's own words, exit 2; the
 * other backups are still listed.
 */
import { existsSync } from "node:fs";
import { link, mkdir, readdir, readFile, rename, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { type CliResult, runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

const READ_TRACE = fileURLToPath(new URL("../../support/file-read-trace.cjs", import.meta.url));

let app: LocalApp;
let listed: { id: string; path: string }[];

// Every test starts from 3.0.0 installed over 1.0.0 and 2.0.0 (three backups), put back as built
// before each; the backups' ids and paths are the same in each test's copy.
builtOnceRestoredEachTest(async () => {
  app = await localApp();
  for (const v of ["1", "2", "3"]) {
    const manifest = `version: "${v}.0.0"\nhooks:\n  rollback: ["true"]\n`;
    await app.release(`r${v}`, manifest, { "app.txt": `v${v}\n`, [`only-${v}.txt`]: `${v}\n` });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
  }
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  expect(list.code, list.stderr).toBe(0);
  listed = JSON.parse(list.stdout) as { id: string; path: string }[];
  expect(listed).toHaveLength(3);
  return app.root;
});

const damages = [
  { file: "index.json", what: "deleted", damage: (f: string) => rm(f) },
  { file: "index.json", what: "truncated", damage: (f: string) => truncate(f, 5) },
  { file: "inventory.json", what: "deleted", damage: (f: string) => rm(f) },
  { file: "inventory.json", what: "replaced by a directory", damage: dirInstead },
  { file: "manifest.json", what: "truncated", damage: (f: string) => truncate(f, 15) },
  { file: "manifest.json", what: "replaced by a directory", damage: dirInstead },
  { file: "installed.json", what: "truncated", damage: (f: string) => truncate(f, 1) },
  { file: "installed.json", what: "replaced by a directory", damage: dirInstead },
] as const;

/** `ship --list-backups` (or with --json) and the ids it lists (the text's header row as "ID"). */
async function listing(json: boolean): Promise<{ run: CliResult; ids: (string | undefined)[] }> {
  const run = await runShip(["--config", app.config, "--list-backups", ...(json ? ["--json"] : [])]);
  const ids = json
    ? (JSON.parse(run.stdout) as { id: string }[]).map((b) => b.id)
    : run.stdout.split("\n").map((l) => l.split(" ")[0]);
  return { run, ids };
}

/** A directory where the record was: `--rollback` said "internal error: EISDIR", exit 1. */
async function dirInstead(file: string): Promise<void> {
  await rm(file);
  await mkdir(file);
}

describe("--list-backups says what --rollback would refuse (real CLI)", () => {
  it.each(damages)("$file $what: not listed, named as the rollback names it, exit 2", async (d) => {
    // The newest backup (it restores 2.0.0): the one an operator undoing the last update picks.
    const [newest, ...older] = listed;
    const path = String(newest?.path);
    await d.damage(join(path, d.file));

    const rollback = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
    const refusal = (rollback.stderr.trim().split("\n").at(-1) ?? "").replace(/^ship: /, "");
    expect(refusal).toContain(path);
    expect(refusal).toContain(d.file);

    for (const json of [false, true]) {
      const { run, ids } = await listing(json);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(ids).not.toContain(newest?.id);
      for (const b of older) expect(ids).toContain(b.id);
      if (!json) expect(ids[0]).toBe("ID");
      // The rollback's own words. A truncated manifest.json or installed.json only differs in the
      // why: the rollback parses it (and says what the parse found), the listing only stats it.
      if (d.what === "truncated" && (d.file === "manifest.json" || d.file === "installed.json"))
        expect(run.stderr.trim()).toMatch(
          new RegExp(`^not listed: ${path}/${d.file} is damaged, it is \\d+ bytes, but it was \\d+ when`),
        );
      else expect(run.stderr.trim()).toBe(`not listed: ${refusal}`);
    }
  });
});

/**
 * A backup's saved.json (the sizes and hashes of the copies it saved, which `--rollback` checks
 * before anything moves) that is no longer a file: made a directory, or a link to one, by a hand
 * edit or a copy gone wrong. The README says a damaged saved.json is refused naming it (exit 2,
 * nothing changed; "move it aside"), and that `--list-backups` and `--rollback` judge a backup's
 * records by one rule. Met by real `ship` runs:
 * - `--rollback` said "ship: internal error: EISDIR: illegal operation on a directory, read",
 *   exit 1, naming no file, and wrote last_result failed_unchanged with that errno over the last
 *   update's result (the hub then shows the agent failed), and left the restore's scratch
 *   (release-being-undone.layers, links to the app's files) in the app's state directory;
 * - `--list-backups` listed that backup as restorable, exit 0.
 * And a rollback refused as bad input (a saved copy missing, index.json deleted, installed.json
 * truncated: exit 2, "nothing was changed", right for the app) still leaves that scratch directory
 * behind when the undone release has rollback hooks; no later run removes it.
 */

/** The newest backup (it restores 2.0.0): the one an operator undoing the last update picks. */
function newest(): { id: string; path: string } {
  const [first] = listed;
  if (first === undefined) throw new Error("no backup listed");
  return first;
}

/** Every path under the app's state directory (where a restore keeps its journal and scratch). */
async function stateTree(): Promise<string[]> {
  const apps = join(app.root, "var/apps");
  const [dir] = await readdir(apps);
  return (await readdir(join(apps, String(dir)), { recursive: true })).sort();
}

const notAFile = [
  { what: "a directory", damage: dirInstead },
  {
    what: "a link to a directory",
    damage: async (f: string) => {
      await rm(f);
      await symlink("/etc", f);
    },
  },
  {
    // Readable through the link, but not the record the update wrote: the one rule (an lstat per
    // record) refuses it as it refuses any other record made a link.
    what: "a link to a file",
    damage: async (f: string) => {
      await rename(f, `${f}.moved`);
      await symlink(`${f}.moved`, f);
    },
  },
] as const;

describe("a backup whose saved.json is not a file (real CLI)", () => {
  it.each(notAFile)("saved.json made $what: --rollback is exit 2 naming it, nothing changed", async (d) => {
    const { id, path } = newest();
    const saved = join(path, "saved.json");
    await d.damage(saved);
    const before = await snapshot(app.appDir);
    const files = await stateTree();

    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    const last = run.stderr.trim().split("\n").at(-1) ?? "";
    expect(last).toContain(saved);
    expect(last).not.toContain("internal error");
    expect(last).not.toContain("EISDIR");
    expect(await snapshot(app.appDir)).toEqual(before);
    expect(await stateTree()).toEqual(files);
    const state = (await app.state()).sources.myapp;
    expect(state?.last_result).toBe("updated");
    expect(state?.last_error).toBeNull();
  });

  it.each(notAFile)(
    "saved.json made $what: --list-backups does not list it as restorable, exit 2",
    async (d) => {
      const { id, path } = newest();
      await d.damage(join(path, "saved.json"));
      for (const json of [false, true]) {
        const { run, ids } = await listing(json);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        expect(ids).not.toContain(id);
        // The two others (and the header, and the last newline), each marked: a rollback to an older
        // one passes through the damaged backup, and is refused as it is.
        expect(ids.filter((i) => i !== "not")).toHaveLength(json ? 2 : 4);
        const older = `must first restore ${id}, which cannot be restored`;
        if (json)
          for (const b of JSON.parse(run.stdout) as { restorable: boolean; notRestorable?: string }[]) {
            expect(b.restorable).toBe(false);
            expect(b.notRestorable).toContain(older);
          }
        else
          expect(
            run.stdout.split("\n").filter((l) => l.startsWith("not restorable: ") && l.includes(older)),
          ).toHaveLength(2);
        expect(run.stderr).toContain(`${path}/saved.json`);
      }
    },
  );
});

describe("a rollback across a backup whose saved.json is not a file (real CLI)", () => {
  // The older backups of a chain are checked before the first restore: a saved.json made a
  // directory there was read by that check unjudged, "internal error: EISDIR", exit 1.
  it.each(notAFile)(
    "the middle backup's saved.json made $what: exit 2 naming it, nothing changed",
    async (d) => {
      const [, middle, oldest] = listed;
      const saved = join(String(middle?.path), "saved.json");
      await d.damage(saved);
      const before = await snapshot(app.appDir);
      const files = await stateTree();

      const run = await runShip(["--config", app.config, "--rollback", String(oldest?.id)]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      const last = run.stderr.trim().split("\n").at(-1) ?? "";
      expect(last).toContain(`${saved} is damaged, it is not a file`);
      expect(await snapshot(app.appDir)).toEqual(before);
      expect(await stateTree()).toEqual(files);
      const state = (await app.state()).sources.myapp;
      expect(state?.last_result).toBe("updated");
      expect(state?.current_version).toBe("3.0.0");
    },
  );
});

/**
 * Each refusal of a damaged backup the release being undone has rollback hooks for: exit 2 and
 * "nothing was changed" (right for the app), but the hooks' scratch stays in the state directory.
 */
const refusals = [
  {
    what: "a saved copy deleted",
    said: "its saved copy of app.txt is missing",
    damage: (b: string) => rm(join(b, "files/app.txt")),
  },
  {
    what: "index.json deleted",
    said: "(index.json) is missing",
    damage: (b: string) => rm(join(b, "index.json")),
  },
  {
    what: "installed.json truncated",
    said: "installed.json is damaged",
    damage: (b: string) => truncate(join(b, "installed.json"), 7),
  },
] as const;

describe("a --rollback refused for a damaged backup whose undone release has rollback hooks (real CLI)", () => {
  it.each(refusals)(
    "$what: the app's state directory is left as it was (no restore scratch with links to the app's files)",
    async (d) => {
      const { id, path } = newest();
      await d.damage(path);
      const before = await snapshot(app.appDir);
      const files = await stateTree();

      const run = await runShip(["--config", app.config, "--rollback", id]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(d.said);
      expect(await snapshot(app.appDir)).toEqual(before);
      expect(await stateTree()).toEqual(files);
    },
  );
});

/**
 * The scratch a refused rollback left before it was removed on refusal (a ship of before this
 * change, or a run killed between the links and the restore's refusal): nothing ever removed it,
 * links to the app's files kept in the state directory for good. The next run sweeps it.
 */
describe("a restore scratch left in the state directory (real CLI)", () => {
  it("the next run removes it and leaves the app's files (its link targets) as they are", async () => {
    const apps = join(app.root, "var/apps");
    const [dir] = await readdir(apps);
    const stateDir = join(apps, String(dir));
    const kept = join(stateDir, "release-being-undone.layers/kept");
    await mkdir(kept, { recursive: true });
    await link(join(app.appDir, "app.txt"), join(kept, "app.txt"));
    await mkdir(join(stateDir, "release-being-undone"));
    const before = await snapshot(app.appDir);

    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect((await stateTree()).filter((p) => p.startsWith("release-being-undone"))).toEqual([]);
    expect(await snapshot(app.appDir)).toEqual(before);
  });
});

/**
 * installed.json deleted is no damage (the README said the listing names it): both leave it be, and
 * the rollback checks the paths against the whole install index, as for a backup made before it was
 * kept.
 */
describe("a backup whose installed.json was deleted (real CLI)", () => {
  it("is listed as restorable, and --rollback restores it", async () => {
    const { id, path } = newest();
    await rm(join(path, "installed.json"));
    for (const json of [false, true]) {
      const { run, ids } = await listing(json);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(ids).toContain(id);
      expect(run.stderr).toBe("");
    }
    const run = await runShip(["--config", app.config, "--rollback", id]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // 2.0.0's files, as a rollback with the record does: 3.0.0's only-3.txt deleted, app.txt back.
    expect((await readdir(app.appDir)).sort()).toEqual(["app.txt", "only-2.txt"]);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("2.0.0");
  });
});

/**
 * saved.json's entries are checked by a loop, no longer by a zod record walked twice per backup
 * (most of what judging the copies added to `--list-backups`, issue 11): an entry of another shape
 * is still damage, named with the entry, by both commands, and nothing moves.
 */
const malformed = [
  { what: "an entry that is a string", text: '{"app.txt":"3"}', said: "its entry for app.txt is malformed" },
  {
    what: "an entry without its sha256",
    text: '{"app.txt":{"size":3,"mtimeNs":"1"}}',
    said: "its entry for app.txt is malformed",
  },
  { what: "an array", text: "[3]", said: "must be an object" },
  { what: "no JSON", text: '{"app.txt":', said: "it is not valid JSON" },
] as const;

describe("a backup whose saved.json holds what ship does not write (real CLI)", () => {
  it.each(malformed)(
    "$what: --rollback and --list-backups refuse it naming saved.json, exit 2",
    async (d) => {
      const { id, path } = newest();
      const saved = join(path, "saved.json");
      await writeFile(saved, d.text);
      const before = await snapshot(app.appDir);
      const files = await stateTree();

      const run = await runShip(["--config", app.config, "--rollback", id]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr.trim().split("\n").at(-1)).toContain(`${saved} is damaged, ${d.said}`);
      expect(await snapshot(app.appDir)).toEqual(before);
      expect(await stateTree()).toEqual(files);

      const { run: list, ids } = await listing(true);
      expect(list.code, list.stdout + list.stderr).toBe(2);
      expect(ids).not.toContain(id);
      expect(list.stderr.trim()).toContain(`not listed: ${saved} is damaged, ${d.said}`);
    },
  );

  it("--list-backups reads each backup's saved.json once", async () => {
    // It read it twice (the link check's names, then the size check), each parse a zod walk.
    const trace = join(app.root, "reads.txt");
    const run = await runShip(["--config", app.config, "--list-backups"], {
      env: { NODE_OPTIONS: `--require ${READ_TRACE}`, SHIP_READ_TRACE: trace },
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const reads = (await readFile(trace, "utf8")).split("\n").filter((p) => p.endsWith("/saved.json"));
    // Each backup's looked for once (the first install's saved no copy, so has none).
    const each = listed.map((b) => join(b.path, "saved.json"));
    expect(each.filter((p) => existsSync(p))).toHaveLength(2);
    expect(reads.sort()).toEqual(each.sort());
  });
});
