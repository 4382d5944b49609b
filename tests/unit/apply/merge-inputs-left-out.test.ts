/**
 * The merge check before the hooks, for a source that staged only what changed (a local directory):
 * the configs left out of staging that a merge reads the server's copy of are still checked — the
 * one ship merged before (the index marks it) and one a merge rule takes that was installed whole —
 * and finding them asks the index for no entry per listed file. A 20,000-file release built 20,000
 * index entries to read one flag of a handful (~20 ms of a typical manifest's update, round 54).
 * Real files and a real install index in columns.
 */

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { checkMergeInputs } from "../../../agent/apply/check-merge-inputs.js";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { writeInstallIndex } from "../../../agent/apply/install-index.js";
import type { IndexedFile } from "../../../agent/apply/types.js";
import { parseManifestText } from "../../../shared/manifest/load.js";

const manifest = parseManifestText(
  [
    'version: "2.0.0"',
    "files:",
    '  "config/*.toml": { action: merge_toml }',
    '  "logs/**": { action: skip }',
    '  "bin/*": { action: replace }',
  ].join("\n"),
  "update-manifest.yaml",
).manifest;

const FILES = 2_000;
const sha = (i: number) => i.toString(16).padStart(64, "0");
const paths = Array.from({ length: FILES }, (_, i) => `d${String(i % 100).padStart(3, "0")}/f${i}.dat`);

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-merge-left-out-"));
  await mkdir(join(root, "app/config"), { recursive: true });
  await mkdir(join(root, "state"), { recursive: true });
  await mkdir(join(root, "staging"), { recursive: true });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
});

/** The index of an app holding every listed file, `merged` marking config/app.toml as ship's merge. */
async function installed(): Promise<Map<string, { type: string; sha256: string }>> {
  const entry = (i: number): IndexedFile => ({
    sha256: sha(i),
    size: 10,
    mode: 0o644,
    mtimeMs: 1,
    ino: i + 1,
  });
  const record: Record<string, IndexedFile> = {};
  const listing = new Map<string, { type: string; sha256: string }>();
  paths.forEach((rel, i) => {
    record[rel] = entry(i);
    listing.set(rel, { type: "file", sha256: sha(i) });
  });
  record["config/app.toml"] = { ...entry(FILES), merged: true, installedSha256: sha(FILES + 1) };
  record["config/db.toml"] = entry(FILES + 2);
  listing.set("config/app.toml", { type: "file", sha256: sha(FILES) });
  listing.set("config/db.toml", { type: "file", sha256: sha(FILES + 2) });
  await writeInstallIndex(join(root, "state"), {
    version: "1.0.0",
    installedAt: new Date().toISOString(),
    files: IndexFiles.of(record),
    dirs: [],
  });
  return listing;
}

async function verdict(listing: ReadonlyMap<string, { type: string; sha256: string }>): Promise<string> {
  try {
    await checkMergeInputs({
      manifest,
      releaseDir: join(root, "staging"),
      appDir: join(root, "app"),
      stateDir: join(root, "state"),
      listing,
    });
    return "ok";
  } catch (error) {
    return (error as Error).message;
  }
}

describe("the merge check of configs left out of staging", () => {
  it("checks the server copy of the config ship merged before, asking the index for no entry per listed file", async () => {
    const listing = await installed();
    await writeFile(join(root, "app/config/app.toml"), "[server\nport = 1\n");
    await writeFile(join(root, "app/config/db.toml"), "[db]\npool = 10\n");
    const get = vi.spyOn(IndexFiles.prototype, "get");
    expect(await verdict(listing)).toMatch(/config\/app\.toml/);
    // Before: one entry built per listed file (2,002).
    expect(get.mock.calls.length).toBeLessThan(10);
  });

  it("checks the server copy of a config a merge rule takes that was installed whole", async () => {
    const listing = await installed();
    await writeFile(join(root, "app/config/app.toml"), "[server]\nport = 1\n");
    await writeFile(join(root, "app/config/db.toml"), "[db\npool = 10\n");
    expect(await verdict(listing)).toMatch(/config\/db\.toml/);
    await writeFile(join(root, "app/config/db.toml"), "[db]\npool = 10\n");
    expect(await verdict(listing)).toBe("ok");
  });
});
