/**
 * The early app scan: started only when the install index says what the installed release skipped,
 * used only when the new manifest skips exactly that, and the index keeps the list across writes
 * (its header reader stays as it was).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { coreToSpare, earlyScanFor, startEarlyAppScan } from "../../../agent/apply/early-scan.js";
import {
  readInstalledProtectedDirs,
  readInstallIndex,
  readInstallIndexHeader,
  writeInstallIndex,
} from "../../../agent/apply/install-index.js";
import type { InstallIndex } from "../../../agent/apply/types.js";
import { scanTree } from "../../../agent/tree/scan-tree.js";
import { Manifest } from "../../../shared/manifest/schema.js";

let root: string;
let app: string;
let state: string;
beforeEach(async () => {
  // Started whatever the machine's load (coreToSpare would skip it on a busy test machine).
  process.env.SHIP_EARLY_APP_SCAN = "1";
  root = await mkdtemp(join(tmpdir(), "ship-early-scan-"));
  app = join(root, "app");
  state = join(root, "state");
  await mkdir(join(app, "data"), { recursive: true });
  await mkdir(state);
  await writeFile(join(app, "a.txt"), "a");
  await writeFile(join(app, "data", "user.db"), "u");
});
afterEach(async () => {
  delete process.env.SHIP_EARLY_APP_SCAN;
  await rm(root, { recursive: true, force: true });
});

const index = (protectedDirs?: string[]): InstallIndex => ({
  version: "1.0.0",
  releaseId: "tree:x",
  installedAt: "2026-01-01T00:00:00.000Z",
  ...(protectedDirs === undefined ? {} : { protectedDirs }),
  files: { "a.txt": { sha256: "a".repeat(64), size: 1, mode: 0o644, mtimeMs: 1, ino: 1 } },
  dirs: [],
});
const withData = Manifest.parse({ version: "2", directories: { data: { preserve: true } } });
const without = Manifest.parse({ version: "2" });

describe("early app scan", () => {
  it("starts nothing before the first install or from an index that predates the list", async () => {
    expect(await startEarlyAppScan(app, state)).toBeUndefined();
    await writeInstallIndex(state, index());
    expect(await startEarlyAppScan(app, state)).toBeUndefined();
  });

  it("skips the installed release's protected directories and serves a manifest that protects the same", async () => {
    await writeInstallIndex(state, index(["data"]));
    const early = await startEarlyAppScan(app, state);
    expect(early?.skipped).toEqual(["data"]);
    const scan = await earlyScanFor(early, withData);
    expect(scan).toEqual(await scanTree(app, { skipDir: (rel) => rel === "data" }));
    expect(scan?.files.has("data/user.db")).toBe(false);
  });

  it("is not used when the new manifest protects something else", async () => {
    await writeInstallIndex(state, index([]));
    const early = await startEarlyAppScan(app, state);
    expect(early?.skipped).toEqual([]);
    expect(await earlyScanFor(early, withData)).toBeUndefined();
    expect(await earlyScanFor(early, without)).toBeDefined();
  });

  it("SHIP_EARLY_APP_SCAN decides over the machine's load: 0 starts nothing, 1 always starts", async () => {
    await writeInstallIndex(state, index([]));
    process.env.SHIP_EARLY_APP_SCAN = "0";
    expect(coreToSpare()).toBe(false);
    expect(await startEarlyAppScan(app, state)).toBeUndefined();
    process.env.SHIP_EARLY_APP_SCAN = "1";
    expect(coreToSpare()).toBe(true);
    expect(await startEarlyAppScan(app, state)).toBeDefined();
  });

  it("a walk that fails gives no scan (the apply scans and reports)", async () => {
    await writeInstallIndex(state, index([]));
    const early = await startEarlyAppScan(join(app, "a.txt"), state);
    expect(await earlyScanFor(early, without)).toBeUndefined();
  });
});

describe("InstallIndex.protectedDirs", () => {
  it("survives a write and a read; the header reader is unchanged", async () => {
    await writeInstallIndex(state, index(["data", "var/keep"]));
    expect(await readInstalledProtectedDirs(state)).toEqual(["data", "var/keep"]);
    expect((await readInstallIndex(state))?.protectedDirs).toEqual(["data", "var/keep"]);
    expect(await readInstallIndexHeader(state)).toEqual({
      version: "1.0.0",
      releaseId: "tree:x",
      installedAt: "2026-01-01T00:00:00.000Z",
    });
  });

  it("reads as undefined when absent, malformed or from an index in another layout", async () => {
    expect(await readInstalledProtectedDirs(state)).toBeUndefined();
    await writeInstallIndex(state, index());
    expect(await readInstalledProtectedDirs(state)).toBeUndefined();
    await writeFile(join(state, "install-index.json"), JSON.stringify({ ...index(), protectedDirs: "data" }));
    expect(await readInstalledProtectedDirs(state)).toBeUndefined();
    const { files, ...rest } = index(["data"]);
    await writeFile(join(state, "install-index.json"), JSON.stringify({ files, ...rest }));
    expect(await readInstalledProtectedDirs(state)).toEqual(["data"]);
  });
});
