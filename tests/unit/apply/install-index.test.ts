import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { indexPath, readInstallIndex, writeInstallIndex } from "../../../agent/apply/install-index.js";
import type { InstallIndex } from "../../../agent/apply/types.js";

let stateDir: string;
const index = (version: string): InstallIndex => ({
  version,
  installedAt: "2026-01-01T00:00:00.000Z",
  files: { "a.txt": { sha256: "a".repeat(64), size: 1, mode: 0o644, mtimeMs: 1, ino: 1 } },
  dirs: [],
});

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "ship-index-"));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe("readInstallIndex (parsed once per unchanged text)", () => {
  it("reuses the parsed index while the file's text is the same, never after it changed", async () => {
    await writeInstallIndex(stateDir, index("1.0.0"));
    const first = await readInstallIndex(stateDir);
    expect(await readInstallIndex(stateDir)).toBe(first);
    await writeInstallIndex(stateDir, index("2.0.0"));
    expect((await readInstallIndex(stateDir))?.version).toBe("2.0.0");
    // Rewritten in place with the same length: still read afresh.
    await writeFile(indexPath(stateDir), JSON.stringify(index("3.0.0")));
    expect((await readInstallIndex(stateDir))?.version).toBe("3.0.0");
    await writeFile(indexPath(stateDir), "{ corrupt");
    await expect(readInstallIndex(stateDir)).rejects.toThrow();
    await rm(indexPath(stateDir));
    expect(await readInstallIndex(stateDir)).toBeUndefined();
  });
});
