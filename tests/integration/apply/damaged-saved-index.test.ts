/**
 * A backup whose saved install index (index.json, what the version it brings back installed) was
 * deleted or truncated, met by real `ship --rollback` runs. Before: deleted, the rollback said
 * "back on 1.0.0", exit 0, with no install index left (the state file's current_version null, and
 * the next update kept 1.0.0's files it no longer ships); truncated, it moved every file back, then
 * linked the damaged file into place as the live index and failed naming install-index.json, the
 * state file still saying 2.0.0 and every later run refused. Now: exit 2 naming the backup and the
 * file, before anything moves; the app, its index and the state stay as they were.
 * Garbled at its own size (a byte of the columns' entries changed, docs/install-index.md): the size
 * rule passed it, the rollback said "back on 2.0.0", exit 0, and every later run refused the live
 * index as damaged; the saved index is now read whole (either layout) before anything moves, and
 * `--list-backups` reads one written since its backup was made.
 */
import { open, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { backups, expectRefused, watched } from "./saved-index-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  for (const v of ["1", "2", "3"]) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, {
      "app.txt": `v${v}\n`,
      [`only-${v}.txt`]: `${v}\n`,
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
  }
});
afterEach(async () => {
  await app.cleanup();
});

const damages = [
  { what: "deleted", damage: (file: string) => rm(file), says: "is missing (deleted by hand?)" },
  {
    what: "truncated",
    damage: (file: string) => truncate(file, 15),
    says: "is 15 bytes, but it was",
  },
] as const;

describe("--rollback of a backup whose saved install index is damaged (real CLI)", () => {
  it.each(damages)(
    "$what: exit 2 naming it, nothing changed, the next runs still work",
    async ({ damage, says }) => {
      const [, , newest = ""] = await backups(app);
      const path = join(app.root, "var/backups/myapp", newest);
      await damage(join(path, "index.json"));
      const before = await watched(app);

      const run = await runShip(["--config", app.config, "--rollback", newest]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      const line = run.stderr.trim().split("\n").at(-1) ?? "";
      expect(line).toContain(
        `ship: ${path} is damaged, its saved install index of 2.0.0 (index.json) ${says}`,
      );
      expect(line).toMatch(/move it out of the backup directory; nothing was changed$/);
      expect(await watched(app)).toEqual(before);

      const check = await runShip(["--config", app.config, "--check-only"]);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toContain("3.0.0");
    },
  );

  it.each(damages)(
    "$what in an older backup of a chain: exit 2 before the newer one is restored",
    async ({ damage, says }) => {
      const [, older = "", newest = ""] = await backups(app);
      const path = join(app.root, "var/backups/myapp", older);
      await damage(join(path, "index.json"));
      const before = await watched(app);

      const run = await runShip(["--config", app.config, "--rollback", older]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `${path} is damaged, its saved install index of 1.0.0 (index.json) ${says}`,
      );
      expect(await watched(app)).toEqual(before);

      // The newer backup is whole: it still restores, and the state says what is on disk.
      const back = await runShip(["--config", app.config, "--rollback", newest]);
      expect(back.code, back.stderr).toBe(0);
      expect((await app.state()).sources.myapp?.current_version).toBe("2.0.0");
    },
  );

  it.each([
    { target: 2, version: "2.0.0" },
    { target: 1, version: "1.0.0" },
  ])(
    "garbled at its own size, restoring $version: exit 2 naming it, nothing changed",
    async ({ target, version }) => {
      const all = await backups(app);
      const name = all[target] ?? "";
      const file = join(app.root, "var/backups/myapp", name, "index.json");
      // The last byte is in the entries' numbers block, which the header's CRC-32 covers.
      const handle = await open(file, "r+");
      const { size } = await handle.stat();
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      await handle.write(Buffer.from([last[0] === 0x41 ? 0x42 : 0x41]), 0, 1, size - 1);
      await handle.close();
      await expectRefused(
        app,
        name,
        `${file} is damaged, its entries do not match the checksum its header records: this backup cannot be restored (ship would not know what ${version} installed)`,
      );
    },
  );
});
