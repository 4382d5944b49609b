/**
 * One stat test for "the install index vouches for this file" (stat-match.ts): the planner and a
 * restore's "is this still ship's file" had one copy each. The restore's masked the mode it was
 * given to its permission bits, the planner's compared it as given, so an entry built from an lstat
 * (its mode with the file type bits) never matched there and every such file was read again.
 */
import { lstatSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installedState } from "../../../agent/apply/installed-file.js";
import { statMatches } from "../../../agent/apply/plan.js";
import type { IndexedFile } from "../../../agent/apply/types.js";
import { hashEntry } from "../../../agent/tree/hash-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-stat-match-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function installed(text: string): Promise<{ path: string; indexed: IndexedFile }> {
  const path = join(dir, "app.py");
  await writeFile(path, text);
  await chmod(path, 0o644);
  const st = lstatSync(path);
  return {
    path,
    indexed: {
      sha256: await hashEntry(path),
      size: st.size,
      mode: st.mode & 0o7777,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      ctimeMs: st.ctimeMs,
    },
  };
}

describe("statMatches", () => {
  it("an lstat's whole mode (type bits included) matches the index's permission bits, as the restore's test did", async () => {
    const { path, indexed } = await installed("print(1)\n");
    const st = lstatSync(path);
    expect(st.mode).not.toBe(indexed.mode);
    expect(statMatches(st, indexed)).toBe(true);
    expect(await installedState(path, indexed)).toBe("installed");
  });

  it("a chmod moves the stat (no vouching) but is no edit: the content decides, in the planner's test and the restore's", async () => {
    const { path, indexed } = await installed("print(1)\n");
    await chmod(path, 0o600);
    expect(statMatches(lstatSync(path), indexed)).toBe(false);
    expect(await installedState(path, indexed)).toBe("installed");
    await writeFile(path, "print(2)\n");
    expect(await installedState(path, indexed)).toBe("foreign");
  });
});
