/**
 * A backup's saved install index (index.json) with a byte changed that still parses: a digit of a
 * sha256 in a JSON head (the layout an update of a few files writes, which has no checksum), or of
 * the release id in the columns layout's header line (its CRC-32 covers only the blocks after it).
 * `--list-backups` listed the backup restorable and `--rollback` said "back on 2.0.0", exit 0, and
 * made the edited index the live one: ship then recorded a sha256 no file had. The bytes no CRC
 * covers are now summed in meta.json as the backup is made and compared before anything moves.
 * Real `ship` runs.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { backups, expectRefused } from "./saved-index-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  // Sixteen files, one changed per update: 2.0.0's index is a head on 1.0.0's (docs/install-index.md).
  for (const v of ["1", "2", "3"]) {
    const files: Record<string, string> = {};
    for (let i = 0; i < 16; i++) files[`f${i}.txt`] = `${i}\n`;
    files["app.txt"] = `v${v}\n`;
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, files);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
  }
});
afterEach(async () => {
  await app.cleanup();
});

/** One hex digit after `marker` in `file` changed to another: the same size, and it still parses. */
async function changeDigitAfter(file: string, marker: string): Promise<void> {
  const text = await readFile(file, "latin1");
  const at = text.indexOf(marker) + marker.length;
  expect(at).toBeGreaterThanOrEqual(marker.length);
  const digit = text[at] === "0" ? "1" : "0";
  await writeFile(file, `${text.slice(0, at)}${digit}${text.slice(at + 1)}`, "latin1");
}

describe("a saved install index edited where it still parses (real CLI)", () => {
  it.each([
    { layout: "a JSON head, a sha256 of its changes", target: 2, version: "2.0.0", marker: '"sha256":"' },
    {
      layout: "columns, the header line's release id",
      target: 1,
      version: "1.0.0",
      marker: '"releaseId":"tree:',
    },
    {
      layout: "a saved head's base (columns), its header line's release id",
      target: 2,
      version: "2.0.0",
      marker: '"releaseId":"tree:',
      record: "index-base.json",
    },
  ])(
    "$layout: listed as not restorable, --rollback exit 2 naming it, nothing changed",
    async ({ target, version, marker, record = "index.json" }) => {
      const name = (await backups(app))[target] ?? "";
      const saved = join(app.root, "var/backups/myapp", name, "index.json");
      const head = (await readFile(saved, "latin1")).split("\n")[0] ?? "";
      // The layout the case is about: a head has a base and no newline; columns, a header line.
      expect(head.includes('"base":')).toBe(target === 2);
      const file = join(app.root, "var/backups/myapp", name, record);
      await changeDigitAfter(file, marker);
      await expectRefused(
        app,
        name,
        `${file} is damaged, its content is not what the update saved (its JSON, or its columns' header line, has another sha256 than the one meta.json recorded; edited by hand since): this backup cannot be restored (ship would not know what ${version} installed)`,
      );
    },
    60_000,
  );
});
