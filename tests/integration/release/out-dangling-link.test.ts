/**
 * review35: an `--out` that is a dangling symlink (a dist/ or keys/ link to an artifacts disk that is
 * not mounted). README: an `http`/`sftp`/`keygen` `--out` that is a file, or under one, and a `sign
 * --out` that is a directory or in a missing one, are exit 2 naming `--out`, "checked before
 * anything is packed or signed"; a `manifest --out` directory or missing directory likewise. A
 * dangling link slips past those checks: http and keygen say "cannot create directory …: no such file
 * or directory (ENOENT)", sign "cannot open …: ENOENT", all exit 1 (the code of a failed update);
 * manifest says "already exists; pass --force", and with --force "cannot open …: ENOENT", exit 1 —
 * the pattern d9f156f2 fixed for a directory.
 * Expected: exit 2 naming --out (a symlink that leads nowhere), nothing written.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRelease } from "./run-cli.js";

describe("ship release --out that is a dangling symlink", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-out-dangling-"));
    await mkdir(join(dir, "app"));
    await writeFile(join(dir, "app/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "app/main.py"), "print(1)\n");
    expect(
      (await runRelease(join(dir, "app"), "http", "1.0.0", "d", "--app", "myapp", "--out", "../dist")).code,
    ).toBe(0);
    expect((await runRelease(dir, "keygen", "--out", "keys")).code).toBe(0);
    await symlink(join(dir, "unmounted", "disk"), join(dir, "gone"));
    // The same kind: links that loop, and a link to a file where a directory is meant.
    await symlink("loop-b", join(dir, "loop-a"));
    await symlink("loop-a", join(dir, "loop-b"));
    await writeFile(join(dir, "afile"), "x\n");
    await symlink("afile", join(dir, "to-file"));
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [["-C", "app", "http", "1.0.1", "d", "--out", "../gone"]],
    [["keygen", "--out", "gone"]],
    [["sign", "dist/myapp-1.0.0.tar.gz", "--key", "keys/ship-release.key", "--out", "gone"]],
    [["manifest", "1.0.0", "--out", "gone", "--force"]],
  ])("%j: exit 2 naming --out", async (args) => {
    const cwd = args[0] === "-C" ? join(dir, "app") : dir;
    const rest = args[0] === "-C" ? args.slice(2) : args;
    const result = await runRelease(cwd, ...rest);
    expect(result.err).toMatch(/--out /);
    expect(result.code).toBe(2);
  });

  it.each([
    [["-C", "app", "http", "1.0.1", "d", "--out", "../gone/sub"], "gone is a symlink that leads nowhere"],
    [["keygen", "--out", "loop-a"], "is a symlink that leads nowhere (to loop-b, in a loop of symlinks)"],
    [["keygen", "--out", "loop-a/keys"], "loop-a is a symlink that leads nowhere"],
    [["keygen", "--out", "to-file"], "is not a directory"],
    [
      ["sign", "dist/myapp-1.0.0.tar.gz", "--key", "keys/ship-release.key", "--out", "gone/x.sig"],
      "gone is a symlink that leads nowhere",
    ],
    [["manifest", "1.0.0", "--out", "loop-b"], "is a symlink that leads nowhere"],
  ])("%j: exit 2 naming --out and the link, nothing written", async (args, said) => {
    const before = (await readdir(dir, { recursive: true })).sort();
    const cwd = args[0] === "-C" ? join(dir, "app") : dir;
    const rest = args[0] === "-C" ? args.slice(2) : args;
    const result = await runRelease(cwd, ...rest);
    expect(result.err).toMatch(/^ship release \w+: --out \//);
    expect(result.err).toContain(said);
    expect(result.err.trim().split("\n")).toHaveLength(1);
    expect(result.code).toBe(2);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(before);
  });
});
