/**
 * `ship release http` left out its earlier outputs only at the top of the release directory: an
 * archive an earlier run wrote with another `--out` inside the tree (`dist1/myapp-1.0.0.tar.gz`,
 * its `.sha256` and `.sig`) and the `.partial` a killed run left were packed into the next release,
 * and every agent installed the old archives into the app. Real `ship` processes, a real SIGKILL.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list, type ReadEntry } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";

let dir: string;
let app: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-release-earlier-outputs-"));
  app = join(dir, "app");
  await mkdir(join(app, "vendor"), { recursive: true });
  await writeFile(join(app, "index.js"), "console.log('hi')\n");
  // Another project's archive the app ships on purpose: not an output of this app's releases.
  await writeFile(join(app, "vendor/libfoo-1.0.0.tar.gz"), "not ours\n");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every path in the archive, without its top folder ("myapp-1.0.1/"). */
async function archived(file: string): Promise<string[]> {
  const paths: string[] = [];
  await list({ file, onReadEntry: (e: ReadEntry) => paths.push(e.path.replace(/^[^/]+\/?/, "")) });
  return paths.filter((p) => p !== "").sort();
}

/** What each release holds: the app's own files, the vendored archive among them. */
const shipped = ["index.js", "update-manifest.yaml", "vendor/", "vendor/libfoo-1.0.0.tar.gz"];

const release = (...args: string[]) => runShip(["release", "-C", app, ...args]);

describe("ship release http leaves its earlier outputs out, wherever they lie in the tree", () => {
  it("an earlier run's archive, .sha256 and .sig under another --out stay out, and the note names them", async () => {
    const first = await release("http", "1.0.0", "first", "--app", "myapp", "--out", "dist1");
    expect(first.code, first.stderr).toBe(0);
    const keys = await release("keygen", "--out", join(dir, "keys"));
    expect(keys.code, keys.stderr).toBe(0);
    const signed = await release(
      "sign",
      "dist1/myapp-1.0.0.tar.gz",
      "--key",
      join(dir, "keys/ship-release.key"),
    );
    expect(signed.code, signed.stderr).toBe(0);
    expect(existsSync(join(app, "dist1/myapp-1.0.0.tar.gz.sig"))).toBe(true);

    const second = await release("http", "1.0.1", "second", "--app", "myapp", "--out", "dist2");
    expect(second.code, second.stderr).toBe(0);
    expect(await archived(join(app, "dist2/myapp-1.0.1.tar.gz"))).toEqual(shipped);
    expect(second.stderr).toContain(
      "note: left out of the archive, as outputs of an earlier ship release of myapp: dist1/myapp-1.0.0.tar.gz, dist1/myapp-1.0.0.tar.gz.sha256, dist1/myapp-1.0.0.tar.gz.sig\n",
    );
  });

  it("a git release's signature (sign --git-commit writes APP-VERSION.git.sig into -C) stays out", async () => {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: app, encoding: "utf8" }).trim();
    git("init", "-q");
    git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "--allow-empty", "-m", "c");
    const keys = await release("keygen", "--out", join(dir, "keys"));
    expect(keys.code, keys.stderr).toBe(0);
    await writeFile(join(app, "update-manifest.yaml"), "version: 1.0.0\n");
    const signed = await release(
      "sign",
      "--git-commit",
      git("rev-parse", "HEAD"),
      "--app",
      "myapp",
      "--version",
      "1.0.0",
      "--manifest",
      "update-manifest.yaml",
      "--key",
      join(dir, "keys/ship-release.key"),
    );
    expect(signed.code, signed.stderr).toBe(0);
    expect(existsSync(join(app, "myapp-1.0.0.git.sig"))).toBe(true);
    // An untracked file the next `ship release git` refuses the tree over: said where it is written.
    expect(signed.stderr).toContain(
      `note: ${join(app, "myapp-1.0.0.git.sig")} is in a git work tree that does not ignore it: git status lists it, and ship release git refuses a tree that is not clean; give --out a file outside the tree, or in a directory .gitignore names (--out dist/myapp-1.0.0.git.sig)\n`,
    );

    const next = await release("http", "1.0.1", "next", "--app", "myapp", "--out", join(dir, "out"));
    expect(next.code, next.stderr).toBe(0);
    expect(await archived(join(dir, "out/myapp-1.0.1.tar.gz"))).toEqual(shipped);
    expect(next.stderr).toContain("outputs of an earlier ship release of myapp: myapp-1.0.0.git.sig\n");
  });

  it("the .partial of a run killed while it packed stays out of the next run's archive", async () => {
    // Random bytes do not compress: packing them takes long enough to be killed part-way.
    await writeFile(join(app, "blob.bin"), randomBytes(8 << 20));
    const partial = join(app, "myapp-1.0.0.tar.gz.partial");
    const child = spawn(
      process.execPath,
      [SHIP_BIN, "release", "-C", app, "http", "1.0.0", "d", "--app", "myapp"],
      {
        stdio: "ignore",
      },
    );
    const exited = new Promise((done) => child.on("exit", done));
    while (!existsSync(partial) && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(partial), "the killed run left its .partial").toBe(true);
    expect(existsSync(join(app, "myapp-1.0.0.tar.gz"))).toBe(false);

    await rm(join(app, "blob.bin"));
    const next = await release("http", "1.0.0", "again", "--app", "myapp", "--out", "dist");
    expect(next.code, next.stderr).toBe(0);
    expect(await archived(join(app, "dist/myapp-1.0.0.tar.gz"))).toEqual(shipped);
    expect(next.stderr).toContain(
      "outputs of an earlier ship release of myapp: myapp-1.0.0.tar.gz.partial\n",
    );
  });
});
