/**
 * saved.json takes the sha256 the update already knew of each file it moved into the backup (the
 * install index's when its stat vouches, the planner's or the edit check's when it hashed the file)
 * instead of reading every copy again. Real `ship` runs: whichever way the sha256 was known —
 * vouched, hashed because the host edited the file (same size or not), a merged config's bytes —
 * the record must be the copy's real content, or a rollback would refuse a good backup.
 */
import { createHash } from "node:crypto";
import { readFile, utimes } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, updateOverEdits } from "../cli/local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n  "config.json":\n    action: merge_json\n    merge_strategy: preserve_user\n`;

async function newestBackup(): Promise<{ id: string; path: string }> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(list.stdout) as { id: string; path: string }[];
  if (newest === undefined) throw new Error(`no backup listed: ${list.stdout}${list.stderr}`);
  return newest;
}

/** saved.json's sha256 of each copy, next to the copy's real sha256. */
async function savedAndReal(
  path: string,
): Promise<{ saved: Record<string, string>; real: Record<string, string> }> {
  const records = JSON.parse(await readFile(join(path, "saved.json"), "utf8")) as Record<
    string,
    { sha256: string }
  >;
  const saved: Record<string, string> = {};
  const real: Record<string, string> = {};
  for (const [rel, record] of Object.entries(records)) {
    saved[rel] = record.sha256;
    real[rel] = createHash("sha256")
      .update(await readFile(join(path, "files", rel)))
      .digest("hex");
  }
  return { saved, real };
}

describe("saved.json from the sha256s the update knew (real CLI)", () => {
  it("records each copy's real sha256 however it was known, and a rollback still checks them", async () => {
    await updateOverEdits(app, manifest, {
      v1: {
        "app.txt": "v1\n",
        "same.txt": "s1\n",
        "grown.txt": "g1\n",
        "gone.txt": "x\n",
        "config.json": `{"a":1}\n`,
      },
      // Edited on the host: same size (the planner hashes it), another size (the edit check does).
      edited: { "same.txt": "S1\n", "grown.txt": "grown on the host\n", "config.json": `{"a":1,"b":2}\n` },
      v2: { "app.txt": "v2\n", "same.txt": "s2\n", "grown.txt": "g2\n", "config.json": `{"a":1,"c":3}\n` },
    });
    const first = await savedAndReal((await newestBackup()).path);
    expect(Object.keys(first.saved).sort()).toEqual([
      "app.txt",
      "config.json",
      "gone.txt",
      "grown.txt",
      "same.txt",
    ]);
    expect(first.saved).toEqual(first.real);

    // v3 replaces the merged config: its copy holds the merged bytes, not the release's.
    await app.release("v3", manifest("3.0.0"), {
      "app.txt": "v3\n",
      "same.txt": "s3\n",
      "grown.txt": "g3\n",
      "config.json": `{"a":1,"c":4}\n`,
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { id, path } = await newestBackup();
    const second = await savedAndReal(path);
    expect(Object.keys(second.saved).sort()).toEqual(["app.txt", "config.json", "grown.txt", "same.txt"]);
    expect(second.saved).toEqual(second.real);

    // Copies whose time moved are checked by content: untouched bytes restore.
    const later = new Date(Date.now() + 60_000);
    for (const rel of Object.keys(second.saved)) await utimes(join(path, "files", rel), later, later);
    const rollback = await runShip(["--config", app.config, "--rollback", id]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.json"), "utf8")).toBe(`{"a":1,"b":2,"c":3}\n`);
    expect(await readFile(join(app.appDir, "same.txt"), "utf8")).toBe("s2\n");
  });
});
