/**
 * The app on a file system whose timestamps have whole seconds (a real ext2 image with 128-byte
 * inodes, mounted on a loop device): a post_update hook that rewrites a file ship just installed,
 * same size, in the second of the install, keeps its size, mtime, ctime and inode. The install
 * index must not vouch for that file's content on the strength of its stat (git's "racy" rule):
 * the next update treats the hook's edit as an edit made on this host, exactly as it would one made
 * a second later.
 */

import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writtenEntry } from "../../support/index-on-disk.js";
import { runShip } from "../../support/ship-cli.js";
import { secondsFsForFile } from "../../support/tmpfs.js";

const seconds = secondsFsForFile("ship-hook-second-");

async function release(dir: string, version: string, files: Record<string, string>, manifest: string[] = []) {
  await mkdir(dir, { recursive: true });
  for (const [rel, body] of Object.entries(files)) await writeFile(join(dir, rel), body);
  await writeFile(join(dir, "update-manifest.yaml"), [`version: "${version}"`, ...manifest, ""].join("\n"));
}

async function shipTo(dir: string, releaseDir: string, appDir: string) {
  const config = join(dir, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${releaseDir}"\napp_dir = "${appDir}"\n`,
  );
  return runShip(["--config", config, "--force"]);
}

/** The install index's entry for `rel` (one app, one state directory). */
async function indexedEntry(dir: string, rel: string): Promise<{ mtimeMs: number; ctimeMs?: number }> {
  const apps = join(dir, "var", "apps");
  const [state] = await readdir(apps);
  const entry = await writtenEntry(join(apps, state as string), rel);
  if (entry === undefined) throw new Error(`no index entry for ${rel}`);
  return entry;
}

/**
 * Installs 1.0.0, whose post_update hook rewrites conf.txt (same size), until the rewrite fell in
 * the second of the install (a loaded machine may cross a second boundary in between).
 */
async function installWithSameSecondHookEdit(name: string): Promise<{ dir: string; app: string }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const dir = join(seconds.tmp, `${name}-${attempt}`);
    const app = join(seconds.fs, `${name}-${attempt}`);
    await mkdir(app);
    await release(join(dir, "r1"), "1.0.0", { "app.txt": "v1\n", "conf.txt": "AAAA\n" }, [
      "hooks:",
      `  post_update: ["printf 'BBBB\\\\n' > \\"$SHIP_APP_DIR/conf.txt\\""]`,
    ]);
    const first = await shipTo(dir, join(dir, "r1"), app);
    expect(first.code, first.stderr).toBe(0);
    expect(await readFile(join(app, "conf.txt"), "utf8")).toBe("BBBB\n");
    const now = await stat(join(app, "conf.txt"));
    const indexed = await indexedEntry(dir, "conf.txt");
    const sameSecond = Math.floor(now.mtimeMs / 1000) === Math.floor(indexed.mtimeMs / 1000);
    if (sameSecond && Math.floor(now.ctimeMs / 1000) === Math.floor(now.mtimeMs / 1000)) return { dir, app };
  }
  throw new Error("no hook edit fell in the second of its install in 10 tries");
}

describe("a hook's same-size edit in the second of the install (whole-second timestamps)", () => {
  it("is named as changed on this host when the next update replaces the file", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const { dir, app } = await installWithSameSecondHookEdit("replaced");
    await release(join(dir, "r2"), "2.0.0", { "app.txt": "v2\n", "conf.txt": "CCCC\n" });
    const second = await shipTo(dir, join(dir, "r2"), app);
    expect(second.code, second.stderr).toBe(0);
    expect(`${second.stdout}${second.stderr}`).toContain(
      "changed on this host since, and this update replaced conf.txt",
    );
    expect(await readFile(join(app, "conf.txt"), "utf8")).toBe("CCCC\n");
  });

  it("is not taken for the release's unchanged copy: replaced and named, as an edit a second later is", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const { dir, app } = await installWithSameSecondHookEdit("unchanged");
    await release(join(dir, "r2"), "2.0.0", { "app.txt": "v2\n", "conf.txt": "AAAA\n" });
    const second = await shipTo(dir, join(dir, "r2"), app);
    expect(second.code, second.stderr).toBe(0);
    expect(`${second.stdout}${second.stderr}`).toContain("this update replaced conf.txt");
    expect(await readFile(join(app, "conf.txt"), "utf8")).toBe("AAAA\n");
  });

  it("is left alone by a rollback of that install, as a file changed since the update is", async (ctx) => {
    if (!seconds.mounted) ctx.skip();
    const { dir, app } = await installWithSameSecondHookEdit("rollback");
    const [id] = await readdir(join(dir, "var", "backups", "myapp"));
    const back = await runShip(["--config", join(dir, "ship.toml"), "--rollback", String(id)]);
    expect(back.code, back.stderr).toBe(0);
    expect(`${back.stdout}${back.stderr}`).toContain("left alone: conf.txt (not the file ship installed)");
    // Before: taken for ship's by its stamp, and deleted with the install it undid.
    expect(await readFile(join(app, "conf.txt"), "utf8")).toBe("BBBB\n");
  });
});
