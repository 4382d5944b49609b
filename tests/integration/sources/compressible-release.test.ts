/**
 * A real release with a file that compresses as well as a decompression bomb (zeros, a sparse
 * image): refused, rightly unread past the ratio, but the line read as an attack with no way out.
 * It now says how such a release ships (a plain .tar, which no ratio applies to), and that way
 * installs. Real CLI, real tarballs made by tar.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("a release whose file compresses like a bomb", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-compressible-"));
    await mkdir(join(root, "app"));
    await mkdir(join(root, "rel"));
    await writeFile(join(root, "rel", "update-manifest.yaml"), 'version: "1.0.0"\n');
    // 8 MiB of zeros: past the 4 MiB floor, about 1000 times its gzipped size.
    await writeFile(join(root, "rel", "disk.img"), Buffer.alloc(8 * 1024 * 1024));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const install = async (archive: string) => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${root}/app"\ntype = "local"\npath = "${root}/${archive}"\n`,
    );
    return runShip(["--config", join(root, "ship.toml")]);
  };

  it("as .tar.gz is refused saying a plain .tar ships it; as .tar it installs", async () => {
    execFileSync("tar", ["czf", join(root, "rel.tar.gz"), "-C", join(root, "rel"), "."]);
    const refused = await install("rel.tar.gz");
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(
      /^myapp: rel\.tar\.gz: entry "\.\/disk\.img": decompression bomb: \d+ bytes unpacked from \d+ packed \(ratio over 200\); if this is a real release whose files compress that well \(zeros, a sparse image\), pack it as a plain \.tar \(tar -cf\), which is not compressed\n$/,
    );
    expect(await readdir(join(root, "app"))).toEqual([]);

    execFileSync("tar", ["cf", join(root, "rel.tar"), "-C", join(root, "rel"), "."]);
    const installed = await install("rel.tar");
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect((await stat(join(root, "app", "disk.img"))).size).toBe(8 * 1024 * 1024);
  });
});
