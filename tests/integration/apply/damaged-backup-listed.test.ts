/**
 * `ship --list-backups` with a backup whose meta.json is damaged (a write cut short, a hand edit):
 * the backup was left out silently, exit 0, so the operator counted on a copy that cannot be
 * restored. Now the others are listed, the damaged one is named on stderr with what to do, exit 2.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { appTxtOnly, installedVersionsForFile } from "./installed-versions.js";

let app: LocalApp;

installedVersionsForFile(
  ["1", "2", "3"],
  (made) => {
    app = made;
  },
  { files: appTxtOnly },
);

describe("--list-backups with a damaged backup (real CLI)", () => {
  it("lists the others, names the damaged meta.json with what to do, exits 2", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(listed.stdout) as { id: string; path: string }[];
    expect(backups.length).toBeGreaterThanOrEqual(2);
    const newest = backups[0];
    const oldest = backups.at(-1);
    await writeFile(join(String(oldest?.path), "meta.json"), `{"id":`);
    for (const args of [[], ["--sources", "myapp"]]) {
      const run = await runShip(["--config", app.config, "--list-backups", ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      const ids = run.stdout.split("\n").map((l) => l.split(" ")[0]);
      expect(ids).toContain(newest?.id);
      expect(ids).not.toContain(oldest?.id);
      expect(run.stderr.trim()).toBe(
        `not listed: ${oldest?.path}/meta.json is damaged, it is not valid JSON (Unexpected end of JSON input): this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory`,
      );
    }
    const json = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { id: string }[]).map((b) => b.id)).toEqual(
      backups.slice(0, -1).map((b) => b.id),
    );
  });

  // It was left out without a word, exit 0 ("a backup between them … has a damaged meta.json: see
  // ship --list-backups", which named nothing), and --rollback called it "no readable meta.json".
  it("names a backup whose meta.json is a directory, exit 2; --rollback to it says the same", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(listed.stdout) as { id: string; path: string }[];
    const middle = backups[1];
    await rm(join(String(middle?.path), "meta.json"));
    await mkdir(join(String(middle?.path), "meta.json"));
    const line = `${middle?.path}/meta.json is damaged, it is not a file: this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory`;
    const run = await runShip(["--config", app.config, "--list-backups"]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(`not listed: ${line}`);
    const json = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { id: string }[]).map((b) => b.id)).not.toContain(middle?.id);
    const rollback = await runShip(["--config", app.config, "--rollback", String(middle?.id)]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
    expect(rollback.stderr.trim().split("\n").at(-1)).toBe(`ship: ${line}`);
  });

  // The pre-ship backup's reason read "… mixed with the tree before ship installed 1.0.0 (no version
  // recorded before it)'s (was a backup deleted by hand?)".
  it("a NOT RESTORABLE reason naming the tree before ship reads as a sentence", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(listed.stdout) as { id: string; path: string }[];
    await rm(String(backups[0]?.path), { recursive: true });
    const run = await runShip(["--config", app.config, "--list-backups"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const oldest = backups.at(-1);
    const reason = run.stdout.split("\n").find((l) => l.startsWith(`not restorable: ${oldest?.id}: `));
    expect(reason).toContain(
      "files mixed with those of the tree before ship installed 1.0.0 (no version recorded before it) (was a backup deleted by hand?)",
    );
    expect(run.stdout).not.toContain(")'s");
  });
});
