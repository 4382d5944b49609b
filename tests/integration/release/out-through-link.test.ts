/**
 * An `--out` inside the release directory, named by another path to it: `--out "$PWD/dist"` in a
 * CI workspace reached through a symlink ($PWD keeps the link, ship's working directory is the
 * physical path), or `-C` through a link and `--out` without one (`-C "$PWD/app"` the same). The output directory was then not
 * recognised as the output and was packed: the next release carried the earlier archives, their
 * .sha256 and .sig, onto every server. What holds: the output directory is left out however it is
 * named; a `dist` that is itself a link to an artifacts disk is still left out as before.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("ship release http: an --out inside the release named through a symlink", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-out-link-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `<case>/real/app`, reached as `<case>/workspace/app` too; returns `<case>`. */
  const tree = async (name: string): Promise<string> => {
    const at = join(dir, name);
    await mkdir(join(at, "real/app/src"), { recursive: true });
    await writeFile(join(at, "real/app/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(at, "real/app/src/main.py"), "print(1)\n");
    await symlink("real", join(at, "workspace"));
    return at;
  };

  const build = async (cwd: string, version: string, out: string): Promise<string[]> => {
    const args = ["release", "-C", cwd, "http", version, "d", "--app", "myapp", "--out", out];
    const result = await runShip(args, { cwd: dir });
    expect(result.stderr).not.toMatch(/^ship release/m);
    expect(result.code).toBe(0);
    return execFileSync("tar", ["-tzf", join(out, `myapp-${version}.tar.gz`)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
  };

  it.each([
    ["the link in --out", "real/app", "workspace/app/dist"],
    ["the link in -C", "workspace/app", "real/app/dist"],
    ["--out a link inside the release", "real/app", "real/app/linked-dist"],
  ])("%s: the second release holds no earlier archive", async (name, cwd, out) => {
    const at = await tree(name);
    if (out.endsWith("linked-dist")) {
      await mkdir(join(at, "artifacts"));
      await symlink(join(at, "artifacts"), join(at, out));
    }
    await build(join(at, cwd), "1.0.0", join(at, out));
    const second = await build(join(at, cwd), "1.0.1", join(at, out));
    expect(second.filter((p) => /dist|\.tar\.gz/.test(p))).toEqual([]);
    expect(second).toContain("myapp-1.0.1/src/main.py");
  });
});
