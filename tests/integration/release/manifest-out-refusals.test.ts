/**
 * `ship release manifest --out PATH` where no file can be written: a missing directory or a
 * directory was "cannot open …: no such file or directory (ENOENT)" / "is a directory (EISDIR)",
 * exit 1 (a failed update, by DESIGN.md) for what is bad input; a directory without --force was
 * told to pass --force, which then failed the same way. Now exit 2 naming --out and what to do.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runRelease } from "./run-cli.js";

describe("ship release manifest --out where no file can be written", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-manifest-out-"));
    await mkdir(join(dir, "conf"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ["nosuch/update-manifest.yaml", [], "cannot be written: its directory does not exist (ENOENT)"],
    ["conf/update-manifest.yaml/x.yaml", [], "cannot be written: its directory does not exist (ENOENT)"],
    ["conf", [], "is a directory: name the file (--out conf/update-manifest.yaml)"],
    ["conf", ["--force"], "is a directory: name the file (--out conf/update-manifest.yaml)"],
  ])("--out %s %j: exit 2 naming --out, nothing written", async (out, extra, said) => {
    const r = await runRelease(dir, "manifest", "1.0.0", "--out", out, ...extra);
    expect(r.err).toBe(`ship release manifest: --out ${join(dir, out)}: ${said}\n`);
    expect(r.code).toBe(2);
    expect(await readdir(dir)).toEqual(["conf"]);
    expect(await readdir(join(dir, "conf"))).toEqual([]);
  });
});
