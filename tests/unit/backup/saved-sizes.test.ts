/** saved.json on real files: what each record format checks, and what a rollback of it refuses. */
import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resizedCopies, writeSavedSizes } from "../../../agent/backup/saved-sizes.js";

let backup: string;
beforeEach(async () => {
  backup = await mkdtemp(join(tmpdir(), "ship-saved-sizes-"));
  await mkdir(join(backup, "files/lib"), { recursive: true });
  await writeFile(join(backup, "files/a.txt"), "v1\n");
  await writeFile(join(backup, "files/lib/b.txt"), "b1\n");
});
afterEach(async () => {
  await rm(backup, { recursive: true, force: true });
});

describe("saved.json", () => {
  it("finds a copy edited keeping its size, and not one only touched", async () => {
    await writeSavedSizes(backup, ["a.txt", "lib/b.txt", "gone.txt"]);
    expect(await resizedCopies(backup)).toEqual([]);
    const later = new Date(Date.now() + 60_000);
    await utimes(join(backup, "files/lib/b.txt"), later, later);
    await writeFile(join(backup, "files/a.txt"), "XX\n");
    expect(await resizedCopies(backup)).toEqual([{ rel: "a.txt", now: 3, saved: 3, edited: true }]);
  });

  it("a record of sizes alone (written before hashes were kept) is still checked by size", async () => {
    await writeFile(join(backup, "saved.json"), JSON.stringify({ "a.txt": 3, "lib/b.txt": 3 }));
    await writeFile(join(backup, "files/a.txt"), "XX\n");
    expect(await resizedCopies(backup)).toEqual([]);
    await writeFile(join(backup, "files/lib/b.txt"), "");
    expect(await resizedCopies(backup)).toEqual([{ rel: "lib/b.txt", now: 0, saved: 3 }]);
  });

  // Every copy was read and hashed again after the update moved it in (~5 MB per 1 % update of a
  // 500 MB app), though the update had its sha256 already (the install index's, or the planner's).
  it("takes a known sha256 for a copy whose stat is still the known one, and reads only the rest", async () => {
    const stat = async (rel: string) => {
      const st = await lstat(join(backup, "files", rel));
      return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    };
    const known = "k".repeat(64);
    const a = await stat("a.txt");
    const b = await stat("lib/b.txt");
    await writeSavedSizes(
      backup,
      ["a.txt", "lib/b.txt"],
      new Map([
        // A sha256 only the record can have come from: the copy itself was not read.
        ["a.txt", { ...a, sha256: known }],
        // The copy changed after the stat the sha256 was known for: it is read.
        ["lib/b.txt", { ...b, mtimeMs: b.mtimeMs - 1000, sha256: known }],
      ]),
    );
    const saved = JSON.parse(await readFile(join(backup, "saved.json"), "utf8")) as Record<
      string,
      { sha256: string }
    >;
    expect(saved["a.txt"]?.sha256).toBe(known);
    expect(saved["lib/b.txt"]?.sha256).toBe(createHash("sha256").update("b1\n").digest("hex"));
  });
});
