import { createHash } from "node:crypto";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalSource } from "../../../agent/sources/local.js";
import { treeDigest } from "../../../agent/sources/release-dir.js";
import { LocalSource as LocalSourceConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { writeArchive } from "./tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-local-hashes-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function source(path: string): LocalSource {
  const cfg = LocalSourceConfig.parse({ type: "local", app_dir: "/opt/app", path });
  return new LocalSource("app", cfg, { stateDir: join(tmp, "state"), log: memoryLogger() });
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** rel path → sha256 of every regular file under `root`, read back from disk (symlinks left out). */
async function hashesOnDisk(root: string, rel = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(join(root, rel))) {
    const child = rel === "" ? name : `${rel}/${name}`;
    const st = await lstat(join(root, child));
    if (st.isDirectory()) {
      for (const [k, v] of await hashesOnDisk(root, child)) out.set(k, v);
    } else if (st.isFile()) {
      out.set(child, sha256(await readFile(join(root, child))));
    }
  }
  return out;
}

async function stagingDir(): Promise<string> {
  const dir = join(tmp, "stage");
  await mkdir(dir);
  return dir;
}

describe("LocalSource hands the pipeline the sha256 of every file it wrote", () => {
  it("a directory: hashes taken while copying equal the staged files, modes kept, symlinks left out", async () => {
    const dir = join(tmp, "release");
    await mkdir(join(dir, "bin"), { recursive: true });
    await mkdir(join(dir, "data/deep"), { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "bin/run"), "#!/bin/sh\n");
    await chmod(join(dir, "bin/run"), 0o750);
    // Larger than the copy buffer (1 MiB), so the hash spans several reads.
    const big = Buffer.alloc(2.5 * 1024 * 1024, 3);
    big.write("head", 0);
    await writeFile(join(dir, "data/deep/big.bin"), big);
    await writeFile(join(dir, "data/empty"), "");
    await symlink("bin/run", join(dir, "run"));

    const stage = await stagingDir();
    const release = await source(dir).fetch(stage);

    expect(release.fileHashes).toEqual(await hashesOnDisk(stage));
    expect([...(release.fileHashes?.keys() ?? [])].sort()).toEqual([
      "bin/run",
      "data/deep/big.bin",
      "data/empty",
      "update-manifest.yaml",
    ]);
    expect(release.fileHashes?.get("data/deep/big.bin")).toBe(sha256(big));
    expect((await readFile(join(stage, "data/deep/big.bin"))).equals(big)).toBe(true);
    expect((await stat(join(stage, "bin/run"))).mode & 0o777).toBe(0o750);
    // The id built from the recorded hashes is the digest a full re-read gives, and what check() offers.
    expect(release.id).toBe(`tree:${await treeDigest(stage)}`);
    expect(release.id).toBe(`tree:${await treeDigest(dir)}`);
  });

  it("treeDigest takes a known hash instead of reading the file", async () => {
    const dir = join(tmp, "tree");
    await mkdir(dir);
    await writeFile(join(dir, "a.txt"), "real bytes");
    const honest = await treeDigest(dir);
    expect(await treeDigest(dir, new Map([["a.txt", sha256("real bytes")]]))).toBe(honest);
    expect(await treeDigest(dir, new Map([["a.txt", sha256("other bytes")]]))).not.toBe(honest);
  });

  it("an archive: the extraction's hashes, keyed below the stripped top directory", async () => {
    const archive = await writeArchive(tmp, "myapp-1.0.0.tar.gz", [
      { path: "myapp-1.0.0/update-manifest.yaml", body: 'version: "1.0.0"\n' },
      { path: "myapp-1.0.0/app.py", body: "print('hi')\n" },
      { path: "myapp-1.0.0/link", type: "SymbolicLink", linkpath: "app.py" },
    ]);
    const stage = await stagingDir();
    const release = await source(archive).fetch(stage);
    expect(release.fileHashes).toEqual(await hashesOnDisk(stage));
    expect(release.fileHashes?.get("app.py")).toBe(sha256("print('hi')\n"));
  });
});
