/**
 * Extraction that leaves out files the app already holds: the staged part plus the listing must
 * describe exactly what a full extraction gives, and `materialize` must bring back the very bytes.
 */
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractArchive } from "../../../agent/archive/extract.js";
import { describeRelease } from "../../../agent/tree/release-tree.js";
import { ReleaseChangedError } from "../../../shared/errors.js";
import { buildTar, type RawEntry, writeArchive } from "../sources/tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-left-out-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** Every entry under `root`: files by sha256 and mode, symlinks by target, directories by mode. */
async function treeOf(root: string, rel = "", out = new Map<string, string>()): Promise<Map<string, string>> {
  for (const name of (await readdir(join(root, rel))).sort()) {
    const child = rel === "" ? name : `${rel}/${name}`;
    const st = await lstat(join(root, child));
    if (st.isDirectory()) {
      out.set(child, `dir ${(st.mode & 0o777).toString(8)}`);
      await treeOf(root, child, out);
    } else if (st.isSymbolicLink()) {
      out.set(child, `link ${await readlink(join(root, child))}`);
    } else {
      out.set(child, `file ${(st.mode & 0o777).toString(8)} ${sha256(await readFile(join(root, child)))}`);
    }
  }
  return out;
}

/** An app holding `files` (release path → content) byte for byte, as the install index says. */
function holding(files: Record<string, string | Buffer>) {
  const held = new Map(Object.entries(files).map(([rel, body]) => [rel, sha256(body)]));
  return (rel: string, sha: string) => held.get(rel) === sha;
}

async function both(entries: RawEntry[], held: Record<string, string | Buffer>) {
  const archive = await writeArchive(tmp, "release.tar.gz", entries);
  const full = join(tmp, "full");
  const part = join(tmp, "part");
  await extractArchive(archive, full);
  const result = await extractArchive(archive, part, { appHolds: holding(held) });
  return { archive, full, part, result };
}

/** The partial extraction describes the full one exactly, and materialize completes it. */
async function expectSameRelease(
  full: string,
  part: string,
  result: Awaited<ReturnType<typeof both>>["result"],
) {
  const described = await describeRelease(full, { exclude: [] });
  expect(result.listing?.files).toEqual(described.files);
  expect(result.listing?.dirs).toEqual(described.dirs);
  const onDisk = await treeOf(part);
  const missing = [...described.files.keys()].filter((rel) => !onDisk.has(rel));
  expect(missing.length).toBe(result.leftOut);
  await result.materialize?.(missing);
  expect(await treeOf(part)).toEqual(await treeOf(full));
}

