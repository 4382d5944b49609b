/**
 * A release's symlinks that did not change are kept, not replaced, on every update. The manifest's
 * umask (default 022) was applied to symlinks' modes too, so the listed 0755 never equalled the
 * 0777 every symlink has on Linux: each update replaced every symlink of the app (a node_modules/.bin
 * or a virtualenv holds hundreds), moved each old one into the backup and counted it in the plan,
 * so an update did not cost what changed and the summary over-stated it. Real `ship` runs; a local
 * release directory and a local .tar.gz (whose symlinks a macOS tar may list as 0755).
 */
import { lstat, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

/** The plan's counts from the "applied release" log line. */
function changes(stderr: string): Record<string, number> {
  const line = stderr.split("\n").find((l) => l.includes('"msg":"applied release"'));
  return (JSON.parse(String(line)) as { changes: Record<string, number> }).changes;
}

async function inodes(names: string[]): Promise<number[]> {
  return Promise.all(names.map(async (n) => (await lstat(join(app.appDir, n))).ino));
}

const LINKS = ["bin/tool", "current", "lib/alias.py"];

describe("unchanged symlinks across updates (real CLI)", () => {
  for (const umask of [undefined, "027"]) {
    it(`a local release directory keeps them (umask ${umask ?? "default"})`, async () => {
      const permissions = umask === undefined ? "" : `permissions:\n  umask: "${umask}"\n`;
      const files = { "lib/real.py": "print(1)\n", "app.txt": "one\n", "bin/.keep": "" };
      const dir = await app.release("r", `version: "1.0.0"\n${permissions}`, files);
      await symlink("../lib/real.py", join(dir, "bin/tool"));
      await symlink("lib", join(dir, "current"));
      await symlink("real.py", join(dir, "lib/alias.py"));
      const first = await runShip(["--config", app.config]);
      expect(first.code, first.stderr).toBe(0);
      const before = await inodes(LINKS);

      await writeFile(join(dir, "app.txt"), "two\n");
      await writeFile(join(dir, "update-manifest.yaml"), `version: "1.1.0"\n${permissions}`);
      const update = await runShip(["--config", app.config]);
      expect(update.code, update.stderr).toBe(0);
      expect(changes(update.stderr)).toMatchObject({ replace: 1, add: 0, remove: 0 });
      expect(await inodes(LINKS)).toEqual(before);
      expect(await readlink(join(app.appDir, "bin/tool"))).toBe("../lib/real.py");
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(listed.stdout) as { files: number }[];
      expect(newest?.files).toBe(1);
    });
  }

  it("a local .tar.gz keeps them, whatever mode the archive gives a symlink", async () => {
    const archive = join(app.root, "release.tar.gz");
    const pack = (version: string, text: string) =>
      gzipSync(
        buildTar([
          { path: "update-manifest.yaml", body: `version: "${version}"\n` },
          { path: "app.txt", body: text },
          { path: "lib/real.py", body: "print(1)\n" },
          { path: "lib/alias.py", type: "SymbolicLink", linkpath: "real.py", mode: 0o755 },
          { path: "current", type: "SymbolicLink", linkpath: "lib", mode: 0o777 },
        ]),
      );
    await writeFile(archive, pack("1.0.0", "one\n"));
    await writeFile(
      app.config,
      `[general]\nstate_file = "${app.stateFile}"\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${archive}"\napp_dir = "${app.appDir}"\n`,
    );
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stderr).toBe(0);
    const names = ["lib/alias.py", "current"];
    const before = await inodes(names);
    await writeFile(archive, pack("1.1.0", "two\n"));
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stderr).toBe(0);
    expect(changes(update.stderr)).toMatchObject({ replace: 1, add: 0, remove: 0 });
    expect(await inodes(names)).toEqual(before);
  });
});
