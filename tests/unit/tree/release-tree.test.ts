/** listedRelease: the umask narrows every listed mode, and chmods exactly the staged regular files. */
import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ReleaseEntry } from "../../../agent/apply/types.js";
import { listedRelease } from "../../../agent/tree/release-tree.js";

let dir: string;
let outside: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-listed-"));
  outside = join(dir, "..", `${dir.split("/").at(-1)}-outside`);
  await writeFile(outside, "not staging");
  await chmod(outside, 0o664);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { force: true });
});

const file = (mode: number): ReleaseEntry => ({ type: "file", sha256: "a".repeat(64), size: 1, mode });

describe("listedRelease", () => {
  it("narrows the listing, chmods staged files only, never through a symlink", async () => {
    await mkdir(join(dir, "lib"), { mode: 0o775 });
    await writeFile(join(dir, "lib", "staged.js"), "x");
    await chmod(join(dir, "lib", "staged.js"), 0o664);
    await symlink(outside, join(dir, "lib", "was-a-link.js"));
    const listing = {
      files: new Map<string, ReleaseEntry>([
        ["lib/staged.js", file(0o664)],
        ["lib/not-staged.js", file(0o664)],
        ["lib/was-a-link.js", file(0o664)],
        ["bin/run", file(0o775)],
        ["update-manifest.yaml", file(0o664)],
      ]),
      dirs: new Map([
        ["lib", 0o775],
        ["bin", 0o775],
      ]),
    };
    const tree = await listedRelease(dir, listing, { umask: 0o022 });
    expect([...tree.files].map(([rel, e]) => [rel, e.mode])).toEqual([
      ["lib/staged.js", 0o644],
      ["lib/not-staged.js", 0o644],
      ["lib/was-a-link.js", 0o644],
      ["bin/run", 0o755],
    ]);
    expect([...(tree.dirs ?? [])]).toEqual([
      ["lib", 0o755],
      ["bin", 0o755],
    ]);
    expect((await stat(join(dir, "lib", "staged.js"))).mode & 0o777).toBe(0o644);
    expect((await stat(outside)).mode & 0o777).toBe(0o664);
    expect((await lstat(join(dir, "lib", "was-a-link.js"))).isSymbolicLink()).toBe(true);
    expect(listing.files.get("lib/staged.js")?.mode).toBe(0o664); // the source's listing is not changed
  });

  it("with nothing to narrow, nothing on disk is touched", async () => {
    await writeFile(join(dir, "a"), "x");
    await chmod(join(dir, "a"), 0o666);
    const tree = await listedRelease(
      dir,
      { files: new Map([["a", file(0o644)]]), dirs: new Map() },
      { umask: 0o022 },
    );
    expect(tree.files.get("a")?.mode).toBe(0o644);
    expect((await stat(join(dir, "a"))).mode & 0o777).toBe(0o666);
  });
});
