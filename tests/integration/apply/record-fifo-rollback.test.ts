/**
 * A backup's inventory.json or manifest.json that is a FIFO (a named pipe, `mkfifo`): `--list-backups`
 * names it as damaged ("… is damaged, it is not a file …", exit 2), but `--rollback` of that backup
 * opens it and waits for a writer forever (SIGTERM does not end it either). README: the listing and
 * the rollback judge a backup's records by one rule; a record that is not a file is refused, exit 2,
 * nothing changed.
 */
import { execFileSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { appTxtOnly, installedVersionsForFile } from "./installed-versions.js";

let app: LocalApp;

installedVersionsForFile(
  ["1", "2"],
  (made) => {
    app = made;
  },
  { files: appTxtOnly },
);

describe("--rollback of a backup whose record is a FIFO (real CLI)", () => {
  for (const record of ["inventory.json", "manifest.json"]) {
    it(`${record} a FIFO: refused as the listing names it, exit 2, no hang`, async () => {
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(listed.stdout) as { id: string; path: string }[];
      if (newest === undefined) throw new Error("no backup");
      await rm(join(newest.path, record));
      execFileSync("mkfifo", [join(newest.path, record)]);
      const list = await runShip(["--config", app.config, "--list-backups"], { timeoutMs: 15_000 });
      expect(list.code).toBe(2);
      expect(list.stderr).toContain(`${newest.path}/${record} is damaged, it is not a file`);
      const rollback = await runShip(["--config", app.config, "--rollback", newest.id], {
        timeoutMs: 15_000,
      });
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
      expect(rollback.stderr).toContain(`${newest.path}/${record} is damaged, it is not a file`);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    }, 60_000);
  }
});
