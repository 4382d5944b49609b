import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractArchive } from "../../../agent/archive/extract.js";
import { type RawEntry, writeArchive } from "../sources/tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-extract-hashes-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

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

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

async function extract(name: string, entries: RawEntry[]) {
  const archive = await writeArchive(tmp, name, entries);
  const dest = join(tmp, "stage");
  const result = await extractArchive(archive, dest);
  return { dest, result };
}

describe("extractArchive records each regular file's sha256 as it writes it", () => {
  it("matches the files on disk, gives a hard link its target's hash and leaves symlinks out", async () => {
    // Over one 64 KiB stream chunk, so the hash must span several writes.
    const big = Buffer.alloc(300_000, 7);
    big.write("start", 0);
    const { dest, result } = await extract("app.tar.gz", [
      { path: "bin/", type: "Directory" },
      { path: "bin/run", body: "#!/bin/sh\necho hi\n", mode: 0o755 },
      { path: "data/big.bin", body: big },
      { path: "empty.txt", body: "" },
      { path: "run-link", type: "SymbolicLink", linkpath: "bin/run" },
      { path: "bin/run-again", type: "Link", linkpath: "bin/run" },
    ]);
    const onDisk = await hashesOnDisk(dest);
    expect(result.hashes).toEqual(onDisk);
    expect([...result.hashes.keys()].sort()).toEqual([
      "bin/run",
      "bin/run-again",
      "data/big.bin",
      "empty.txt",
    ]);
    expect(result.hashes.get("data/big.bin")).toBe(sha256(big));
    expect(result.hashes.get("empty.txt")).toBe(sha256(""));
    expect(result.hashes.get("bin/run-again")).toBe(sha256("#!/bin/sh\necho hi\n"));
    expect(result.hashes.has("run-link")).toBe(false);
  });

  it("keys the hashes by the final path after the single top directory is stripped", async () => {
    const { dest, result } = await extract("myapp-v2.tgz", [
      { path: "myapp-v2/", type: "Directory" },
      { path: "myapp-v2/update-manifest.yaml", body: "version: 2.0.0\n" },
      { path: "myapp-v2/app.py", body: "print('v2')\n" },
      { path: "myapp-v2/myapp-v2/inner.txt", body: "same name as the top" },
      { path: "myapp-v2/copy.py", type: "Link", linkpath: "myapp-v2/app.py" },
    ]);
    expect((await readdir(dest)).sort()).toEqual(["app.py", "copy.py", "myapp-v2", "update-manifest.yaml"]);
    expect(result.hashes).toEqual(await hashesOnDisk(dest));
    expect(result.hashes.get("app.py")).toBe(sha256("print('v2')\n"));
    expect(result.hashes.get("copy.py")).toBe(sha256("print('v2')\n"));
    expect(result.hashes.get("myapp-v2/inner.txt")).toBe(sha256("same name as the top"));
  });

  it("follows duplicate names: the later entry's bytes, a hard link keeping the earlier bytes", async () => {
    const { dest, result } = await extract("dup.tar", [
      { path: "a.txt", body: "first" },
      { path: "keep.txt", type: "Link", linkpath: "a.txt" },
      { path: "a.txt", body: "second" },
      { path: "b.txt", body: "a file, then a symlink" },
      { path: "b.txt", type: "SymbolicLink", linkpath: "a.txt" },
    ]);
    expect(result.hashes).toEqual(await hashesOnDisk(dest));
    expect(result.hashes.get("a.txt")).toBe(sha256("second"));
    expect(result.hashes.get("keep.txt")).toBe(sha256("first"));
    expect(result.hashes.has("b.txt")).toBe(false);
  });
});
