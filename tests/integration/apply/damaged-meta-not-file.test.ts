/**
 * A backup's meta.json that is no file in other ways than a directory: a FIFO (a named pipe left by
 * a script, `mkfifo`), or a symlink that leads nowhere. With a FIFO, `--list-backups` and
 * `--rollback` never end (the open waits for a writer); with a dangling link the listing leaves the
 * backup out without a word, exit 0, and blames the chain's gap on "a backup deleted by hand", while
 * `--rollback` says "no readable meta.json". README: a backup whose meta.json is damaged ("a
 * directory in its place") is named on stderr, `not listed: <backup>/meta.json is damaged, …`,
 * exit 2, instead of being left out silently.
 */

import { execFileSync } from "node:child_process";
import { rename, rm, symlink } from "node:fs/promises";
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

const damages: [string, (meta: string) => Promise<void>][] = [
  [
    "a FIFO",
    async (meta) => {
      await rm(meta);
      execFileSync("mkfifo", [meta]);
    },
  ],
  [
    "a symlink that leads nowhere",
    async (meta) => {
      await rename(meta, `${meta}.aside`);
      await symlink(join(meta, "..", "..", "gone", "meta.json"), meta);
    },
  ],
];

describe("--list-backups and --rollback with meta.json no file (real CLI)", () => {
  for (const [what, damage] of damages) {
    it(`meta.json ${what}: named as damaged, exit 2, by both; neither hangs`, async () => {
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(listed.stdout) as { id: string; path: string }[];
      if (newest === undefined) throw new Error("no backup");
      await damage(join(newest.path, "meta.json"));
      const list = await runShip(["--config", app.config, "--list-backups"], { timeoutMs: 15_000 });
      expect(list.code, list.stdout + list.stderr).toBe(2);
      expect(list.stderr).toContain(`not listed: ${newest.path}/meta.json is damaged`);
      const rollback = await runShip(["--config", app.config, "--rollback", newest.id], {
        timeoutMs: 15_000,
      });
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
      expect(rollback.stderr).toContain(`${newest.path}/meta.json is damaged`);
    }, 60_000);
  }
});
