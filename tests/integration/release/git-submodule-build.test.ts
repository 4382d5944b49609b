/**
 * `ship release http` in a work tree with a git submodule or a nested repository: git lists a
 * submodule as one path (a gitlink) and an untracked nested repository as `nested/`, so the
 * archive held an empty `vendor/lib/` and a `nested//` entry instead of their files, exit 0, and
 * agents installed the app without them. Now their files are packed (by their own git's rules),
 * and a submodule that is not checked out is exit 2 naming it, nothing built.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runRelease } from "./run-cli.js";

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "CI",
  GIT_AUTHOR_EMAIL: "ci@example.com",
  GIT_COMMITTER_NAME: "CI",
  GIT_COMMITTER_EMAIL: "ci@example.com",
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", ["-c", "protocol.file.allow=always", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  }).toString();

async function entries(archive: string): Promise<string[]> {
  const paths: string[] = [];
  await list({ file: archive, onReadEntry: (e) => paths.push(e.path) });
  return paths;
}

describe.skipIf(!hasProgram("git"))("ship release http over git submodules and nested repositories", () => {
  let dir: string;
  let app: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-submodule-build-"));
    const lib = join(dir, "lib");
    await mkdir(join(lib, "src"), { recursive: true });
    git(dir, "init", "-q", lib);
    await writeFile(join(lib, "src/lib.js"), "export const lib = 1;\n");
    await writeFile(join(lib, ".gitignore"), "build/\n");
    git(lib, "add", ".");
    git(lib, "commit", "-q", "-m", "lib");
    app = join(dir, "app");
    git(dir, "init", "-q", app);
    await writeFile(join(app, "main.js"), "import './vendor/lib/src/lib.js';\n");
    await writeFile(join(app, "update-manifest.yaml"), 'version: "1.0.0"\n');
    git(app, "submodule", "add", "-q", join(dir, "lib"), "vendor/lib");
    git(app, "add", ".");
    git(app, "commit", "-q", "-m", "app");
    // Ignored by the submodule's own .gitignore: left out as git leaves it out.
    await mkdir(join(app, "vendor/lib/build"));
    await writeFile(join(app, "vendor/lib/build/out.js"), "built\n");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("packs a checked-out submodule's files, by its own ignore rules", async () => {
    const result = await runRelease(app, "http", "1.0.0", "First", "--app", "myapp", "--out", "../dist");
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(await entries(join(dir, "dist/myapp-1.0.0.tar.gz"))).toEqual([
      "myapp-1.0.0/",
      "myapp-1.0.0/.gitmodules",
      "myapp-1.0.0/main.js",
      "myapp-1.0.0/update-manifest.yaml",
      "myapp-1.0.0/vendor/",
      "myapp-1.0.0/vendor/lib/",
      "myapp-1.0.0/vendor/lib/.gitignore",
      "myapp-1.0.0/vendor/lib/src/",
      "myapp-1.0.0/vendor/lib/src/lib.js",
    ]);
  });

  it("packs an untracked nested repository's files (no `nested//` entry)", async () => {
    const nested = join(app, "plugins/extra");
    await mkdir(nested, { recursive: true });
    git(app, "init", "-q", nested);
    await writeFile(join(nested, "extra.js"), "extra\n");
    const result = await runRelease(app, "http", "1.0.0", "First", "--app", "myapp", "--out", "../dist");
    expect(result.code).toBe(0);
    const paths = await entries(join(dir, "dist/myapp-1.0.0.tar.gz"));
    expect(paths).toContain("myapp-1.0.0/plugins/extra/extra.js");
    expect(paths.filter((p) => p.includes("//"))).toEqual([]);
  });

  it("refuses a submodule that is not checked out: exit 2 naming it, nothing built", async () => {
    const clone = join(dir, "clone");
    git(dir, "clone", "-q", app, clone);
    expect(await readdir(join(clone, "vendor/lib"))).toEqual([]);
    const result = await runRelease(clone, "http", "1.0.0", "First", "--app", "myapp", "--out", "../dist");
    expect(result.err).toBe(
      `ship release http: ${clone}/vendor/lib is a git submodule that is not checked out, so its files would be missing from the release: run git submodule update --init --recursive (in CI: actions/checkout with submodules: recursive) and build again; nothing was built\n`,
    );
    expect(result.code).toBe(2);
    expect(await readdir(dir)).not.toContain("dist");
  });
});
