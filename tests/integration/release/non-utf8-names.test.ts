/**
 * `ship release http` over a file whose name is not UTF-8 (`\xff.txt`, a Latin-1 name from an old
 * upload): in a git work tree it was left out of the archive without a word, exit 0, so agents
 * removed it from every server; outside git the build said "cannot stat …/�.txt: no such file or
 * directory", exit 1, about a file that is there. Now both are exit 2 naming the file, nothing built.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runRelease } from "./run-cli.js";

describe("ship release http over a file name that is not UTF-8", () => {
  let dir: string;
  let app: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-non-utf8-"));
    app = join(dir, "myapp");
    await mkdir(join(app, "static"), { recursive: true });
    await writeFile(join(app, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(app, "main.py"), "print('v1')\n");
    await writeFile(join(app, "static", "caf\u00e9 menu.txt"), "a UTF-8 name is fine\n");
    await writeFile(
      Buffer.concat([Buffer.from(`${app}/static/caf`), Buffer.from([0xe9]), Buffer.from(".txt")]),
      "x",
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const expected = (where: string) =>
    `ship release http: ${where}/static/caf\\xe9.txt has a name that is not valid UTF-8, so agents would install it under another name (or not at all): rename it (convmv -f latin1 -t utf8), or leave it out (.gitignore, --include only what ships); nothing was built\n`;

  it("outside git: exit 2 naming the file with its bytes escaped, nothing built", async () => {
    const result = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
    expect(result.err).toBe(expected(app));
    expect(result.code).toBe(2);
    expect(await readdir(dir)).toEqual(["myapp"]);
  });

  it.skipIf(!hasProgram("git"))(
    "in a git work tree (tracked or untracked): exit 2 too, never left out",
    async () => {
      execFileSync("git", ["init", "-q", app]);
      const untracked = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
      expect(untracked.err).toBe(expected(app));
      expect(untracked.code).toBe(2);
      execFileSync("git", ["-C", app, "add", "-A"]);
      const tracked = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
      expect(tracked.err).toBe(expected(app));
      expect(tracked.code).toBe(2);
      expect(await readdir(dir)).toEqual(["myapp"]);
    },
  );

  it("builds once it is renamed", async () => {
    await rm(Buffer.concat([Buffer.from(`${app}/static/caf`), Buffer.from([0xe9]), Buffer.from(".txt")]));
    const result = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
    expect(result.code).toBe(0);
    expect(await readdir(join(dir, "dist"))).toEqual(["myapp-1.0.0.tar.gz", "myapp-1.0.0.tar.gz.sha256"]);
  });

  it("a symlink whose target is not UTF-8: exit 2 naming it, nothing built (read lossily it was a link to caf\uFFFD)", async () => {
    await rm(Buffer.concat([Buffer.from(`${app}/static/caf`), Buffer.from([0xe9]), Buffer.from(".txt")]));
    await symlink(Buffer.from([0x63, 0x61, 0x66, 0xe9]), join(app, "static", "menu"));
    const result = await runRelease(app, "http", "1.0.0", "First", "--out", "../dist");
    expect(result.err).toBe(
      `ship release http: ${app}/static/menu is a symlink to caf\\xe9, a target that is not valid UTF-8, so agents would install a link to another name: point it at a UTF-8 name, or leave it out (.gitignore, --include only what ships); nothing was built\n`,
    );
    expect(result.code).toBe(2);
    expect(await readdir(dir)).toEqual(["myapp"]);
  });
});
