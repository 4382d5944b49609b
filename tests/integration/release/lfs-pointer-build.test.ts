/**
 * `ship release http` in a work tree checked out without git-lfs (CI's actions/checkout defaults to
 * `lfs: false`): the images were LFS pointers, ~130 bytes of text, packed with exit 0, and every
 * agent then installed them over the app's images. Now the build refuses, exit 2 naming the files,
 * nothing written; with the real files it builds as before.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runRelease } from "./run-cli.js";

const pointer = (n: number) =>
  `version https://git-lfs.github.com/spec/v1\noid sha256:${String(n).repeat(64).slice(0, 64)}\nsize 12345\n`;

describe("ship release http over Git LFS pointers", () => {
  let dir: string;
  let app: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-lfs-build-"));
    app = join(dir, "myapp");
    await mkdir(join(app, "static"), { recursive: true });
    await writeFile(join(app, ".gitattributes"), "*.png filter=lfs diff=lfs merge=lfs -text\n");
    await writeFile(join(app, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(app, "main.py"), "print('v1')\n");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses pointers where the LFS files should be, exit 2 naming them, nothing built", async () => {
    await writeFile(join(app, "static/logo.png"), pointer(1));
    await writeFile(join(app, "static/icon.png"), pointer(2));
    const result = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
    expect(result.code).toBe(2);
    expect(result.err).toBe(
      `ship release http: ${app}/static/icon.png is a Git LFS pointer, not the file (and 1 more: static/logo.png): the work tree was checked out without git-lfs, and agents would install the pointers over the app's files; run git lfs pull (in CI: actions/checkout with lfs: true) and build again; nothing was built\n`,
    );
    expect(await readdir(dir)).toEqual(["myapp"]);
  });

  it("builds when the LFS files are really there", async () => {
    await writeFile(join(app, "static/logo.png"), randomBytes(2048));
    const result = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(await readdir(join(dir, "dist"))).toEqual(["myapp-1.0.0.tar.gz", "myapp-1.0.0.tar.gz.sha256"]);
  });
});
