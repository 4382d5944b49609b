/**
 * Odd but legal tar entries, built by the real GNU tar where it writes them: extraction does what
 * GNU tar does, and whatever ship refuses is exit 2 naming the entry, never a bare errno.
 */
import { execFileSync } from "node:child_process";
import { link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractArchive } from "../../../agent/archive/extract.js";
import { VerificationError } from "../../../shared/errors.js";
import { hasProgram } from "../../support/require-program.js";
import { type RawEntry, writeArchive } from "../sources/tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-odd-tar-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const gnuTar = (cwd: string, ...args: string[]) => execFileSync("tar", args, { cwd, stdio: "pipe" });

async function refusal(entries: RawEntry[]): Promise<VerificationError> {
  const archive = await writeArchive(tmp, "odd.tar", entries);
  const dest = join(tmp, "stage");
  const err = await extractArchive(archive, dest).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(VerificationError);
  await expect(stat(dest)).rejects.toMatchObject({ code: "ENOENT" });
  return err as VerificationError;
}

describe.skipIf(!hasProgram("tar"))("GNU tar archives with odd entries", () => {
  it("a file added twice while it has a second name: the hard link to its own name is a no-op", async () => {
    const src = join(tmp, "src");
    await mkdir(src);
    await writeFile(join(src, "a"), "payload\n");
    await link(join(src, "a"), join(src, "b"));
    gnuTar(src, "cf", "../self.tar", "a", "a", "b");
    expect(gnuTar(src, "tvf", "../self.tar").toString()).toMatch(/a link to a/);
    const dest = join(tmp, "stage");
    const result = await extractArchive(join(tmp, "self.tar"), dest);
    expect(await readFile(join(dest, "a"), "utf8")).toBe("payload\n");
    expect((await stat(join(dest, "b"))).ino).toBe((await stat(join(dest, "a"))).ino);
    expect(result.files).toBe(2);
    expect(result.hashes.get("a")).toBe(result.hashes.get("b"));
  });

  it("duplicate entries (tar -r of a changed file): the later one wins, as with tar -x", async () => {
    const src = join(tmp, "src");
    await mkdir(src);
    await writeFile(join(src, "conf"), "old\n");
    gnuTar(src, "cf", "../dup.tar", "conf");
    await writeFile(join(src, "conf"), "new\n");
    gnuTar(src, "rf", "../dup.tar", "conf");
    const dest = join(tmp, "stage");
    const result = await extractArchive(join(tmp, "dup.tar"), dest);
    expect(await readFile(join(dest, "conf"), "utf8")).toBe("new\n");
    expect(result.hashes.size).toBe(1);
  });

  it("pax headers: long names, long link targets, sub-second mtimes and a global header", async () => {
    const src = join(tmp, "src");
    const deep = join(src, "d".repeat(90), "e".repeat(90));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, `${"f".repeat(120)}.txt`), "deep\n");
    await link(join(deep, `${"f".repeat(120)}.txt`), join(src, `${"g".repeat(110)}.txt`));
    gnuTar(
      src,
      "--format=pax",
      "--pax-option=globexthdr.name=pax_global_header,comment=built",
      "-cf",
      "../pax.tar",
      ".",
    );
    const dest = join(tmp, "stage");
    await extractArchive(join(tmp, "pax.tar"), dest);
    const rel = join("d".repeat(90), "e".repeat(90), `${"f".repeat(120)}.txt`);
    expect(await readFile(join(dest, rel), "utf8")).toBe("deep\n");
    expect((await stat(join(dest, `${"g".repeat(110)}.txt`))).ino).toBe((await stat(join(dest, rel))).ino);
    await expect(stat(join(dest, "pax_global_header"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("odd entries ship refuses: exit 2 naming the entry, never a bare errno", () => {
  it("a hard link to its own name with no file before it (GNU tar cannot make it either)", async () => {
    const err = await refusal([{ path: "lonely", type: "Link", linkpath: "lonely" }]);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(
      /odd\.tar: entry "lonely": hard link to lonely, which is not a file extracted before it/,
    );
  });

  it("a hard link to an entry that only comes later", async () => {
    const err = await refusal([
      { path: "early", type: "Link", linkpath: "late" },
      { path: "late", body: "x" },
    ]);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/entry "early": hard link to late/);
  });

  it("a file that a later entry needs as a directory", async () => {
    const err = await refusal([
      { path: "bin", body: "i am a file" },
      { path: "bin/tool", body: "x" },
    ]);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/odd\.tar: entry "bin\/tool": cannot be extracted: .*\((ENOTDIR|EEXIST)\)$/);
  });
});
