import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list, type ReadEntry } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readManifestFromArchive } from "../../../agent/release/archive-manifest.js";
import { buildReleaseArchive } from "../../../agent/release/build-archive.js";
import { BadInputError } from "../../../shared/errors.js";
import { parseManifestText } from "../../../shared/manifest/load.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-archive-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeApp(root: string, mtime: Date, fileMode: number): Promise<void> {
  await mkdir(join(root, "src/lib"), { recursive: true });
  await mkdir(join(root, "bin"), { recursive: true });
  const files: [string, string][] = [
    ["src/main.ts", "console.log('hi')\n"],
    ["src/lib/util.ts", "export const x = 1;\n"],
    ["config.toml", "[server]\nport = 8000\n"],
    ["bin/run", "#!/bin/sh\necho run\n"],
    [`deep/${"d".repeat(90)}/${"e".repeat(90)}/long-name.txt`, "long path\n"],
    ["update-manifest.yaml", '# keep me\nversion: "0.0.1"\ndescription: old\n'],
  ];
  for (const [rel, body] of files) {
    await mkdir(join(root, rel, ".."), { recursive: true });
    await writeFile(join(root, rel), body);
    await chmod(join(root, rel), fileMode);
    await utimes(join(root, rel), mtime, mtime);
  }
  await chmod(join(root, "bin/run"), 0o775);
  await symlink("main.ts", join(root, "src/current.ts"));
}

interface Listed {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
}

async function listArchive(file: string): Promise<Listed[]> {
  const out: Listed[] = [];
  await list({
    file,
    onReadEntry: (e: ReadEntry) => {
      out.push({
        path: e.path,
        mode: e.mode ?? -1,
        uid: e.uid ?? -1,
        gid: e.gid ?? -1,
        mtime: e.mtime?.getTime() ?? -1,
        uname: e.uname ?? "",
      });
    },
  });
  return out;
}

describe("ship release http archives", () => {
  it("gives the same bytes from the same input, whatever the mtimes and permission bits", async () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    await makeApp(a, new Date("2020-01-01T00:00:00Z"), 0o644);
    await makeApp(b, new Date("2024-06-06T06:06:06Z"), 0o664);
    const env = { SOURCE_DATE_EPOCH: "1700000000" };
    const common = { app: "myapp", version: "1.2.3", description: "New features", env };
    const first = await buildReleaseArchive({ ...common, sourceDir: a, outDir: join(dir, "out-a") });
    const second = await buildReleaseArchive({ ...common, sourceDir: b, outDir: join(dir, "out-b") });
    expect(first.sha256).toBe(second.sha256);
    expect(await readFile(first.path)).toEqual(await readFile(second.path));
    expect(await readFile(first.checksumPath, "utf8")).toBe(`${first.sha256}  myapp-1.2.3.tar.gz\n`);
    const sum = execFileSync("sha256sum", ["-c", "myapp-1.2.3.tar.gz.sha256"], { cwd: join(dir, "out-a") });
    expect(sum.toString()).toContain("OK");
  });

  it("puts everything under APP-VERSION/ in byte order with fixed owners, times and modes", async () => {
    const src = join(dir, "src");
    await makeApp(src, new Date(), 0o600);
    const built = await buildReleaseArchive({
      sourceDir: src,
      app: "myapp",
      version: "1.2.3",
      outDir: src,
      mtime: 0,
    });
    const entries = await listArchive(built.path);
    const paths = entries.map((e) => e.path);
    expect(paths.every((p) => p.startsWith("myapp-1.2.3/"))).toBe(true);
    expect(paths).toContain("myapp-1.2.3/update-manifest.yaml");
    expect(paths).toContain(`myapp-1.2.3/deep/${"d".repeat(90)}/${"e".repeat(90)}/long-name.txt`);
    expect([...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))).toEqual(paths);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get("myapp-1.2.3/bin/run")?.mode).toBe(0o755);
    expect(byPath.get("myapp-1.2.3/src/main.ts")?.mode).toBe(0o644);
    expect(entries.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0 && e.uname === "")).toBe(true);
    // A rebuild into the same directory does not swallow its own earlier output.
    const again = await buildReleaseArchive({
      sourceDir: src,
      app: "myapp",
      version: "1.2.3",
      outDir: src,
      mtime: 0,
    });
    expect(again.sha256).toBe(built.sha256);
  });

  it("extracts with the system tar to APP-VERSION/ with a valid manifest carrying the new version", async () => {
    const src = join(dir, "src");
    await makeApp(src, new Date(), 0o644);
    const built = await buildReleaseArchive({
      sourceDir: src,
      app: "myapp",
      version: "1.10",
      description: "Bug fixes",
      outDir: join(dir, "out"),
      include: ["src", "config.toml"],
    });
    const target = join(dir, "x");
    await mkdir(target);
    execFileSync("tar", ["-xzf", built.path, "-C", target]);
    const text = await readFile(join(target, "myapp-1.10/update-manifest.yaml"), "utf8");
    expect(text).toContain("# keep me");
    expect(parseManifestText(text, "m").manifest).toMatchObject({
      version: "1.10",
      description: "Bug fixes",
    });
    expect(await readFile(join(target, "myapp-1.10/src/lib/util.ts"), "utf8")).toBe("export const x = 1;\n");
    await expect(readFile(join(target, "myapp-1.10/bin/run"))).rejects.toThrow();
    expect(await readManifestFromArchive(built.path)).toBe(text);
    expect(built.manifestText).toBe(text);
  });

  // Said as "<path> only files, directories and symlinks can be released": no word of what the
  // entry is, nor what to do.
  it("refuses a named pipe, saying what it is and how to leave it out", async () => {
    const src = join(dir, "src");
    await makeApp(src, new Date(), 0o644);
    execFileSync("mkfifo", [join(src, "src/queue")]);
    await expect(
      buildReleaseArchive({ sourceDir: src, app: "a", version: "1", outDir: join(dir, "out") }),
    ).rejects.toThrow(
      `${join(src, "src/queue")} is a named pipe (fifo): only files, directories and symlinks can be released; leave it out (.gitignore, or --include only what ships)`,
    );
  });

  it("refuses symlinks leaving the release and includes outside it", async () => {
    const src = join(dir, "src");
    await makeApp(src, new Date(), 0o644);
    await symlink("/etc/passwd", join(src, "src/evil"));
    const out = join(dir, "out");
    await expect(
      buildReleaseArchive({ sourceDir: src, app: "a", version: "1", outDir: out }),
    ).rejects.toThrow(/points outside the release/);
    const outside = buildReleaseArchive({
      sourceDir: src,
      app: "a",
      version: "1",
      outDir: out,
      include: ["../x"],
    });
    await expect(outside).rejects.toBeInstanceOf(BadInputError);
    // Through a symlinked directory: its target's files are not the release's.
    await rm(join(src, "src/evil"));
    await mkdir(join(dir, "elsewhere"));
    await writeFile(join(dir, "elsewhere/secret.env"), "TOKEN=1\n");
    await symlink("../elsewhere", join(src, "linked"));
    const through = buildReleaseArchive({
      sourceDir: src,
      app: "a",
      version: "1",
      outDir: out,
      include: ["linked/secret.env"],
    });
    await expect(through).rejects.toThrow(/goes through the symlink linked/);
  });
});
