/**
 * `--out` that names a file where a directory is meant (http, keygen), or a directory or a missing
 * one where a file is meant (sign): "cannot create directory …: already exists (EEXIST)", "cannot
 * open …: is a directory (EISDIR)", exit 1 — the code of a failed update — for bad input, and only
 * after the archive was packed. Each is now exit 2 naming --out and what is wrong, nothing written.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRelease } from "./run-cli.js";

describe("ship release --out that cannot be used", () => {
  let dir: string;
  let before: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-out-refusals-"));
    await mkdir(join(dir, "app"));
    await writeFile(join(dir, "app/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "app/main.py"), "print(1)\n");
    await writeFile(join(dir, "afile"), "not a directory\n");
    expect(
      (await runRelease(join(dir, "app"), "http", "1.0.0", "d", "--app", "myapp", "--out", "../dist")).code,
    ).toBe(0);
    expect((await runRelease(dir, "keygen", "--out", "keys")).code).toBe(0);
    before = (await readdir(dir, { recursive: true })).sort();
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [
      ["-C", "app", "http", "1.0.1", "d", "--out", "../afile"],
      "http",
      "--out",
      "afile",
      "is not a directory",
    ],
    [
      ["-C", "app", "http", "1.0.1", "d", "--out", "../afile/sub"],
      "http",
      "--out",
      "afile/sub",
      "afile is not a directory",
    ],
    [["keygen", "--out", "afile"], "keygen", "--out", "afile", "is not a directory"],
    [
      ["sign", "dist/myapp-1.0.0.tar.gz", "--key", "keys/ship-release.key", "--out", "dist"],
      "sign",
      "--out",
      "dist",
      "is a directory: name the file (--out dist/myapp-1.0.0.tar.gz.sig)",
    ],
    [
      ["sign", "dist/myapp-1.0.0.tar.gz", "--key", "keys/ship-release.key", "--out", "nosuch/x.sig"],
      "sign",
      "--out",
      "nosuch/x.sig",
      "cannot be written: its directory does not exist (ENOENT)",
    ],
  ])("%j: exit 2 naming --out, nothing written", async (args, command, flag, path, said) => {
    const cwd = args[0] === "-C" ? join(dir, "app") : dir;
    const rest = args[0] === "-C" ? args.slice(2) : args;
    const result = await runRelease(cwd, ...rest);
    const shown = said.replace("afile is", `${join(dir, "afile")} is`);
    expect(result.err).toBe(`ship release ${command}: ${flag} ${join(dir, path)}: ${shown}\n`);
    expect(result.code).toBe(2);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(before);
  });
});
