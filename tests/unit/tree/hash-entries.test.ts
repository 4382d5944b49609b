/** hashEntries: small files read synchronously, the rest (and anything swapped since the scan) as before. */
import { createHash } from "node:crypto";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  forEachInSlices,
  hashEntries,
  hashSymlinkTarget,
  SYNC_READ_MAX_BYTES,
} from "../../../agent/tree/hash-file.js";
import { longestStall } from "../../support/loaded-host.js";

let dir: string;
const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const big = Buffer.alloc(SYNC_READ_MAX_BYTES + 10, 7);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hash-entries-"));
  await writeFile(join(dir, "small"), "small");
  await writeFile(join(dir, "big"), big);
  await writeFile(join(dir, "empty"), "");
  await symlink("small", join(dir, "link"));
  await symlink("target-now", join(dir, "was-a-file"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashEntries", () => {
  it("hashes files of any size and symlinks by target, in the order asked", async () => {
    const hashes = await hashEntries(dir, [
      { rel: "big", type: "file", size: big.length },
      { rel: "small", type: "file", size: 5 },
      { rel: "link", type: "symlink", size: 5 },
      { rel: "empty", type: "file", size: 0 },
    ]);
    expect(hashes).toEqual([sha(big), sha("small"), hashSymlinkTarget("small"), sha("")]);
  });

  it("an entry the scan saw as a small file but now a symlink is hashed as what it is, never followed", async () => {
    expect(await hashEntries(dir, [{ rel: "was-a-file", type: "file", size: 3 }])).toEqual([
      hashSymlinkTarget("target-now"),
    ]);
  });

  it("a file gone since the scan fails the hashing", async () => {
    await expect(hashEntries(dir, [{ rel: "gone", type: "file", size: 3 }])).rejects.toThrow(/ENOENT/);
  });
});

describe("forEachInSlices", () => {
  // Slices went by bytes only: 400 small files read on a loaded host (2 ms each here) held the
  // agent's event loop, and its "still working" to the hub, for the whole run.
  it("lets timers run at least every LOOP_SLICE_MS however slow each item is", async () => {
    let done = 0;
    const { longest } = await longestStall(() =>
      forEachInSlices(
        Array.from({ length: 400 }, (_, i) => i),
        () => 100,
        () => {
          const until = performance.now() + 2;
          while (performance.now() < until);
          done++;
        },
      ),
    );
    expect(done).toBe(400);
    // LOOP_SLICE_MS (50) and one item, with room for a loaded test machine's scheduling.
    expect(longest, `longest stretch without a timer ${Math.round(longest)} ms`).toBeLessThan(300);
  });
});
