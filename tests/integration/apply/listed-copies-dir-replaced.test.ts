/**
 * A directory in a backup's files/ replaced by a file: `--rollback` refuses it as "its
 * saved copy of lib/a.txt is missing (deleted by hand, …)", while `--list-backups` names the same
 * backup with other words, untrue of it — "lies behind …/files/lib, which is not a directory now
 * (the restore would take the file from wherever it leads)", where no link leads anywhere. README:
 * the listing names a damaged backup "with the words the rollback uses: the two judge by one rule".
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
  for (const v of ["1", "2"]) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n`, "lib/a.txt": `a${v}\n` });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  }
});
afterEach(async () => {
  await app.cleanup();
});

const damages: [string, (dir: string) => Promise<void>][] = [
  [
    "replaced by a file",
    async (dir) => {
      await rm(dir, { recursive: true });
      await writeFile(dir, "x\n");
    },
  ],
];

describe("--list-backups and --rollback name a directory of files/ replaced by a file alike (real CLI)", () => {
  for (const [what, damage] of damages) {
    it(`files/lib ${what}: the listing's line is the rollback's refusal`, async () => {
      const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(list.stdout) as { id: string; path: string }[];
      if (newest === undefined) throw new Error("no backup");
      await damage(join(newest.path, "files/lib"));
      const rollback = await runShip(["--config", app.config, "--rollback", newest.id]);
      expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
      const refusal = String(rollback.stderr.trim().split("\n").at(-1)).replace(/^ship: /, "");
      expect(await readFile(join(app.appDir, "lib/a.txt"), "utf8")).toBe("a2\n");
      const text = await runShip(["--config", app.config, "--list-backups"]);
      expect(text.code).toBe(2);
      expect(text.stderr.trim().split("\n")).toContain(`not listed: ${refusal}`);
      expect(text.stderr).not.toContain("wherever it leads");
    });
  }
});
