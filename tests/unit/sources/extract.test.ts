import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractArchive } from "../../../agent/archive/extract.js";
import { VerificationError } from "../../../shared/errors.js";
import { buildTar, type RawEntry, writeArchive } from "./tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-extract-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function expectRefused(entries: RawEntry[], message: RegExp, name = "bad.tar.gz"): Promise<void> {
  const archive = await writeArchive(tmp, name, entries);
  const dest = join(tmp, "stage");
  const err = await extractArchive(archive, dest).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(VerificationError);
  expect((err as VerificationError).exitCode).toBe(2);
  expect((err as Error).message).toMatch(message);
  // Nothing left behind: the staging dir we created is gone again.
  await expect(stat(dest)).rejects.toMatchObject({ code: "ENOENT" });
}

const ok: RawEntry[] = [
  { path: "app/", type: "Directory" },
  { path: "app/run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o755 },
  { path: "app/lib/data.txt", body: "data" },
  { path: "app/link", type: "SymbolicLink", linkpath: "lib/data.txt" },
  { path: "app/hard", type: "Link", linkpath: "app/run.sh" },
];

describe("extractArchive: good archives", () => {
  it("extracts files, modes, relative symlinks and hard links from a .tar.gz", async () => {
    const archive = await writeArchive(tmp, "good.tar.gz", ok);
    const dest = join(tmp, "stage");
    const result = await extractArchive(archive, dest);
    expect(result.files).toBe(3);
    expect(result.bytes).toBe(22);
    expect(await readFile(join(dest, "app/lib/data.txt"), "utf8")).toBe("data");
    expect((await stat(join(dest, "app/run.sh"))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(dest, "app/link"))).toBe("lib/data.txt");
    expect((await stat(join(dest, "app/hard"))).ino).toBe((await stat(join(dest, "app/run.sh"))).ino);
  });

  it("extracts a plain .tar into an existing empty directory", async () => {
    const archive = await writeArchive(tmp, "good.tar", [{ path: "a.txt", body: "A" }]);
    const dest = join(tmp, "existing");
    await mkdir(dest);
    await extractArchive(archive, dest);
    expect(await readdir(dest)).toEqual(["a.txt"]);
  });

  it("strips a single top-level directory that holds the manifest", async () => {
    const archive = await writeArchive(tmp, "myapp-v1.2.3.tgz", [
      { path: "myapp-v1.2.3/", type: "Directory" },
      { path: "myapp-v1.2.3/update-manifest.yaml", body: "version: 1.2.3\n" },
      { path: "myapp-v1.2.3/myapp-v1.2.3/inner.txt", body: "same name as parent" },
    ]);
    const dest = join(tmp, "stage");
    await extractArchive(archive, dest);
    expect((await readdir(dest)).sort()).toEqual(["myapp-v1.2.3", "update-manifest.yaml"]);
    expect(await readFile(join(dest, "myapp-v1.2.3/inner.txt"), "utf8")).toBe("same name as parent");
  });

  it("keeps a single top-level directory without a manifest", async () => {
    const archive = await writeArchive(tmp, "plain.tgz", [{ path: "top/file", body: "x" }]);
    const dest = join(tmp, "stage");
    await extractArchive(archive, dest);
    expect(await readdir(dest)).toEqual(["top"]);
  });

  it("refuses a staging directory that is not empty and leaves it alone", async () => {
    const archive = await writeArchive(tmp, "good.tar", [{ path: "a.txt", body: "A" }]);
    const dest = join(tmp, "busy");
    await mkdir(dest);
    await writeFile(join(dest, "keep"), "mine");
    await expect(extractArchive(archive, dest)).rejects.toThrow(/not empty/);
    expect(await readFile(join(dest, "keep"), "utf8")).toBe("mine");
  });
});

describe("extractArchive: hostile archives are refused and leave nothing behind", () => {
  it("absolute path", () => expectRefused([{ path: "/etc/evil", body: "x" }], /absolute path/));

  it("`..` in a path", () => expectRefused([{ path: "app/../../evil", body: "x" }], /`\.\.`/));

  it("symlink pointing outside", () =>
    expectRefused([{ path: "app/l", type: "SymbolicLink", linkpath: "../../etc/passwd" }], /outside/));

  it("symlink to an absolute path", () =>
    expectRefused([{ path: "l", type: "SymbolicLink", linkpath: "/etc" }], /absolute path \/etc/));

  it("symlink chain that only escapes on disk", () =>
    expectRefused(
      [
        { path: "s", type: "SymbolicLink", linkpath: "." },
        { path: "d/", type: "Directory" },
        { path: "d/t", type: "SymbolicLink", linkpath: "../s/s/x/../.." },
      ],
      /resolves outside/,
    ));

  it("a file written through an earlier symlink", () =>
    expectRefused(
      [
        { path: "dir", type: "SymbolicLink", linkpath: "sub" },
        { path: "sub/", type: "Directory" },
        { path: "dir/file", body: "x" },
      ],
      /through the symlink dir/,
    ));

  it("hard link pointing outside", () =>
    expectRefused([{ path: "h", type: "Link", linkpath: "../outside" }], /hard link target contains `\.\.`/));

  it("hard link to an absolute path", () =>
    expectRefused([{ path: "h", type: "Link", linkpath: "/etc/shadow" }], /hard link target is an absolute/));

  it("character device", () => expectRefused([{ path: "dev", type: "CharacterDevice" }], /device file/));

  it("block device", () => expectRefused([{ path: "blk", type: "BlockDevice" }], /device file/));

  it("FIFO", () => expectRefused([{ path: "pipe", type: "FIFO" }], /FIFO/));

  it("setuid bit", () => expectRefused([{ path: "suid", body: "x", mode: 0o4755 }], /setuid/));

  it("setgid directory", () => expectRefused([{ path: "sg/", type: "Directory", mode: 0o2755 }], /setgid/));

  it("decompression bomb (ratio)", async () => {
    const zeros = Buffer.alloc(3 * 1024 * 1024);
    const archive = join(tmp, "bomb.tar.gz");
    await writeFile(
      archive,
      gzipSync(
        buildTar([
          { path: "ok.txt", body: "x" },
          { path: "zeros", body: zeros },
        ]),
      ),
    );
    const dest = join(tmp, "stage");
    const err = await extractArchive(archive, dest, { maxRatio: 50, ratioFloorBytes: 1024 }).catch((e) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/decompression bomb/);
    await expect(stat(dest)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("more files than the limit, into an existing dir that ends up empty", async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, body: "x" }));
    const archive = await writeArchive(tmp, "many.tar", entries);
    const dest = join(tmp, "stage");
    await mkdir(dest);
    await expect(extractArchive(archive, dest, { maxFiles: 10 })).rejects.toThrow(/more than 10 entries/);
    expect(await readdir(dest)).toEqual([]);
  });

  it("more bytes than the limit", async () => {
    const archive = await writeArchive(tmp, "big.tar", [
      { path: "a", body: Buffer.alloc(600) },
      { path: "b", body: Buffer.alloc(600) },
    ]);
    const dest = join(tmp, "stage");
    await expect(extractArchive(archive, dest, { maxBytes: 1000 })).rejects.toThrow(/over the limit of 1000/);
    await expect(lstat(dest)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a file over the per-file limit", () =>
    expect(
      writeArchive(tmp, "f.tar", [{ path: "a", body: Buffer.alloc(2000) }]).then((a) =>
        extractArchive(a, join(tmp, "stage"), { maxFileBytes: 1000 }),
      ),
    ).rejects.toThrow('f.tar: entry "a": 1.95 KiB (2000 bytes) is over the limit of 1000 bytes'));

  it("a second compression layer the ratio check could not see", async () => {
    const archive = join(tmp, "double.tar.gz");
    await writeFile(archive, gzipSync(gzipSync(buildTar([{ path: "a", body: "x" }]))));
    const dest = join(tmp, "stage");
    await expect(extractArchive(archive, dest)).rejects.toThrow(/nested compression/);
    await expect(stat(dest)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("garbage that is not a tar archive", async () => {
    const archive = join(tmp, "junk.tar.gz");
    await writeFile(archive, gzipSync(Buffer.from("this is not a tarball at all".repeat(100))));
    const dest = join(tmp, "stage");
    await expect(extractArchive(archive, dest)).rejects.toBeInstanceOf(VerificationError);
    await expect(stat(dest)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a truncated archive after files were already written", async () => {
    const big = Buffer.alloc(300_000, 7);
    const tar = buildTar([
      { path: "first", body: big },
      { path: "second", body: big },
    ]);
    const archive = join(tmp, "cut.tar");
    await writeFile(archive, tar.subarray(0, 450_000));
    const dest = join(tmp, "stage");
    await expect(extractArchive(archive, dest)).rejects.toBeInstanceOf(VerificationError);
    await expect(stat(dest)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("extractArchive: duplicate names", () => {
  it("replaces an earlier symlink instead of writing through it", async () => {
    const archive = await writeArchive(tmp, "dup.tar", [
      { path: "target.txt", body: "original" },
      { path: "x", type: "SymbolicLink", linkpath: "target.txt" },
      { path: "x", body: "replacement" },
    ]);
    const dest = join(tmp, "stage");
    await extractArchive(archive, dest);
    expect(await readFile(join(dest, "target.txt"), "utf8")).toBe("original");
    expect((await lstat(join(dest, "x"))).isFile()).toBe(true);
    expect(await readFile(join(dest, "x"), "utf8")).toBe("replacement");
  });
});
