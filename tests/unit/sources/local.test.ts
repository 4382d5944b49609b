import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { createSource, openSource } from "../../../agent/sources/create.js";
import { LocalSource } from "../../../agent/sources/local.js";
import { LocalSource as LocalSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { writeArchive } from "./tar-builder.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ship-local-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function source(path: string, extra: Record<string, unknown> = {}): LocalSource {
  const cfg = LocalSourceConfig.parse({ type: "local", app_dir: "/opt/app", path, ...extra });
  return new LocalSource("app", cfg, { stateDir: join(tmp, "state"), log: memoryLogger() });
}

async function releaseDir(version: string): Promise<string> {
  const dir = join(tmp, "release");
  await mkdir(join(dir, "bin"), { recursive: true });
  await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
  await writeFile(join(dir, "bin/run"), "#!/bin/sh\n");
  await chmod(join(dir, "bin/run"), 0o755);
  await symlink("bin/run", join(dir, "run"));
  return dir;
}

describe("LocalSource with a directory", () => {
  it("copies the tree, detects changes by content, and remembers what was committed", async () => {
    const dir = await releaseDir("1.0.0");
    const src = source(dir);
    const first = await src.check();
    expect(first).toMatchObject({ available: true, current: undefined, candidate: "1.0.0" });

    const stage = join(tmp, "stage1");
    await mkdir(stage);
    const release = await src.fetch(stage);
    expect(release.dir).toBe(stage);
    expect(release.id).toMatch(/^tree:[0-9a-f]{64}$/);
    expect(await readlink(join(stage, "run"))).toBe("bin/run");
    expect((await stat(join(stage, "bin/run"))).mode & 0o777).toBe(0o755);

    // Not committed yet: still an update.
    expect((await src.check()).available).toBe(true);
    await src.commit(release);
    expect(await src.check()).toMatchObject({ available: false, current: "1.0.0" });

    // A new source object (next run) reads the metadata from the state dir.
    await writeFile(join(dir, "bin/run"), "#!/bin/sh\necho v2\n");
    expect(await source(dir).check()).toMatchObject({ available: true, current: "1.0.0" });
  });

  it("copies, so a later change to the user's directory does not reach the staged release", async () => {
    const dir = await releaseDir("1.0.0");
    const stage = join(tmp, "stage");
    await mkdir(stage);
    await source(dir).fetch(stage);
    await writeFile(join(dir, "bin/run"), "changed");
    expect(await readFile(join(stage, "bin/run"), "utf8")).toBe("#!/bin/sh\n");
  });

  it("refuses a symlink that points outside the release, leaving staging empty", async () => {
    const dir = await releaseDir("1.0.0");
    await symlink("../../etc/passwd", join(dir, "bin/evil"));
    const stage = join(tmp, "stage");
    await mkdir(stage);
    await expect(source(dir).fetch(stage)).rejects.toBeInstanceOf(VerificationError);
    expect(await readdir(stage)).toEqual([]);
  });
  it("refuses a checksum on a directory (exit 2 naming the key), which nothing could verify", async () => {
    const dir = await releaseDir("1.0.0");
    const err = await source(dir, { checksum: "sha256:not-even-hex" })
      .check()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as BadInputError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/sources\.app\.checksum.*is a directory/);
  });

  it("refuses a FIFO in the release directory", async () => {
    const dir = await releaseDir("1.0.0");
    execFileSync("mkfifo", [join(dir, "bin/pipe")]);
    const stage = join(tmp, "stage");
    await mkdir(stage);
    await expect(source(dir).fetch(stage)).rejects.toThrow(/device, FIFO or socket/);
    expect(await readdir(stage)).toEqual([]);
  });
});

