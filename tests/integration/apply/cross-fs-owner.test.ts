/**
 * Owners across filesystems: `backup_dir` on another filesystem than the app (a real tmpfs), so the
 * backup and the restore copy instead of renaming, met by real `ship` runs as root. A rename keeps
 * a file's owner; the copies did not: `ship --rollback` put `secret.conf` (1234:4321, mode 640, the
 * app's user and group) back as root:root 640, which the app could no longer read, and said
 * "back on 1.0.0". Now a copy keeps the owner, group, mode and mtime a rename would have kept.
 */
import { chmod, lchown, lstat, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
let mounted = false;

beforeEach(async () => {
  app = await localApp();
  await mkdir(join(app.root, "var/backups"), { recursive: true });
  mounted = mountTmpfs(join(app.root, "var/backups"), "4m");
});
afterEach(async () => {
  if (mounted) unmountTmpfs(join(app.root, "var/backups"));
  await app.cleanup();
});

async function owners(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ["secret.conf", "run.sh", "current"]) {
    const s = await lstat(join(app.appDir, name));
    out[name] = `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8)}`;
  }
  return out;
}

describe("a restore across filesystems keeps owners (real tmpfs backup_dir, real CLI as root)", () => {
  it("--rollback puts files and links back with their owner, group and mode", async (ctx) => {
    if (!mounted || process.getuid?.() !== 0) return ctx.skip();
    await app.release("r1", `version: "1.0.0"\n`, { "secret.conf": "password=1\n", "run.sh": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // The operator gives the app its own user, as they would: chown and chmod after the install.
    await lchown(join(app.appDir, "secret.conf"), 1234, 4321);
    await lchown(join(app.appDir, "run.sh"), 1234, 4321);
    await symlink("run.sh", join(app.appDir, "current"));
    await lchown(join(app.appDir, "current"), 1234, 4321);
    await chmod(join(app.appDir, "secret.conf"), 0o640);
    await chmod(join(app.appDir, "run.sh"), 0o750);
    // The release now ships `current` too: the operator's link goes into the backup.
    await app.release("r2", `version: "2.0.0"\n`, {
      "secret.conf": "password=2\n",
      "run.sh": "v2\n",
      current: "a file now\n",
    });
    const before = await owners();
    const mtimeBefore = (await lstat(join(app.appDir, "secret.conf"))).mtimeMs;
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(update.stderr).toContain("another filesystem");

    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const newest = (JSON.parse(list.stdout) as { id: string }[])[0];
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "secret.conf"), "utf8")).toBe("password=1\n");
    expect(await owners()).toEqual(before);
    // The mtime a rename keeps, to the millisecond utimes can set (each copy may round it down).
    expect((await lstat(join(app.appDir, "secret.conf"))).mtimeMs).toBeCloseTo(mtimeBefore, -1);
  });

  it("a setuid program copied back keeps its set-id bits after the chown", async (ctx) => {
    if (!mounted || process.getuid?.() !== 0) return ctx.skip();
    await app.release("r1", `version: "1.0.0"\n`, { tool: "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await lchown(join(app.appDir, "tool"), 1234, 4321);
    await chmod(join(app.appDir, "tool"), 0o6755);
    await app.release("r2", `version: "2.0.0"\n`, { tool: "v2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const newest = (JSON.parse(list.stdout) as { id: string }[])[0];
    expect((await runShip(["--config", app.config, "--rollback", String(newest?.id)])).code).toBe(0);
    const s = await lstat(join(app.appDir, "tool"));
    expect([s.uid, s.gid, (s.mode & 0o7777).toString(8)]).toEqual([1234, 4321, "6755"]);
  });

  it("a privileged file staged on another filesystem (work_dir) keeps its installed owner", async (ctx) => {
    if (!mounted || process.getuid?.() !== 0) return ctx.skip();
    await app.release("r1", `version: "1.0.0"\n`, { "secret.conf": "password=1\n" });
    // Staging on the tmpfs too: the new version is copied into the app, not renamed.
    const withWorkDir = async () => {
      const text = await readFile(app.config, "utf8");
      await writeFile(
        app.config,
        text
          .replace(
            "min_interval_hours = 0\n",
            `min_interval_hours = 0\nwork_dir = "${app.root}/var/backups/.work"\n`,
          )
          .concat(`[sources.myapp.security]\nprivileged_files = ["secret.conf"]\n`),
      );
    };
    await withWorkDir();
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await lchown(join(app.appDir, "secret.conf"), 1234, 4321);
    await chmod(join(app.appDir, "secret.conf"), 0o640);
    await app.release("r2", `version: "2.0.0"\n`, { "secret.conf": "password=2\n" });
    await withWorkDir();
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "secret.conf"), "utf8")).toBe("password=2\n");
    const s = await lstat(join(app.appDir, "secret.conf"));
    expect([s.uid, s.gid, (s.mode & 0o7777).toString(8)]).toEqual([1234, 4321, "640"]);
  });
});
