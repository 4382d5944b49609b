/**
 * `ship --list-backups` with a backup whose records beside meta.json (index.json, inventory.json,
 * manifest.json, installed.json) were deleted or truncated. Before: listed as restorable, exit 0,
 * and the `--rollback` the operator then ran on it was refused. Now the listing and the rollback
 * judge it by one rule: not listed, named on stderr with the rollback's own words, exit 2; the
 * other backups are still listed.
 */
import { mkdir, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
let listed: { id: string; path: string }[];

beforeEach(async () => {
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
});
afterEach(async () => {
  await app.cleanup();
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
      const run = await runShip(["--config", app.config, "--list-backups", ...(json ? ["--json"] : [])]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      const ids = json
        ? (JSON.parse(run.stdout) as { id: string }[]).map((b) => b.id)
        : run.stdout.split("\n").map((l) => l.split(" ")[0]);
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
