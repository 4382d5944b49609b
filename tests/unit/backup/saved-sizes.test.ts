/** saved.json on real files: what each record format checks, and what a rollback of it refuses. */
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
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
});
