/**
 * `ship release http` of an app with a file that compresses like a decompression bomb (8 MiB of
 * zeros: a sparse disk image, a pre-allocated database). Built at gzip level 6 (8 KB) it was
 * exit 0, and every agent refused it ("decompression bomb … ratio over 200"). It is now stored
 * (gzip level 0), said in a note, and installs. Real git work tree, real CLI install.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { runRelease } from "./run-cli.js";

describe("ship release http of a release that compresses like a bomb", () => {
  let root: string;
  let app: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-release-compressible-"));
    app = join(root, "myapp");
    await mkdir(app);
    await writeFile(join(app, "update-manifest.yaml"), 'version: "1.0.0"\n');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const commit = () => {
    execFileSync("git", ["init", "-q", "-b", "main", app]);
    execFileSync("git", ["-C", app, "add", "."]);
    execFileSync("git", ["-C", app, "-c", "user.name=ci", "-c", "user.email=ci@x", "commit", "-qm", "r"]);
  };
  const install = async (archive: string) => {
    await mkdir(join(root, "installed"), { recursive: true });
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${root}/installed"\ntype = "local"\npath = "${archive}"\n`,
    );
    return runShip(["--config", join(root, "ship.toml")]);
  };

  it("is stored uncompressed with a note, and an agent installs it", async () => {
    await writeFile(join(app, "disk.img"), Buffer.alloc(8 * 1024 * 1024));
    commit();
    const built = await runRelease(app, "http", "1.0.0", "image", "--out", join(root, "dist"));
    expect(built.code, built.err).toBe(0);
    expect(built.err).toBe(
      "note: stored uncompressed (gzip level 0): its files compress so well (zeros, a sparse image) that agents would refuse it compressed as a decompression bomb\n",
    );
    const archive = join(root, "dist", "myapp-1.0.0.tar.gz");
    expect((await stat(archive)).size).toBeGreaterThan(8 * 1024 * 1024);
    const installed = await install(archive);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect((await stat(join(root, "installed", "disk.img"))).size).toBe(8 * 1024 * 1024);
  });

  it("an ordinary release stays compressed, without the note", async () => {
    await writeFile(join(app, "app.py"), "print('hello')\n".repeat(1000));
    commit();
    const built = await runRelease(app, "http", "1.0.0", "code", "--out", join(root, "dist"));
    expect(built.code, built.err).toBe(0);
    expect(built.err).toBe("");
    expect((await stat(join(root, "dist", "myapp-1.0.0.tar.gz"))).size).toBeLessThan(2000);
  });
});