const manifest: RawEntry = { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' };

describe("extractArchive leaves out what the app holds", () => {
  it("writes only the files that differ, lists the whole release, and materialize brings back the rest", async () => {
    const big = Buffer.alloc(3 << 20, 1); // over the in-memory size: streamed, then dropped
    const { full, part, result } = await both(
      [
        manifest,
        { path: "lib/", type: "Directory", mode: 0o750 },
        { path: "lib/same.py", body: "same\n" },
        { path: "lib/changed.py", body: "new\n" },
        { path: "lib/run.sh", body: "#!/bin/sh\n", mode: 0o755 },
        { path: "data/big.bin", body: big },
        { path: "top.txt", body: "root files are always written\n" },
        { path: "lib/alias", type: "SymbolicLink", linkpath: "same.py" },
      ],
      {
        "lib/same.py": "same\n",
        "lib/changed.py": "old\n",
        "lib/run.sh": "#!/bin/sh\n",
        "data/big.bin": big,
        "top.txt": "root files are always written\n",
      },
    );
    expect(result.leftOut).toBe(3);
    expect(
      [...(await treeOf(part)).keys()].filter((k) => !k.endsWith("/") && !["lib", "data"].includes(k)),
    ).toEqual(["lib/alias", "lib/changed.py", "top.txt", "update-manifest.yaml"]);
    expect(result.files).toBe(6);
    await expectSameRelease(full, part, result);
  });

  it("judges files under a stripped top directory by their release path", async () => {
    const { full, part, result } = await both(
      [
        { path: "myapp-2.0/", type: "Directory" },
        { path: "myapp-2.0/update-manifest.yaml", body: 'version: "2.0.0"\n' },
        { path: "myapp-2.0/a.txt", body: "A\n" },
        { path: "myapp-2.0/src/b.txt", body: "B\n" },
      ],
      { "a.txt": "A\n", "src/b.txt": "B\n" },
    );
    expect(result.leftOut).toBe(2);
    expect(await readdir(part)).toEqual(expect.arrayContaining(["update-manifest.yaml", "src"]));
    await expectSameRelease(full, part, result);
  });

  it("writes a file after all when the top directory is not stripped and the app holds it only at the stripped path", async () => {
    // No manifest inside `pkg/`: nothing is stripped, so `pkg/a.txt` is the release path.
    const { full, part, result } = await both(
      [
        { path: "pkg/", type: "Directory" },
        { path: "pkg/a.txt", body: "A\n" },
        { path: "pkg/b.txt", body: "B\n" },
      ],
      { "a.txt": "A\n", "pkg/b.txt": "B\n" },
    );
    expect(result.leftOut).toBe(1);
    expect(await readFile(join(part, "pkg/a.txt"), "utf8")).toBe("A\n");
    await expectSameRelease(full, part, result);
  });

  it("handles hard links to a left-out file, held at the link's path or not, and later duplicates", async () => {
    const { full, part, result } = await both(
      [
        manifest,
        { path: "bin/tool", body: "tool v1\n", mode: 0o755 },
        { path: "bin/tool-alias", type: "Link", linkpath: "bin/tool" },
        { path: "bin/new-name", type: "Link", linkpath: "bin/tool" },
        { path: "etc/conf", body: "first\n" },
        { path: "etc/conf", body: "second\n" },
        { path: "etc/other", body: "kept\n" },
        { path: "etc/other", body: "replaced\n" },
      ],
      {
        "bin/tool": "tool v1\n",
        "bin/tool-alias": "tool v1\n",
        "etc/conf": "second\n",
        "etc/other": "kept\n",
      },
    );
    // bin/new-name is not held: written by a second pass with its target's bytes.
    expect(await readFile(join(part, "bin/new-name"), "utf8")).toBe("tool v1\n");
    expect(await readFile(join(part, "etc/other"), "utf8")).toBe("replaced\n");
    expect(result.leftOut).toBe(3);
    expect(result.hashes.get("bin/new-name")).toBe(sha256("tool v1\n"));
    await expectSameRelease(full, part, result);
  });

  it("materialize also writes back a staged file that went missing since, under a stripped top directory", async () => {
    const { full, part, result } = await both(
      [
        { path: "pkg-2/update-manifest.yaml", body: 'version: "2.0.0"\n' },
        { path: "pkg-2/lib/held.txt", body: "held\n" },
        { path: "pkg-2/lib/staged.txt", body: "staged\n" },
      ],
      { "lib/held.txt": "held\n" },
    );
    await rm(join(part, "lib/staged.txt"));
    await result.materialize?.(["lib/staged.txt", "lib/held.txt"]);
    expect(await treeOf(part)).toEqual(await treeOf(full));
  });

  it("stages everything and lists nothing extra when the app holds nothing", async () => {
    const { part, result } = await both([manifest, { path: "a/b.txt", body: "b\n" }], {});
    expect(result.leftOut).toBe(0);
    expect(result.listing).toBeUndefined();
    expect(await readFile(join(part, "a/b.txt"), "utf8")).toBe("b\n");
  });

  it("materialize refuses a file whose bytes in the archive changed since the first pass (a release that moved, not bad input), placing nothing", async () => {
    const entries: RawEntry[] = [manifest, { path: "lib/a.txt", body: "A\n" }];
    const { archive, part, result } = await both(entries, { "lib/a.txt": "A\n" });
    await writeFile(archive, gzipSync(buildTar([manifest, { path: "lib/a.txt", body: "X\n" }])));
    const error = await result.materialize?.(["lib/a.txt"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseChangedError);
    expect(String((error as Error).message)).toContain("lib/a.txt");
    await expect(lstat(join(part, "lib/a.txt"))).rejects.toThrow();
    expect((await readdir(tmp)).filter((n) => n.includes(".more-"))).toEqual([]);
  });

  it("still refuses a hostile entry, and leaves the staging directory empty", async () => {
    const archive = await writeArchive(tmp, "bad.tar.gz", [
      manifest,
      { path: "lib/a.txt", body: "A\n" },
      { path: "lib/evil", body: "x", mode: 0o4755 },
    ]);
    const dest = join(tmp, "stage");
    await expect(
      extractArchive(archive, dest, { appHolds: holding({ "lib/a.txt": "A\n" }) }),
    ).rejects.toThrow(/setuid/);
    expect(await readdir(dest).catch(() => [])).toEqual([]);
  });
});