describe("LocalSource's check with the pipeline's installed release", () => {
  it("decides from the index's id alone: the per-file part is read only to stage", async () => {
    const dir = await releaseDir("1.0.0");
    const cfg = LocalSourceConfig.parse({ type: "local", app_dir: "/opt/app", path: dir });
    const fingerprint = (await source(dir).fetch(join(tmp, "s0"))).id;
    let fullReads = 0;
    const src = new LocalSource("app", cfg, {
      stateDir: join(tmp, "state"),
      log: memoryLogger(),
      installed: async () => {
        fullReads++;
        return { version: "1.0.0", releaseId: fingerprint, appDir: "/opt/app", files: new IndexFiles() };
      },
      installedId: async () => ({ version: "1.0.0", releaseId: fingerprint }),
    });
    expect(await src.check()).toMatchObject({ available: false, current: "1.0.0" });
    expect(fullReads).toBe(0);
    await src.fetch(join(tmp, "s1"));
    expect(fullReads).toBe(1);
  });
});

describe("LocalSource with an archive", () => {
  const entries = [
    { path: "myapp-2.0.0/update-manifest.yaml", body: "version: 2.0.0\n" },
    { path: "myapp-2.0.0/app.txt", body: "v2" },
  ];

  it("verifies the checksum, extracts (stripping the top dir) and identifies by sha256", async () => {
    const archive = await writeArchive(tmp, "myapp.tar.gz", entries);
    const sha = createHash("sha256")
      .update(await readFile(archive))
      .digest("hex");
    const src = source(archive, { checksum: `sha256:${sha}` });
    // A real run's check does not read the archive: the fetch hashes it as it extracts.
    expect(await src.check()).toMatchObject({ available: true, candidate: /^myapp\.tar\.gz \(changed/ });
    const stage = join(tmp, "stage");
    await mkdir(stage);
    const release = await src.fetch(stage);
    expect(release).toMatchObject({ id: `sha256:${sha}`, artifactSha256: sha, artifactPath: archive });
    expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("v2");
    await src.commit(release);
    expect(await src.check()).toMatchObject({ available: false, current: "2.0.0" });
  });

  it("accepts a sha256sum file as the checksum", async () => {
    const archive = await writeArchive(tmp, "myapp.tar.gz", entries);
    const sha = createHash("sha256")
      .update(await readFile(archive))
      .digest("hex");
    await writeFile(join(tmp, "SHA256SUMS"), `${"0".repeat(64)}  other.tar.gz\n${sha}  myapp.tar.gz\n`);
    const stage = join(tmp, "stage");
    await mkdir(stage);
    await source(archive, { checksum: join(tmp, "SHA256SUMS") }).fetch(stage);
    expect(await readdir(stage)).toContain("app.txt");
  });

  it("--check-only (read-only) hashes the archive to say what it offers, and records nothing", async () => {
    const archive = await writeArchive(tmp, "myapp.tar.gz", entries);
    const sha = createHash("sha256")
      .update(await readFile(archive))
      .digest("hex");
    const cfg = LocalSourceConfig.parse({ type: "local", app_dir: "/opt/app", path: archive });
    const src = new LocalSource("app", cfg, {
      stateDir: join(tmp, "state"),
      readOnly: true,
      log: memoryLogger(),
    });
    expect(await src.check()).toMatchObject({ available: true, candidate: `sha256:${sha.slice(0, 12)}` });
    await expect(readdir(join(tmp, "state"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a wrong checksum is refused and nothing is left staged", async () => {
    const archive = await writeArchive(tmp, "myapp.tar.gz", entries);
    const stage = join(tmp, "stage");
    await mkdir(stage);
    const err = await source(archive, { checksum: `sha256:${"ab".repeat(32)}` })
      .fetch(stage)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/checksum mismatch/);
    expect(await readdir(stage)).toEqual([]);
  });
});

describe("createSource", () => {
  it("builds a LocalSource for type = local, loading its module on first use", async () => {
    const cfg = LocalSourceConfig.parse({ type: "local", app_dir: "/opt/app", path: "/srv/r" });
    expect(createSource("app", cfg, { stateDir: tmp, log: memoryLogger() }).name).toBe("app");
    const src = await openSource("app", cfg, { stateDir: tmp, log: memoryLogger() });
    expect(src).toBeInstanceOf(LocalSource);
    expect(src.name).toBe("app");
  });
});
