/**
 * A release packed from a checkout made without git-lfs (the seed's `tar czf` in CI, whose checkout
 * leaves LFS files out by default) holds pointers, ~130 bytes of text, where the images are. The
 * git source refused such an export; an archive or a directory installed the pointers over the
 * app's images, exit 0. Real CLI, real tar, a local source (as http and sftp end up: a staged tree).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const POINTER =
  "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";

describe("a packed release holding Git LFS pointers", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-lfs-release-"));
    await mkdir(join(root, "app/static"), { recursive: true });
    await writeFile(join(root, "app/static/logo.png"), "the real image\n");
    for (const version of ["1.0.0", "1.1.0"]) {
      const rel = join(root, `rel-${version}`);
      await mkdir(join(rel, "static"), { recursive: true });
      await writeFile(join(rel, "update-manifest.yaml"), `version: "${version}"\n`);
      await writeFile(join(rel, ".gitattributes"), "*.png filter=lfs diff=lfs merge=lfs -text\n");
      await writeFile(join(rel, "main.py"), `print('${version}')\n`);
    }
    await writeFile(join(root, "rel-1.0.0/static/logo.png"), "the real image\n");
    await writeFile(join(root, "rel-1.1.0/static/logo.png"), POINTER);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const run = async (path: string) => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${root}/app"\ntype = "local"\npath = "${path}"\n`,
    );
    return runShip(["--config", join(root, "ship.toml")]);
  };

  it("is refused, exit 2 naming the pointers, the app's image kept (archive and directory)", async () => {
    const installed = await run(join(root, "rel-1.0.0"));
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    execFileSync("tar", ["czf", join(root, "rel-1.1.0.tar.gz"), "-C", join(root, "rel-1.1.0"), "."]);
    for (const path of [join(root, "rel-1.1.0.tar.gz"), join(root, "rel-1.1.0")]) {
      const refused = await run(path);
      expect(refused.code, path).toBe(2);
      expect(refused.stdout).toContain(
        "myapp: release 1.1.0: static/logo.png is a Git LFS pointer, not the file: the release was packed from a checkout made without git-lfs; pack it again after git lfs pull (ship release http and sftp refuse to pack pointers), so nothing was installed",
      );
      expect(await readFile(join(root, "app/static/logo.png"), "utf8")).toBe("the real image\n");
      expect(await readFile(join(root, "app/main.py"), "utf8")).toBe("print('1.0.0')\n");
    }
  });
});
